"""The remedy plan in and out of the app: the year's tasks as the Word plan and the Excel table (what the person
sees on the board, nothing more), and an existing plan's table imported through a preview.

The preview maps every row read by `plan_reader.read_plan_xlsx` onto the task form of `tasks.parse_task_form`, so an
imported task passes exactly the checks of a task typed in by hand: the area resolved from the group row against the
year's criteria set, the criterion checked against the set, the deadline resolved to a due date (or refused), the
units matched to the department's units and unit groups by name (case, diacritics and punctuation ignored). Names
that match no unit are kept, word for word, in the task's notes.

Between the preview and the confirmation the file travels with the page, signed (HMAC-SHA256 with the app's secret
key, bound to the department, the year, the person and the time of the upload): the server keeps nothing, and a file
changed on the way is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Task, TaskUnit, Unit, UnitGroup, UnitRole
from backend.domain.remedies import board as boards
from backend.domain.remedies.board import Filters, fold
from backend.domain.remedies.board_reading import lanes_and_sheet
from backend.domain.remedies.deadlines import WorkCalendar
from backend.domain.remedies.plan_model import KIND_FIX, KIND_KEEP, PlanDocument, PlanTask
from backend.domain.remedies.plan_reader import ImportedTask, ImportRowProblem
from backend.domain.remedies.tasks import Choices, parse_task_form
from backend.domain.scoring.methods import ScoringError, parse_decimal
from backend.domain.tenants.deps import TenantContext

__all__ = [
    "IMPORT_LABEL",
    "MAX_TOKEN_AGE",
    "Preview",
    "PreviewRow",
    "build_preview",
    "plan_document",
    "sign_upload",
    "verify_upload",
]

OTHER_AREA_LABEL = "Khác"
OTHER_AREA_TITLE = "Nhiệm vụ chung, lĩnh vực khác"
IMPORT_LABEL = "nhập từ tệp"
MAX_TOKEN_AGE = 12 * 60 * 60  # seconds between the preview and its confirmation

# Paragraphs of the plan's sections I and III and its recipients, in the words of the seeds' plans (001, 003, 004);
# the department edits them in Word before signing.
PURPOSE = (
    "1. Mục đích",
    "- Khắc phục kịp thời những tồn tại, hạn chế trong công tác cải cách hành chính đã được Hội đồng thẩm định, "
    "Đoàn kiểm tra công tác cải cách hành chính của tỉnh chỉ ra khi xác định Chỉ số CCHC năm {year}; từ đó nâng cao "
    "trách nhiệm của người đứng đầu các phòng, đơn vị, của cán bộ, công chức, viên chức trong công tác cải cách hành "
    "chính.",
    "- Đề ra các giải pháp khắc phục cụ thể, có thời hạn, có đơn vị chủ trì để nâng cao chất lượng, hiệu quả công tác "
    "cải cách hành chính, cải thiện điểm số và vị trí xếp hạng Chỉ số CCHC của {tenant} những năm tiếp theo.",
    "2. Yêu cầu",
    "- Các phòng, đơn vị thuộc Sở nêu cao tinh thần trách nhiệm, chấn chỉnh, khắc phục ngay các tồn tại, hạn chế đã "
    "được chỉ ra; mỗi nhiệm vụ có kết quả, sản phẩm cụ thể và tài liệu kiểm chứng.",
    "- Việc thực hiện Kế hoạch gắn với việc thực hiện Kế hoạch cải cách hành chính năm của Sở.",
)
ORGANISATION = (
    "1. Các phòng, đơn vị thuộc Sở căn cứ nhiệm vụ được giao tại Phụ lục kèm theo, chủ động triển khai thực hiện "
    "đúng thời hạn; báo cáo kết quả thực hiện với Giám đốc Sở theo định kỳ, đồng thời gửi tài liệu kiểm chứng để "
    "Văn phòng Sở tổng hợp.",
    "2. Giao Văn phòng Sở chủ trì theo dõi, đôn đốc, kiểm tra và tổng hợp báo cáo kết quả khắc phục các tồn tại, hạn "
    "chế với Giám đốc Sở để báo cáo UBND tỉnh qua Sở Nội vụ theo quy định.",
    "Trong quá trình triển khai thực hiện, nếu phát sinh khó khăn, vướng mắc, các phòng, đơn vị kịp thời báo cáo "
    "Giám đốc Sở (qua Văn phòng Sở) để được xem xét, giải quyết./.",
)
RECIPIENTS = ("Sở Nội vụ;", "Ban Giám đốc Sở;", "Các phòng, đơn vị thuộc Sở;", "Lưu: VT, VP.")
SIGNER_TITLE = "GIÁM ĐỐC"


# --- Export ---------------------------------------------------------------------------------------------------


def _province_upper(name: str) -> str:
    """ "Hà Tĩnh" → "UBND TỈNH HÀ TĨNH"; a name that says what it is ("Thành phố Huế") keeps its own word."""
    key = fold(name)
    if key.startswith(("tinh ", "thanh pho ")):
        return f"UBND {name.upper()}"
    return f"UBND TỈNH {name.upper()}"


def _place(name: str) -> str:
    """The place of the date line: the province without "Tỉnh"/"Thành phố"."""
    return re.sub(r"^\s*(?:t[ỉi]nh|th[àa]nh\s+ph[ốo])\s+", "", name, flags=re.IGNORECASE) or name


def _area_key(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (10**6, code)


async def plan_document(db: AsyncSession, ctx: TenantContext, year: int, today: date) -> PlanDocument:
    """The year's plan as this person sees the board: a unit's staff get their unit's tasks only (404 for a year
    without criteria)."""
    lanes, loaded = await lanes_and_sheet(db, ctx, year)
    sheet = loaded.sheet
    board = await boards.load_board(db, ctx, year, lanes, Filters(), today, full=True)
    cards = [card for cell in board.cells.values() for card in cell]
    column_names = {column.id: column.name for column in board.columns}
    area_titles = {area.code: area.node.title for area in sheet.areas}
    units = {unit.id: unit.name for unit in await db.scalars(select(Unit))}
    groups = {group.id: group.name for group in await db.scalars(select(UnitGroup))}
    coordinating: dict[uuid.UUID, list[str]] = {}
    monitoring: dict[uuid.UUID, list[str]] = {}
    if cards:
        parts = await db.scalars(
            select(TaskUnit)
            .where(TaskUnit.task_id.in_([card.task.id for card in cards]))
            .order_by(TaskUnit.role, TaskUnit.id)
        )
        for part in parts:
            if part.unit_id is not None:
                name = units.get(part.unit_id)
            else:
                name = groups.get(part.unit_group_id) if part.unit_group_id is not None else None
            if not name:
                continue
            target = monitoring if part.role == UnitRole.MONITORING.value else coordinating
            target.setdefault(part.task_id, []).append(name)

    def order(task: Task) -> tuple[int, tuple[int, str], int]:
        area = task.area_code if task.area_code in area_titles else OTHER_AREA_LABEL
        return (0 if task.kind == KIND_FIX else 1, _area_key(area), task.number)

    plan_tasks: list[PlanTask] = []
    counters: dict[tuple[str, str], int] = {}
    for card in sorted(cards, key=lambda c: order(c.task)):
        task = card.task
        known = task.area_code in area_titles
        area = task.area_code if known else OTHER_AREA_LABEL
        kind = task.kind if task.kind in (KIND_FIX, KIND_KEEP) else KIND_FIX
        counters[(kind, area)] = number = counters.get((kind, area), 0) + 1
        plan_tasks.append(
            PlanTask(
                number=number,
                kind=kind,
                area_code=area,
                area_title=area_titles[task.area_code] if known else OTHER_AREA_TITLE,
                criterion_code=task.criterion_code,
                deficiency=task.deficiency or "",
                points_lost=task.points_lost,
                points_max=task.points_max,
                title=task.title,
                deadline_text=task.deadline_text or "",
                due_date=task.due_date,
                lead_unit=card.lead_unit,
                coordinating="; ".join(coordinating.get(task.id, [])),
                monitoring="; ".join(monitoring.get(task.id, [])),
                expected_output=task.expected_output or "",
                notes=task.notes or "",
                status=column_names.get(task.column_id, ""),
            )
        )
    tenant, province = ctx.tenant, ctx.province
    values = {"year": year, "tenant": tenant.name}
    return PlanDocument(
        province=province.name,
        province_upper=_province_upper(province.name),
        tenant=tenant.name,
        short_name=tenant.short_name or tenant.code.upper(),
        place=_place(province.name),
        issued_on=today,
        year=year,
        title=f"Kế hoạch khắc phục tồn tại, hạn chế sau khi có kết quả Chỉ số CCHC năm {year}",
        purpose=[text.format(**values) for text in PURPOSE],
        organisation=list(ORGANISATION),
        recipients=list(RECIPIENTS),
        signer_title=SIGNER_TITLE,
        signer_name="",
        tasks=plan_tasks,
    )


# --- Import: the preview --------------------------------------------------------------------------------------

_FIELD_LABELS = {
    "kind": "Loại nhiệm vụ",
    "area_code": "Lĩnh vực",
    "criterion_code": "Tiêu chí",
    "title": "Giải pháp, nhiệm vụ",
    "deficiency": "Tồn tại, hạn chế",
    "expected_output": "Kết quả/sản phẩm",
    "notes": "Ghi chú",
    "points_lost": "Điểm",
    "points_max": "Điểm tối đa",
    "deadline_text": "Thời hạn",
    "lead_unit_id": "Đơn vị chủ trì",
    "coordinating": "Đơn vị phối hợp",
    "monitoring_unit_id": "Đơn vị theo dõi",
    "labels": "Nhãn",
}
_SEPARATOR = re.compile(r"(\s*[,;/\n+]\s*|\s+và\s+|\s+-\s+)", re.IGNORECASE)
_POINTS_PAIR = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*/\s*(\d+(?:[.,]\d+)?)\s*(?:điểm)?\s*$", re.IGNORECASE)
_POINTS_LOST = re.compile(r"^\s*trừ\s*(\d+(?:[.,]\d+)?)\s*(?:điểm)?\s*$", re.IGNORECASE)


def _key(text: str) -> str:
    """ "Văn phòng – Thanh tra Sở" and "van phong - thanh tra so" → "van phong thanh tra so"."""
    return " ".join(re.findall(r"[0-9a-z]+", fold(text)))


@dataclass(frozen=True)
class _Match:
    kind: str  # "unit" | "group"
    id: uuid.UUID
    name: str


class _Directory:
    """The department's units and unit groups, found by name (or code), whatever the case or diacritics."""

    def __init__(self, units: Sequence[Unit], groups: Sequence[UnitGroup]) -> None:
        self.exact: dict[str, _Match] = {}
        self.units: list[tuple[list[str], _Match]] = []
        for unit in units:
            match = _Match("unit", unit.id, unit.name)
            for key in (_key(unit.name), _key(unit.code)):
                self.exact.setdefault(key, match)
            self.units.append((_key(unit.name).split(), match))
        for group in groups:
            match = _Match("group", group.id, group.name)
            for key in (_key(group.name), _key(group.code)):
                self.exact.setdefault(key, match)

    def find(self, text: str) -> _Match | None:
        key = _key(text)
        if not key:
            return None
        if key in self.exact:
            return self.exact[key]
        words = key.split()
        if len(words) < 2:
            return None
        # "Văn phòng" for "Văn phòng – Thanh tra Sở": a unit whose name starts with these words, if only one does
        found = [match for unit_words, match in self.units if unit_words[: len(words)] == words]
        return found[0] if len(found) == 1 else None

    def split(self, text: str) -> tuple[list[_Match], list[str]]:
        """Units and groups named in a cell ("Văn phòng; Phòng Hợp tác quốc tế và Phòng Lãnh sự …"), in order,
        and the names matching none. Separators (",", ";", "/", "và", new lines) split names only where the
        pieces on both sides are not one name together ("Các phòng, đơn vị thuộc Sở" is one group)."""
        text = text.strip()
        if not text:
            return [], []
        whole = self.find(text)
        if whole is not None:
            return [whole], []
        pieces = _SEPARATOR.split(text)  # name, separator, name, …
        names = pieces[0::2]
        found: list[_Match] = []
        unmatched: list[str] = []
        index = 0
        while index < len(names):
            for end in range(len(names), index, -1):
                candidate = "".join(pieces[2 * index : 2 * end - 1]).strip()
                match = self.find(candidate)
                if match is not None:
                    if match not in found:
                        found.append(match)
                    index = end
                    break
            else:
                name = names[index].strip(" .;,")
                if name:
                    unmatched.append(name)
                index += 1
        return found, unmatched


