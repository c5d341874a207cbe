"""Excel exchange with Sở Nội vụ: the self-assessment export read back cell by cell, and the import of
externally-entered scores with every problem at its exact cell (no database)."""

from __future__ import annotations

import zipfile
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from backend.domain.assessments import xlsx as xlsx_module
from backend.domain.assessments.xlsx import (
    MAX_COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    ExternalColumn,
    ExternalValue,
    ImportProblem,
    SelfAssessmentSheet,
    SheetRow,
    export_self_assessment,
    external_template,
    read_external_scores,
)

D = Decimal
NOT_XLSX = "Tệp không phải là bảng tính Excel (.xlsx)."
SIPAS = ExternalColumn("9.1", "Chỉ số hài lòng của người dân, tổ chức (SIPAS)", D("17"))
LEADERS = ExternalColumn("9.2", "Đánh giá của lãnh đạo, quản lý", D("18"))
DTI = ExternalColumn("7.5", "Chỉ số DTI", D("1.5"))
COLUMNS = (SIPAS, LEADERS, DTI)
TENANTS = {
    "so-tai-nguyen-moi-truong": "Sở Tài nguyên và Môi trường",
    "so-tu-phap": "Sở Tư pháp",
    "so-noi-vu": "Sở Nội vụ",
}


def sheet_of(data: bytes) -> Worksheet:
    ws = load_workbook(BytesIO(data)).worksheets[0]
    assert isinstance(ws, Worksheet)
    return ws


def as_decimal(value: object) -> Decimal:
    return D(str(value))


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    for row in rows:
        ws.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def scores(*rows: list[object]) -> bytes:
    return xlsx([["Mã đơn vị", "Tên đơn vị", "9.1", "9.2", "7.5"], *[list(row) for row in rows]])


def read(data: bytes) -> tuple[list[ExternalValue], list[ImportProblem]]:
    return read_external_scores(data, TENANTS, COLUMNS)


# --- Export ------------------------------------------------------------------------------------------------

SHEET = SelfAssessmentSheet(
    province="Bà Rịa – Vũng Tàu",
    tenant="Sở Tài nguyên và Môi trường",
    year=2023,
    status="Dự thảo",
    exported_on=date(2023, 12, 15),
    rows=(
        SheetRow("1", "Công tác chỉ đạo, điều hành CCHC", 0, D("12.5"), D("9.5"), "", ""),
        SheetRow("1.1", "Kế hoạch CCHC năm", 1, D("1.5"), D("1.42"), "Đạt 94,76 %", "QĐ 12/QĐ-STNMT"),
        SheetRow("1.1.1", "Ban hành kịp thời", 2, D("0.5"), None, "", ""),
        SheetRow("7", "Chính quyền điện tử, chính quyền số", 0, D("11"), D("9.376"), "", ""),
        SheetRow("9", "Điều tra xã hội học", 0, D("35.000"), D("30.620"), "", ""),
    ),
    total_max=D("100"),
    total_score=D("87.225"),
)


def test_export_has_the_title_facts_and_header_departments_send() -> None:
    ws = sheet_of(export_self_assessment(SHEET))
    assert ws.title == "Tu danh gia 2023"
    assert ws["A1"].value == "BẢNG TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM 2023"
    assert ws["A1"].font.b
    assert "A1:F1" in {str(merged) for merged in ws.merged_cells.ranges}
    facts = {ws.cell(row, 1).value: ws.cell(row, 2).value for row in range(2, 6)}
    assert facts == {
        "Đơn vị:": "Sở Tài nguyên và Môi trường",
        "Tỉnh:": "Bà Rịa – Vũng Tàu",
        "Trạng thái:": "Dự thảo",
        "Ngày xuất:": "15/12/2023",
    }
    header = [cell.value for cell in ws[7]]
    assert header == ["TT", "Tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Giải trình", "Tài liệu kiểm chứng"]
    assert all(cell.font.b for cell in ws[7])
    assert ws.freeze_panes == "A8"
    assert ws.column_dimensions["B"].width >= 50
    assert ws.column_dimensions["E"].width >= 40


