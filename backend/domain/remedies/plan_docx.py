"""The remedy plan as the Word document a department signs: "Kế hoạch khắc phục tồn tại, hạn chế" with its
appendix table.

The layout follows the seeds and Nghị định 30/2020/NĐ-CP: A4, Times New Roman, the two-column header (agency /
national motto), "Số: …/KH-…", place and date, "KẾ HOẠCH" and its subject, sections I–III, "Nơi nhận" and the
signature, then the appendix in landscape: TT, tồn tại/hạn chế, điểm đạt/tối đa, giải pháp, thời hạn, chủ trì,
phối hợp, kết quả, ghi chú; group rows per kind ("A. NHIỆM VỤ CẦN PHẢI KHẮC PHỤC, CẢI THIỆN" / "B. NHIỆM VỤ CẦN
DUY TRÌ VÀ NÂNG CAO", when not every task is a fix) and per reform area (Roman numeral and area title).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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

from backend.domain.remedies.plan_model import (
    APPENDIX_SUBTITLE,
    APPENDIX_SUBTITLE_KEEP,
    APPENDIX_TITLE,
    FONT,
    KIND_KEEP,
    KIND_TITLES,
    MOTTO,
    NATION,
    GroupRow,
    PlanDocument,
    PlanTask,
    appendix_columns,
    appendix_note,
    appendix_rows,
    area_order,
    clean_text,
    number_line,
    place_and_date,
    subject_line,
)

_BODY_STYLE, _BODY_STYLE_ID = "Plan Body", "PlanBody"
_TABLE_STYLE, _TABLE_STYLE_ID = "Plan Table", "PlanTable"


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
    properties.title = clean_text(doc.title)[:255]
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

    body = _paragraph_style(document, _BODY_STYLE, _BODY_STYLE_ID, normal)
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    body.paragraph_format.first_line_indent = Cm(1)
    body.paragraph_format.space_after = Pt(6)
    body.paragraph_format.line_spacing = 1.15

    table = _paragraph_style(document, _TABLE_STYLE, _TABLE_STYLE_ID, normal)
    table.font.size = Pt(12)
    table.paragraph_format.space_before = Pt(2)
    table.paragraph_format.space_after = Pt(2)


def _paragraph_style(document: DocxDocument, name: str, style_id: str, base: ParagraphStyle) -> ParagraphStyle:
    """A new paragraph style `name` on `base`, whose id Word derives from the name is `style_id` (what the
    paragraphs refer to)."""
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(style, ParagraphStyle)
    assert style.style_id == style_id
    style.base_style = base
    return style


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
    run = paragraph.add_run(clean_text(text))
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
    subject = _write(document.add_paragraph(), subject_line(doc.title), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
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
        for area_number, code in enumerate(sorted(areas, key=area_order), start=1):
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
    _write(document.add_paragraph(), subject_line(doc.title), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    note = _write(document.add_paragraph(), appendix_note(doc), italic=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    note.paragraph_format.space_after = Pt(12)

    columns = appendix_columns(doc.tasks, with_status=False)
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

    for item in appendix_rows(doc.tasks):
        row = table.add_row()
        cells = row.cells
        if isinstance(item, GroupRow):
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
        run = paragraph.add_run(clean_text(text))  # "\n" becomes a line break, read back as "\n"
        run.bold = bold or None


def _row_flags(row: _Row, *, header_row: bool) -> None:
    """A row that never splits across pages; the header row is repeated on every page (w:tblHeader)."""
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))  # before w:tblHeader, as CT_TrPr orders them
    if header_row:
        properties.append(OxmlElement("w:tblHeader"))
