"""A department's remedy plan as the documents it signs and exchanges: the Word "Kế hoạch khắc phục tồn tại, hạn
chế" with its appendix table, the same table as an Excel sheet, and the import of an existing plan's table.

The layout follows the seeds and Nghị định 30/2020/NĐ-CP: A4, Times New Roman, the two-column header (agency /
national motto), "Số: …/KH-…", place and date, "KẾ HOẠCH" and its subject, sections I–III, "Nơi nhận" and the
signature, then the appendix in landscape: TT, tồn tại/hạn chế, điểm đạt/tối đa, giải pháp, thời hạn, chủ trì,
phối hợp, kết quả, ghi chú; group rows per kind ("A. NHIỆM VỤ CẦN PHẢI KHẮC PHỤC, CẢI THIỆN" / "B. NHIỆM VỤ CẦN
DUY TRÌ VÀ NÂNG CAO", when not every task is a fix) and per reform area (Roman numeral and area title).

The import finds the table's header row among the first rows of the first sheet that has one, whatever the
wording the department used ("Giải pháp khắc phục", "Nhiệm vụ / Nội dung thực hiện", "Thời gian thực hiện", …),
and returns a preview: the tasks it could read and every problem, each with its row (nothing is saved here).

Pure functions over bytes: no database, no web. Messages are Vietnamese.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from io import BytesIO

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.section import Section
from docx.shared import Cm, Emu, Length, Mm, Pt
from docx.styles.style import ParagraphStyle
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from backend.domain.assessments.xlsx import MAX_COLUMNS, MAX_FILE_BYTES, MAX_UNZIPPED_BYTES, NOT_XLSX, vn_points
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

__all__ = [
    "KIND_FIX",
    "KIND_KEEP",
    "KIND_TITLES",
    "MAX_IMPORT_ROWS",
    "MAX_TEXT",
    "ImportRowProblem",
    "ImportedTask",
    "PlanDocument",
    "PlanTask",
    "deadline_text",
    "place_and_date",
    "plan_docx",
    "plan_xlsx",
    "points_text",
    "read_plan_xlsx",
]

KIND_FIX = "fix"
KIND_KEEP = "keep"
KIND_TITLES = {
    KIND_FIX: "NHIỆM VỤ CẦN PHẢI KHẮC PHỤC, CẢI THIỆN",
    KIND_KEEP: "NHIỆM VỤ CẦN DUY TRÌ VÀ NÂNG CAO",
}
APPENDIX_TITLE = "PHỤ LỤC"
APPENDIX_SUBTITLE = "DANH MỤC NHIỆM VỤ KHẮC PHỤC TỒN TẠI, HẠN CHẾ"
APPENDIX_SUBTITLE_KEEP = "DANH MỤC NHIỆM VỤ KHẮC PHỤC TỒN TẠI, HẠN CHẾ VÀ DUY TRÌ, NÂNG CAO CHỈ SỐ CCHC"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

MAX_IMPORT_ROWS = 2000  # data rows below the header
MAX_TEXT = 4000  # characters in one cell of an imported task
HEADER_SEARCH_ROWS = 15

FONT = "Times New Roman"
_BODY_STYLE, _BODY_STYLE_ID = "Plan Body", "PlanBody"
_TABLE_STYLE, _TABLE_STYLE_ID = "Plan Table", "PlanTable"

# --- The plan -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanTask:
    number: int  # shown as the row's TT within its area group
    kind: str  # "fix" | "keep"
    area_code: str  # "1" … "9"
    area_title: str
    criterion_code: str | None
    deficiency: str  # tồn tại, hạn chế
    points_lost: Decimal | None
    points_max: Decimal | None  # shown as "1,42/1,5" (điểm đạt/điểm tối đa) when both are known
    title: str  # giải pháp / nhiệm vụ
    deadline_text: str  # as written ("Quý II/2024")
    due_date: date | None
    lead_unit: str
    coordinating: str  # names joined by "; "
    monitoring: str
    expected_output: str
    notes: str
    status: str  # Vietnamese column name, e.g. "Đang thực hiện"


@dataclass(frozen=True)
class PlanDocument:
    province: str  # "Hà Tĩnh"
    province_upper: str  # "UBND TỈNH HÀ TĨNH"
    tenant: str  # "Sở Ngoại vụ"
    short_name: str  # "SNgV" → "Số: …/KH-SNgV"
    place: str  # "Hà Tĩnh"
    issued_on: date
    year: int
    title: str  # "Kế hoạch khắc phục tồn tại, hạn chế sau khi có kết quả Chỉ số CCHC năm 2023"
    purpose: Sequence[str]  # paragraphs of I. MỤC ĐÍCH, YÊU CẦU
    organisation: Sequence[str]  # paragraphs of III. TỔ CHỨC THỰC HIỆN
    recipients: Sequence[str]  # Nơi nhận
    signer_title: str  # "GIÁM ĐỐC" (a line break for "KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC")
    signer_name: str
    tasks: Sequence[PlanTask]


def points_text(task: PlanTask) -> str:
    """ "1,42/1,5" (điểm đạt/điểm tối đa) when both are known; "trừ 0,08" when only the deduction is."""
    if task.points_lost is not None and task.points_max is not None:
        return f"{vn_points(task.points_max - task.points_lost)}/{vn_points(task.points_max)}"
    if task.points_lost is not None:
        return f"trừ {vn_points(task.points_lost)}"
    return ""


def deadline_text(task: PlanTask) -> str:
    if task.deadline_text.strip():
        return task.deadline_text
    return task.due_date.strftime("%d/%m/%Y") if task.due_date else ""


def number_line(doc: PlanDocument) -> str:
    """ "Số:      /KH-SNgV": the number itself is given by the records office when the plan is issued."""
    return f"Số:       /KH-{doc.short_name}"


def place_and_date(place: str, day: date) -> str:
    """ "Hà Tĩnh, ngày 05 tháng 02 năm 2023": a zero before days below 10 and months 1 and 2 (Nghị định 30)."""
    dd = f"{day.day:02d}"
    mm = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"{place}, ngày {dd} tháng {mm} năm {day.year}"


def appendix_note(doc: PlanDocument) -> str:
    return f"(Kèm theo Kế hoạch số      /KH-{doc.short_name} ngày {doc.issued_on:%d/%m/%Y} của {doc.tenant})"


def roman(number: int) -> str:
    if number <= 0:
        return str(number)
    out = []
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L")):
        count, number = divmod(number, value)
        out.append(letters * count)
    for value, letters in ((40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


_ROMANS = {roman(n): n for n in range(1, 40)}


@dataclass(frozen=True)
class _Column:
    key: str
    header: str
    weight: float  # cm at a 26 cm wide landscape table
    width: int  # characters in the sheet
    centered: bool
    value: Callable[[PlanTask], str]


_COLUMNS = (
    _Column("tt", "TT", 1.2, 6, True, lambda t: str(t.number)),
    _Column("criterion", "Tiêu chí", 1.4, 9, True, lambda t: t.criterion_code or ""),
    _Column("deficiency", "Tồn tại, hạn chế (tiêu chí bị trừ điểm)", 4.4, 40, False, lambda t: t.deficiency),
    _Column("points", "Điểm đạt/tối đa", 2.1, 11, True, points_text),
    _Column("title", "Giải pháp, nhiệm vụ", 5.6, 50, False, lambda t: t.title),
    _Column("deadline", "Thời hạn hoàn thành", 2.5, 16, True, deadline_text),
    _Column("lead", "Đơn vị chủ trì", 2.5, 22, False, lambda t: t.lead_unit),
    _Column("coordinating", "Đơn vị phối hợp", 2.5, 22, False, lambda t: t.coordinating),
    _Column("monitoring", "Đơn vị theo dõi, đôn đốc", 2.3, 20, False, lambda t: t.monitoring),
    _Column("output", "Kết quả/sản phẩm", 2.5, 22, False, lambda t: t.expected_output),
    _Column("notes", "Ghi chú", 1.9, 16, False, lambda t: t.notes),
    _Column("status", "Trạng thái", 2.0, 16, False, lambda t: t.status),
)
_OPTIONAL = {"criterion", "points", "monitoring", "status"}  # shown only when some task has a value


def _columns(tasks: Sequence[PlanTask], *, with_status: bool) -> list[_Column]:
    chosen = []
    for column in _COLUMNS:
        if column.key == "status" and not with_status:
            continue
        if column.key in _OPTIONAL and not any(column.value(task).strip() for task in tasks):
            continue
        chosen.append(column)
    return chosen


@dataclass(frozen=True)
class _Group:
    label: str  # "A", "I"
    title: str
    is_kind: bool


def _table_rows(tasks: Sequence[PlanTask]) -> Iterator[_Group | PlanTask]:
    """Group rows and task rows in the appendix's order: by kind (fix first), then area, as given within."""
    for task in tasks:
        if task.kind not in KIND_TITLES:
            raise ValueError(f"Loại nhiệm vụ không hợp lệ: “{task.kind}” (chỉ “fix” hoặc “keep”).")
    kinds = [kind for kind in KIND_TITLES if any(task.kind == kind for task in tasks)]
    show_kinds = kinds != [KIND_FIX] and bool(kinds)
    for letter, kind in zip("ABCDEFGH", kinds, strict=False):
        if show_kinds:
            yield _Group(letter, KIND_TITLES[kind], is_kind=True)
        areas: dict[str, list[PlanTask]] = {}
        for task in tasks:
            if task.kind == kind:
                areas.setdefault(task.area_code, []).append(task)
        for code in sorted(areas, key=_area_order):
            members = areas[code]
            label = roman(int(code)) if code.isdigit() else code
            yield _Group(label, members[0].area_title.upper(), is_kind=False)
            yield from members


