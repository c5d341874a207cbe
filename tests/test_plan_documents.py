"""A remedy plan's documents: the Word plan read back paragraph by paragraph and cell by cell, the Excel table
read back by its own importer, and imports of seed-like sheets with every problem at its row (no database)."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from io import BytesIO

import docx
import pytest
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from docx.table import Table
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from backend.domain.assessments.xlsx import MAX_FILE_BYTES, NOT_XLSX
from backend.domain.remedies.plan_docx import plan_docx
from backend.domain.remedies.plan_model import (
    KIND_TITLES,
    PlanDocument,
    PlanTask,
    deadline_text,
    place_and_date,
    points_text,
)
from backend.domain.remedies.plan_reader import MAX_IMPORT_ROWS, ImportedTask, ImportRowProblem, read_plan_xlsx
from backend.domain.remedies.plan_xlsx import plan_xlsx

D = Decimal
AREA_1 = "Công tác chỉ đạo, điều hành cải cách hành chính"
AREA_2 = "Cải cách thể chế"
AREA_3 = "Cải cách thủ tục hành chính"
AREA_7 = "Chính quyền điện tử, chính quyền số"


def task(number: int, area: str, area_title: str, title: str, **fields: object) -> PlanTask:
    values: dict[str, object] = {
        "number": number,
        "kind": "fix",
        "area_code": area,
        "area_title": area_title,
        "criterion_code": None,
        "deficiency": "",
        "points_lost": None,
        "points_max": None,
        "title": title,
        "deadline_text": "Thường xuyên",
        "due_date": None,
        "lead_unit": "Văn phòng - Thanh tra Sở",
        "coordinating": "Các phòng, đơn vị thuộc Sở",
        "monitoring": "",
        "expected_output": "Báo cáo",
        "notes": "",
        "status": "Đang thực hiện",
    }
    values.update(fields)
    return PlanTask(**values)  # type: ignore[arg-type]


# Seed 001 (Hà Tĩnh 2020, Sở Ngoại vụ): deductions with their codes, a kept area, and awkward texts.
TASKS = (
    task(
        1,
        "1",
        AREA_1,
        "Bám sát kế hoạch của tỉnh; đôn đốc, kiểm tra các phòng, đơn vị triển khai đầy đủ các nội dung đã đề ra",
        criterion_code="1.2",
        deficiency="Mức độ hoàn thành kế hoạch CCHC: các kế hoạch chỉ mới thực hiện được 94,76%/100%",
        points_lost=D("0.08"),
        points_max=D("1.5"),
        deadline_text="Quý I/2021",
    ),
    task(
        2,
        "1",
        AREA_1,
        "Ban hành kế hoạch khắc phục trong 15 ngày kể từ khi có kết quả thẩm định",
        criterion_code="1.5",
        deficiency="Văn bản số 51/SNgV-VP ký số quá thời hạn 15 ngày sau khi có kết quả thẩm định",
        points_lost=D("0.5"),
        points_max=D("1"),
        deadline_text="Trong thời hạn 15 ngày kể từ khi nhận được văn bản",
        expected_output="Kế hoạch",
    ),
    task(
        1,
        "2",
        AREA_2,
        "=Ban hành Kế hoạch theo dõi thi hành pháp luật riêng\n(không lồng vào Kế hoạch hoạt động tư pháp)",
        criterion_code="2.6.1",
        deficiency="Kế hoạch theo dõi thi hành pháp luật chưa làm riêng",
        points_lost=D("0.5"),
        points_max=D("0.5"),
        deadline_text="",
        due_date=date(2021, 3, 31),
        lead_unit="Thanh tra Sở",
        coordinating="Văn phòng Sở; Phòng Quản lý đất đai",
        expected_output="Kế hoạch",
        notes="Định kỳ 6 tháng/năm",
    ),
    task(
        1,
        "7",
        AREA_7,
        "Nâng cấp Cổng thông tin điện tử, thêm mục thống kê số liệu về ngành",
        criterion_code="7.1.5",
        deficiency="Chất lượng Cổng thông tin điện tử chỉ đạt 88%/100%",
        points_lost=D("0.170"),
        points_max=D("1.5"),
        monitoring="Văn phòng Sở",
    ),
    task(
        1,
        "3",
        AREA_3,
        "Phát huy kết quả đạt được, tiếp tục triển khai có hiệu quả nhiệm vụ kiểm soát thủ tục hành chính",
        kind="keep",
        expected_output="Thống kê trên phần mềm một cửa",
        status="Chưa bắt đầu",
    ),
    task(
        2,
        "1",
        AREA_1,
        "Đưa nội dung CCHC vào giao ban định kỳ",
        kind="keep",
        criterion_code="1.5.3",
        points_lost=D("0.25"),
        lead_unit="Văn phòng Sở",
    ),
)


def plan(tasks: tuple[PlanTask, ...] = TASKS) -> PlanDocument:
    return PlanDocument(
        province="Hà Tĩnh",
        province_upper="UBND TỈNH HÀ TĨNH",
        tenant="Sở Ngoại vụ",
        short_name="SNgV",
        place="Hà Tĩnh",
        issued_on=date(2021, 3, 5),
        year=2020,
        title="Kế hoạch khắc phục tồn tại, hạn chế sau khi có kết quả Chỉ số CCHC năm 2020",
        purpose=(
            "1. Mục đích",
            "- Nhằm kịp thời chấn chỉnh và khắc phục các tồn tại, hạn chế trong công tác cải cách hành chính.",
            "2. Yêu cầu",
            "- Việc thực hiện kế hoạch phải gắn với Kế hoạch CCHC năm 2021.",
        ),
        organisation=(
            "1. Lãnh đạo các phòng, đơn vị thuộc Sở nghiêm túc chỉ đạo, đôn đốc việc khắc phục.",
            "2. Giao Văn phòng - Thanh tra Sở chủ trì theo dõi, đôn đốc và tổng hợp báo cáo./.",
        ),
        recipients=("UBND tỉnh (để b/c);", "Sở Nội vụ;", "Ban Giám đốc Sở;", "Các phòng, đơn vị;", "Lưu: VT, VPTTr."),
        signer_title="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC",
        signer_name="Thái Phúc Sơn",
        tasks=tasks,
    )


# --- Small formats ----------------------------------------------------------------------------------------------


def test_points_and_deadlines_are_written_the_vietnamese_way() -> None:
    assert points_text(TASKS[0]) == "1,42/1,5"
    assert points_text(TASKS[2]) == "0/0,5"
    assert points_text(TASKS[3]) == "1,33/1,5"
    assert points_text(replace(TASKS[0], points_lost=D("0.771"), points_max=D("3"))) == "2,229/3"
    assert points_text(TASKS[5]) == "trừ 0,25"  # the deduction without the criterion's maximum
    assert points_text(TASKS[4]) == ""
    assert deadline_text(TASKS[2]) == "31/03/2021"  # no text: the due date
    assert deadline_text(TASKS[0]) == "Quý I/2021"


def test_place_and_date_follow_decree_30() -> None:
    assert place_and_date("Hà Tĩnh", date(2023, 2, 24)) == "Hà Tĩnh, ngày 24 tháng 02 năm 2023"
    assert place_and_date("Hà Tĩnh", date(2021, 3, 15)) == "Hà Tĩnh, ngày 15 tháng 3 năm 2021"
    assert place_and_date("Vũng Tàu", date(2024, 11, 5)) == "Vũng Tàu, ngày 05 tháng 11 năm 2024"


# --- Word -------------------------------------------------------------------------------------------------------


def open_docx(data: bytes) -> docx.document.Document:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert archive.testzip() is None
    return docx.Document(BytesIO(data))


def mm(length: Length | None) -> int:
    assert length is not None
    return round(float(length.mm))


def appendix_table(document: docx.document.Document) -> Table:
    tables = [table for table in document.tables if table.rows and table.rows[0].cells[0].text == "TT"]
    assert len(tables) == 1
    return tables[0]


def texts(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_docx_has_the_header_title_sections_and_signature() -> None:
    document = open_docx(plan_docx(plan()))
    header = document.tables[0]
    assert header.cell(0, 0).text == "UBND TỈNH HÀ TĨNH\nSỞ NGOẠI VỤ"
    assert header.cell(0, 1).text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    assert header.cell(1, 0).text.replace(" ", "") == "Số:/KH-SNgV"
    assert header.cell(1, 1).text == "Hà Tĩnh, ngày 05 tháng 3 năm 2021"
    for row in header.rows:  # the header table has no borders: no table style, no cell borders
        for cell in row.cells:
            assert cell._tc.find(f"{qn('w:tcPr')}/{qn('w:tcBorders')}") is None
    assert header._tbl.tblPr.find(qn("w:tblStyle")) is None  # the template's default table style: no borders
    assert header._tbl.tblPr.find(qn("w:tblBorders")) is None

    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    title = paragraphs.index("KẾ HOẠCH")
    assert paragraphs[title + 1] == "Khắc phục tồn tại, hạn chế sau khi có kết quả Chỉ số CCHC năm 2020"
    order = [
        "I. MỤC ĐÍCH, YÊU CẦU",
        "1. Mục đích",
        "II. NHIỆM VỤ VÀ GIẢI PHÁP",
        "1. Nhiệm vụ cần phải khắc phục, cải thiện",
        f"1.1. {AREA_1}",
        f"- {TASKS[0].title}",
        "2. Nhiệm vụ cần duy trì và nâng cao",
        "III. TỔ CHỨC THỰC HIỆN",
        "2. Giao Văn phòng - Thanh tra Sở chủ trì theo dõi, đôn đốc và tổng hợp báo cáo./.",
        "PHỤ LỤC",
    ]
    positions = [paragraphs.index(text) for text in order]
    assert positions == sorted(positions)
    bold = {p.text: all(run.bold for run in p.runs) for p in document.paragraphs if p.runs}
    assert bold["I. MỤC ĐÍCH, YÊU CẦU"]
    assert bold["1. Mục đích"]
    assert bold["KẾ HOẠCH"]
    assert not bold[f"- {TASKS[0].title}"]

    signature = document.tables[1]
    assert signature.cell(0, 0).text.splitlines() == [
        "Nơi nhận:",
        "- UBND tỉnh (để b/c);",
        "- Sở Nội vụ;",
        "- Ban Giám đốc Sở;",
        "- Các phòng, đơn vị;",
        "- Lưu: VT, VPTTr.",
    ]
    lines = [line for line in signature.cell(0, 1).text.splitlines() if line]
    assert lines == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Thái Phúc Sơn"]


def test_docx_is_a4_times_new_roman_with_a_landscape_appendix() -> None:
    document = open_docx(plan_docx(plan()))
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert normal.font.size == Pt(14)
    body, appendix = document.sections[0], document.sections[-1]
    assert len(document.sections) == 2
    assert body.orientation == WD_ORIENT.PORTRAIT
    assert (mm(body.page_width), mm(body.page_height)) == (210, 297)
    assert appendix.orientation == WD_ORIENT.LANDSCAPE
    assert (mm(appendix.page_width), mm(appendix.page_height)) == (297, 210)
    assert appendix.start_type == WD_SECTION.NEW_PAGE
    # The appendix table lies in the landscape section: after the paragraph carrying the portrait section's end.
    body_xml = document.element.body
    portrait_end = next(
        p for p in body_xml.iterchildren(qn("w:p")) if p.find(f"{qn('w:pPr')}/{qn('w:sectPr')}") is not None
    )
    assert body_xml.index(appendix_table(document)._tbl) > body_xml.index(portrait_end)


def test_docx_appendix_table_holds_every_task_under_its_groups() -> None:
    document = open_docx(plan_docx(plan()))
    table = appendix_table(document)
    rows = texts(table)
    assert rows[0] == [
        "TT",
        "Tiêu chí",
        "Tồn tại, hạn chế (tiêu chí bị trừ điểm)",
        "Điểm đạt/tối đa",
        "Giải pháp, nhiệm vụ",
        "Thời hạn hoàn thành",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
        "Đơn vị theo dõi, đôn đốc",
        "Kết quả/sản phẩm",
        "Ghi chú",
    ]
    width = len(rows[0])

    def group(label: str, title: str) -> list[str]:
        return [label] + [title] * (width - 1)  # one cell merged across: python-docx repeats it per grid column

    def line(t: PlanTask) -> list[str]:
        return [
            str(t.number),
            t.criterion_code or "",
            t.deficiency,
            points_text(t),
            t.title,
            deadline_text(t),
            t.lead_unit,
            t.coordinating,
            t.monitoring,
            t.expected_output,
            t.notes,
        ]

    fix_1a, fix_1b, fix_2, fix_7, keep_3, keep_1 = TASKS
    assert rows[1:] == [
        group("A", KIND_TITLES["fix"]),
        group("I", AREA_1.upper()),
        line(fix_1a),
        line(fix_1b),
        group("II", AREA_2.upper()),
        line(fix_2),
        group("VII", AREA_7.upper()),
        line(fix_7),
        group("B", KIND_TITLES["keep"]),
        group("I", AREA_1.upper()),
        line(keep_1),
        group("III", AREA_3.upper()),
        line(keep_3),
    ]
    assert rows[3][:6] == ["1", "1.2", fix_1a.deficiency, "1,42/1,5", fix_1a.title, "Quý I/2021"]
    assert rows[6][4].startswith("=Ban hành")  # text, never a field or formula
    assert rows[6][5] == "31/03/2021"

    header = table.rows[0]._tr
    assert header.trPr is not None
    assert header.trPr.find(qn("w:tblHeader")) is not None
    assert all(row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None for row in table.rows[1:])
    group_row = table.rows[1]
    assert len({id(cell._tc) for cell in group_row.cells[1:]}) == 1  # merged: one w:tc with a gridSpan
    assert group_row.cells[1]._tc.grid_span == width - 1
    assert all(run.bold for run in group_row.cells[1].paragraphs[0].runs)
    assert table.style is not None
    assert table.style.name == "Table Grid"


def test_docx_without_keep_tasks_or_codes_has_no_kind_rows_and_no_empty_columns() -> None:
    tasks = tuple(
        replace(t, criterion_code=None, points_lost=None, points_max=None, monitoring="")
        for t in TASKS
        if t.kind == "fix"
    )
    rows = texts(appendix_table(open_docx(plan_docx(plan(tasks)))))
    assert rows[0] == [
        "TT",
        "Tồn tại, hạn chế (tiêu chí bị trừ điểm)",
        "Giải pháp, nhiệm vụ",
        "Thời hạn hoàn thành",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
        "Kết quả/sản phẩm",
        "Ghi chú",
    ]
    assert [row[0] for row in rows[1:]] == ["I", "1", "2", "II", "1", "VII", "1"]


def test_docx_of_an_empty_plan_and_of_hostile_text_still_opens() -> None:
    empty = open_docx(plan_docx(plan(())))
    assert texts(appendix_table(empty))[1:] == []
    assert "Không có nhiệm vụ." in [p.text for p in empty.paragraphs]
    hostile = replace(TASKS[0], title="Nội dung\x00 có\x07 ký tự điều khiển\r\nvà dòng mới", notes="\ud800")
    document = open_docx(plan_docx(plan((hostile,))))
    assert texts(appendix_table(document))[2][4] == "Nội dung có ký tự điều khiển\nvà dòng mới"
    imported, problems = read_plan_xlsx(plan_xlsx(plan((hostile,))))
    assert problems == []
    assert imported[0].title == "Nội dung có ký tự điều khiển\nvà dòng mới"


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Loại nhiệm vụ"):
        plan_docx(plan((replace(TASKS[0], kind="other"),)))


# --- Excel export and its round trip ----------------------------------------------------------------------------


def test_xlsx_is_one_printable_sheet_with_the_same_table() -> None:
    workbook = load_workbook(BytesIO(plan_xlsx(plan())))
    assert workbook.sheetnames == ["Ke hoach 2020"]
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    assert ws["A1"].value == "DANH MỤC NHIỆM VỤ KHẮC PHỤC TỒN TẠI, HẠN CHẾ VÀ DUY TRÌ, NÂNG CAO CHỈ SỐ CCHC"
    assert ws["A2"].value == "Khắc phục tồn tại, hạn chế sau khi có kết quả Chỉ số CCHC năm 2020"
    header = [cell.value for cell in ws[5]]
    assert header[:5] == [
        "TT",
        "Tiêu chí",
        "Tồn tại, hạn chế (tiêu chí bị trừ điểm)",
        "Điểm đạt/tối đa",
        "Giải pháp, nhiệm vụ",
    ]
    assert header[-1] == "Trạng thái"
    assert ws.freeze_panes == "A6"
    assert ws.print_title_rows == "$5:$5"
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.column_dimensions["E"].width == 50
    assert ws["A6"].value == "A"
    assert ws["B6"].value == KIND_TITLES["fix"]
    assert ws["B6"].font.bold
    assert ws["A7"].value == "I"
    assert ws["B7"].value == AREA_1.upper()
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:L1", "B6:L6", "B7:L7"} <= merged
    assert [ws.cell(8, c).value for c in range(1, 7)] == [
        1,
        "1.2",
        TASKS[0].deficiency,
        "1,42/1,5",
        TASKS[0].title,
        "Quý I/2021",
    ]
    assert ws["A8"].data_type == "n"
    injected = ws.cell(11, 5)
    assert str(injected.value).startswith("=Ban hành")
    assert injected.data_type == "s"
    assert ws.cell(8, 5).alignment.wrap_text
    assert ws.row_dimensions[8].height
    assert ws.row_dimensions[8].height > 15


def test_xlsx_round_trip_gives_the_same_tasks_back() -> None:
    document = plan()
    imported, problems = read_plan_xlsx(plan_xlsx(document))
    assert problems == []
    order = (TASKS[0], TASKS[1], TASKS[2], TASKS[3], TASKS[5], TASKS[4])  # by kind, then area
    assert [
        (
            t.area_hint,
            t.criterion_code,
            t.deficiency,
            t.points_text,
            t.title,
            t.deadline_text,
            t.lead_unit,
            t.coordinating,
            t.expected_output,
            t.notes,
            t.kind,
            t.area_title,
            t.monitoring,
        )
        for t in imported
    ] == [
        (
            t.area_code,
            t.criterion_code,
            t.deficiency,
            points_text(t),
            t.title,
            deadline_text(t),
            t.lead_unit,
            t.coordinating,
            t.expected_output,
            t.notes,
            t.kind,
            t.area_title.upper(),
            t.monitoring,
        )
        for t in order
    ]
    assert [t.row for t in imported] == [8, 9, 11, 13, 16, 18]


def test_xlsx_round_trip_of_a_fix_only_plan_without_optional_columns() -> None:
    tasks = tuple(replace(t, criterion_code=None, points_lost=None, monitoring="") for t in TASKS[:4])
    imported, problems = read_plan_xlsx(plan_xlsx(plan(tasks)))
    assert problems == []
    assert [(t.area_hint, t.title, t.kind, t.criterion_code, t.points_text) for t in imported] == [
        (t.area_code, t.title, "fix", None, "") for t in tasks
    ]


# --- Import of department sheets --------------------------------------------------------------------------------


def save(workbook: Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


SEED_000_HEADER = (
    "TT",
    "Tồn tại, hạn chế trong công tác CCHC, \ncác tiêu chí bị trừ điểm",
    "Giải pháp \nkhắc phục ",
    "Thời hạn\nhoàn thành",
    "Đơn vị chủ trì \nthực hiện",
    "Cơ quan phối hợp",
    "Kết quả/sản phẩm",
    "Ghi chú",
)


def seed_like_workbook() -> Workbook:
    """Seed 000's appendix as departments keep it in Excel: titles, header, Roman group rows, merged cells."""
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.title = "Phu luc"
    ws["A1"] = "PHỤ LỤC"
    ws["A2"] = "Giải pháp khắc phục các tồn tại, hạn chế trong công tác CCHC năm 2022"
    ws["A3"] = "(Kèm theo Kế hoạch số: 640/KH-STNMT ngày 24/02/2023 của Sở TN&MT)"
    ws.merge_cells("A1:H1")
    ws.append([])
    ws.append(SEED_000_HEADER)  # row 5
    ws.append(["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)", "(8)"])  # row 6: column numbers
    ws.append(["I", "CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CẢI CÁCH HÀNH CHÍNH"])  # row 7
    ws.merge_cells("B7:H7")
    ws.append(
        [
            1,
            "Tiêu chí 1.2: Mức độ hoàn thành kế hoạch CCHC đạt 1,42/1,5 điểm. Lý do các kế hoạch chỉ mới thực hiện"
            " được 94,76%/100%.",
            "Tham mưu báo cáo đúng thời gian quy định",
            "Theo quy định",
            "Văn phòng",
            "Các phòng, đơn vị",
            "Báo cáo",
            None,
        ]
    )  # row 8, its deficiency merged down over row 9
    ws.append([2, None, "Nghiên cứu, đề xuất các sáng kiến mới trong công tác CCHC", "Trong năm", "Văn phòng Sở"])
    ws.merge_cells("B8:B9")
    ws.append([3, "Báo cáo năm ban hành quá thời gian quy định", None, "Quý I", "Văn phòng"])  # row 10: no remedy
    ws.append(["II.", "CẢI CÁCH THỂ CHẾ"])  # row 11
    ws.append(
        [
            1,
            "Kế hoạch theo dõi thi hành pháp luật chưa làm riêng (TC 2.6.1) - đạt 0/0,5 điểm",
            "Ban hành Kế hoạch theo dõi thi hành pháp luật riêng",
            date(2024, 3, 31),  # Excel keeps a date cell as a date and time
            "Thanh tra Sở",
        ]
    )  # row 12
    ws.append([2, "Tồn tại", "Rà soát văn bản QPPL", None, "Thanh tra và các phòng, đơn vị"])  # row 13: no deadline
    ws.append([3, "Tồn tại", '=CONCATENATE("Rà soát", " lại")', "Trong năm", "Thanh tra"])  # row 14: formula
    ws.append([4, "x" * 4001, "Nhiệm vụ", "Trong năm", "Thanh tra"])  # row 15: too long
    ws.append([])
    ws.append(list(SEED_000_HEADER))  # row 17: the header repeated, as on every page of a document
    ws.append(["VII", "XÂY DỰNG VÀ PHÁT TRIỂN CHÍNH QUYỀN ĐIỆN TỬ, CHÍNH QUYỀN SỐ"])  # row 18
    ws.append([1, "", "Duy trì Tổ hướng dẫn thực hiện dịch vụ công trực tuyến", "Năm 2024", "Văn phòng Sở"])
    return workbook


