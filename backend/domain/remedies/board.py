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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Uuid, and_, bindparam, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import BoardColumn, EvidenceFile, Task, TaskAssignee, TaskUnit, Unit, User
from backend.db.models.remedies import task_is_open
from backend.domain.evidence.services import evidence_counts
from backend.domain.remedies.carried import CarriedTo, Origin, origins
from backend.domain.remedies.visibility import own_units, sees_all, visible_condition
from backend.domain.tenants.deps import TenantContext

DUE_SOON_DAYS = 7
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
    origin: Origin | None = None  # carried over from a predecessor's board: where from
    carried: tuple[CarriedTo, ...] = ()  # an archive's task carried over: where to

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


async def read_columns(db: AsyncSession) -> list[ColumnView]:
    return [ColumnView(*row) for row in await db.execute(select(*VIEW_COLUMNS).order_by(BoardColumn.position))]


def _cell_extras() -> tuple[Any, ...]:
    """A card's lead unit, assignees and live evidence files, as correlated subqueries (a move's few cells);
    built once (`CELL_EXTRAS`): building SQL expressions costs more than running these."""
    people = func.coalesce(func.nullif(User.full_name, ""), User.email)
    return (
        select(Unit.name).where(Unit.id == Task.lead_unit_id).scalar_subquery(),
        select(func.array_agg(people))
        .select_from(TaskAssignee)
        .join(User, User.id == TaskAssignee.user_id)
        .where(TaskAssignee.task_id == Task.id)
        .scalar_subquery(),
        select(func.count())
        .select_from(EvidenceFile)
        .where(EvidenceFile.task_id == Task.id, EvidenceFile.deleted_at.is_(None))
        .scalar_subquery(),
    )


CELL_EXTRAS = _cell_extras()
_ORDER = (Task.area_code, Task.column_id, Task.position)
_COLUMN_COUNTS = select(Task.column_id, func.count()).where(Task.year == bindparam("year")).group_by(Task.column_id)
# built once (their cache keys are remembered); filters and visibility are added per request when needed
_CARDS = select(*CARD_COLUMNS).where(Task.year == bindparam("year")).order_by(*_ORDER)
_CELL_CARDS = _CARDS.add_columns(*CELL_EXTRAS).where(
    or_(
        and_(Task.column_id == bindparam("c0"), Task.area_code == bindparam("a0")),
        and_(Task.column_id == bindparam("c1"), Task.area_code == bindparam("a1")),
    )
)


def filtered(statement: Any, filters: Filters, today: date) -> Any:
    """`statement` (a select of tasks) narrowed by the board's filters: unit (leading or coordinating), assignee,
    area, column, overdue, label and the folded words of the search. The board and the API list both use it."""
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
        statement = statement.where(Task.due_date < today, task_is_open())
    if filters.label:
        statement = statement.where(Task.labels.contains([filters.label]))
    if filters.query:
        for word in fold(filters.query).split():
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            statement = statement.where(Task.search_text.like(f"%{escaped}%", escape="\\"))
    return statement


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
    columns: Sequence[ColumnView] | None = None,
    carried: Mapping[uuid.UUID, tuple[CarriedTo, ...]] | None = None,
) -> Board:
    """Columns, cards, units, assignees and the cards' origins (`carried.origins`) in five statements, whatever
    the number of cards; some `cells` only (after a move) in three or four: their cards with unit, people and
    evidence by subquery, and the column counts by one GROUP BY. Cards carry `CardTask` rows, or whole `Task`s when
    `full`. `units` (id → name) and `columns`, when the caller has them, save a statement each; `carried`, an
    archive's tasks carried over (`carried.archive_carried`)."""
    if columns is None:
        columns = await read_columns(db)
    params: dict[str, Any] = {"year": year}
    statement: Any = _CARDS
    if full:
        statement = select(Task).where(Task.year == bindparam("year")).order_by(*_ORDER)
    elif cells is not None:
        statement = _CELL_CARDS
        (c0, a0), (c1, a1) = sorted(cells)[0], sorted(cells)[-1]  # one cell or two
        params.update(c0=c0, a0=a0, c1=c1, a1=a1)
    visible = visible_condition(ctx)
    if visible is not None:
        statement = statement.where(visible)
    statement = filtered(statement, filters, today)
    names: dict[uuid.UUID, list[str]] = {}
    evidence: dict[uuid.UUID, int] = {}
    tasks: list[Any]
    if cells is not None:
        units = dict(units or {})
        tasks = []
        for row in await db.execute(statement, params):
            task = CardTask(*row[:-3])
            unit, people, files = row[-3:]
            tasks.append(task)
            if unit is not None and task.lead_unit_id is not None:
                units[task.lead_unit_id] = unit
            names[task.id] = list(people or ())
            evidence[task.id] = files
    else:
        result = await db.execute(statement, params)
        tasks = list(result.scalars()) if full else [CardTask(*row) for row in result]
        if units is None:
            units = {u.id: u.name for u in await db.scalars(select(Unit))}
        if tasks:
            # the year's assignees and evidence counts by a subquery, not an IN list of every card (600 bind
            # parameters cost more than the few rows of hidden cards they would skip); names sorted here
            wanted = select(Task.id).where(Task.year == year)
            rows = await db.execute(
                select(TaskAssignee.task_id, func.coalesce(func.nullif(User.full_name, ""), User.email))
                .join(User, User.id == TaskAssignee.user_id)
                .where(TaskAssignee.task_id.in_(wanted))
            )
            for task_id, name in rows:
                names.setdefault(task_id, []).append(name)
            evidence = await evidence_counts(db, wanted)
    board = assemble(
        year,
        columns,
        lanes,
        tasks,
        units,
        names,
        evidence,
        today,
        visible_all=visible is None,
        origins=await origins(db, ctx),
        carried=carried,
    )
    if filters.area:
        board.lanes = [lane for lane in board.lanes if lane.code == filters.area]
    if cells is not None:  # only some cells were read: count the columns apart
        counted = _COLUMN_COUNTS if visible is None else _COLUMN_COUNTS.where(visible)
        board.counts = {column: n for column, n in await db.execute(counted, {"year": year})}
    return board


