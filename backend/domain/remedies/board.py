"""The remedy board: read in a fixed number of queries whatever the card count, and moves that keep
positions dense and never lose an update.

A cell is (column, area): the all-areas board shows one swimlane per area, an area's board one lane.
Positions are 0..n-1 within a cell. Every move of a tenant's board takes one transaction-scoped advisory
lock, so concurrent moves are applied one after another, and checks the card's version, so a move made
from a stale view is refused with the fresh state instead of silently undoing someone else's move.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from backend.auth.permissions import Permission
from backend.db.models import BoardColumn, Role, Task, TaskAssignee, TaskUnit, Unit, User
from backend.domain.evidence.services import evidence_counts
from backend.domain.tenants.deps import TenantContext

DUE_SOON_DAYS = 7
UNIT_ROLES = frozenset({Role.STAFF, Role.UNIT_HEAD})
OTHER_AREA = "khac"


def fold(value: str) -> str:
    """Lower case without Vietnamese diacritics ("Quản lý đất đai" → "quan ly dat dai"), for searching."""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


@dataclass(frozen=True)
class Filters:
    unit: uuid.UUID | None = None
    assignee: uuid.UUID | None = None
    area: str | None = None
    column: str | None = None
    overdue: bool = False
    label: str | None = None
    query: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        def as_uuid(raw: str | None) -> uuid.UUID | None:
            try:
                return uuid.UUID(raw) if raw else None
            except ValueError:
                return None

        return cls(
            unit=as_uuid(params.get("don-vi")),
            assignee=as_uuid(params.get("nguoi")),
            area=(params.get("linh-vuc") or None),
            column=(params.get("trang-thai") or None),
            overdue=params.get("qua-han") == "1",
            label=(params.get("nhan") or "").strip()[:63] or None,
            query=(params.get("q") or "").strip()[:200],
        )

    def as_query(self) -> dict[str, str]:
        pairs = {
            "don-vi": str(self.unit) if self.unit else "",
            "nguoi": str(self.assignee) if self.assignee else "",
            "linh-vuc": self.area or "",
            "trang-thai": self.column or "",
            "qua-han": "1" if self.overdue else "",
            "nhan": self.label or "",
            "q": self.query,
        }
        return {k: v for k, v in pairs.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_query())


class CardTask(NamedTuple):
    """What a card shows of its task: read as plain rows (no ORM objects for 600 cards), hashable (the
    rendered card is cached by it, `backend.domain.remedies.cards`)."""

    id: uuid.UUID
    number: int
    version: int
    position: int
    column_id: uuid.UUID
    area_code: str
    criterion_code: str | None
    kind: str
    title: str
    due_date: date | None
    deadline_text: str
    points_lost: Decimal | None
    lead_unit_id: uuid.UUID | None


CARD_COLUMNS = tuple(getattr(Task, name) for name in CardTask._fields)


class ColumnView(NamedTuple):
    """A board column as the board shows it (plain values: a read board may be cached across requests)."""

    id: uuid.UUID
    code: str
    name: str
    position: int
    wip_limit: int | None
    is_done: bool
    needs_confirmation: bool


VIEW_COLUMNS = tuple(getattr(BoardColumn, name) for name in ColumnView._fields)


class Card(NamedTuple):
    task: Any  # CardTask, or the whole Task when the board is read `full` (the plan's exports)
    lead_unit: str
    assignees: tuple[str, ...]
    overdue: bool
    due_soon: bool
    evidence_count: int = 0

    @property
    def code(self) -> str:
        return f"KP-{self.task.number}"


@dataclass(frozen=True)
class Lane:
    code: str
    title: str


@dataclass
class Board:
    year: int
    columns: list[ColumnView]
    lanes: list[Lane]
    cells: dict[tuple[uuid.UUID, str], list[Card]] = field(default_factory=dict)
    counts: dict[uuid.UUID, int] = field(default_factory=dict)  # cards per column on the whole board
    visible_all: bool = True

    def cell(self, column: ColumnView, lane: Lane) -> list[Card]:
        return self.cells.get((column.id, lane.code), [])


def sees_all(ctx: TenantContext) -> bool:
    """Unit staff and unit heads see their unit's tasks; everyone else with access sees the whole board."""
    roles = ctx.principal.roles_in(ctx.tenant.id)
    return bool(roles - UNIT_ROLES) or ctx.principal.is_platform_admin