def test_import_reads_a_seed_like_sheet_with_its_groups_and_problems() -> None:
    tasks, problems = read_plan_xlsx(save(seed_like_workbook()))
    summary = [(t.row, t.area_hint, t.criterion_code, t.points_text, t.title, t.deadline_text) for t in tasks]
    assert summary == [
        (8, "1", "1.2", "1,42/1,5", "Tham mưu báo cáo đúng thời gian quy định", "Theo quy định"),
        (9, "1", "1.2", "1,42/1,5", "Nghiên cứu, đề xuất các sáng kiến mới trong công tác CCHC", "Trong năm"),
        (12, "2", "2.6.1", "0/0,5", "Ban hành Kế hoạch theo dõi thi hành pháp luật riêng", "31/03/2024"),
        (13, "2", None, "", "Rà soát văn bản QPPL", ""),
        (19, "7", None, "", "Duy trì Tổ hướng dẫn thực hiện dịch vụ công trực tuyến", "Năm 2024"),
    ]
    first = tasks[0]
    assert first.deficiency.startswith("Tiêu chí 1.2: Mức độ hoàn thành")
    assert tasks[1].deficiency == first.deficiency  # merged down: the top-left value
    assert (first.lead_unit, first.coordinating, first.expected_output, first.notes) == (
        "Văn phòng",
        "Các phòng, đơn vị",
        "Báo cáo",
        "",
    )
    assert first.area_title == "CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CẢI CÁCH HÀNH CHÍNH"
    assert all(t.kind == "fix" for t in tasks)
    assert [(p.row, p.column) for p in problems] == [
        (10, "Giải pháp khắc phục"),
        (13, "Thời hạn hoàn thành"),
        (14, "Giải pháp khắc phục"),
        (15, "Tồn tại, hạn chế trong công tác CCHC, các tiêu chí bị trừ điểm"),
    ]
    reasons = [p.reason for p in problems]
    assert reasons[0] == "Thiếu nội dung giải pháp, nhiệm vụ (ô C10 trống)."
    assert reasons[1].startswith("Thiếu thời hạn")
    assert "D13" in reasons[1]
    assert "C14" in reasons[2]
    assert "công thức" in reasons[2]
    assert "B15" in reasons[3]
    assert "4.001" in reasons[3]
    assert "4.000" in reasons[3]


