"""Remedy tasks: the form (every column of the seeds' plan tables), create and edit with a version check,
and the plan generated from an assessment (one task per criterion scored below its maximum)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import vietnam_today
from backend.db.models import (
    AuditEntry,
    BoardColumn,
    ChecklistItem,
    Membership,
    RemedyPlan,
    Task,
    TaskAssignee,
    TaskComment,
    TaskKind,
    TaskUnit,
    Unit,
    UnitGroup,
    UnitRole,
    User,
)
from backend.domain.assessments.sheet import Sheet
from backend.domain.remedies.board import end_of_cell, fold, lock_board, next_number
from backend.domain.remedies.deadlines import DeadlineError, WorkCalendar, default_calendar, parse_deadline
from backend.domain.review.services import AppraisedCriterion, finalised_criteria
from backend.domain.scoring.methods import ScoringError, parse_decimal, quantize
from backend.domain.tenants.deps import TenantContext

MAX_TEXT = 4000
MAX_LABELS = 10
KIND_LABELS = {TaskKind.FIX.value: "Khắc phục, cải thiện", TaskKind.KEEP.value: "Duy trì, nâng cao"}


@dataclass(frozen=True)
class Choices:
    """What the form offers: areas and criteria of the year's set, units, unit groups, members, columns."""

    areas: dict[str, str]  # code → title
    criteria: dict[str, tuple[str, str, Decimal]]  # code → (area code, title, max)
    units: dict[uuid.UUID, Unit]
    groups: dict[uuid.UUID, UnitGroup]
    members: dict[uuid.UUID, str]
    columns: list[BoardColumn]


async def choices(db: AsyncSession, sheet: Sheet | None) -> Choices:
    areas: dict[str, str] = {}
    criteria: dict[str, tuple[str, str, Decimal]] = {}
    if sheet is not None:
        for area in sheet.areas:
            areas[area.code] = area.node.title
            for row in area.walk():
                if not row.remainder and row is not area:
                    criteria[row.code] = (area.code, row.node.title, row.node.max_points)
    units = {u.id: u for u in await db.scalars(select(Unit).order_by(Unit.position, Unit.name))}
    groups = {g.id: g for g in await db.scalars(select(UnitGroup).order_by(UnitGroup.name))}
    rows = await db.execute(
        select(User.id, User.full_name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.is_active)
        .distinct()
        .order_by(User.full_name)
    )
    members = {uid: (name or email) for uid, name, email in rows}
    columns = list(await db.scalars(select(BoardColumn).order_by(BoardColumn.position)))
    return Choices(areas, criteria, units, groups, members, columns)


@dataclass
class TaskForm:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _text(
    form: Mapping[str, Any], name: str, errors: dict[str, str], *, required: str = "", limit: int = MAX_TEXT
) -> str:
    value = str(form.get(name) or "").replace("\r\n", "\n").strip()
    if required and not value:
        errors[name] = required
    elif len(value) > limit:
        errors[name] = f"Tối đa {limit:,} ký tự (hiện có {len(value):,}).".replace(",", ".")
    return value