def own_units(ctx: TenantContext) -> frozenset[uuid.UUID]:
    return ctx.principal.units.get(ctx.tenant.id, frozenset())


def may_edit(ctx: TenantContext, task: Task, coordinating: set[uuid.UUID] | None = None) -> bool:
    if ctx.can(Permission.TASK_EDIT_ANY.value):
        return True
    if not ctx.can(Permission.TASK_EDIT_OWN_UNIT.value):
        return False
    units = own_units(ctx)
    return task.lead_unit_id in units or bool(units & (coordinating or set()))


async def coordinating_units(db: AsyncSession, task_id: uuid.UUID) -> set[uuid.UUID]:
    """The units (not unit groups) a task is shared with, for the edit check."""
    rows = await db.scalars(select(TaskUnit.unit_id).where(TaskUnit.task_id == task_id, TaskUnit.unit_id.is_not(None)))
    return {unit for unit in rows if unit is not None}


def _visible(ctx: TenantContext):  # type: ignore[no-untyped-def]
    """The SQL condition for tasks this person sees (None: all)."""
    if sees_all(ctx):
        return None
    units = list(own_units(ctx))
    user = ctx.principal.user_id
    return or_(
        Task.lead_unit_id.in_(units),
        Task.id.in_(select(TaskUnit.task_id).where(TaskUnit.unit_id.in_(units))),
        Task.id.in_(select(TaskAssignee.task_id).where(TaskAssignee.user_id == user)),
    )


async def load_board(
    db: AsyncSession,
    ctx: TenantContext,
    year: int,
    lanes: list[Lane],
    filters: Filters,
    today: date,
    *,
    cells: set[tuple[uuid.UUID, str]] | None = None,
    full: bool = False,
    units: dict[uuid.UUID, str] | None = None,
) -> Board:
    """Columns, cards, units and assignees in four statements, whatever the number of cards (five when only
    some `cells` are wanted, as after a move: the column counts then come from one GROUP BY). Cards carry
    `CardTask` rows, or whole `Task`s when `full`. `units` (id → name), when the caller has them, saves one."""
    columns = [ColumnView(*row) for row in await db.execute(select(*VIEW_COLUMNS).order_by(BoardColumn.position))]
    order = (Task.area_code, Task.column_id, Task.position)
    statement: Any = (select(Task) if full else select(*CARD_COLUMNS)).where(Task.year == year).order_by(*order)
    visible = _visible(ctx)
    if visible is not None:
        statement = statement.where(visible)
    if cells is not None:
        statement = statement.where(or_(*(and_(Task.column_id == c, Task.area_code == a) for c, a in cells)))
    if filters.unit:
        statement = statement.where(
            or_(
                Task.lead_unit_id == filters.unit,
                Task.id.in_(select(TaskUnit.task_id).where(TaskUnit.unit_id == filters.unit)),
            )
        )
    if filters.assignee:
        statement = statement.where(
            Task.id.in_(select(TaskAssignee.task_id).where(TaskAssignee.user_id == filters.assignee))
        )
    if filters.area:
        statement = statement.where(Task.area_code == filters.area)
    if filters.column:
        statement = statement.where(
            Task.column_id.in_(select(BoardColumn.id).where(BoardColumn.code == filters.column))
        )
    if filters.overdue:
        done = select(BoardColumn.id).where(BoardColumn.is_done)
        statement = statement.where(Task.due_date < today, Task.column_id.not_in(done))
    if filters.label:
        statement = statement.where(Task.labels.contains([filters.label]))
    if filters.query:
        for word in fold(filters.query).split():
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(Task.search_text.like(f"%{escaped}%", escape="\\"))
    tasks: list[Any] = (
        list(await db.scalars(statement)) if full else [CardTask(*row) for row in await db.execute(statement)]
    )
    if units is None:
        units = {u.id: u.name for u in await db.scalars(select(Unit))}
    names: dict[uuid.UUID, list[str]] = {}
    evidence: dict[uuid.UUID, int] = {}
    if tasks:
        # the year's assignees and evidence counts by a subquery, not an IN list of every card (600 bind
        # parameters cost more than the few rows of hidden cards they would skip); names sorted here
        few = [t.id for t in tasks] if len(tasks) <= 64 else None  # after a move: a cell or two
        wanted = few or select(Task.id).where(Task.year == year)
        rows = await db.execute(
            select(TaskAssignee.task_id, func.coalesce(func.nullif(User.full_name, ""), User.email))
            .join(User, User.id == TaskAssignee.user_id)
            .where(TaskAssignee.task_id.in_(wanted))
        )
        for task_id, name in rows:
            names.setdefault(task_id, []).append(name)
        evidence = await evidence_counts(db, wanted)
    done_columns = {c.id for c in columns if c.is_done}
    known = {lane.code for lane in lanes}
    shown = list(lanes)
    board = Board(year, columns, shown, visible_all=visible is None)
    for task in tasks:
        lane = task.area_code if task.area_code in known else OTHER_AREA
        if lane == OTHER_AREA and OTHER_AREA not in known:
            shown.append(Lane(OTHER_AREA, "Nhiệm vụ chung, lĩnh vực khác"))
            known.add(OTHER_AREA)
        finished = task.column_id in done_columns
        overdue = bool(task.due_date and task.due_date < today and not finished)
        soon = bool(
            task.due_date and not overdue and not finished and task.due_date <= today + timedelta(DUE_SOON_DAYS)
        )
        card = Card(
            task,
            units.get(task.lead_unit_id, "") if task.lead_unit_id else "",
            tuple(sorted(names.get(task.id, ()))),
            overdue,
            soon,
            evidence.get(task.id, 0),
        )
        board.cells.setdefault((task.column_id, lane), []).append(card)
        board.counts[task.column_id] = board.counts.get(task.column_id, 0) + 1
    if filters.area:
        board.lanes = [lane for lane in shown if lane.code == filters.area]
    if cells is not None:  # only some cells were read: count the columns apart
        counted = select(Task.column_id, func.count()).where(Task.year == year).group_by(Task.column_id)
        if visible is not None:
            counted = counted.where(visible)
        board.counts = {column: n for column, n in await db.execute(counted)}
    return board