def assemble(
    year: int,
    columns: Sequence[ColumnView],
    lanes: list[Lane],
    tasks: Sequence[Any],
    units: dict[uuid.UUID, str],
    names: dict[uuid.UUID, list[str]],
    evidence: dict[uuid.UUID, int],
    today: date,
    *,
    visible_all: bool,
    origins: Mapping[uuid.UUID, Origin] | None = None,
    carried: Mapping[uuid.UUID, tuple[CarriedTo, ...]] | None = None,
) -> Board:
    """The board of these cards (their lanes, badges and cells, the column counts of these cards); `origins` and
    `carried` say where a card came from or went (tenants/lineage.yaml)."""
    done_columns = {c.id for c in columns if c.is_done}
    known = {lane.code for lane in lanes}
    shown = list(lanes)
    board = Board(year, list(columns), shown, visible_all=visible_all)
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
            (origins or {}).get(task.id),
            (carried or {}).get(task.id, ()),
        )
        board.cells.setdefault((task.column_id, lane), []).append(card)
        board.counts[task.column_id] = board.counts.get(task.column_id, 0) + 1
    return board


# A move's answer in one statement outside any transaction (backend/db/sql/board_cells_as.sql): the lanes, the
# columns, the cells' cards with their unit, people and evidence, and the column counts on every row.
_CELLS = """
SELECT * FROM board_cells_as(
  session_token => $1, tenant => $2, person => $3, board_year => $4, c0 => $5, a0 => $6, c1 => $7, a1 => $8
)
"""


def reads_cells_whole(ctx: TenantContext, filters: Filters) -> bool:
    """Whether `read_cells` serves this person's answer: they see and may move every card, with no filter."""
    return sees_all(ctx) and ctx.can(Permission.TASK_EDIT_ANY.value) and not filters.active


@dataclass(frozen=True)
class CellsRead:
    lanes: list[Lane]
    columns: list[ColumnView]
    board: Board  # the cells' cards and the whole board's column counts