@dataclass
class PreviewRow:
    row: int  # the sheet's row number
    read: bool  # False: the row could not be read at all (its errors say why)
    kind: str = KIND_FIX
    area_code: str = ""
    area_title: str = ""
    criterion_code: str | None = None
    deficiency: str = ""
    points: str = ""  # "1,42/1,5" as read
    title: str = ""
    deadline_text: str = ""
    due_date: date | None = None
    deadline_error: str = ""
    lead_unit: str = ""  # the matched unit's name
    coordinating: list[str] = field(default_factory=list)  # matched names
    monitoring: str = ""
    expected_output: str = ""
    notes: str = ""  # as it will be stored (with the names that matched no unit)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    values: dict[str, Any] | None = None  # for tasks.create_task, when the row has no error

    @property
    def ok(self) -> bool:
        return self.read and not self.errors and not self.deadline_error and self.values is not None


@dataclass
class Preview:
    file_problems: list[str]
    rows: list[PreviewRow]

    @property
    def ready(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.ok]

    @property
    def failed(self) -> list[PreviewRow]:
        return [row for row in self.rows if not row.ok]

    @property
    def importable(self) -> bool:
        """All or nothing: every row is fine, and there is at least one."""
        return not self.file_problems and bool(self.rows) and not self.failed


def _resolve_area(hint: str, title: str, options: Choices) -> str | None:
    if hint in options.areas:
        return hint
    keys = {code: _key(area_title) for code, area_title in options.areas.items()}
    for text in (hint, title):
        key = _key(text)
        if not key:
            continue
        exact = [code for code, area_key in keys.items() if area_key == key]
        if len(exact) == 1:
            return exact[0]
        near = [code for code, area_key in keys.items() if key in area_key or (area_key and area_key in key)]
        if len(near) == 1:
            return near[0]
    return None