def _uuid(raw: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _many(form: Any, name: str) -> list[str]:
    if hasattr(form, "getall"):
        return [str(v) for v in form.getall(name, []) if str(v).strip()]
    value = form.get(name)
    if isinstance(value, list | tuple):
        return [str(v) for v in value if str(v).strip()]
    return [str(value)] if value else []


def parse_task_form(
    form: Any, options: Choices, year: int, today: date, calendar: WorkCalendar | None = None
) -> TaskForm:
    """Check every field; `values` holds what can be stored, `errors` what must be fixed (Vietnamese)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    kind = str(form.get("kind") or TaskKind.FIX.value)
    if kind not in KIND_LABELS:
        errors["kind"] = "Chọn loại nhiệm vụ."
    values["kind"] = kind
    area = str(form.get("area_code") or "").strip()
    criterion = str(form.get("criterion_code") or "").strip() or None
    if criterion is not None:
        if criterion not in options.criteria:
            errors["criterion_code"] = "Tiêu chí không có trong bộ chỉ số năm này."
        elif not area:
            area = options.criteria[criterion][0]
        elif options.criteria[criterion][0] != area:
            errors["criterion_code"] = f"Tiêu chí {criterion} không thuộc lĩnh vực {area}."
    if not area:
        errors["area_code"] = "Chọn lĩnh vực."
    elif options.areas and area not in options.areas:
        errors["area_code"] = "Lĩnh vực không có trong bộ chỉ số năm này."
    values["area_code"], values["criterion_code"] = area, criterion
    values["title"] = _text(form, "title", errors, required="Nhập giải pháp, nhiệm vụ.")
    values["deficiency"] = _text(form, "deficiency", errors)
    values["expected_output"] = _text(form, "expected_output", errors, limit=1000)
    values["notes"] = _text(form, "notes", errors, limit=2000)
    for name in ("points_lost", "points_max"):
        raw = str(form.get(name) or "").strip()
        values[name] = None
        if raw:
            try:
                number = parse_decimal(raw)
            except ScoringError as exc:
                errors[name] = str(exc)
                continue
            if number < 0 or number >= 1000:
                errors[name] = "Điểm phải từ 0 đến dưới 1.000."
            elif quantize(number) != number:
                errors[name] = "Điểm có tối đa 3 chữ số thập phân."
            else:
                values[name] = quantize(number)
    if (
        values["points_lost"] is not None
        and values["points_max"] is not None
        and values["points_lost"] > values["points_max"]
    ):
        errors["points_lost"] = "Điểm bị trừ không được lớn hơn điểm tối đa."
    deadline = _text(
        form,
        "deadline_text",
        errors,
        required="Nhập thời hạn (ví dụ 15/11/2024, Quý II/2024, Thường xuyên).",
        limit=255,
    )
    values["deadline_text"] = deadline
    values["due_date"] = None
    values["due_series"] = []
    if deadline and "deadline_text" not in errors:
        try:
            parsed = parse_deadline(deadline, year=year, calendar=calendar or default_calendar(), event=today)
            values["due_date"] = parsed.due
            values["due_series"] = list(parsed.series)
        except DeadlineError as exc:
            errors["deadline_text"] = str(exc)
    lead = _uuid(form.get("lead_unit_id"))
    if form.get("lead_unit_id") and lead not in options.units:
        errors["lead_unit_id"] = "Chọn một phòng, đơn vị của Sở."
    values["lead_unit_id"] = lead if lead in options.units else None
    coordinating: list[tuple[str, uuid.UUID]] = []
    for raw in _many(form, "coordinating"):
        kind_of, _, ident = raw.partition(":")
        key = _uuid(ident)
        if (kind_of == "unit" and key in options.units) or (kind_of == "group" and key in options.groups):
            assert key is not None
            coordinating.append((kind_of, key))
        else:
            errors["coordinating"] = "Đơn vị phối hợp không hợp lệ."
    values["coordinating"] = coordinating
    monitoring = _uuid(form.get("monitoring_unit_id"))
    if form.get("monitoring_unit_id") and monitoring not in options.units:
        errors["monitoring_unit_id"] = "Chọn một phòng, đơn vị của Sở."
    values["monitoring_unit_id"] = monitoring if monitoring in options.units else None
    assignees = [_uuid(v) for v in _many(form, "assignees")]
    if any(a not in options.members for a in assignees):
        errors["assignees"] = "Người thực hiện phải là thành viên của Sở."
    values["assignees"] = [a for a in assignees if a in options.members]
    labels = [label.strip()[:63] for label in str(form.get("labels") or "").split(",") if label.strip()]
    if len(labels) > MAX_LABELS:
        errors["labels"] = f"Tối đa {MAX_LABELS} nhãn."
    values["labels"] = sorted(set(labels))
    return TaskForm(values, errors)


def _search_text(values: Mapping[str, Any], options: Choices) -> str:
    lead_id = values.get("lead_unit_id")
    lead = options.units.get(lead_id) if isinstance(lead_id, uuid.UUID) else None
    parts = [
        str(values.get("title", "")),
        str(values.get("deficiency", "")),
        str(values.get("criterion_code") or ""),
        str(values.get("expected_output", "")),
        lead.name if lead else "",
        " ".join(values.get("labels", [])),
    ]
    return fold(" ".join(parts))


def _state(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "kind": task.kind,
        "area": task.area_code,
        "criterion": task.criterion_code,
        "deadline": task.deadline_text,
        "due": task.due_date.isoformat() if task.due_date else None,
        "lead_unit": str(task.lead_unit_id) if task.lead_unit_id else None,
        "points_lost": str(task.points_lost) if task.points_lost is not None else None,
    }


async def _set_parts(db: AsyncSession, ctx: TenantContext, task: Task, values: Mapping[str, Any]) -> None:
    await db.execute(delete(TaskUnit).where(TaskUnit.task_id == task.id))
    await db.execute(delete(TaskAssignee).where(TaskAssignee.task_id == task.id))
    for kind_of, key in values["coordinating"]:
        db.add(
            TaskUnit(
                tenant_id=ctx.tenant.id,
                task_id=task.id,
                role=UnitRole.COORDINATING.value,
                unit_id=key if kind_of == "unit" else None,
                unit_group_id=key if kind_of == "group" else None,
            )
        )
    if values["monitoring_unit_id"]:
        db.add(
            TaskUnit(
                tenant_id=ctx.tenant.id,
                task_id=task.id,
                role=UnitRole.MONITORING.value,
                unit_id=values["monitoring_unit_id"],
            )
        )
    for user_id in values["assignees"]:
        db.add(TaskAssignee(tenant_id=ctx.tenant.id, task_id=task.id, user_id=user_id))


FIELDS = (
    "kind",
    "area_code",
    "criterion_code",
    "title",
    "deficiency",
    "expected_output",
    "notes",
    "points_lost",
    "points_max",
    "deadline_text",
    "due_date",
    "lead_unit_id",
    "labels",
)


async def create_task(
    db: AsyncSession, ctx: TenantContext, year: int, values: Mapping[str, Any], options: Choices, column: BoardColumn
) -> Task:
    await lock_board(db, ctx)
    task = Task(
        id=uuid.uuid4(),
        tenant_id=ctx.tenant.id,
        number=await next_number(db),
        year=year,
        column_id=column.id,
        position=await end_of_cell(db, year, column.id, values["area_code"]),
        version=1,
        search_text=_search_text(values, options),
        created_by=ctx.principal.user_id,
        due_series=list(values.get("due_series") or []),
        **{name: values[name] for name in FIELDS},
    )
    db.add(task)
    await db.flush()
    await _set_parts(db, ctx, task, values)
    db.add(_audit(ctx, "task.create", task, after=_state(task)))
    await db.flush()
    return task


class StaleEdit(ValueError):
    """The task changed since the form was opened; the person gets the fresh values."""


async def update_task(
    db: AsyncSession, ctx: TenantContext, task: Task, version: int, values: Mapping[str, Any], options: Choices
) -> Task:
    relaned = values["area_code"] != task.area_code
    if relaned:  # the board's lock before the row's, in the order a move takes them (no deadlock between the two)
        await lock_board(db, ctx)
    await db.refresh(task, with_for_update=True)
    if task.version != version:
        raise StaleEdit(
            f"KP-{task.number} vừa được người khác sửa (phiên bản {task.version}, bạn sửa từ phiên bản {version}): "
            "đây là nội dung mới nhất, hãy nhập lại thay đổi của bạn."
        )
    before = _state(task)
    old_area, old_position = task.area_code, task.position
    for name in FIELDS:
        setattr(task, name, values[name])
    task.due_series = list(values.get("due_series") or [])
    task.search_text = _search_text(values, options)
    task.version += 1
    # the version check passed, so the area read before the lock is still the card's: `relaned` holds
    if relaned:  # to the end of the same column in its new lane; its old cell closes the gap
        await db.execute(
            update(Task)
            .where(
                Task.year == task.year,
                Task.column_id == task.column_id,
                Task.area_code == old_area,
                Task.position > old_position,
            )
            .values(position=Task.position - 1)
            .execution_options(synchronize_session=False)
        )
        task.position = await end_of_cell(db, task.year, task.column_id, task.area_code, excluding=task.id)
    await db.flush()
    await _set_parts(db, ctx, task, values)
    db.add(_audit(ctx, "task.update", task, before=before, after=_state(task)))
    await db.flush()
    return task


def _audit(ctx: TenantContext, action: str, task: Task | int, **data: Any) -> AuditEntry:
    number = task if isinstance(task, int) else task.number
    return AuditEntry.by(
        ctx.tenant.id,
        ctx.principal.user_id,
        action,
        "task",
        f"KP-{number}",
        before=data.get("before"),
        after=data.get("after"),
    )


@dataclass(frozen=True)
class Proposal:
    """A task the generator proposes for one criterion that lost points."""

    area_code: str
    criterion_code: str
    title: str
    deficiency: str
    points_lost: Decimal
    points_max: Decimal
    lead_unit_id: uuid.UUID | None
    expected_output: str

    def task_values(
        self,
        *,
        label: str,
        notes: str = "",
        deadline_text: str = "",
        due_date: date | None = None,
        lead_unit_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """The values of the task it proposes, as `create_task` takes them: labelled `label`, led by `lead_unit_id`
        when the criterion names no lead unit."""
        return {
            "kind": TaskKind.FIX.value,
            "area_code": self.area_code,
            "criterion_code": self.criterion_code,
            "title": self.title,
            "deficiency": self.deficiency,
            "expected_output": self.expected_output,
            "notes": notes,
            "points_lost": self.points_lost,
            "points_max": self.points_max,
            "deadline_text": deadline_text,
            "due_date": due_date,
            "lead_unit_id": self.lead_unit_id or lead_unit_id,
            "labels": [label],
            "coordinating": [],
            "monitoring_unit_id": None,
            "assignees": [],
        }


def proposals(
    sheet: Sheet,
    units: Sequence[Unit],
    existing: set[str],
    appraised: Mapping[str, AppraisedCriterion] | None = None,
) -> list[Proposal]:
    """One proposal per scored criterion below its maximum that has no task yet (criteria listed in the set).

    With `appraised` (the finalised appraisal's points and reasons by criterion code) the appraised points
    count instead of the self-score, and the inspectors' reason is the deficiency."""
    by_name = {fold(u.name): u.id for u in units} | {u.code: u.id for u in units}
    found = []
    for area in sheet.areas:
        if area.node.kind in {"bonus", "penalty"}:
            continue
        for row in area.walk():
            decided = appraised.get(row.code) if appraised is not None else None
            score = decided.points if decided is not None else row.score
            if row.children or row.remainder or score is None or row.code in existing:
                continue
            if score >= row.max_points:
                continue
            if decided is not None:
                achieved = f"Đạt {_vn(score)}/{_vn(row.max_points)} điểm (thẩm định)"
                explanation = decided.reason
            else:
                achieved = f"Đạt {_vn(score)}/{_vn(row.max_points)} điểm"
                explanation = row.entry.explanation if row.entry else ""
            lead = row.node.lead_unit
            found.append(
                Proposal(
                    area_code=area.code,
                    criterion_code=row.code,
                    title=f"Khắc phục tiêu chí {row.code}: {row.node.title}",
                    deficiency="; ".join(p for p in (achieved, explanation) if p),
                    points_lost=row.max_points - score,
                    points_max=row.max_points,
                    lead_unit_id=(by_name.get(lead) or by_name.get(fold(lead))) if lead else None,
                    expected_output=row.node.evidence or "",
                )
            )
    return found


async def plan_proposals(
    db: AsyncSession, year: int, sheet: Sheet, units: Sequence[Unit], existing: set[str]
) -> list[Proposal]:
    """The generator's proposals, from the year's finalised appraisal when there is one (the points the
    province published and the inspectors' reasons), else from the self-assessment."""
    return proposals(sheet, units, existing, await finalised_criteria(db, year))


def _vn(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


# ---- the plan as a whole: its clock and its approval ----

PLAN_DAYS = 15  # seed 001: the plan must be issued within 15 days of the appraisal result


@dataclass(frozen=True)
class PlanClock:
    result_date: date | None
    due: date | None
    days_left: int | None
    approved: bool
    on_time: bool | None


def plan_clock(plan: RemedyPlan | None, today: date) -> PlanClock:
    if plan is None or plan.result_date is None:
        return PlanClock(None, None, None, bool(plan and plan.status == "approved"), None)
    due = plan.result_date + timedelta(days=PLAN_DAYS)
    approved = plan.status == "approved"
    # the day in Vietnam: approving at 01:00 on the 16th (18:00 UTC on the 15th) is a day late
    on_time = (vietnam_today(plan.approved_at) <= due) if approved and plan.approved_at else None
    return PlanClock(plan.result_date, due, (due - today).days, approved, on_time)


async def plan_of(db: AsyncSession, year: int) -> RemedyPlan | None:
    return await db.scalar(select(RemedyPlan).where(RemedyPlan.year == year))


async def update_plan(
    db: AsyncSession, ctx: TenantContext, year: int, action: str, form: Mapping[str, Any]
) -> str | None:
    """Set the appraisal result date, approve, or reopen the plan; returns an error message or None."""
    plan = await plan_of(db, year)
    if plan is None:
        plan = RemedyPlan(id=uuid.uuid4(), tenant_id=ctx.tenant.id, year=year, status="draft", version=1)
        db.add(plan)
    before = {"status": plan.status, "result_date": plan.result_date.isoformat() if plan.result_date else None}
    if action == "ngay-ket-qua":
        raw = str(form.get("result_date") or "").strip()
        try:
            plan.result_date = datetime.strptime(raw, "%d/%m/%Y").date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            return "Ngày không hợp lệ: nhập theo dạng dd/mm/yyyy, ví dụ 15/12/2023."
        if not 2000 <= plan.result_date.year <= 2100:
            return "Năm của ngày có kết quả phải từ 2000 đến 2100."
    elif action == "duyet":
        if plan.status == "approved":
            return "Kế hoạch đã được duyệt."
        if not await db.scalar(select(func.count()).where(Task.year == year)):
            return "Kế hoạch chưa có nhiệm vụ nào."
        plan.status, plan.approved_at, plan.approved_by = "approved", datetime.now(UTC), ctx.principal.user_id
    elif action == "mo-lai":
        if plan.status != "approved":
            return "Kế hoạch chưa được duyệt."
        plan.status, plan.approved_at, plan.approved_by = "draft", None, None
    else:
        return "Thao tác không hợp lệ."
    plan.version += 1
    after = {"status": plan.status, "result_date": plan.result_date.isoformat() if plan.result_date else None}
    db.add(
        AuditEntry.by(
            ctx.tenant.id, ctx.principal.user_id, f"plan.{action}", "plan", str(year), before=before, after=after
        )
    )
    await db.flush()
    return None


# ---- a card's checklist and comments ----

CHECKLIST_ITEM_MISSING = "Không tìm thấy việc cần làm."


async def checklist(db: AsyncSession, task: Task) -> list[ChecklistItem]:
    return list(
        await db.scalars(select(ChecklistItem).where(ChecklistItem.task_id == task.id).order_by(ChecklistItem.position))
    )


async def comments(db: AsyncSession, task: Task) -> list[tuple[TaskComment, str]]:
    rows = await db.execute(
        select(TaskComment, func.coalesce(func.nullif(User.full_name, ""), User.email, "Không rõ"))
        .outerjoin(User, User.id == TaskComment.author_id)
        .where(TaskComment.task_id == task.id)
        .order_by(TaskComment.created_at)
    )
    return [(comment, name) for comment, name in rows]


async def add_checklist_item(db: AsyncSession, ctx: TenantContext, task: Task, text: str) -> str | None:
    text = text.strip()
    if not text:
        return "Nhập nội dung việc cần làm."
    if len(text) > 500:
        return "Tối đa 500 ký tự."
    count = await db.scalar(select(func.count()).where(ChecklistItem.task_id == task.id)) or 0
    if count >= 100:
        return "Tối đa 100 việc cần làm cho một nhiệm vụ."
    db.add(ChecklistItem(id=uuid.uuid4(), tenant_id=ctx.tenant.id, task_id=task.id, position=count, text=text))
    db.add(_audit(ctx, "task.checklist", task, after={"add": text}))
    await db.flush()
    return None


async def toggle_checklist_item(
    db: AsyncSession, ctx: TenantContext, task: Task, item_id: uuid.UUID, done: bool | None = None
) -> str | None:
    """Ticks or unticks the item: to `done` when given (the API's), otherwise the other way (the page's button)."""
    item = await db.scalar(select(ChecklistItem).where(ChecklistItem.id == item_id, ChecklistItem.task_id == task.id))
    if item is None:
        return CHECKLIST_ITEM_MISSING
    item.done = (not item.done) if done is None else done
    db.add(_audit(ctx, "task.checklist", task, after={"text": item.text, "done": item.done}))
    await db.flush()
    return None


async def add_comment(db: AsyncSession, ctx: TenantContext, task: Task, body: str) -> str | None:
    posted = await post_comment(db, ctx, task, body)
    return posted if isinstance(posted, str) else None


async def post_comment(db: AsyncSession, ctx: TenantContext, task: Task, body: str) -> TaskComment | str:
    """The comment posted, or why it was refused."""
    body = body.replace("\r\n", "\n").strip()
    if not body:
        return "Nhập nội dung trao đổi."
    if len(body) > MAX_TEXT:
        return f"Tối đa {MAX_TEXT:,} ký tự.".replace(",", ".")
    comment = TaskComment(
        id=uuid.uuid4(), tenant_id=ctx.tenant.id, task_id=task.id, author_id=ctx.principal.user_id, body=body
    )
    db.add(comment)
    db.add(_audit(ctx, "task.comment", task, after={"length": len(body)}))
    await db.flush()
    await db.refresh(comment)
    return comment