def test_import_reads_fix_and_keep_groups_of_seed_004() -> None:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.append(["PHỤ LỤC 2"])
    ws.append(
        [
            "STT",
            "Nhiệm vụ / Nội dung thực hiện",
            "Cơ quan chủ trì tham mưu, tổ chức thực hiện",
            "Cơ quan phối hợp",
            "Cơ quan theo dõi, đôn đốc, tổng hợp",
            "Kết quả của nhiệm vụ",
            "Thời gian thực hiện",
        ]
    )
    ws.append(["I", "NHIỆM VỤ CẦN PHẢI KHẮC PHỤC, CẢI THIỆN"])  # row 3
    ws.append([1, "CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CCHC"])
    row_fix = ["1.1", "Đổi mới, sáng tạo trong triển khai nhiệm vụ CCHC", "Văn Phòng sở", "Các phòng, đơn vị thuộc Sở"]
    ws.append([*row_fix, "Văn Phòng sở", "Báo cáo kết quả thực hiện", "Năm 2024"])  # row 5
    ws.append([3, "CẢI CÁCH CHẾ ĐỘ CÔNG VỤ"])
    ws.append(
        [
            "3.1",
            "Cập nhật dữ liệu cán bộ, công chức, viên chức",
            "Các phòng, đơn vị",
            None,
            "Văn phòng Sở",
            None,
            "Theo yêu cầu của Sở Nội vụ",
        ]
    )  # row 7
    ws.append(["II", "NHIỆM VỤ CẦN DUY TRÌ VÀ NÂNG CAO"])
    ws.append([1, "CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CẢI CÁCH HÀNH CHÍNH"])
    ws.append(
        [
            "1.5.1",
            "Xử lý thông tin phản ánh trên Đường dây nóng",
            "Văn phòng Sở",
            "Các phòng, đơn vị thuộc Sở",
            None,
            "Báo cáo kết quả thực hiện.",
            "Báo cáo năm trước ngày 15/11",
        ]
    )  # row 10
    ws.append(["B.", "Nhiệm vụ khác"])  # a lettered group: B without a known title is the "keep" kind
    ws.append([1, "Tiếp tục rà soát TTHC", "Văn phòng Sở", None, None, None, "Quý II/2024"])  # row 12
    ws.append(["A. NHIỆM VỤ CẦN PHẢI KHẮC PHỤC, CẢI THIỆN"])  # the whole group row in TT, merged across
    ws.merge_cells("A13:G13")
    ws.append([1, "Khắc phục hồ sơ trễ hạn", "Văn phòng Sở", None, None, None, "Thường xuyên"])  # row 14
    tasks, problems = read_plan_xlsx(save(workbook))
    assert problems == []
    assert [(t.row, t.kind, t.area_hint, t.title) for t in tasks] == [
        (5, "fix", "1", "Đổi mới, sáng tạo trong triển khai nhiệm vụ CCHC"),
        (7, "fix", "3", "Cập nhật dữ liệu cán bộ, công chức, viên chức"),
        (10, "keep", "1", "Xử lý thông tin phản ánh trên Đường dây nóng"),
        (12, "keep", "", "Tiếp tục rà soát TTHC"),
        (14, "fix", "", "Khắc phục hồ sơ trễ hạn"),
    ]
    assert tasks[0].monitoring == "Văn Phòng sở"
    assert tasks[0].expected_output == "Báo cáo kết quả thực hiện"
    assert tasks[0].deficiency == ""
    assert tasks[0].criterion_code is None
    assert tasks[2].deadline_text == "Báo cáo năm trước ngày 15/11"


