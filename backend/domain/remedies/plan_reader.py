"""The import of an existing plan's table (XLSX).

It finds the table's header row among the first rows of the first sheet that has one, whatever the wording the
department used ("Giải pháp khắc phục", "Nhiệm vụ / Nội dung thực hiện", "Thời gian thực hiện", …), and returns a
preview: the tasks it could read and every problem, each with its row (nothing is saved here). Pure functions
over bytes; messages are Vietnamese.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from io import BytesIO

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from backend.domain.assessments.xlsx import MAX_COLUMNS, MAX_FILE_BYTES, MAX_UNZIPPED_BYTES, NOT_XLSX
from backend.domain.remedies.plan_model import KIND_FIX, KIND_KEEP, ROMAN_VALUES
from backend.web.workbook import (
    thousands,
)

MAX_IMPORT_ROWS = 2000  # data rows below the header
MAX_TEXT = 4000  # characters in one cell of an imported task
HEADER_SEARCH_ROWS = 15


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
    if label is not None and (letter in ROMAN_VALUES or letter in _GROUP_LETTERS):
        rest = label.group(2).strip()
        if rest and others:
            return None
        title = " ".join((rest or (others[0] if others else "")).split())
        kind = _kind_of(title)
        if kind is None and letter in ("A", "B"):
            kind = KIND_FIX if letter == "A" else KIND_KEEP
        if kind is not None:
            return "", title, kind
        if letter in ROMAN_VALUES:
            return str(ROMAN_VALUES[letter]), title, None
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
        if label in ROMAN_VALUES:
            return str(ROMAN_VALUES[label]), rest
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