def test_export_rows_keep_codes_depth_bold_areas_and_exact_points() -> None:
    ws = sheet_of(export_self_assessment(SHEET))
    rows = list(ws.iter_rows(min_row=8, max_row=12))
    assert [row[0].value for row in rows] == ["1", "1.1", "1.1.1", "7", "9"]
    assert all(row[0].data_type == "s" for row in rows)  # codes stay text, "1.10" never becomes 1.1
    assert [row[1].alignment.indent for row in rows] == [0, 1, 2, 0, 0]
    assert all(row[1].alignment.wrap_text for row in rows)
    assert [row[1].font.b for row in rows] == [True, False, False, True, True]
    assert [as_decimal(row[2].value) for row in rows] == [D("12.5"), D("1.5"), D("0.5"), D("11"), D("35")]
    assert [row[3].value is None for row in rows] == [False, False, True, False, False]
    assert as_decimal(rows[1][3].value) == D("1.42")
    assert as_decimal(rows[3][3].value) == D("9.376")
    assert as_decimal(rows[4][3].value) == D("30.62")
    assert all(row[2].data_type == "n" and row[3].data_type == "n" for row in rows)
    assert (rows[1][4].value, rows[1][5].value) == ("Đạt 94,76 %", "QĐ 12/QĐ-STNMT")


def test_export_ends_with_the_total_row() -> None:
    ws = sheet_of(export_self_assessment(SHEET))
    total = ws[13]
    assert total[1].value == "Tổng điểm"
    assert as_decimal(total[2].value) == D("100")
    assert as_decimal(total[3].value) == D("87.225")  # not 87.22499999999999
    assert total[1].font.b
    assert total[3].font.b
    assert ws.max_row == 13


def test_export_writes_points_as_their_exact_decimal_text() -> None:
    with zipfile.ZipFile(BytesIO(export_self_assessment(SHEET))) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>87.225</v>" in xml
    assert "<v>9.376</v>" in xml


def test_export_of_an_empty_assessment_has_header_and_total() -> None:
    empty = SelfAssessmentSheet("Hà Tĩnh", "Sở Ngoại vụ", 2020, "Dự thảo", date(2020, 1, 2), (), D("80"), D("0"))
    ws = sheet_of(export_self_assessment(empty))
    assert ws["A7"].value == "TT"
    assert ws["B8"].value == "Tổng điểm"
    assert as_decimal(ws["C8"].value) == D("80")
    assert ws["B5"].value == "02/01/2020"


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example","bấm")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|'/C calc'!A0"],
)
def test_export_never_writes_a_formula(text: str) -> None:
    row = SheetRow("1.1", text, 1, D("1"), D("1"), text, text)
    sheet = SelfAssessmentSheet(text, text, 2023, text, date(2023, 1, 1), (row,), D("1"), D("1"))
    data = export_self_assessment(sheet)
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
    ws = sheet_of(data)
    for cell in (ws["B2"], ws["B3"], ws["B4"], ws["B8"], ws["E8"], ws["F8"]):
        assert cell.value == text.replace("\r", "\n")  # line ends are written as line feeds
        assert cell.data_type == "s"
        assert cell.quotePrefix


def test_export_drops_control_characters_excel_refuses() -> None:
    row = SheetRow("1.1", "Kế hoạch\x07 năm", 1, D("1"), None, "dòng 1\ndòng 2", "")
    ws = sheet_of(
        export_self_assessment(SelfAssessmentSheet("T", "S", 2023, "Dự thảo", date(2023, 1, 1), (row,), D("1"), D("0")))
    )
    assert ws["B8"].value == "Kế hoạch năm"
    assert ws["E8"].value == "dòng 1\ndòng 2"


# --- Template and import -----------------------------------------------------------------------------------


