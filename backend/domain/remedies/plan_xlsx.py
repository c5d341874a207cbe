"""The remedy plan's appendix table as an Excel sheet (the same rows and groups as the Word appendix)."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from backend.domain.remedies.plan_model import (
    APPENDIX_SUBTITLE,
    APPENDIX_SUBTITLE_KEEP,
    KIND_KEEP,
    GroupRow,
    PlanDocument,
    appendix_columns,
    appendix_note,
    appendix_rows,
    clean_text,
    subject_line,
)
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
)

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
    return put_text(ws, row, column, clean_text(text))


def plan_xlsx(doc: PlanDocument) -> bytes:
    """The appendix table as one sheet "Ke hoach <year>", laid out to print in landscape on A4."""
    workbook = Workbook()
    ws = first_sheet(workbook, f"Ke hoach {doc.year}")
    columns = appendix_columns(doc.tasks, with_status=True)
    last = len(columns)
    has_keep = any(task.kind == KIND_KEEP for task in doc.tasks)
    titles = (
        (APPENDIX_SUBTITLE_KEEP if has_keep else APPENDIX_SUBTITLE, Font(bold=True, size=13), 24),
        (subject_line(doc.title), Font(bold=True, size=12), 36),
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

    for row, item in enumerate(appendix_rows(doc.tasks), start=header_row + 1):
        if isinstance(item, GroupRow):
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
