"""The board's rules for what people change: who may edit which card, a card's form and its version, a move from
its form to its answer, the plan drawn from a self-assessment. Controllers parse a request, call these and render.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.db.engine import driver_connection
from backend.db.models import AuditEntry, Task, TaskAssignee, TaskUnit
from backend.domain.remedies import board as boards
from backend.domain.remedies import board_reading as reading
from backend.domain.remedies import tasks, visibility
from backend.domain.remedies.board import REFUSALS, Board, ColumnView, Filters, Lane, Move, Moved, MoveError
from backend.domain.remedies.deadlines import working_days
from backend.domain.review.services import finalised_criteria
from backend.domain.tenants.deps import TenantContext


async def visible_task(db: AsyncSession, ctx: TenantContext, year: int, number: int) -> Task:
    """The card KP-`number` of `year` if this person sees it (404 otherwise: a hidden card does not exist)."""
    task = await visibility.visible_task(db, ctx, Task.year == year, Task.number == number)
    if task is None:
        raise NotFoundException("Không tìm thấy nhiệm vụ.")
    return task


async def editable_task(db: AsyncSession, ctx: TenantContext, year: int, number: int) -> Task:
    """The card KP-`number` of `year` if this person may edit it (its lead, coordinating or monitoring unit is
    theirs, or they edit every card); 403 for a card they only see."""
    task = await visible_task(db, ctx, year, number)
    if not await boards.task_editable(db, ctx, task.id):
        raise PermissionDeniedException(REFUSALS["not-yours-to-edit"])
    return task


async def may_edit_form(db: AsyncSession, ctx: TenantContext, task: Task) -> bool:
    """Whether the card's page shows its form editable (`editable_task`'s rule)."""
    return await boards.task_editable(db, ctx, task.id)


async def form_choices(db: AsyncSession, ctx: TenantContext, year: int) -> tasks.Choices:
    """What a card's form offers: the year's areas and criteria, the units, groups, people and columns."""
    _, loaded = await reading.lanes_and_sheet(db, ctx, year)
    return await tasks.choices(db, loaded.sheet)


def parse_task(ctx: TenantContext, year: int, raw: Any, options: tasks.Choices) -> tasks.TaskForm:
    """A card's form (or the API's task) checked against the year's choices and the province's working days."""
    return tasks.parse_task_form(raw, options, year, vietnam_today(), working_days(ctx.province.settings))


def parse_new_task(ctx: TenantContext, year: int, raw: Any, options: tasks.Choices) -> tasks.TaskForm:
    """A new card's form checked, with the rule that only someone who edits every card may give another unit
    the lead."""
    parsed = parse_task(ctx, year, raw, options)
    lead = parsed.values.get("lead_unit_id")
    if not ctx.can(Permission.TASK_EDIT_ANY.value) and lead not in visibility.own_units(ctx):
        parsed.errors.setdefault("lead_unit_id", REFUSALS["not-your-lead"])
    return parsed


def parse_task_edit(ctx: TenantContext, year: int, raw: Any, options: tasks.Choices) -> tuple[tasks.TaskForm, int]:
    """An edited card's form checked, and the version it was opened at (-1 when missing: refused as stale)."""
    parsed = parse_task(ctx, year, raw, options)
    try:
        version = int(str(raw.get("version", "")))
    except ValueError:
        version = -1
    return parsed, version


async def task_links(
    db: AsyncSession, ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, list[TaskUnit]], dict[uuid.UUID, list[uuid.UUID]]]:
    """The coordinating and monitoring units and the assignees of the tasks `ids`, by task, in two statements
    whatever their number."""
    parts: dict[uuid.UUID, list[TaskUnit]] = {}
    people: dict[uuid.UUID, list[uuid.UUID]] = {}
    if ids:
        for part in await db.scalars(select(TaskUnit).where(TaskUnit.task_id.in_(ids))):
            parts.setdefault(part.task_id, []).append(part)
        for task_id, user_id in await db.execute(
            select(TaskAssignee.task_id, TaskAssignee.user_id).where(TaskAssignee.task_id.in_(ids))
        ):
            people.setdefault(task_id, []).append(user_id)
    return parts, people


async def find_tasks(
    db: AsyncSession, ctx: TenantContext, year: int, filters: Filters, *, after: int | None, limit: int
) -> list[Task]:
    """The year's tasks this person sees, narrowed by the board's filters, by number after `after`: `limit` of them
    at the most."""
    statement = boards.filtered(select(Task).where(Task.year == year), filters, vietnam_today())
    visible = visibility.visible_condition(ctx)
    if visible is not None:
        statement = statement.where(visible)
    if after is not None:
        statement = statement.where(Task.number > after)
    return list(await db.scalars(statement.order_by(Task.number).limit(limit)))