def _points(text: str) -> tuple[str, str, str | None]:
    """(points lost, points max, warning) from "1,42/1,5" (achieved/max) or "trừ 0,08"."""
    text = text.strip()
    if not text:
        return "", "", None
    pair = _POINTS_PAIR.match(text)
    try:
        if pair is not None:
            achieved, maximum = parse_decimal(pair.group(1)), parse_decimal(pair.group(2))
            if achieved > maximum:
                return "", "", f"Điểm “{text}”: điểm đạt lớn hơn điểm tối đa, bỏ qua."
            return _vn(maximum - achieved), _vn(maximum), None
        lost = _POINTS_LOST.match(text)
        if lost is not None:
            return _vn(parse_decimal(lost.group(1))), "", None
    except ScoringError:
        pass
    return "", "", f"Không đọc được điểm “{text}” (cần dạng điểm đạt/điểm tối đa, ví dụ 1,42/1,5), bỏ qua."


def _vn(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def _preview_row(
    imported: ImportedTask,
    problems: list[ImportRowProblem],
    options: Choices,
    directory: _Directory,
    year: int,
    today: date,
    calendar: WorkCalendar | None = None,
) -> PreviewRow:
    row = PreviewRow(
        row=imported.row,
        read=True,
        kind=imported.kind,
        criterion_code=imported.criterion_code,
        deficiency=imported.deficiency,
        points=imported.points_text,
        title=imported.title,
        deadline_text=imported.deadline_text,
        expected_output=imported.expected_output,
    )
    for problem in problems:
        prefix = f"{problem.column}: " if problem.column else ""
        if imported.deadline_text or "thời hạn" not in problem.reason.lower():
            row.errors.append(prefix + problem.reason)
        else:
            row.deadline_error = problem.reason

    # the area: from the group row (or a "Lĩnh vực" column), else from the criterion
    criterion = imported.criterion_code
    area = _resolve_area(imported.area_hint, imported.area_title, options)
    if criterion is not None and criterion not in options.criteria and criterion in options.areas:
        area, criterion = area or criterion, None  # "TC 3": an area's code, not a criterion's
    if criterion is not None and criterion in options.criteria:
        own_area = options.criteria[criterion][0]
        if area is not None and area != own_area:
            row.warnings.append(
                f"Tiêu chí {criterion} thuộc lĩnh vực {own_area}, không phải lĩnh vực {area} của nhóm: xếp vào "
                f"lĩnh vực {own_area}."
            )
        area = own_area
    row.criterion_code = criterion
    if area is None:
        written = imported.area_title or imported.area_hint
        where = f" “{written}”" if written else ""
        row.errors.append(
            f"Lĩnh vực: không xác định được lĩnh vực{where} trong bộ chỉ số năm {year} (đặt nhiệm vụ dưới dòng nhóm "
            "“I.”, “II.”, … hoặc ghi mã tiêu chí)."
        )
    else:
        row.area_code, row.area_title = area, options.areas[area]

    lost, maximum, warning = _points(imported.points_text)
    if warning:
        row.warnings.append(warning)

    notes = [imported.notes] if imported.notes else []
    lead_found, lead_rest = directory.split(imported.lead_unit)
    lead_units = [match for match in lead_found if match.kind == "unit"]
    lead = lead_units[0] if lead_units else None
    if imported.lead_unit and (lead is None or lead_rest or len(lead_found) > 1):
        notes.append(f"Đơn vị chủ trì (theo tệp): {imported.lead_unit}")
        if lead is None:
            row.warnings.append(f"Đơn vị chủ trì “{imported.lead_unit}” không khớp phòng, đơn vị nào: ghi vào ghi chú.")
        else:
            row.warnings.append(f"Chủ trì: {lead.name}; phần còn lại “{imported.lead_unit}” ghi vào ghi chú.")
    row.lead_unit = lead.name if lead else ""

    coordinating, coordinating_rest = directory.split(imported.coordinating)
    if coordinating_rest:
        unmatched = "; ".join(coordinating_rest)
        notes.append(f"Đơn vị phối hợp (chưa khớp): {unmatched}")
        row.warnings.append(f"Đơn vị phối hợp không khớp: {unmatched} (ghi vào ghi chú).")
    row.coordinating = [match.name for match in coordinating]

    monitoring_found, monitoring_rest = directory.split(imported.monitoring)
    monitoring_units = [match for match in monitoring_found if match.kind == "unit"]
    monitoring = monitoring_units[0] if monitoring_units else None
    if imported.monitoring and (monitoring is None or monitoring_rest or len(monitoring_found) > 1):
        notes.append(f"Đơn vị theo dõi (theo tệp): {imported.monitoring}")
        row.warnings.append(f"Đơn vị theo dõi “{imported.monitoring}” ghi vào ghi chú.")
    row.monitoring = monitoring.name if monitoring else ""
    row.notes = "\n".join(notes)

    form: dict[str, Any] = {
        "kind": imported.kind,
        "area_code": area or "",
        "criterion_code": criterion or "",
        "title": imported.title,
        "deficiency": imported.deficiency,
        "expected_output": imported.expected_output,
        "notes": row.notes,
        "points_lost": lost,
        "points_max": maximum,
        "deadline_text": imported.deadline_text,
        "lead_unit_id": str(lead.id) if lead else "",
        "coordinating": [f"{match.kind}:{match.id}" for match in coordinating],
        "monitoring_unit_id": str(monitoring.id) if monitoring else "",
        "assignees": [],
        "labels": IMPORT_LABEL,
    }
    parsed = parse_task_form(form, options, year, today, calendar)
    for name, message in parsed.errors.items():
        if name == "deadline_text":
            if imported.deadline_text:
                row.deadline_error = message
            continue  # an empty deadline is already reported by the reader
        if name == "area_code" and area is None:
            continue  # reported above, with what the file says
        if name == "criterion_code" and criterion not in options.criteria:
            message = f"{criterion} không có trong bộ chỉ số năm {year}."
        row.errors.append(f"{_FIELD_LABELS.get(name, name)}: {message}")
    row.due_date = parsed.values.get("due_date")
    if not row.errors and not row.deadline_error:
        row.values = parsed.values
    return row


def build_preview(
    imported: list[ImportedTask],
    problems: list[ImportRowProblem],
    options: Choices,
    units: Sequence[Unit],
    groups: Sequence[UnitGroup],
    year: int,
    today: date,
    calendar: WorkCalendar | None = None,
) -> Preview:
    """Every row of the file mapped onto a task, with its errors (which block the import) and warnings."""
    file_problems = [problem.reason for problem in problems if problem.row == 0]
    by_row: dict[int, list[ImportRowProblem]] = {}
    for problem in problems:
        if problem.row:
            by_row.setdefault(problem.row, []).append(problem)
    directory = _Directory(units, groups)
    rows = [
        _preview_row(task, by_row.pop(task.row, []), options, directory, year, today, calendar) for task in imported
    ]
    for number, unread in by_row.items():  # rows the reader could not turn into a task
        row = PreviewRow(row=number, read=False)
        row.errors = [f"{p.column}: {p.reason}" if p.column else p.reason for p in unread]
        rows.append(row)
    rows.sort(key=lambda r: r.row)
    return Preview(file_problems, rows)


# --- Import: the signed file between preview and confirmation -------------------------------------------------


def _message(tenant_id: uuid.UUID, year: int, user_id: uuid.UUID | None, issued_at: int, filename: str) -> bytes:
    head = f"parboard:plan-import:v1\n{tenant_id}\n{year}\n{user_id}\n{issued_at}\n{filename}\n"
    return head.encode()


def sign_upload(
    secret: str,
    *,
    tenant_id: uuid.UUID,
    year: int,
    user_id: uuid.UUID | None,
    issued_at: int,
    filename: str,
    data: bytes,
) -> str:
    """Hex HMAC-SHA256 over the file and what it may be used for (department, year, person, time, name)."""
    mac = hmac.new(secret.encode(), _message(tenant_id, year, user_id, issued_at, filename), hashlib.sha256)
    mac.update(data)
    return mac.hexdigest()


def verify_upload(
    secret: str,
    signature: str,
    *,
    tenant_id: uuid.UUID,
    year: int,
    user_id: uuid.UUID | None,
    issued_at: int,
    filename: str,
    data: bytes,
) -> bool:
    expected = sign_upload(
        secret, tenant_id=tenant_id, year=year, user_id=user_id, issued_at=issued_at, filename=filename, data=data
    )
    return hmac.compare_digest(expected, signature.strip().lower())