def test_template_lists_departments_and_external_criteria() -> None:
    data = external_template(list(TENANTS.items()), COLUMNS, 2023)
    workbook = load_workbook(BytesIO(data))
    ws = workbook.worksheets[0]
    assert isinstance(ws, Worksheet)
    assert ws.title == "Diem ngoai 2023"
    assert [cell.value for cell in ws[1]] == ["Mã đơn vị", "Tên đơn vị", "9.1", "9.2", "7.5"]
    assert [(ws.cell(row, 1).value, ws.cell(row, 2).value) for row in range(2, 5)] == list(TENANTS.items())
    assert ws.freeze_panes == "C2"
    assert ws["C1"].comment is not None
    assert "SIPAS" in ws["C1"].comment.text
    assert "Điểm tối đa: 17" in ws["C1"].comment.text
    assert "1,5" in ws["E1"].comment.text
    validations = {str(dv.sqref): (dv.formula1, dv.formula2) for dv in ws.data_validations.dataValidation}
    assert validations == {"C2:C4": ("0", "17"), "D2:D4": ("0", "18"), "E2:E4": ("0", "1.5")}
    assert "Huong dan" in workbook.sheetnames


def test_an_empty_template_reads_back_without_values_or_problems() -> None:
    assert read(external_template(list(TENANTS.items()), COLUMNS, 2023)) == ([], [])


def test_template_filled_with_the_2023_survey_split_reads_back_exactly() -> None:
    """Seed 004, 2023: SIPAS 13,245/17 and leaders' assessment 17,375/18 make 30,620/35."""
    workbook = load_workbook(BytesIO(external_template(list(TENANTS.items()), COLUMNS, 2023)))
    ws = workbook.worksheets[0]
    assert isinstance(ws, Worksheet)
    ws["C2"] = "13,245"  # typed as text with a decimal comma
    ws["D2"] = 17.375  # a number cell
    ws["E2"] = 0.938
    ws["C3"] = "12.5"
    buffer = BytesIO()
    workbook.save(buffer)

    values, problems = read(buffer.getvalue())

    assert problems == []
    assert values == [
        ExternalValue("so-tai-nguyen-moi-truong", "9.1", D("13.245")),
        ExternalValue("so-tai-nguyen-moi-truong", "9.2", D("17.375")),
        ExternalValue("so-tai-nguyen-moi-truong", "7.5", D("0.938")),
        ExternalValue("so-tu-phap", "9.1", D("12.500")),
    ]
    survey = sum(
        (v.points for v in values if v.tenant_code == "so-tai-nguyen-moi-truong" and v.criterion_code.startswith("9.")),
        D(0),
    )
    assert survey == D("30.620")
    assert all(value.points.as_tuple().exponent == -3 for value in values)


@pytest.mark.parametrize("cell", ["13,245", "13.245", 13.245, " 13,245 ", D("13.245"), "13,2450"])
def test_a_value_written_any_way_is_exactly_13_245(cell: object) -> None:
    values, problems = read(scores(["so-tu-phap", "Sở Tư pháp", cell]))
    assert problems == []
    assert values == [ExternalValue("so-tu-phap", "9.1", D("13.245"))]
    assert str(values[0].points) == "13.245"


def test_whole_numbers_and_a_float_sum_are_exact() -> None:
    values, problems = read(scores(["so-tu-phap", "", 17, 0, 0.1 + 0.2]))  # Excel shows 0.30000000000000004 as 0,3
    assert problems == []
    assert [v.points for v in values] == [D("17.000"), D("0.000"), D("0.300")]


def test_empty_cells_are_skipped_and_rows_without_values_are_fine() -> None:
    values, problems = read(
        scores(["so-tu-phap", "Sở Tư pháp", None, "  ", 1], ["so-noi-vu", "Sở Nội vụ"], [], [None, "x"])
    )
    assert problems == []
    assert values == [ExternalValue("so-tu-phap", "7.5", D("1.000"))]


def test_codes_are_matched_leniently_where_excel_changes_them() -> None:
    data = xlsx([["mã đơn vị", "Tên đơn vị", 9.1, " 9.2 "], [" SO-TU-PHAP ", "", "1", "2"]])
    values, problems = read(data)
    assert problems == []
    assert values == [ExternalValue("so-tu-phap", "9.1", D("1.000")), ExternalValue("so-tu-phap", "9.2", D("2.000"))]