def test_import_reads_area_criterion_and_points_columns() -> None:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.append(
        [
            "Lĩnh vực",
            "Tiêu chí",
            "Điểm",
            "Tồn tại hạn chế",
            "Nội dung nhiệm vụ",
            "Thời gian hoàn thành",
            "Chủ trì",
            "Đơn vị phối hợp",
            "Sản phẩm",
            "GHI  CHÚ",
        ]
    )
    ws.append(
        [
            "II. Cải cách thể chế",
            2.5,
            "0,5/1",
            "Dưới 100% văn bản",
            "Tổ chức thực hiện văn bản QPPL",
            "Thường xuyên",
            "Thanh tra Sở",
            "Các phòng",
            "Báo cáo",
            "Sở Tư pháp xác định",
        ]
    )
    ws.append(["3", "Tiêu chí 3.1", 0.25, "", "Công bố TTHC", "Quý II/2024", "Văn phòng"])
    ws.append(["Cải cách tài chính công", None, None, "", "Công khai tài sản công", "Trong năm", "Phòng KH-TC"])
    tasks, problems = read_plan_xlsx(save(workbook))
    assert problems == []
    assert [(t.area_hint, t.area_title, t.criterion_code, t.points_text) for t in tasks] == [
        ("2", "Cải cách thể chế", "2.5", "0,5/1"),
        ("3", "", "3.1", "0,25"),
        ("Cải cách tài chính công", "Cải cách tài chính công", None, ""),
    ]
    assert tasks[0].notes == "Sở Tư pháp xác định"
    assert tasks[0].expected_output == "Báo cáo"


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (("TT", "Tồn tại, hạn chế", "Giải pháp", "Đơn vị chủ trì", "Ghi chú"), "Thời hạn hoàn thành"),
        (("STT", "Tồn tại, hạn chế", "Thời hạn", "Đơn vị chủ trì"), "Giải pháp/Nhiệm vụ"),
    ],
)
def test_import_names_a_missing_required_header(header: tuple[str, ...], missing: str) -> None:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.append(["KẾ HOẠCH KHẮC PHỤC"])
    ws.append(header)
    ws.append([1, "Tồn tại", "Nội dung", "Văn phòng"])
    tasks, problems = read_plan_xlsx(save(workbook))
    assert tasks == []
    assert len(problems) == 1
    assert problems[0].row == 0
    assert problems[0].column == missing
    assert f"“{missing}”" in problems[0].reason
    assert "dòng 2" in problems[0].reason