async def task_form(db: AsyncSession, task: Task) -> dict[str, Any]:
    """A stored card as its form's fields (decimal comma, ids as text, the version it is at)."""
    links, people = await task_links(db, [task.id])
    parts, assignees = links.get(task.id, []), people.get(task.id, [])
    return {
        "kind": task.kind,
        "area_code": task.area_code,
        "criterion_code": task.criterion_code or "",
        "title": task.title,
        "deficiency": task.deficiency,
        "expected_output": task.expected_output,
        "notes": task.notes,
        "points_lost": _vn(task.points_lost),
        "points_max": _vn(task.points_max),
        "deadline_text": task.deadline_text,
        "lead_unit_id": str(task.lead_unit_id) if task.lead_unit_id else "",
        "coordinating": [
            f"unit:{p.unit_id}" if p.unit_id else f"group:{p.unit_group_id}" for p in parts if p.role == "coordinating"
        ],
        "monitoring_unit_id": next((str(p.unit_id) for p in parts if p.role == "monitoring"), ""),
        "assignees": [str(a) for a in assignees],
        "labels": ", ".join(task.labels or []),
        "version": str(task.version),
    }


def _vn(value: Any) -> str:
    return "" if value is None else f"{value.normalize():f}".replace(".", ",")


def echo(raw: Any) -> dict[str, Any]:
    """What the person typed, shown back beside the errors (the lists as lists)."""
    typed: dict[str, Any] = {key: raw.get(key) for key in raw}
    for many in ("coordinating", "assignees"):
        typed[many] = list(raw.getall(many, [])) if hasattr(raw, "getall") else []
    return typed


async def activity(db: AsyncSession, task: Task) -> list[AuditEntry]:
    """The card's last 50 audit entries, newest first."""
    return list(
        await db.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "task", AuditEntry.entity_id == f"KP-{task.number}")
            .order_by(AuditEntry.id.desc())
            .limit(50)
        )
    )


async def generate_from_assessment(db: AsyncSession, ctx: TenantContext, year: int) -> int | None:
    """One card per criterion that lost points in the year's self-assessment (or appraisal) and has no card yet;
    how many were made, or None when the year has no self-assessment."""
    _, loaded = await reading.lanes_and_sheet(db, ctx, year)
    if loaded.assessment is None:
        return None
    options = await tasks.choices(db, loaded.sheet)
    existing = set(
        await db.scalars(select(Task.criterion_code).where(Task.year == year, Task.criterion_code.is_not(None)))
    )
    appraised = bool(await finalised_criteria(db, year))
    proposals = await tasks.plan_proposals(
        db, year, loaded.sheet, list(options.units.values()), {c for c in existing if c}
    )
    for proposal in proposals:
        values = proposal.task_values(label="thẩm định" if appraised else "tự đánh giá")
        await tasks.create_task(db, ctx, year, values, options, options.columns[0])
    return len(proposals)


async def update_plan(db: AsyncSession, ctx: TenantContext, year: int, action: str, form: dict[str, Any]) -> str | None:
    """The year's plan: its result date, approved or reopened (`tasks.update_plan`), for a year with a criteria set
    (404 otherwise); the refusal, or None when done."""
    await reading.areas(db, ctx, year)
    return await tasks.update_plan(db, ctx, year, action, form)


async def move_anchors(
    db: AsyncSession, ctx: TenantContext, task: Task
) -> tuple[list[ColumnView], list[tuple[ColumnView, list[tuple[uuid.UUID, int, str]]]]]:
    """The board's columns, and the cards a card's move form may place it before or after: those of its lane this
    person sees, column by column in board order (a card goes next to one of another lane by moving to that lane
    first). Each option names the anchor's column too, so the form's column select does not have to agree with
    it."""
    columns = await boards.read_columns(db)
    where = [Task.year == task.year, Task.area_code == task.area_code, Task.id != task.id]
    visible = visibility.visible_condition(ctx)
    if visible is not None:
        where.append(visible)
    rows = (
        await db.execute(select(Task.column_id, Task.id, Task.number, Task.title).where(*where).order_by(Task.position))
    ).all()
    by_column: dict[uuid.UUID, list[tuple[uuid.UUID, int, str]]] = {}
    for column_id, task_id, number, title in rows:
        by_column.setdefault(column_id, []).append((task_id, number, title))
    return columns, [(column, by_column[column.id]) for column in columns if column.id in by_column]


