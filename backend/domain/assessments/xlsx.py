"""Excel files exchanged with Sở Nội vụ: a department's self-assessment in the layout departments send
today, and the externally-entered scores (SIPAS, leaders' assessment, DTI) for every department at once.

Pure functions over bytes. Points are exact Decimals (3 places), never floats: written as numbers, read
back through their text, so 9,376 stays Decimal("9.376"). Messages are Vietnamese, for the person who
filled in the file.
"""

from __future__ import annotations

import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from backend.domain.assessments.sheet import Sheet
from backend.domain.scoring.methods import POINTS_PLACES, ScoringError, parse_decimal, quantize
from backend.web.formatting import vn_percent
from backend.web.workbook import (
    BOLD,
    BOX,
    CENTER,
    HEADER_FILL,
    TOP,
    cell_at,
    first_sheet,
    put_text,
    save_workbook,
    thousands,
)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # a 5 MB zip that inflates beyond this is not a score sheet
MAX_ROWS = 2000  # data rows below the header
MAX_COLUMNS = 200

CODE_HEADER = "Mã đơn vị"
NAME_HEADER = "Tên đơn vị"
EXPORT_HEADERS = ("TT", "Tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Giải trình", "Tài liệu kiểm chứng")
EXPORT_TITLE = "BẢNG TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year}"

NOT_XLSX = "Tệp không phải là bảng tính Excel (.xlsx)."
# "General" shows 9,376 and 10 as they are (in the reader's locale); "0.###" would show "10." for whole numbers.
POINTS_FORMAT = "General"


@dataclass(frozen=True)
class SheetRow:
    code: str
    title: str
    depth: int
    max_points: Decimal
    self_score: Decimal | None  # None: not yet scored (empty cell)
    explanation: str
    evidence: str  # the plain references to evidence documents


@dataclass(frozen=True)
class SelfAssessmentSheet:
    province: str
    tenant: str
    year: int
    status: str  # Vietnamese label, e.g. "Dự thảo"
    exported_on: date
    rows: Sequence[SheetRow]
    total_max: Decimal
    total_score: Decimal
    index: Decimal | None = None  # the Chỉ số CCHC (percent, rounded as published); None: not shown
    result_class: str = ""
    adjustments: Sequence[tuple[str, Decimal]] = ()  # the bonus and penalty counted, above the total


def adjustment_lines(sheet: Sheet) -> list[tuple[str, Decimal]]:
    """The bonus and penalty the total counts, each within its cap, as labelled lines (none for a set without
    bonus or penalty areas): the areas' rows show what was scored, these lines what the total adds and takes."""
    if not sheet.adjusted:
        return []

    def label(what: str, cap: Decimal | None) -> str:
        return f"{what} được tính" + (f" (tối đa {vn_points(cap)} điểm)" if cap is not None else "")

    return [
        (label("Điểm cộng", sheet.bonus_cap), sheet.bonus),
        (label("Điểm trừ", sheet.penalty_cap), sheet.penalty),
    ]


@dataclass(frozen=True)
class ExternalColumn:
    code: str
    title: str
    max_points: Decimal


@dataclass(frozen=True)
class ExternalValue:
    tenant_code: str
    criterion_code: str
    points: Decimal


@dataclass(frozen=True)
class ImportProblem:
    cell: str  # "C5", or "" for file-level problems
    reason: str  # Vietnamese


def vn_points(value: Decimal) -> str:
    """17 → "17", 13.245 → "13,245": the decimal comma of every message."""
    return f"{value.normalize():f}".replace(".", ",")


def _put_points(ws: Worksheet, row: int, column: int, value: Decimal | None) -> Cell:
    """Write points as a number holding exactly their decimal text (87,225 stays 87.225 in the file).

    openpyxl would write a Decimal through float with 16 digits ("87.22499999999999"); a numeric cell whose
    value is the decimal's own text is written verbatim.
    """
    cell = cell_at(ws, row, column)
    if value is not None:
        if not value.is_finite():
            raise ValueError(f"Điểm không hợp lệ: {value}")
        cell.value = f"{value.normalize():f}"
        cell.data_type = "n"
    cell.number_format = POINTS_FORMAT
    return cell


# --- Export of a self-assessment ------------------------------------------------------------------------------