def _area_order(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (10**6, code)


def _clean(text: str) -> str:
    """Text Word and Excel accept: no control characters or lone surrogates, line breaks as "\n"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub("", ILLEGAL_CHARACTERS_RE.sub("", text))


_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _subject(title: str) -> str:
    """The subject line under "KẾ HOẠCH": the title without its leading "Kế hoạch"."""
    rest = re.sub(r"^\s*k[ếe]\s*ho[ạa]ch\b[\s:,-]*", "", title, flags=re.IGNORECASE)
    if not rest:
        return title
    return rest[0].upper() + rest[1:]


# --- Word -----------------------------------------------------------------------------------------------------

_A4_SHORT, _A4_LONG = Mm(210), Mm(297)
_PORTRAIT_WIDTH = _A4_SHORT - Cm(3) - Cm(1.5)
_LANDSCAPE_WIDTH = _A4_LONG - Cm(2) - Cm(1.5)
_SUBHEADING = re.compile(r"^\d+(\.\d+)*\.\s+\S")


def plan_docx(doc: PlanDocument) -> bytes:
    """The signed-plan document: portrait body, then the appendix table in a landscape section."""
    document = Document()
    _styles(document)
    _page(document.sections[0], landscape=False)
    _docx_header(document, doc)
    _docx_body(document, doc)
    _docx_signature(document, doc)

    appendix = document.add_section(WD_SECTION.NEW_PAGE)
    _page(appendix, landscape=True)
    _docx_appendix(document, doc)

    properties = document.core_properties
    properties.author = "parboard"
    properties.title = _clean(doc.title)[:255]
    properties.language = "vi-VN"
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _styles(document: DocxDocument) -> None:
    normal = document.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    normal.font.name = FONT
    normal.font.size = Pt(14)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:eastAsia", "w:cs"):  # Word picks these for some Vietnamese letters and digits
        fonts.set(qn(attribute), FONT)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0

    body = document.styles.add_style(_BODY_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(body, ParagraphStyle)
    assert body.style_id == _BODY_STYLE_ID
    body.base_style = normal
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.paragraph_format.first_line_indent = Cm(1)
    body.paragraph_format.space_after = Pt(6)
    body.paragraph_format.line_spacing = 1.15

    table = document.styles.add_style(_TABLE_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(table, ParagraphStyle)
    assert table.style_id == _TABLE_STYLE_ID
    table.base_style = normal
    table.font.size = Pt(12)
    table.paragraph_format.space_before = Pt(2)
    table.paragraph_format.space_after = Pt(2)


def _page(section: Section, *, landscape: bool) -> None:
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = _A4_LONG, _A4_SHORT
        section.left_margin, section.right_margin = Cm(2), Cm(1.5)
        section.top_margin, section.bottom_margin = Cm(2), Cm(1.5)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = _A4_SHORT, _A4_LONG
        section.left_margin, section.right_margin = Cm(3), Cm(1.5)
        section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.header_distance, section.footer_distance = Cm(1), Cm(1)


def _write(
    paragraph: Paragraph,
    text: str,
    *,
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = None,
) -> Paragraph:
    run = paragraph.add_run(_clean(text))
    run.bold = bold or None
    run.italic = italic or None
    if size is not None:
        run.font.size = Pt(size)
    if align is not None:
        paragraph.alignment = align
    return paragraph


def _cell_lines(cell: _Cell, lines: Sequence[tuple[str, float, bool, bool]]) -> None:
    """Centred lines (text, size, bold, italic) in a cell, the first in the cell's own paragraph."""
    for index, (text, size, bold, italic) in enumerate(lines):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        _write(paragraph, text, size=size, bold=bold, italic=italic, align=WD_ALIGN_PARAGRAPH.CENTER)


def _fixed_widths(table: Table, widths: Sequence[Length]) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = width


def _docx_header(document: DocxDocument, doc: PlanDocument) -> None:
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_widths(table, (Cm(6.5), Emu(_PORTRAIT_WIDTH - Cm(6.5))))
    _cell_lines(table.cell(0, 0), ((doc.province_upper, 13, False, False), (doc.tenant.upper(), 13, True, False)))
    _cell_lines(table.cell(0, 1), ((NATION, 13, True, False), (MOTTO, 14, True, False)))
    _cell_lines(table.cell(1, 0), ((number_line(doc), 13, False, False),))
    _cell_lines(table.cell(1, 1), ((place_and_date(doc.place, doc.issued_on), 14, False, True),))
    for cell in (table.cell(1, 0), table.cell(1, 1)):
        cell.paragraphs[0].paragraph_format.space_before = Pt(6)

    title = _write(document.add_paragraph(), "KẾ HOẠCH", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.space_before = Pt(18)
    subject = _write(document.add_paragraph(), _subject(doc.title), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    subject.paragraph_format.space_after = Pt(18)


def _body(document: DocxDocument, text: str, *, bold: bool = False, italic: bool = False) -> Paragraph:
    paragraph = document.add_paragraph()
    _set_style(paragraph, _BODY_STYLE_ID)
    return _write(paragraph, text, bold=bold, italic=italic)


def _set_style(paragraph: Paragraph, style_id: str) -> None:
    """`paragraph.style = …` without python-docx's search of every style on each call (minutes on long plans)."""
    paragraph._p.style = style_id


def _docx_body(document: DocxDocument, doc: PlanDocument) -> None:
    _body(document, "I. MỤC ĐÍCH, YÊU CẦU", bold=True)
    for text in doc.purpose:
        _body(document, text, bold=_is_subheading(text))

    _body(document, "II. NHIỆM VỤ VÀ GIẢI PHÁP", bold=True)
    kinds = [kind for kind in KIND_TITLES if any(task.kind == kind for task in doc.tasks)]
    numbered = len(kinds) > 1
    for kind_number, kind in enumerate(kinds, start=1):
        prefix = f"{kind_number}." if numbered else ""
        if numbered:
            _body(document, f"{kind_number}. {KIND_TITLES[kind].capitalize()}", bold=True)
        areas: dict[str, list[PlanTask]] = {}
        for task in doc.tasks:
            if task.kind == kind:
                areas.setdefault(task.area_code, []).append(task)
        for area_number, code in enumerate(sorted(areas, key=_area_order), start=1):
            heading = f"{prefix}{area_number}. {areas[code][0].area_title}"
            _body(document, heading, bold=True, italic=numbered)
            for task in areas[code]:
                _body(document, f"- {task.title}")
    if not doc.tasks:
        _body(document, "Không có nhiệm vụ.")
    _body(document, "(Chi tiết nhiệm vụ, thời hạn, đơn vị chủ trì, phối hợp tại Phụ lục kèm theo.)", italic=True)

    _body(document, "III. TỔ CHỨC THỰC HIỆN", bold=True)
    for text in doc.organisation:
        _body(document, text, bold=_is_subheading(text))


def _is_subheading(text: str) -> bool:
    """ "1. Mục đích": a short numbered line without closing punctuation, bold as the seeds have it."""
    stripped = text.strip()
    return bool(_SUBHEADING.match(stripped)) and len(stripped) <= 80 and not stripped.endswith((".", ";", ":", ","))


def _docx_signature(document: DocxDocument, doc: PlanDocument) -> None:
    spacer = document.add_paragraph()
    spacer.paragraph_format.space_after = Pt(6)
    table = document.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_widths(table, (Cm(7.5), Emu(_PORTRAIT_WIDTH - Cm(7.5))))
    left, right = table.cell(0, 0), table.cell(0, 1)
    _write(left.paragraphs[0], "Nơi nhận:", size=12, bold=True, italic=True)
    for recipient in doc.recipients:
        text = recipient.strip()
        _write(left.add_paragraph(), text if text.startswith(("-", "–")) else f"- {text}", size=11)
    titles = [line.strip() for line in doc.signer_title.splitlines() if line.strip()] or [""]
    lines: list[tuple[str, float, bool, bool]] = [(line, 14, True, False) for line in titles]
    lines += [("", 14, False, False)] * 4  # room for the signature and the seal
    lines.append((doc.signer_name, 14, True, False))
    _cell_lines(right, lines)
    for cell in (left, right):
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP


def _docx_appendix(document: DocxDocument, doc: PlanDocument) -> None:
    has_keep = any(task.kind == KIND_KEEP for task in doc.tasks)
    _write(document.add_paragraph(), APPENDIX_TITLE, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    subtitle = APPENDIX_SUBTITLE_KEEP if has_keep else APPENDIX_SUBTITLE
    _write(document.add_paragraph(), subtitle, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    _write(document.add_paragraph(), _subject(doc.title), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    note = _write(document.add_paragraph(), appendix_note(doc), italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    note.paragraph_format.space_after = Pt(12)

    columns = _columns(doc.tasks, with_status=False)
    total = sum(column.weight for column in columns)
    widths: list[Length] = [Emu(int(_LANDSCAPE_WIDTH * column.weight / total)) for column in columns]
    table = document.add_table(rows=1, cols=len(columns))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _fixed_widths(table, widths)

    header = table.rows[0]
    for cell, column in zip(header.cells, columns, strict=True):
        _table_text(cell, column.header, bold=True, centered=True)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    _row_flags(header, header_row=True)

    for item in _table_rows(doc.tasks):
        row = table.add_row()
        cells = row.cells
        if isinstance(item, _Group):
            _table_text(cells[0], item.label, bold=True, centered=True)
            merged = cells[1].merge(cells[-1]) if len(cells) > 2 else cells[1]
            _table_text(merged, item.title, bold=True, centered=False)
            _row_flags(row, header_row=False)
            continue
        for cell, column in zip(cells, columns, strict=True):  # add_row() gave each cell its column's width
            _table_text(cell, column.value(item), bold=False, centered=column.centered)
    document.add_paragraph()  # Word wants a paragraph after a table that ends the document


def _table_text(cell: _Cell, text: str, *, bold: bool, centered: bool) -> None:
    paragraph = cell.paragraphs[0]
    _set_style(paragraph, _TABLE_STYLE_ID)
    if centered:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if text:
        run = paragraph.add_run(_clean(text))  # "\n" becomes a line break, read back as "\n"
        run.bold = bold or None


def _row_flags(row: _Row, *, header_row: bool) -> None:
    """A row that never splits across pages; the header row is repeated on every page (w:tblHeader)."""
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))  # before w:tblHeader, as CT_TrPr orders them
    if header_row:
        properties.append(OxmlElement("w:tblHeader"))


# --- Excel ----------------------------------------------------------------------------------------------------

_GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
_KIND_FILL = PatternFill("solid", fgColor="FFF2CC")
_TOP_CENTER = Alignment(horizontal="center", vertical="top", wrap_text=True)
_LINE_POINTS = 15  # one line of the default 11 pt font


def _row_height(cells: Sequence[tuple[str, int]]) -> float:
    """Points for a row whose cells wrap: Excel does not grow a row written by openpyxl on its own."""
    lines = 1
    for text, width in cells:
        per_line = max(width - 1, 1)
        lines = max(lines, sum(max(1, -(-len(part) // per_line)) for part in text.split("\n")))
    return min(lines * _LINE_POINTS + 3, 409)  # 409 points: Excel's highest row


def _put(ws: Worksheet, row: int, column: int, text: str) -> Cell:
    return put_text(ws, row, column, _clean(text))


def plan_xlsx(doc: PlanDocument) -> bytes:
    """The appendix table as one sheet "Ke hoach <year>", laid out to print in landscape on A4."""
    workbook = Workbook()
    ws = first_sheet(workbook, f"Ke hoach {doc.year}")
    columns = _columns(doc.tasks, with_status=True)
    last = len(columns)
    has_keep = any(task.kind == KIND_KEEP for task in doc.tasks)
    titles = (
        (APPENDIX_SUBTITLE_KEEP if has_keep else APPENDIX_SUBTITLE, Font(bold=True, size=13), 24),
        (_subject(doc.title), Font(bold=True, size=12), 36),
        (appendix_note(doc), Font(italic=True), 18),
    )
    for row, (text, font, height) in enumerate(titles, start=1):
        cell = _put(ws, row, 1, text)
        cell.font, cell.alignment = font, CENTER
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last)
        ws.row_dimensions[row].height = height

    header_row = len(titles) + 2
    for index, column in enumerate(columns, start=1):
        cell = _put(ws, header_row, index, column.header)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEADER_FILL, CENTER, BOX
    ws.row_dimensions[header_row].height = _row_height([(c.header, c.width) for c in columns])

    for row, item in enumerate(_table_rows(doc.tasks), start=header_row + 1):
        if isinstance(item, _Group):
            fill = _KIND_FILL if item.is_kind else _GROUP_FILL
            label = _put(ws, row, 1, item.label)
            label.font, label.alignment, label.border, label.fill = BOLD, CENTER, BOX, fill
            title = _put(ws, row, 2, item.title)
            title.font, title.alignment, title.border, title.fill = BOLD, TOP, BOX, fill
            for index in range(3, last + 1):  # the borders of a merged range are its cells' borders
                cell_at(ws, row, index).border = BOX
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=last)
            continue
        for index, column in enumerate(columns, start=1):
            if column.key == "tt":
                cell = cell_at(ws, row, index)
                cell.value = item.number
            else:
                cell = _put(ws, row, index, column.value(item))
            cell.border = BOX
            cell.alignment = _TOP_CENTER if column.centered else TOP
        ws.row_dimensions[row].height = _row_height([(column.value(item), column.width) for column in columns])

    for index, column in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    return save_workbook(workbook)


# --- Import of an existing plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedTask:
    row: int  # the sheet row number
    area_hint: str  # "1" from the group row "I." above (or a "Lĩnh vực" column), "" if none
    criterion_code: str | None  # from "Tiêu chí 1.2: …" / "(TC 2.6.1)" / a "Tiêu chí" column
    deficiency: str
    points_text: str  # "1,42/1,5" as written, "" if none
    title: str
    deadline_text: str
    lead_unit: str
    coordinating: str
    expected_output: str
    notes: str
    kind: str = KIND_FIX  # "keep" under a "NHIỆM VỤ CẦN DUY TRÌ VÀ NÂNG CAO" (or "B.") group row
    area_title: str = ""  # the group row's title, as written ("CẢI CÁCH THỂ CHẾ")
    monitoring: str = ""  # "Cơ quan theo dõi, đôn đốc" column (seed 004)


@dataclass(frozen=True)
class ImportRowProblem:
    row: int  # 0 for file-level
    column: str  # header name, or ""
    reason: str  # Vietnamese


TITLE_HEADER = "Giải pháp/Nhiệm vụ"
DEADLINE_HEADER = "Thời hạn hoàn thành"

# Header wordings, folded (no diacritics, lower case, words only). A header matches the synonym it starts with,
# else one it contains (two words or more); the longest wins, so "Tiêu chí bị trừ điểm" is the deficiency.
_HEADERS: dict[str, tuple[str, ...]] = {
    "tt": ("tt", "stt", "so tt", "so thu tu"),
    "deficiency": (
        "ton tai han che",
        "ton tai",
        "tieu chi bi tru diem",
        "noi dung ton tai",
        "han che",
    ),
    "title": (
        "giai phap",
        "giai phap khac phuc",
        "nhiem vu",
        "noi dung nhiem vu",
        "noi dung thuc hien",
        "bien phap khac phuc",
    ),
    "deadline": (
        "thoi han",
        "thoi han hoan thanh",
        "thoi gian hoan thanh",
        "thoi gian thuc hien",
        "thoi gian",
        "tien do hoan thanh",
    ),
    "lead": ("don vi chu tri", "co quan chu tri", "chu tri", "phong chu tri", "don vi thuc hien"),
    "coordinating": ("phoi hop", "don vi phoi hop", "co quan phoi hop"),
    "monitoring": ("theo doi", "co quan theo doi", "don vi theo doi"),
    "output": ("ket qua", "san pham", "ket qua san pham"),
    "notes": ("ghi chu",),
    "area": ("linh vuc",),
    "criterion": ("tieu chi", "ma tieu chi"),
    "points": ("diem", "so diem"),
    "status": ("trang thai", "tinh trang"),
}
_HEADER_MAX_WORDS = 20
_CODE_IN_TEXT = re.compile(r"(?:\btieu\s*chi|\btc)\s*:?\s*(\d+(?:\.\d+)*)", re.IGNORECASE)
_CODE = re.compile(r"\d+(?:\.\d+)*")
_POINTS = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d+)?)\s*/\s*(\d+(?:[.,]\d+)?)(?![\d%]|[.,]\d)")
_GROUP_LABEL = re.compile(r"^([IVXL]+|[A-H])\s*(?:[.):-]\s*|\s+|$)(.*)$", re.DOTALL)
_GROUP_LETTERS = frozenset("ABCDEFGH")  # "I" is a Roman numeral before it is a letter
_ARABIC = re.compile(r"^\d+\.?$")
_COLUMN_NUMBER = re.compile(r"^\(?(\d+)\)?$")


@dataclass(frozen=True)
class _Value:
    text: str
    formula: bool = False


_EMPTY = _Value("")
_Cells = list[_Value]


def read_plan_xlsx(data: bytes) -> tuple[list[ImportedTask], list[ImportRowProblem]]:
    """The tasks of an existing plan's table, and every problem found (file-level problems have row 0).

    A task whose deadline cell is empty is returned with the problem "Thiếu thời hạn …"; a row with an empty
    remedy, a formula or an over-long text is not returned. Merged cells: every row a merged range spans reads
    its top-left value in the range's first column (a remedy sharing a deficiency keeps it).
    """
    loaded = _read_sheet(data)
    if isinstance(loaded, ImportRowProblem):
        return [], [loaded]
    return _parse(loaded)


@dataclass(frozen=True)
class _Sheet:
    rows: list[_Cells]  # rows[0] is sheet row 1
    header_row: int
    fields: dict[str, int]  # field → 0-based column
    names: dict[str, str]  # field → the header as written
    fills: dict[tuple[int, int], _Value]  # (row, column) inside a merged range → its top-left value


def _read_sheet(data: bytes) -> _Sheet | ImportRowProblem:
    if len(data) > MAX_FILE_BYTES:
        return ImportRowProblem(0, "", f"Tệp lớn hơn {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                return ImportRowProblem(0, "", "Tệp quá lớn sau khi giải nén; không phải bảng kế hoạch hợp lệ.")
    except (zipfile.BadZipFile, ValueError, OSError):
        return ImportRowProblem(0, "", NOT_XLSX)
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds of errors for files that are not workbooks
        return ImportRowProblem(0, "", NOT_XLSX)
    try:
        if not workbook.worksheets:
            return ImportRowProblem(0, "", "Bảng tính trống: không có trang tính nào.")
        first_problem: ImportRowProblem | None = None
        for sheet in workbook.worksheets:
            if hasattr(sheet, "reset_dimensions"):
                sheet.reset_dimensions()  # the stored size is often wrong; read what is there
            top = [_row_values(cells) for cells in sheet.iter_rows(max_row=HEADER_SEARCH_ROWS)]
            found = _find_header(top)
            if isinstance(found, ImportRowProblem):
                first_problem = first_problem or found
                continue
            header_row, fields, names = found
            rows: list[_Cells] = []
            last_allowed = header_row + MAX_IMPORT_ROWS
            for number, cells in enumerate(sheet.iter_rows(), start=1):
                values = _row_values(cells)
                if number > last_allowed:
                    if any(value.text for value in values):
                        return ImportRowProblem(
                            0,
                            "",
                            f"Bảng kế hoạch có quá nhiều dòng (tối đa {thousands(MAX_IMPORT_ROWS)} dòng dưới dòng "
                            "tiêu đề).",
                        )
                    continue
                rows.append(values)
            fills = _merged_fills(data, getattr(sheet, "_worksheet_path", None), rows, last_allowed)
            return _Sheet(rows, header_row, fields, names, fills)
        assert first_problem is not None
        return first_problem
    except Exception:  # a sheet is parsed lazily: a broken one fails only here
        return ImportRowProblem(0, "", NOT_XLSX)
    finally:
        workbook.close()


def _row_values(cells: tuple[object, ...]) -> _Cells:
    values: _Cells = []
    for cell in cells[:MAX_COLUMNS]:
        raw = getattr(cell, "value", None)
        formula = getattr(cell, "data_type", None) == "f"
        values.append(_Value(_cell_text(raw), formula) if raw is not None else _EMPTY)
    return values


def _cell_text(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, datetime):
        return raw.strftime("%d/%m/%Y") if raw.time() == time(0) else raw.strftime("%d/%m/%Y %H:%M")
    if isinstance(raw, date):
        return raw.strftime("%d/%m/%Y")
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else format(raw, ".15g")
    text = unicodedata.normalize("NFC", str(raw)).replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _merged_fills(data: bytes, path: object, rows: list[_Cells], last_row: int) -> dict[tuple[int, int], _Value]:
    """For each cell inside a merged range below its top-left cell, in the range's first column: the value."""
    if not isinstance(path, str):
        return {}
    fills: dict[tuple[int, int], _Value] = {}
    tag = f"{{{SHEET_MAIN_NS}}}mergeCell"
    with zipfile.ZipFile(BytesIO(data)) as archive, archive.open(path.lstrip("/")) as source:
        for _, element in iterparse(source):
            if element.tag == tag:
                try:
                    min_col, min_row, _max_col, max_row = range_boundaries(element.get("ref", ""))
                except (ValueError, TypeError):
                    continue
                if min_col is None or min_row is None or max_row is None or min_row > len(rows):
                    continue
                row = rows[min_row - 1]
                top = row[min_col - 1] if min_col <= len(row) else _EMPTY
                for number in range(min_row + 1, min(max_row, last_row) + 1):
                    fills[(number, min_col - 1)] = top
            element.clear()
    return fills


def _fold(text: str) -> str:
    """ "Thời hạn\nhoàn thành" → "thoi han hoan thanh": no case, diacritics, punctuation or extra spaces."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    return " ".join(re.findall(r"[0-9a-z]+", text))


def _header_field(label: str) -> str | None:
    words = _fold(label).split()
    if not words or len(words) > _HEADER_MAX_WORDS:
        return None
    best: tuple[tuple[int, int, int], str] | None = None
    for order, (field, synonyms) in enumerate(_HEADERS.items()):
        for synonym in synonyms:
            parts = synonym.split()
            size = len(parts)
            if words[:size] == parts:
                score = (2, size, -order)
            elif size >= 2 and any(words[i : i + size] == parts for i in range(1, len(words) - size + 1)):
                score = (1, size, -order)
            else:
                continue
            if best is None or score > best[0]:
                best = (score, field)
    return best[1] if best else None


def _header_map(row: _Cells) -> tuple[dict[str, int], dict[str, str]]:
    fields: dict[str, int] = {}
    names: dict[str, str] = {}
    for index, value in enumerate(row):
        field = _header_field(value.text) if value.text and not value.formula else None
        if field is not None and field not in fields:  # the first of two "Nhiệm vụ" columns is the task
            fields[field] = index
            names[field] = " ".join(value.text.split())
    return fields, names


def _find_header(rows: list[_Cells]) -> tuple[int, dict[str, int], dict[str, str]] | ImportRowProblem:
    best: tuple[int, int, dict[str, int], dict[str, str]] | None = None  # (matched, row, fields, names)
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS], start=1):
        fields, names = _header_map(row)
        if "title" in fields and "deadline" in fields:
            return number, fields, names
        if fields and (best is None or len(fields) > best[0]):
            best = (len(fields), number, fields, names)
    if best is None or best[0] < 2:
        return ImportRowProblem(
            0,
            "",
            f"Không tìm thấy dòng tiêu đề của bảng trong {HEADER_SEARCH_ROWS} dòng đầu: cần có cột “{TITLE_HEADER}” "
            f"và cột “{DEADLINE_HEADER}”.",
        )
    _, number, fields, _ = best
    missing = [name for field, name in (("title", TITLE_HEADER), ("deadline", DEADLINE_HEADER)) if field not in fields]
    quoted = " và ".join(f"“{name}”" for name in missing)
    return ImportRowProblem(0, missing[0], f"Dòng tiêu đề (dòng {number}) thiếu cột {quoted}.")


def _parse(sheet: _Sheet) -> tuple[list[ImportedTask], list[ImportRowProblem]]:
    tasks: list[ImportedTask] = []
    problems: list[ImportRowProblem] = []
    fields, names = sheet.fields, sheet.names
    kind, area, area_title = KIND_FIX, "", ""
    for number in range(sheet.header_row + 1, len(sheet.rows) + 1):
        own = sheet.rows[number - 1]
        if not any(value.text for value in own):
            continue
        if _is_column_numbers(own) or _is_repeated_header(own, fields):
            continue
        group = _group_row(own, fields)
        if group is not None:
            label, title, group_kind = group
            if group_kind is not None:
                kind, area, area_title = group_kind, "", ""
            elif label:
                area, area_title = label, title
            continue

        def cell(field: str, row: _Cells = own, at: int = number) -> _Value:
            column = fields.get(field)
            if column is None:
                return _EMPTY
            value = row[column] if column < len(row) else _EMPTY
            if not value.text:
                value = sheet.fills.get((at, column), value)
            return value

        row_problems: list[ImportRowProblem] = []
        for field, column in fields.items():
            value = cell(field)
            ref = f"{get_column_letter(column + 1)}{number}"
            if value.formula:
                row_problems.append(
                    ImportRowProblem(
                        number, names[field], f"Ô {ref} chứa công thức; hãy dán giá trị thay cho công thức."
                    )
                )
            elif len(value.text) > MAX_TEXT:
                row_problems.append(
                    ImportRowProblem(
                        number,
                        names[field],
                        f"Ô {ref} dài {thousands(len(value.text))} ký tự, vượt quá {thousands(MAX_TEXT)} ký tự.",
                    )
                )
        title_ref = f"{get_column_letter(fields['title'] + 1)}{number}"
        if not cell("title").text and not cell("title").formula:
            row_problems.append(
                ImportRowProblem(number, names["title"], f"Thiếu nội dung giải pháp, nhiệm vụ (ô {title_ref} trống).")
            )
        if row_problems:
            problems.extend(row_problems)
            continue

        deficiency = cell("deficiency").text
        title = cell("title").text
        deadline = cell("deadline").text
        if not deadline:
            ref = f"{get_column_letter(fields['deadline'] + 1)}{number}"
            problems.append(ImportRowProblem(number, names["deadline"], f"Thiếu thời hạn hoàn thành (ô {ref} trống)."))
        area_hint, row_area_title = area, area_title
        if "area" in fields and cell("area").text:
            area_hint, row_area_title = _area_from_text(cell("area").text)
        code = _criterion(cell("criterion").text, deficiency, title, has_column="criterion" in fields)
        points = _points_text(cell("points")) if "points" in fields else _points_in(deficiency, code)
        tasks.append(
            ImportedTask(
                row=number,
                area_hint=area_hint,
                criterion_code=code,
                deficiency=deficiency,
                points_text=points,
                title=title,
                deadline_text=deadline,
                lead_unit=cell("lead").text,
                coordinating=cell("coordinating").text,
                expected_output=cell("output").text,
                notes=cell("notes").text,
                kind=kind,
                area_title=row_area_title,
                monitoring=cell("monitoring").text,
            )
        )
    if not tasks and not problems:
        problems.append(
            ImportRowProblem(0, "", f"Bảng kế hoạch không có nhiệm vụ nào dưới dòng tiêu đề (dòng {sheet.header_row}).")
        )
    return tasks, problems


def _group_row(row: _Cells, fields: dict[str, int]) -> tuple[str, str, str | None] | None:
    """(area number or "", title, kind or None) for a group row ("I | CẢI CÁCH THỂ CHẾ"), else None."""
    tt_column = fields.get("tt")
    filled = [(index, value.text) for index, value in enumerate(row) if value.text]
    if tt_column is not None:
        tt = row[tt_column].text if tt_column < len(row) else ""
        others = [text for index, text in filled if index != tt_column]
    elif filled:
        tt, others = filled[0][1], [text for _, text in filled[1:]]
    else:
        return None
    if not tt or len(others) > 1:
        return None
    deadline_column = fields["deadline"]
    if deadline_column < len(row) and row[deadline_column].text and deadline_column != tt_column:
        return None  # a row with a deadline is a task, whatever its TT
    label = _GROUP_LABEL.match(tt)
    letter = label.group(1) if label is not None else ""
    if label is not None and (letter in _ROMANS or letter in _GROUP_LETTERS):
        rest = label.group(2).strip()
        if rest and others:
            return None
        title = " ".join((rest or (others[0] if others else "")).split())
        kind = _kind_of(title)
        if kind is None and letter in ("A", "B"):
            kind = KIND_FIX if letter == "A" else KIND_KEEP
        if kind is not None:
            return "", title, kind
        if letter in _ROMANS:
            return str(_ROMANS[letter]), title, None
        return "", title, None  # another lettered group: keeps the area
    if _ARABIC.match(tt) and len(others) == 1 and _is_upper_title(others[0]):
        title = " ".join(others[0].split())
        return tt.rstrip("."), title, _kind_of(title)  # seed 004: "1 | CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CCHC"
    return None


def _kind_of(title: str) -> str | None:
    key = _fold(title)
    if not key.startswith("nhiem vu"):
        return None
    if "duy tri" in key:
        return KIND_KEEP
    if "khac phuc" in key or "cai thien" in key:
        return KIND_FIX
    return None


def _is_upper_title(text: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return len(letters) >= 4 and all(char.isupper() for char in letters)


def _is_column_numbers(row: _Cells) -> bool:
    """The row of column numbers under a header: "(1) (2) (3) …"."""
    numbers = []
    for value in row:
        if not value.text:
            continue
        match = _COLUMN_NUMBER.match(value.text)
        if match is None:
            return False
        numbers.append(int(match.group(1)))
    return len(numbers) >= 3 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def _is_repeated_header(row: _Cells, fields: dict[str, int]) -> bool:
    """The header again (tables copied from a document repeat it on every page)."""
    same = sum(
        1
        for field, column in fields.items()
        if column < len(row) and row[column].text and _header_field(row[column].text) == field
    )
    return same >= max(2, (len(fields) + 1) // 2)


def _area_from_text(text: str) -> tuple[str, str]:
    """ "II. Cải cách thể chế" → ("2", "Cải cách thể chế"); "3" → ("3", ""); "Cải cách thể chế" → (text, text)."""
    match = re.match(r"^([IVXL]+|\d+)\s*(?:[.):-]\s*|\s+|$)(.*)$", text, re.DOTALL)
    if match is not None:
        label, rest = match.group(1), " ".join(match.group(2).split())
        if label.isdigit():
            return label, rest
        if label in _ROMANS:
            return str(_ROMANS[label]), rest
    return text, text


def _criterion(column_text: str, deficiency: str, title: str, *, has_column: bool) -> str | None:
    if has_column and column_text:
        labelled = _CODE_IN_TEXT.search(_fold_keep_dots(column_text))
        if labelled is not None:
            return labelled.group(1)
        bare = _CODE.search(column_text)
        return bare.group(0) if bare is not None else None
    for text in (deficiency, title):
        codes = [match.group(1) for match in _CODE_IN_TEXT.finditer(_fold_keep_dots(text))]
        if codes:
            dotted = [code for code in codes if "." in code]
            return (dotted or codes)[0]
    return None


def _fold_keep_dots(text: str) -> str:
    """Like _fold but keeping the dots of codes ("Tiêu chí 2.6.1" → "tieu chi 2.6.1")."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(char for char in text if not unicodedata.combining(char)).casefold()


def _points_text(value: _Value) -> str:
    if re.fullmatch(r"\d+\.\d+", value.text):  # a number Excel stored: show it the Vietnamese way
        return value.text.replace(".", ",")
    return value.text


def _points_in(text: str, code: str | None) -> str:
    """ "… Tiêu chí 1.2: … đạt 1,42/1,5 điểm" → "1,42/1,5" (after the criterion's code when there is one)."""
    start = 0
    if code:
        position = _fold_keep_dots(text).find(code)
        start = position + len(code) if position >= 0 else 0
    match = _POINTS.search(text, start) or (_POINTS.search(text) if start else None)
    return f"{match.group(1)}/{match.group(2)}" if match else ""
