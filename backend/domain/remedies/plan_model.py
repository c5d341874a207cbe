"""A department's remedy plan as data (its tasks, grouped per kind and reform area) and the texts its documents
share: points, deadlines, "Số: …", place and date, the appendix's columns. Written by plan_docx.py (Word) and
plan_xlsx.py (Excel); an existing plan is read by plan_reader.py. Pure: no database, no web."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from backend.domain.assessments.xlsx import vn_points

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

FONT = "Times New Roman"


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


ROMAN_VALUES = {roman(n): n for n in range(1, 40)}


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


def appendix_columns(tasks: Sequence[PlanTask], *, with_status: bool) -> list[_Column]:
    chosen = []
    for column in _COLUMNS:
        if column.key == "status" and not with_status:
            continue
        if column.key in _OPTIONAL and not any(column.value(task).strip() for task in tasks):
            continue
        chosen.append(column)
    return chosen


@dataclass(frozen=True)
class GroupRow:
    label: str  # "A", "I"
    title: str
    is_kind: bool


def appendix_rows(tasks: Sequence[PlanTask]) -> Iterator[GroupRow | PlanTask]:
    """Group rows and task rows in the appendix's order: by kind (fix first), then area, as given within."""
    for task in tasks:
        if task.kind not in KIND_TITLES:
            raise ValueError(f"Loại nhiệm vụ không hợp lệ: “{task.kind}” (chỉ “fix” hoặc “keep”).")
    kinds = [kind for kind in KIND_TITLES if any(task.kind == kind for task in tasks)]
    show_kinds = kinds != [KIND_FIX] and bool(kinds)
    for letter, kind in zip("ABCDEFGH", kinds, strict=False):
        if show_kinds:
            yield GroupRow(letter, KIND_TITLES[kind], is_kind=True)
        areas: dict[str, list[PlanTask]] = {}
        for task in tasks:
            if task.kind == kind:
                areas.setdefault(task.area_code, []).append(task)
        for code in sorted(areas, key=area_order):
            members = areas[code]
            label = roman(int(code)) if code.isdigit() else code
            yield GroupRow(label, members[0].area_title.upper(), is_kind=False)
            yield from members


def area_order(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (10**6, code)


def clean_text(text: str) -> str:
    """Text Word and Excel accept: no control characters or lone surrogates, line breaks as "\n"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _NOT_XML.sub("", ILLEGAL_CHARACTERS_RE.sub("", text))


_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def subject_line(title: str) -> str:
    """The subject line under "KẾ HOẠCH": the title without its leading "Kế hoạch"."""
    rest = re.sub(r"^\s*k[ếe]\s*ho[ạa]ch\b[\s:,-]*", "", title, flags=re.IGNORECASE)
    if not rest:
        return title
    return rest[0].upper() + rest[1:]