async def read_cells(
    driver: Any, ctx: TenantContext, year: int, cells: set[tuple[uuid.UUID, str]], today: date
) -> CellsRead:
    """One or two cells of the whole board, its lanes, columns and column counts, as `load_board` reads them with
    `cells` for someone who sees every card with no filter (`reads_cells_whole`): one statement (`board_cells_as`)
    on `driver` (an asyncpg connection of `driver_connection`, outside any transaction), where the request's
    transaction takes six round trips."""
    (c0, a0), (c1, a1) = sorted(cells)[0], sorted(cells)[-1]  # one cell or two
    rows = await driver.fetch(_CELLS, ctx.session_token, ctx.tenant.id, ctx.principal.user_id, year, c0, a0, c1, a1)
    first = rows[0]
    lanes = [
        Lane(code, title) for code, title in zip(first["lane_codes"] or (), first["lane_titles"] or (), strict=True)
    ]
    fields = ("ids", "codes", "names", "positions", "wip_limits", "done", "confirmation")
    columns = [ColumnView(*values) for values in zip(*(first[f"column_{name}"] or () for name in fields), strict=True)]
    tasks: list[CardTask] = []
    units: dict[uuid.UUID, str] = {}
    names: dict[uuid.UUID, list[str]] = {}
    evidence: dict[uuid.UUID, int] = {}
    came_from: dict[uuid.UUID, Origin] = {}
    for row in rows:
        if row["id"] is None:  # empty cells: the counts only
            continue
        task = CardTask(*(row[name] for name in CardTask._fields))
        tasks.append(task)
        if row["carried_from"] is not None:
            came_from[task.id] = Origin(row["carried_from"], row["carried_number"])
        if row["lead_unit"] is not None and task.lead_unit_id is not None:
            units[task.lead_unit_id] = row["lead_unit"]
        names[task.id] = list(row["assignees"] or ())
        evidence[task.id] = row["evidence"]
    board = assemble(year, columns, lanes, tasks, units, names, evidence, today, visible_all=True, origins=came_from)
    board.counts = dict(zip(first["counted_columns"] or (), first["counts"] or (), strict=True))
    return CellsRead(lanes, columns, board)


class MoveError(ValueError):
    """A move that cannot be made; `conflict` when the card changed since the person saw it; `field`, the request's
    input at fault when the request names what is not there."""

    def __init__(self, message: str, *, conflict: bool = False, field: str | None = None) -> None:
        super().__init__(message)
        self.conflict = conflict
        self.field = field


PLACES = frozenset({"end", "top", "up", "down", "before", "after"})


@dataclass(frozen=True)
class Move:
    task_id: uuid.UUID
    version: int
    column_id: uuid.UUID
    area: str  # "" with "top", "up" or "down": the card's own area
    place: str = "end"  # one of PLACES; "before"/"after" need `anchor`
    anchor: uuid.UUID | None = None


@dataclass(frozen=True)
class Moved:
    number: int
    version: int  # the one the move wrote
    source: tuple[uuid.UUID, str]
    target: tuple[uuid.UUID, str]


class NoCriteria(LookupError):
    """The province has no criteria set for the board's year: the board has no lanes to move a card in."""


def board_lock_key(ctx: TenantContext) -> str:
    return f"board:{ctx.tenant.id}"


_EDITABLE = text(
    "SELECT task_editable(card => :card, edits_any => :edits_any, edits_units => :edits_units)"
).bindparams(bindparam("edits_units", type_=ARRAY(Uuid)))


async def task_editable(db: AsyncSession, ctx: TenantContext, task_id: uuid.UUID) -> bool:
    """Whether this person may edit or move the card `task_id`: the database's `task_editable`
    (backend/db/sql/task_editable.sql), the rule `board_move_as` applies to a move."""
    edits_any, units = edit_rights(ctx)
    return bool(await db.scalar(_EDITABLE, {"card": task_id, "edits_any": edits_any, "edits_units": list(units)}))


async def lock_board(db: AsyncSession, ctx: TenantContext) -> None:
    """One board's moves and new cards, one at a time (released at commit); `board_move_as` takes the same lock."""
    await db.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": board_lock_key(ctx)})


# Sent outside any transaction, so that it commits by itself: the board's lock is held inside one round trip.
# `board_move_as` (backend/db/sql/board_move_as.sql) decides the move on the card as it is under the lock and
# answers 'moved' or the code of the rule the move breaks, which `_refusal` words.
_MOVE = """
SELECT * FROM board_move_as(
  session_token => $1, tenant => $2, person => $3, board_year => $4, lock_key => $5, moving => $6, expected => $7,
  to_column => $8, to_area => $9, place => $10, anchor => $11, edits_any => $12, edits_units => $13,
  confirms => $14, actor => $15
)
"""