class MoveError(ValueError):
    """A move that cannot be made; `conflict` when the card changed since the person saw it."""

    def __init__(self, message: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


@dataclass(frozen=True)
class Move:
    task_id: uuid.UUID
    version: int
    column_id: uuid.UUID
    area: str
    before: uuid.UUID | None = None  # place the card just before this one
    after: uuid.UUID | None = None  # … or just after this one (else: at the end of the cell)


@dataclass(frozen=True)
class Moved:
    task: Task
    source: tuple[uuid.UUID, str]
    target: tuple[uuid.UUID, str]


async def lock_board(db: AsyncSession, ctx: TenantContext) -> None:
    """One board's moves and new cards, one at a time (released at commit)."""
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"board:{ctx.tenant.id}"})


async def move(db: AsyncSession, ctx: TenantContext, request: Move, lanes: set[str]) -> Moved:
    await lock_board(db, ctx)
    task = await db.scalar(select(Task).where(Task.id == request.task_id).with_for_update())
    if task is None:
        raise MoveError("Không tìm thấy nhiệm vụ (có thể đã bị xoá).", conflict=True)
    shared = set() if ctx.can(Permission.TASK_EDIT_ANY.value) else await coordinating_units(db, task.id)
    if not may_edit(ctx, task, shared):
        raise PermissionError("Bạn chỉ di chuyển được nhiệm vụ của phòng, đơn vị mình.")
    if task.version != request.version:
        raise MoveError(
            f"KP-{task.number} vừa được người khác thay đổi: bảng đã được tải lại, hãy kiểm tra rồi thực hiện lại.",
            conflict=True,
        )
    columns = {c.id: c for c in await db.scalars(select(BoardColumn))}
    target_column = columns.get(request.column_id)
    if target_column is None:
        raise MoveError("Cột không hợp lệ.")
    area = request.area
    if area not in lanes and area != task.area_code:
        raise MoveError("Lĩnh vực không hợp lệ.")
    if area == OTHER_AREA:
        area = task.area_code
    if area != task.area_code and task.criterion_code:
        raise MoveError(
            f"KP-{task.number} gắn với tiêu chí {task.criterion_code} của lĩnh vực {task.area_code}: "
            "sửa tiêu chí của nhiệm vụ trước khi chuyển sang lĩnh vực khác."
        )
    if (
        target_column.needs_confirmation
        and task.column_id != target_column.id
        and not ctx.can(Permission.TASK_CONFIRM.value)
    ):
        raise PermissionError(f"Chỉ đầu mối CCHC hoặc lãnh đạo mới chuyển nhiệm vụ sang “{target_column.name}”.")
    if target_column.wip_limit is not None and task.column_id != target_column.id:
        count = await db.scalar(select(func.count()).where(Task.year == task.year, Task.column_id == target_column.id))
        if (count or 0) >= target_column.wip_limit:
            raise MoveError(f"Cột “{target_column.name}” đã đủ {target_column.wip_limit} nhiệm vụ (giới hạn đang làm).")
    source = (task.column_id, task.area_code)
    cell = (Task.year == task.year, Task.column_id == target_column.id, Task.area_code == area, Task.id != task.id)
    anchor_id = request.before or request.after
    if anchor_id == task.id:
        raise MoveError("Không thể đặt thẻ cạnh chính nó.")
    if anchor_id is not None:
        anchor = await db.scalar(select(Task).where(Task.id == anchor_id, *cell[:3]))
        if anchor is None:
            raise MoveError("Thẻ làm mốc đã đổi chỗ: bảng đã được tải lại, hãy thực hiện lại.", conflict=True)
        target_position = anchor.position + (0 if request.before else 1)
    else:
        target_position = None
    # close the gap where the card was
    await db.execute(
        update(Task)
        .where(
            Task.year == task.year,
            Task.column_id == task.column_id,
            Task.area_code == task.area_code,
            Task.position > task.position,
        )
        .values(position=Task.position - 1)
    )
    if target_position is not None and source == (target_column.id, area) and target_position > task.position:
        target_position -= 1  # the anchor moved up by one when the gap closed
    size = await db.scalar(select(func.count()).where(*cell)) or 0
    if target_position is None or target_position > size:
        target_position = size
    await db.execute(update(Task).where(*cell, Task.position >= target_position).values(position=Task.position + 1))
    await db.execute(
        update(Task)
        .where(Task.id == task.id)
        .values(column_id=target_column.id, area_code=area, position=target_position, version=Task.version + 1)
        .execution_options(synchronize_session=False)
    )
    # what the UPDATE wrote, without reading the row back (the board lock and the row lock are held)
    for name, value in (
        ("column_id", target_column.id),
        ("area_code", area),
        ("position", target_position),
        ("version", task.version + 1),
    ):
        set_committed_value(task, name, value)
    return Moved(task, source, (target_column.id, area))


async def next_number(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.coalesce(func.max(Task.number), 0))) or 0) + 1


async def end_of_cell(db: AsyncSession, year: int, column_id: uuid.UUID, area: str) -> int:
    count = await db.scalar(
        select(func.count()).where(Task.year == year, Task.column_id == column_id, Task.area_code == area)
    )
    return int(count or 0)


_ROLL_RECURRING = text(
    """
    UPDATE tasks SET due_date = next.day
    FROM (
      SELECT t.id, min(d) AS day FROM tasks t, unnest(t.due_series) AS d
      WHERE cardinality(t.due_series) > 0 AND t.due_date < :today AND d >= :today
      GROUP BY t.id
    ) AS next
    WHERE tasks.id = next.id
    """
)


async def roll_recurring(db: AsyncSession, today: date) -> int:
    """Move each recurring task whose due date has passed on to its series' next date (the daily job does
    this before the reminders); the last date of the series stays, so a missed one shows as overdue."""
    result = await db.execute(_ROLL_RECURRING, {"today": today})
    return int(getattr(result, "rowcount", 0) or 0)
