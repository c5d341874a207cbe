"""What every workbook parboard writes shares: the cell styles, text that never turns into a formula, the first
sheet, saving, and Vietnamese thousands (the self-assessment and score exports, the remedy plan's XLSX)."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32767  # Excel's limit; a longer text makes the file "corrupt" to Excel

BOLD = Font(bold=True)
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
TOP = Alignment(vertical="top", wrap_text=True)


def cell_at(ws: Worksheet, row: int, column: int) -> Cell:
    cell = ws.cell(row, column)
    assert isinstance(cell, Cell), "never write into the inside of a merged range"
    return cell


def put_text(ws: Worksheet, row: int, column: int, text: str) -> Cell:
    """Write text that can never become a formula (or a DDE payload) when the file is opened."""
    cell = cell_at(ws, row, column)
    # line ends as Excel keeps them (a bare CR reads back differently with and without lxml)
    text = ILLEGAL_CHARACTERS_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))[:MAX_CELL_TEXT]
    cell.value = text or None
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip().startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"  # openpyxl made "=…" a formula; store it as a plain string
        cell.quotePrefix = True  # and mark it as typed text, as Excel does for '=…
    return cell


def first_sheet(workbook: Workbook, title: str) -> Worksheet:
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = title
    return sheet


def save_workbook(workbook: Workbook) -> bytes:
    workbook.properties.creator = "parboard"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def thousands(number: int) -> str:
    """12345 → "12.345"."""
    return f"{number:,}".replace(",", ".")