def test_import_of_a_table_without_tasks() -> None:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.append(["TT", "Nhiệm vụ", "Thời hạn"])
    ws.append(["I", "CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH"])
    assert read_plan_xlsx(save(workbook)) == (
        [],
        [ImportRowProblem(0, "", "Bảng kế hoạch không có nhiệm vụ nào dưới dòng tiêu đề (dòng 1).")],
    )


def test_import_without_any_header_row() -> None:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    for row in range(1, 30):
        ws.append([row, "Một dòng văn bản bất kỳ"])
    tasks, problems = read_plan_xlsx(save(workbook))
    assert tasks == []
    assert [(p.row, p.column) for p in problems] == [(0, "")]
    assert "15 dòng đầu" in problems[0].reason


def test_import_finds_the_table_on_a_later_sheet() -> None:
    workbook = seed_like_workbook()
    cover = workbook.create_sheet("Ke hoach", 0)
    cover["A1"] = "KẾ HOẠCH khắc phục tồn tại, hạn chế"
    tasks, _ = read_plan_xlsx(save(workbook))
    assert [t.row for t in tasks] == [8, 9, 12, 13, 19]


def test_import_refuses_files_that_are_not_plans() -> None:
    assert read_plan_xlsx(b"TT;Giai phap;Thoi han\n1;a;b") == ([], [ImportRowProblem(0, "", NOT_XLSX)])
    docx_bytes = plan_docx(plan())
    assert read_plan_xlsx(docx_bytes) == ([], [ImportRowProblem(0, "", NOT_XLSX)])
    truncated = plan_xlsx(plan())[:3000]
    assert read_plan_xlsx(truncated) == ([], [ImportRowProblem(0, "", NOT_XLSX)])
    tasks, problems = read_plan_xlsx(b"PK" + b"\0" * MAX_FILE_BYTES)
    assert tasks == []
    assert len(problems) == 1
    assert "5 MB" in problems[0].reason


def test_import_refuses_more_than_2000_rows() -> None:
    workbook = Workbook()
    ws = workbook.active
    assert isinstance(ws, Worksheet)
    ws.append(["TT", "Giải pháp", "Thời hạn"])
    for number in range(1, MAX_IMPORT_ROWS + 1):
        ws.append([number, f"Nhiệm vụ {number}", "Trong năm"])
    tasks, problems = read_plan_xlsx(save(workbook))
    assert (len(tasks), problems) == (MAX_IMPORT_ROWS, [])
    ws.append([MAX_IMPORT_ROWS + 1, "Một nhiệm vụ quá nhiều", "Trong năm"])
    tasks, problems = read_plan_xlsx(save(workbook))
    assert tasks == []
    assert [(p.row, p.column) for p in problems] == [(0, "")]
    assert "2.000" in problems[0].reason


def test_imported_task_defaults_keep_the_brief_api() -> None:
    task_ = ImportedTask(1, "", None, "", "", "Nhiệm vụ", "Quý I", "", "", "", "")
    assert (task_.kind, task_.area_title, task_.monitoring) == ("fix", "", "")
