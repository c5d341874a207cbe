"""What the board page reads: the year's lanes (its reform areas), the board itself (kept per process under the
tenant's board revision), and which cards this person may move or edit. The controllers render it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from litestar.exceptions import NotFoundException
from sqlalchemy import Uuid, bindparam, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.db.models import Assessment, CriteriaSet, Criterion, Task, TaskUnit, Unit
from backend.domain.assessments import services as assessments
from backend.domain.remedies import board as boards
from backend.domain.remedies import tasks, visibility
from backend.domain.remedies.board import Board, ColumnView, Filters, Lane
from backend.domain.remedies.carried import ArchiveCarried, archive_carried
from backend.domain.tenants.deps import TenantContext

_AREAS = (
    select(Criterion.code, Criterion.title)
    .where(
        Criterion.criteria_set_id
        == select(CriteriaSet.id)
        .where(
            CriteriaSet.province_id == bindparam("province"),
            CriteriaSet.year == bindparam("year"),
            # the set of the tenant's ranking group, else the one for every group
            or_(CriteriaSet.ranking_group_id.is_(None), CriteriaSet.ranking_group_id == bindparam("group", type_=Uuid)),
        )
        .order_by(CriteriaSet.ranking_group_id.is_(None), CriteriaSet.version.desc())
        .limit(1)
        .scalar_subquery(),
        Criterion.depth == 0,
        Criterion.kind.not_in(["bonus", "penalty"]),
    )
    .order_by(Criterion.position)
)


async def year_areas(db: AsyncSession, ctx: TenantContext, year: int) -> list[Lane]:
    """The year's reform areas, one light query (the board needs no scores; the statement is built once); none
    when the province has no criteria set for the year."""
    rows = await db.execute(_AREAS, {"province": ctx.province.id, "year": year, "group": ctx.tenant.ranking_group_id})
    return [Lane(code, title) for code, title in rows]


async def areas(db: AsyncSession, ctx: TenantContext, year: int) -> list[Lane]:
    return await year_areas(db, ctx, year) or no_criteria(year)


def no_criteria(year: int) -> NoReturn:
    raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")


async def lanes_and_sheet(db: AsyncSession, ctx: TenantContext, year: int) -> tuple[list[Lane], Any]:
    loaded = await assessments.load(db, ctx.province, year)
    if loaded is None:
        no_criteria(year)
    lanes = [Lane(a.code, a.node.title) for a in loaded.sheet.areas if a.node.kind not in {"bonus", "penalty"}]
    return lanes, loaded


def board_path(ctx: TenantContext, year: int) -> str:
    return f"{ctx.base_path}/ke-hoach/{year}"


@dataclass
class BoardRead:
    board: Board
    editable: frozenset[uuid.UUID]
    units: dict[uuid.UUID, str]
    html: bytes | None = None  # the whole board's markup, once rendered (escaped by the templates), UTF-8


_boards: dict[tuple[Any, ...], BoardRead] = {}
BOARD_CACHE_SIZE = 64  # a 600-card board is about half a megabyte of tuples
_REVISIONS = text(
    "SELECT coalesce((SELECT revision FROM board_revisions), 0), coalesce((SELECT revision FROM directory_revision), 0)"
)


async def read_board(
    db: AsyncSession,
    ctx: TenantContext,
    year: int,
    filters: Filters,
    lanes: list[Lane],
    cells: set[tuple[uuid.UUID, str]] | None,
    columns: list[ColumnView] | None = None,
    cells_read: Board | None = None,
    carried: ArchiveCarried | None = None,
) -> BoardRead:
    """The board, which cards this person may move, and the units' names; on an archive's board (`carried`), where
    its tasks went.

    A move's few `cells`, for someone who sees and may move every card with no filter, come read already
    (`cells_read`, by `boards.read_cells` in one statement on the move's connection) instead of a transaction of
    four.

    A whole board (not a move's few cells) is kept per process under the tenant's board revision, which
    PostgreSQL bumps on any change to what the board shows (migration 0009), the people directory's revision,
    the day (overdue badges), the filters, the lanes and what this person may see and move. A change
    committed anywhere makes the next read miss, in every process; between changes a read costs one query. An
    archive's board is read afresh: a carry-over to its successor changes it without a write of its own, and its
    links to the successor's tasks depend on the reader.
    """
    key: tuple[Any, ...] | None = None
    if cells is None and carried is None:
        revision, directory = (await db.execute(_REVISIONS)).one()
        everything = visibility.sees_all(ctx)
        mine = visibility.own_units(ctx)
        edit_own = ctx.can(Permission.TASK_EDIT_OWN_UNIT.value)
        key = (
            ctx.tenant.id,
            year,
            revision,
            directory,
            vietnam_today(),
            filters,
            tuple(lanes),
            # what this person sees: everything (shared by all who do), or their units' and their own cards
            None if everything else (ctx.principal.user_id, mine),
            # what they may move: all cards, their units' cards, or none (not their units when it is all)
            "all" if ctx.can(Permission.TASK_EDIT_ANY.value) else mine if edit_own else "none",
        )
        cached = _boards.get(key)
        if cached is not None:
            return cached
    units: dict[uuid.UUID, str] = {}
    if cells is None:  # a move's few cells read their cards' unit names by join
        units = {u.id: u.name for u in await db.scalars(select(Unit).order_by(Unit.position, Unit.name))}
    day = vietnam_today()
    if cells is not None and cells_read is not None:
        board = cells_read
    else:
        board = await boards.load_board(
            db,
            ctx,
            year,
            lanes,
            filters,
            day,
            cells=cells,
            units=units,
            columns=columns,
            carried=carried.tasks if carried is not None else None,
        )
    read = BoardRead(board, frozenset(await editable_ids(db, ctx, board)), units)
    if key is not None:
        # a newer revision of this board makes the older ones dead weight (and work for the garbage collector)
        for old in [k for k in _boards if k[:2] == key[:2] and k[2:5] != key[2:5]]:
            del _boards[old]
        if len(_boards) >= BOARD_CACHE_SIZE:
            _boards.clear()
        _boards[key] = read
    return read


async def editable_ids(db: AsyncSession, ctx: TenantContext, board: Board) -> set[uuid.UUID]:
    """Ids of the cards this person may move or edit (one query for the coordinating units)."""
    cards = [card.task for cell in board.cells.values() for card in cell]
    if ctx.can(Permission.TASK_EDIT_ANY.value):
        return {t.id for t in cards}
    if not ctx.can(Permission.TASK_EDIT_OWN_UNIT.value) or not cards:
        return set()
    units = visibility.own_units(ctx)
    coordinated = set(
        await db.scalars(
            select(TaskUnit.task_id)
            .join(Task, Task.id == TaskUnit.task_id)
            .where(Task.year == board.year, TaskUnit.unit_id.in_(units))
        )
    )
    return {t.id for t in cards if t.lead_unit_id in units or t.id in coordinated}


RenderBoard = Callable[[Board, frozenset[uuid.UUID], str], str]
"""The whole board's markup from the board, the cards this person may move and the board's path."""


async def board_page(
    db: AsyncSession,
    ctx: TenantContext,
    year: int,
    filters: Filters,
    *,
    cells: set[tuple[uuid.UUID, str]] | None = None,
    lanes: list[Lane] | None = None,
    columns: list[ColumnView] | None = None,
    cells_read: Board | None = None,
    render: RenderBoard | None = None,
) -> dict[str, Any]:
    """What the board page shows, or with `cells` what a move's answer shows of them. With `render`, the whole
    board's markup (`splice`, UTF-8), rendered once per cached read. `columns`, when the caller has read them in
    this transaction, save a query; with `cells_read`, a move's `cells` as `boards.read_cells` read them (see
    `read_board`)."""
    if lanes is None:
        lanes = await areas(db, ctx, year)
    carried = await archive_carried(db, ctx, year) if ctx.archived and cells is None else None
    read = await read_board(db, ctx, year, filters, lanes, cells, columns, cells_read, carried)
    board, editable, units = read.board, read.editable, read.units
    if render is not None and cells is None and read.html is None:
        read.html = render(board, editable, board_path(ctx, year)).encode()
    plan = await tasks.plan_of(db, year) if cells is None else None  # a move's answer shows only cells
    return {
        "plan": plan,
        "clock": tasks.plan_clock(plan, vietnam_today()),
        "ctx": ctx,
        "section": "board",
        "year": year,
        "board": board,
        "filters": filters,
        "editable": editable,
        "units": units,
        "all_lanes": lanes,
        "has_assessment": cells is None
        and bool(await db.scalar(select(func.count()).select_from(Assessment).where(Assessment.year == year))),
        "base": board_path(ctx, year),
        "years": await assessments.criteria_years(db, ctx.province) if cells is None else [],
        "today": vietnam_today(),
        "splice": read.html if render is not None else None,  # the board's markup, joined in by `page`
        "carried": carried,
    }