def parse_move(form: dict[str, Any]) -> Move:
    """A move's form (drag and drop, keys or the move form) as a Move; MoveError (422) when malformed."""
    try:
        task_id = uuid.UUID(str(form.get("task", "")))
        version = int(str(form.get("version", "")))
        column_id = uuid.UUID(str(form.get("column", "")))
    except ValueError:
        raise boards.refusal("malformed") from None
    area = str(form.get("area", "")).strip()
    place = str(form.get("place", "")).strip() or "end"
    kind, _, ident = place.partition(":")
    if kind in {"before", "after"}:
        anchor, _, in_column = ident.partition("@")  # the move form names the anchor's column with it
        try:
            return Move(
                task_id, version, uuid.UUID(in_column) if in_column else column_id, area, kind, uuid.UUID(anchor)
            )
        except ValueError:
            raise boards.refusal("no-place") from None
    if place not in boards.PLACES:
        raise boards.refusal("no-place")
    return Move(task_id, version, column_id, area, place)


async def move_by_codes(
    db: AsyncSession,
    ctx: TenantContext,
    task: Task,
    version: int,
    column: str,
    area: str,
    place: str,
    anchor: int | None,
) -> Move:
    """The API's move of `task` (its target column by code, its anchor by number, "" for its own area) as a Move;
    MoveError with the `field` at fault when the request names what is not there."""
    target = next((c for c in await boards.read_columns(db) if c.code == column), None)
    if target is None:
        raise boards.refusal("no-column", field="column")
    if place not in boards.PLACES:
        raise boards.refusal("no-place", field="place")
    anchor_id = None
    if anchor is not None:
        found = await visibility.visible_task(db, ctx, Task.year == task.year, Task.number == anchor)
        if found is None:
            raise boards.refusal("no-anchor", field="anchor")
        anchor_id = found.id
    elif place in {"before", "after"}:
        raise boards.refusal("anchor-needed", field="anchor")
    return Move(task.id, version, target.id, area.strip() or task.area_code, place, anchor_id)


async def apply_move(engine: AsyncEngine, ctx: TenantContext, year: int, move: Move) -> Moved:
    """`move` decided and applied in one statement (`board_move_as`) on a pooled connection outside any transaction;
    raises as `board.move_card` does (nothing written then)."""
    async with driver_connection(engine) as driver:
        return await boards.move_card(driver, ctx, year, move)


@dataclass(frozen=True)
class MoveOutcome:
    """A move done or refused. Done: `moved`, and with `cells` the changed cells as read just after it (when the
    answer may show them unfiltered). Refused: `refusal`, nothing written."""

    lanes: list[Lane] | None
    columns: list[ColumnView]
    refusal: MoveError | PermissionError | None = None
    moved: Moved | None = None
    cells: Board | None = None

    @property
    def status_code(self) -> int:
        """The refusal's answer: 403 not theirs to move, 409 the card changed meanwhile, 422 a move not possible."""
        if isinstance(self.refusal, PermissionError):
            return 403
        return 409 if isinstance(self.refusal, MoveError) and self.refusal.conflict else 422

    @property
    def changed(self) -> set[tuple[uuid.UUID, str]]:
        return set() if self.moved is None else {self.moved.source, self.moved.target}


async def move_card(
    engine: AsyncEngine, ctx: TenantContext, year: int, form: dict[str, Any], filters: Filters, *, cells: bool
) -> MoveOutcome:
    """Check and apply a move of `form` on the board of `year`, and with `cells` read the changed cells for the
    answer when this person's filtered board shows them whole.

    `ctx` was looked up outside any transaction (`provide_unbound_tenant_context`), and the move's statements
    share one pooled connection, outside any transaction too: the move, decided and applied under the board's
    lock in one statement (`board_move_as`), then the answer's cells in another (`board_cells_as`)."""
    async with driver_connection(engine) as driver:
        try:
            moved = await boards.move_card(driver, ctx, year, parse_move(form))
        except (MoveError, PermissionError) as exc:  # raised before anything is written
            return MoveOutcome(None, [], refusal=exc)
        except boards.NoCriteria:
            reading.no_criteria(year)
        if not (cells and boards.reads_cells_whole(ctx, filters)):
            return MoveOutcome(None, [], moved=moved)
        # saved and committed: the cells may already show a later move (X-Task-Version says which version this
        # one wrote)
        read = await boards.read_cells(driver, ctx, year, {moved.source, moved.target}, vietnam_today())
    return MoveOutcome(read.lanes, read.columns, moved=moved, cells=read.board)


__all__ = [
    "MoveOutcome",
    "activity",
    "apply_move",
    "echo",
    "editable_task",
    "find_tasks",
    "form_choices",
    "generate_from_assessment",
    "may_edit_form",
    "move_anchors",
    "move_by_codes",
    "move_card",
    "parse_move",
    "parse_new_task",
    "parse_task",
    "parse_task_edit",
    "task_form",
    "task_links",
    "update_plan",
    "visible_task",
]