def sheet_rows(sheet: Sheet) -> list[SheetRow]:
    """The self-assessment's rows as the XLSX lays them out (its own export and the submission package's)."""
    return [
        SheetRow(
            code="" if r.remainder else r.code,
            title=f"Các nội dung khác của {r.code}" if r.remainder else r.node.title,
            depth=r.node.depth + (1 if r.remainder else 0),
            max_points=r.max_points,
            self_score=r.score,
            explanation=f"Không áp dụng: {r.not_applicable}"
            if r.not_applicable is not None
            else (r.entry.explanation if r.entry and (r.remainder or not r.children) else ""),
            evidence=(r.entry.evidence_refs if r.entry and (r.remainder or not r.children) else "")
            or (r.node.evidence or "" if not r.remainder else ""),
        )
        for r in sheet.rows()
    ]


def export_self_assessment(sheet: SelfAssessmentSheet) -> bytes:
    """The department's self-assessment as an .xlsx in the layout departments send to Sở Nội vụ."""
    workbook = Workbook()
    ws = first_sheet(workbook, f"Tu danh gia {sheet.year}")
    last_column = get_column_letter(len(EXPORT_HEADERS))

    ws.merge_cells(f"A1:{last_column}1")
    title = put_text(ws, 1, 1, EXPORT_TITLE.format(year=sheet.year))
    title.font, title.alignment = Font(bold=True, size=13), CENTER
    ws.row_dimensions[1].height = 36
    facts = (
        ("Đơn vị", sheet.tenant),
        ("Tỉnh", sheet.province),
        ("Trạng thái", sheet.status),
        ("Ngày xuất", sheet.exported_on.strftime("%d/%m/%Y")),
    )
    for row, (label, value) in enumerate(facts, start=2):
        put_text(ws, row, 1, f"{label}:").font = BOLD
        put_text(ws, row, 2, value)

    header_row = len(facts) + 3  # one empty row between the facts and the table
    for column, text in enumerate(EXPORT_HEADERS, start=1):
        cell = put_text(ws, header_row, column, text)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEADER_FILL, CENTER, BOX

    row = header_row
    for row, item in enumerate(sheet.rows, start=header_row + 1):
        cells = (
            put_text(ws, row, 1, item.code),
            put_text(ws, row, 2, item.title),
            _put_points(ws, row, 3, item.max_points),
            _put_points(ws, row, 4, item.self_score),
            put_text(ws, row, 5, item.explanation),
            put_text(ws, row, 6, item.evidence),
        )
        for cell in cells:
            cell.border, cell.alignment = BOX, TOP
            if item.depth == 0:  # a reform area
                cell.font = BOLD
        cells[1].alignment = Alignment(vertical="top", wrap_text=True, indent=min(max(item.depth, 0), 15))

    for offset, (label, points) in enumerate(sheet.adjustments, start=1):
        put_text(ws, row + offset, 2, label).border = BOX
        _put_points(ws, row + offset, 4, points).border = BOX
    total_row = row + len(sheet.adjustments) + 1
    put_text(ws, total_row, 2, "Tổng điểm")
    _put_points(ws, total_row, 3, sheet.total_max)
    _put_points(ws, total_row, 4, sheet.total_score)
    for column in range(1, len(EXPORT_HEADERS) + 1):
        cell = cell_at(ws, total_row, column)
        cell.font, cell.border = BOLD, BOX

    if sheet.index is not None:
        index_row = total_row + 1
        put_text(ws, index_row, 2, "Chỉ số CCHC (tổng điểm ÷ tối đa áp dụng × 100)").font = BOLD
        put_text(ws, index_row, 4, vn_percent(sheet.index)).font = BOLD
        if sheet.result_class:
            put_text(ws, index_row, 5, f"Xếp loại: {sheet.result_class}").font = BOLD

    for column, width in enumerate((10, 60, 12, 12, 50, 40), start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return save_workbook(workbook)


# --- Export of the province's results -------------------------------------------------------------------------

RESULTS_TITLE = "KẾT QUẢ TỰ ĐÁNH GIÁ CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM {year} THEO NHÓM XẾP HẠNG"
RESULTS_HEADERS = (
    "Nhóm xếp hạng",
    "Hạng",
    "Số đơn vị trong nhóm",
    "Mã đơn vị",
    "Tên đơn vị",
    "Tổng điểm",
    "Điểm tối đa áp dụng",
    "Chỉ số CCHC (%)",
    "Xếp loại",
    "Trạng thái",
)


@dataclass(frozen=True)
class ResultLine:
    """One unit of the province's results: its group, rank and class, its points out of its applicable maximum."""

    group: str
    rank: int | None  # None: nothing applies to the unit, so it has no index
    of: int
    tenant_code: str
    tenant_name: str
    total: Decimal
    applicable_max: Decimal
    index: Decimal | None  # already rounded once, as published
    result_class: str
    status: str


def export_province_results(
    province: str, year: int, places: int, lines: Sequence[ResultLine], missing: Sequence[str], exported_on: date
) -> bytes:
    """The province's results of the year, group by group, as an .xlsx: each index a number shown with the
    province's declared places (the value is the published, once-rounded index, never rounded again)."""
    workbook = Workbook()
    ws = first_sheet(workbook, f"Ket qua {year}")
    last_column = get_column_letter(len(RESULTS_HEADERS))
    ws.merge_cells(f"A1:{last_column}1")
    title = put_text(ws, 1, 1, RESULTS_TITLE.format(year=year))
    title.font, title.alignment = Font(bold=True, size=13), CENTER
    ws.row_dimensions[1].height = 36
    for row, (label, value) in enumerate((("Tỉnh", province), ("Ngày xuất", exported_on.strftime("%d/%m/%Y"))), 2):
        put_text(ws, row, 1, f"{label}:").font = BOLD
        put_text(ws, row, 2, value)
    note = "Số liệu tự chấm của đơn vị; chỉ số = tổng điểm ÷ điểm tối đa áp dụng × 100, làm tròn một lần, nửa lên."
    put_text(ws, 4, 1, note)
    header_row = 6
    for column, text in enumerate(RESULTS_HEADERS, start=1):
        cell = put_text(ws, header_row, column, text)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEADER_FILL, CENTER, BOX
    index_format = "0" if places == 0 else "0." + "0" * places
    row = header_row
    for row, line in enumerate(lines, start=header_row + 1):
        cells = [
            put_text(ws, row, 1, line.group),
            _put_points(ws, row, 2, Decimal(line.rank) if line.rank is not None else None),
            _put_points(ws, row, 3, Decimal(line.of)),
            put_text(ws, row, 4, line.tenant_code),
            put_text(ws, row, 5, line.tenant_name),
            _put_points(ws, row, 6, line.total),
            _put_points(ws, row, 7, line.applicable_max),
            _put_points(ws, row, 8, line.index),
            put_text(ws, row, 9, line.result_class),
            put_text(ws, row, 10, line.status),
        ]
        cells[7].number_format = index_format
        for cell in cells:
            cell.border, cell.alignment = BOX, TOP
    if missing:
        put_text(ws, row + 2, 1, "Chưa bắt đầu tự đánh giá:").font = BOLD
        put_text(ws, row + 2, 2, "; ".join(missing))
    for column, width in enumerate((28, 8, 10, 26, 44, 12, 12, 14, 14, 20), start=1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.auto_filter.ref = f"A{header_row}:{last_column}{max(row, header_row)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    return save_workbook(workbook)


# --- Externally-entered scores ------------------------------------------------------------------------------


def external_template(tenants: Sequence[tuple[str, str]], columns: Sequence[ExternalColumn], year: int) -> bytes:
    """The sheet Sở Nội vụ fills in: one row per department (code, name), one column per external criterion."""
    workbook = Workbook()
    ws = first_sheet(workbook, f"Diem ngoai {year}")
    for column, text in enumerate((CODE_HEADER, NAME_HEADER, *(c.code for c in columns)), start=1):
        cell = put_text(ws, 1, column, text)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEADER_FILL, CENTER, BOX
    for row, (code, name) in enumerate(tenants, start=2):
        put_text(ws, row, 1, code)
        put_text(ws, row, 2, name)
    last_row = max(len(tenants) + 1, 2)
    for column, criterion in enumerate(columns, start=3):
        letter = get_column_letter(column)
        ws.cell(1, column).comment = Comment(
            f"{criterion.title}\nĐiểm tối đa: {vn_points(criterion.max_points)}", "parboard"
        )
        ws.column_dimensions[letter].width = 12
        validation = DataValidation(
            type="decimal",
            operator="between",
            formula1="0",
            formula2=f"{criterion.max_points.normalize():f}",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Điểm không hợp lệ",
            error=f"Tiêu chí {criterion.code}: nhập số từ 0 đến {vn_points(criterion.max_points)}.",
        )
        ws.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{last_row}")
        for row in range(2, last_row + 1):
            ws.cell(row, column).number_format = POINTS_FORMAT
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 45
    ws.freeze_panes = "C2"

    guide = workbook.create_sheet("Huong dan")
    lines = (
        f"Nhập điểm các tiêu chí do Sở Nội vụ nhập cho các sở, ban, ngành — năm {year}",
        "Mỗi dòng một đơn vị; không sửa cột Mã đơn vị và dòng tiêu đề.",
        "Điểm là số, tối đa 3 chữ số thập phân (ví dụ 13,245), không âm, không vượt điểm tối đa.",
        "Để trống ô chưa có điểm.",
    )
    for row, line in enumerate(lines, start=1):
        put_text(guide, row, 1, line)
    cell_at(guide, 1, 1).font = BOLD
    table = len(lines) + 2
    for column, text in enumerate(("Mã tiêu chí", "Tên tiêu chí", "Điểm tối đa"), start=1):
        put_text(guide, table, column, text).font = BOLD
    for row, criterion in enumerate(columns, start=table + 1):
        put_text(guide, row, 1, criterion.code)
        put_text(guide, row, 2, criterion.title).alignment = TOP
        _put_points(guide, row, 3, criterion.max_points)
    for column, width in enumerate((14, 70, 12), start=1):
        guide.column_dimensions[get_column_letter(column)].width = width
    return save_workbook(workbook)


def read_external_scores(
    data: bytes, tenants: Mapping[str, str], columns: Sequence[ExternalColumn]
) -> tuple[list[ExternalValue], list[ImportProblem]]:
    """Every value of the filled-in template, and every problem found (all of them, each with its cell).

    `tenants` maps the province's tenant codes to names. Empty cells are skipped; the caller decides to
    apply nothing when there is any problem.
    """
    loaded = _load(data)
    if isinstance(loaded, ImportProblem):
        return [], [loaded]
    header, rows = loaded
    return _parse(header, rows, tenants, columns)


def _load(data: bytes) -> tuple[tuple[object, ...], list[tuple[object, ...]]] | ImportProblem:
    if len(data) > MAX_FILE_BYTES:
        return ImportProblem("", f"Tệp lớn hơn {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                return ImportProblem("", "Tệp quá lớn sau khi giải nén; không phải bảng điểm hợp lệ.")
    except (zipfile.BadZipFile, ValueError, OSError):
        return ImportProblem("", NOT_XLSX)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for files that are not workbooks
        return ImportProblem("", NOT_XLSX)
    try:
        if not workbook.worksheets:
            return ImportProblem("", "Bảng tính trống: không có trang tính nào.")
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # the stored size is often wrong (or the whole sheet); read what is there
        header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        width = max((index for index, value in enumerate(header, start=1) if not _blank(value)), default=0)
        if width == 0:
            return ImportProblem("", "Bảng tính trống hoặc không có dòng tiêu đề (dòng 1).")
        if width > MAX_COLUMNS:
            return ImportProblem("", f"Bảng tính có quá nhiều cột (tối đa {MAX_COLUMNS}).")
        rows: list[tuple[object, ...]] = []
        for index, row in enumerate(sheet.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
            if index > MAX_ROWS + 1:
                if any(not _blank(value) for value in row):
                    return ImportProblem(
                        "", f"Bảng tính có quá nhiều dòng (tối đa {thousands(MAX_ROWS)} dòng dữ liệu)."
                    )
                continue
            rows.append(tuple(row))
        return tuple(header[:width]), rows
    except Exception:  # a sheet is parsed lazily: a broken one fails only here
        return ImportProblem("", NOT_XLSX)
    finally:
        workbook.close()


def _parse(
    header: tuple[object, ...],
    rows: list[tuple[object, ...]],
    tenants: Mapping[str, str],
    columns: Sequence[ExternalColumn],
) -> tuple[list[ExternalValue], list[ImportProblem]]:
    problems: list[ImportProblem] = []
    by_code = {column.code: column for column in columns}
    tenant_column: int | None = None
    value_columns: dict[int, ExternalColumn] = {}
    seen: dict[str, str] = {}
    for index, raw in enumerate(header, start=1):
        label = _text(raw)
        if not label:
            continue
        ref = f"{get_column_letter(index)}1"
        key = _fold(label)
        if key in seen:
            problems.append(ImportProblem(ref, f"Cột “{label}” bị trùng với cột {seen[key]}."))
            continue
        seen[key] = ref
        if key == _fold(CODE_HEADER):
            tenant_column = index
        elif key == _fold(NAME_HEADER):
            continue
        elif label in by_code:
            value_columns[index] = by_code[label]
        else:
            known = ", ".join(by_code) or "không có"
            problems.append(
                ImportProblem(ref, f"Mã tiêu chí “{label}” không thuộc các tiêu chí nhập từ bên ngoài ({known}).")
            )
    if tenant_column is None:
        problems.append(ImportProblem("", f"Thiếu cột “{CODE_HEADER}” ở dòng tiêu đề (dòng 1)."))
        return [], problems
    if not value_columns and not problems:
        problems.append(ImportProblem("", "Dòng tiêu đề không có cột tiêu chí nào."))

    canonical = {_fold(code): code for code in tenants}
    first_row: dict[str, int] = {}
    values: list[ExternalValue] = []
    for row_number, row in enumerate(rows, start=2):
        raw_code = _at(row, tenant_column)
        cells = [(index, column, _at(row, index)) for index, column in value_columns.items()]
        if _blank(raw_code) and all(_blank(raw) for _, _, raw in cells):
            continue
        code_ref = f"{get_column_letter(tenant_column)}{row_number}"
        typed = _text(raw_code)
        tenant = canonical.get(_fold(typed))
        if not typed:
            problems.append(ImportProblem(code_ref, "Thiếu mã đơn vị."))
        elif tenant is None:
            problems.append(ImportProblem(code_ref, f"Mã đơn vị “{typed}” không có trong danh sách đơn vị của tỉnh."))
        elif tenant in first_row:
            problems.append(
                ImportProblem(code_ref, f"Đơn vị “{tenant}” đã có ở dòng {first_row[tenant]}; mỗi đơn vị chỉ một dòng.")
            )
            tenant = None
        else:
            first_row[tenant] = row_number
        for index, column, raw in cells:
            if _blank(raw):
                continue
            try:
                points = _points(raw, column)
            except ScoringError as exc:
                problems.append(ImportProblem(f"{get_column_letter(index)}{row_number}", str(exc)))
                continue
            if tenant is not None:
                values.append(ExternalValue(tenant, column.code, points))
    return values, problems


def _points(raw: object, column: ExternalColumn) -> Decimal:
    """One cell as exact points, or ScoringError saying what is wrong with it."""
    try:
        if isinstance(raw, bool):
            raise ScoringError("not a number")
        if isinstance(raw, float):
            # Excel keeps 15 significant digits: 13.245 stays 13.245, 13.243000000000002 (a formula) is 13.243
            value = parse_decimal(format(raw, ".15g"))
        elif isinstance(raw, str | int | Decimal):
            value = parse_decimal(raw)
        else:
            raise ScoringError("not a number")
    except ScoringError as exc:
        raise ScoringError(f"Giá trị “{_text(raw)}” không phải là số (ví dụ 13,245).") from exc
    if value < 0:
        raise ScoringError(f"Điểm không được âm ({vn_points(value)}).")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -POINTS_PLACES:
        raise ScoringError(f"Điểm {vn_points(value)} có quá {POINTS_PLACES} chữ số thập phân.")
    if value > column.max_points:
        raise ScoringError(
            f"Điểm {vn_points(value)} vượt quá điểm tối đa {vn_points(column.max_points)} của tiêu chí {column.code}."
        )
    return quantize(abs(value))  # abs: "-0" is 0


def _at(row: tuple[object, ...], column: int) -> object:
    return row[column - 1] if column <= len(row) else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format(value, ".15g")  # a code Excel turned into a number: 9.1, not 9.0999999999999996
    return unicodedata.normalize("NFC", str(value)).strip()


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()