# --- Every bad input at its cell ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Ma don vi;9.1\nso-tu-phap;13,245\n",
        b"PK\x03\x04 truncated zip",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,  # an old .xls (OLE2)
    ],
)
def test_not_an_xlsx(data: bytes) -> None:
    assert read(data) == ([], [ImportProblem("", NOT_XLSX)])


def test_a_zip_that_is_not_a_workbook() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "xin chào")
    assert read(buffer.getvalue()) == ([], [ImportProblem("", NOT_XLSX)])


def test_a_truncated_xlsx() -> None:
    data = scores(["so-tu-phap", "", 1])
    assert read(data[: len(data) // 2]) == ([], [ImportProblem("", NOT_XLSX)])


def test_an_empty_workbook() -> None:
    values, problems = read(xlsx([]))
    assert values == []
    assert [(p.cell, p.reason) for p in problems] == [("", "Bảng tính trống hoặc không có dòng tiêu đề (dòng 1).")]


def test_header_must_be_on_row_1() -> None:
    _, problems = read(xlsx([[], ["Mã đơn vị", "9.1"]]))
    assert [p.cell for p in problems] == [""]
    assert "dòng tiêu đề" in problems[0].reason


def test_missing_tenant_code_column() -> None:
    values, problems = read(xlsx([["Tên đơn vị", "9.1"], ["Sở Tư pháp", 1]]))
    assert values == []
    assert problems == [ImportProblem("", "Thiếu cột “Mã đơn vị” ở dòng tiêu đề (dòng 1).")]


def test_unknown_criterion_code_in_the_header() -> None:
    values, problems = read(xlsx([["Mã đơn vị", "Tên đơn vị", "9.1", "Ghi chú", "9.3"], ["so-tu-phap", "", 1, "x", 2]]))
    assert [p.cell for p in problems] == ["D1", "E1"]
    assert "“9.3”" in problems[1].reason
    assert "9.1, 9.2, 7.5" in problems[1].reason
    assert values == [ExternalValue("so-tu-phap", "9.1", D("1.000"))]


def test_duplicate_column() -> None:
    _, problems = read(xlsx([["Mã đơn vị", "9.1", "9.2", "9.1", "mã đơn vị"], ["so-tu-phap", 1, 2, 3, "x"]]))
    assert [(p.cell, p.reason) for p in problems] == [
        ("D1", "Cột “9.1” bị trùng với cột B1."),
        ("E1", "Cột “mã đơn vị” bị trùng với cột A1."),
    ]


def test_header_without_any_criterion_column() -> None:
    _, problems = read(xlsx([["Mã đơn vị", "Tên đơn vị"], ["so-tu-phap", "Sở Tư pháp"]]))
    assert problems == [ImportProblem("", "Dòng tiêu đề không có cột tiêu chí nào.")]


def test_unknown_tenant_code() -> None:
    values, problems = read(scores(["so-tu-phap", "", 1], ["so-khong-co", "Sở lạ", 2]))
    assert problems == [ImportProblem("A3", "Mã đơn vị “so-khong-co” không có trong danh sách đơn vị của tỉnh.")]
    assert values == [ExternalValue("so-tu-phap", "9.1", D("1.000"))]


def test_missing_tenant_code_on_a_row_with_values() -> None:
    _, problems = read(scores(["so-tu-phap", "", 1], [None, "Sở Tư pháp", 2]))
    assert problems == [ImportProblem("A3", "Thiếu mã đơn vị.")]


def test_duplicate_tenant_row() -> None:
    values, problems = read(scores(["so-tu-phap", "", 1], ["so-noi-vu", "", 2], ["so-tu-phap", "", 3]))
    assert problems == [ImportProblem("A4", "Đơn vị “so-tu-phap” đã có ở dòng 2; mỗi đơn vị chỉ một dòng.")]
    assert [v.points for v in values] == [D("1.000"), D("2.000")]


@pytest.mark.parametrize("cell", ["mười ba", "13,2,4", "NaN", "Infinity", True, date(2023, 1, 1)])
def test_non_numeric_value(cell: object) -> None:
    values, problems = read(scores(["so-tu-phap", "", 1, cell]))
    assert [p.cell for p in problems] == ["D2"]
    assert "không phải là số" in problems[0].reason
    assert values == [ExternalValue("so-tu-phap", "9.1", D("1.000"))]


@pytest.mark.parametrize("cell", [-1, "-0,5", -0.001])
def test_negative_value(cell: object) -> None:
    _, problems = read(scores(["so-tu-phap", "", cell]))
    assert [p.cell for p in problems] == ["C2"]
    assert "không được âm" in problems[0].reason


def test_value_above_the_criterion_max_says_the_max_with_a_decimal_comma() -> None:
    _, problems = read(scores(["so-tu-phap", "", "17,001", 18, "1,6"]))
    assert problems == [
        ImportProblem("C2", "Điểm 17,001 vượt quá điểm tối đa 17 của tiêu chí 9.1."),
        ImportProblem("E2", "Điểm 1,6 vượt quá điểm tối đa 1,5 của tiêu chí 7.5."),
    ]


@pytest.mark.parametrize("cell", ["13,2451", 13.2451, "0,0001"])
def test_more_than_three_decimals(cell: object) -> None:
    _, problems = read(scores(["so-tu-phap", "", cell]))
    assert [p.cell for p in problems] == ["C2"]
    assert "quá 3 chữ số thập phân" in problems[0].reason


def test_every_problem_is_reported_at_once() -> None:
    data = xlsx(
        [
            ["Mã đơn vị", "Tên đơn vị", "9.1", "9.2", "9.1", "9.9"],
            ["so-tu-phap", "", "abc", -1, None, None],
            ["so-la", "", 1, 99, None, None],
            ["so-tu-phap", "", "1,2345", 2, None, None],
        ]
    )
    values, problems = read(data)
    assert values == []
    assert [p.cell for p in problems] == ["E1", "F1", "C2", "D2", "A3", "D3", "A4", "C4"]
    assert all(p.reason for p in problems)


def test_files_over_5_mb_are_refused_before_opening() -> None:
    values, problems = read(b"PK" + b"\x00" * MAX_FILE_BYTES)
    assert values == []
    assert problems == [ImportProblem("", "Tệp lớn hơn 5 MB.")]


def test_a_zip_that_inflates_too_much_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_module, "MAX_UNZIPPED_BYTES", 1000)
    values, problems = read(scores(["so-tu-phap", "", 1]))
    assert values == []
    assert problems == [ImportProblem("", "Tệp quá lớn sau khi giải nén; không phải bảng điểm hợp lệ.")]


def test_too_many_columns_are_refused() -> None:
    _, problems = read(xlsx([["Mã đơn vị", *[f"c{n}" for n in range(MAX_COLUMNS)]]]))
    assert problems == [ImportProblem("", f"Bảng tính có quá nhiều cột (tối đa {MAX_COLUMNS}).")]


def test_sheets_over_2000_rows_are_refused() -> None:
    rows: list[list[object]] = [["so-tu-phap", "", None]] * (MAX_ROWS + 1)
    values, problems = read(scores(*rows))
    assert values == []
    assert problems == [ImportProblem("", "Bảng tính có quá nhiều dòng (tối đa 2.000 dòng dữ liệu).")]


def test_2000_rows_are_accepted() -> None:
    rows: list[list[object]] = [["so-tu-phap", "", 1]] + [[None, "trống", None]] * (MAX_ROWS - 1)
    values, problems = read(scores(*rows))
    assert problems == []
    assert len(values) == 1


def test_only_the_first_sheet_is_read() -> None:
    workbook = Workbook()
    first = workbook.active
    assert isinstance(first, Worksheet)
    first.append(["Mã đơn vị", "9.1"])
    first.append(["so-tu-phap", 1])
    workbook.create_sheet("Khác").append(["Mã đơn vị", "9.1", "9.9"])
    buffer = BytesIO()
    workbook.save(buffer)
    assert read(buffer.getvalue()) == ([ExternalValue("so-tu-phap", "9.1", D("1.000"))], [])