# What the person is told when a card's rule refuses them, by the rule's code: the move's (`board_move_as` answers
# the code, and its row fills the braces), a malformed move's, an edit's and a new card's. Refusals of `FORBIDDEN`
# answer 403, of `CONFLICTS` 409 (the card changed meanwhile), the others 422.
REFUSALS = {
    "gone": "Không tìm thấy nhiệm vụ (có thể đã bị xoá).",
    "not-yours": "Bạn chỉ di chuyển được nhiệm vụ của phòng, đơn vị mình.",
    "changed": "KP-{card_number} vừa được người khác thay đổi: bảng đã được tải lại, hãy kiểm tra rồi thực hiện lại.",
    "no-column": "Cột không hợp lệ.",
    "no-area": "Lĩnh vực không hợp lệ.",
    "criterion-area": "KP-{card_number} gắn với tiêu chí {card_criterion} của lĩnh vực {card_area}: "
    "sửa tiêu chí của nhiệm vụ trước khi chuyển sang lĩnh vực khác.",
    "needs-confirmation": "Chỉ đầu mối CCHC hoặc lãnh đạo mới chuyển nhiệm vụ sang “{column_name}”.",
    "beside-itself": "Không thể đặt thẻ cạnh chính nó.",
    "up-down-elsewhere": "“Lên/xuống” chỉ dùng trong cùng một cột.",
    "full": "Cột “{column_name}” đã đủ {column_limit} nhiệm vụ (giới hạn đang làm).",
    "at-top": "Thẻ đã ở đầu cột.",
    "at-edge": "Thẻ đã ở đầu hoặc cuối cột.",
    "anchor-moved": "Thẻ làm mốc đã đổi chỗ: bảng đã được tải lại, hãy thực hiện lại.",
    "malformed": "Yêu cầu di chuyển không hợp lệ.",
    "no-place": "Vị trí không hợp lệ.",
    "not-yours-to-edit": "Bạn chỉ sửa được nhiệm vụ của phòng, đơn vị mình.",
    "not-your-lead": "Bạn chỉ tạo được nhiệm vụ do phòng, đơn vị mình chủ trì.",
    "no-anchor": "Không tìm thấy nhiệm vụ làm mốc.",
    "anchor-needed": "Cần nhiệm vụ làm mốc.",
}
FORBIDDEN = frozenset({"not-yours", "needs-confirmation", "not-yours-to-edit"})
CONFLICTS = frozenset({"gone", "changed", "anchor-moved"})


def refusal(code: str, *, field: str | None = None, **fields: Any) -> MoveError | PermissionError:
    """The refusal `code` of a card's rule, worded (`fields` fill its braces); `field`, the input at fault."""
    message = REFUSALS[code].format_map(fields)
    if code in FORBIDDEN:
        return PermissionError(message)
    return MoveError(message, conflict=code in CONFLICTS, field=field)


def _refusal(row: Mapping[str, Any]) -> MoveError | PermissionError | NoCriteria:
    """What the person is told when `board_move_as` refuses a move (`row` is its answer)."""
    if row["outcome"] == "no-criteria":
        return NoCriteria()
    if row["outcome"] not in REFUSALS:
        raise AssertionError(f"board_move_as: {row['outcome']}")
    return refusal(row["outcome"], **dict(row))


def edit_rights(ctx: TenantContext) -> tuple[bool, frozenset[uuid.UUID]]:
    """Whose cards this person may move or edit: every card, else those led by or shared with these units."""
    if ctx.can(Permission.TASK_EDIT_ANY.value):
        return True, frozenset()
    return False, own_units(ctx) if ctx.can(Permission.TASK_EDIT_OWN_UNIT.value) else frozenset()


async def move_card(driver: Any, ctx: TenantContext, year: int, request: Move) -> Moved:
    """Decide and apply one move in one statement of its own transaction (`board_move_as`), on `driver` (an
    asyncpg connection of `driver_connection`, outside any transaction). Raises MoveError (409 when `conflict`),
    PermissionError or NoCriteria when the move is refused; then nothing was written."""
    edits_any, edits_units = edit_rights(ctx)
    row = await driver.fetchrow(
        _MOVE,
        ctx.session_token,
        ctx.tenant.id,
        ctx.principal.user_id,
        year,
        board_lock_key(ctx),
        request.task_id,
        request.version,
        request.column_id,
        request.area,
        request.place,
        request.anchor,
        edits_any,
        list(edits_units),
        ctx.can(Permission.TASK_CONFIRM.value),
        f"user:{ctx.principal.user_id}",
    )
    if row["outcome"] != "moved":
        raise _refusal(row)
    return Moved(
        row["card_number"],
        request.version + 1,
        (row["card_column"], row["card_area"]),
        (request.column_id, row["into_area"]),
    )


async def next_number(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.coalesce(func.max(Task.number), 0))) or 0) + 1


async def end_of_cell(
    db: AsyncSession, year: int, column_id: uuid.UUID, area: str, excluding: uuid.UUID | None = None
) -> int:
    """The position after a cell's last card (`excluding` a card already flushed into it)."""
    cell = [Task.year == year, Task.column_id == column_id, Task.area_code == area]
    if excluding is not None:
        cell.append(Task.id != excluding)
    count = await db.scalar(select(func.count()).where(*cell))
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
