"""Tasks carried over from a predecessor's board to its successor's (tenants/lineage.yaml, `carried_tasks`), as
the two boards show them: on the successor's cards where each came from, on the archive's cards where each went
(a link to the task it became when the reader may open it there), and on the archive's board each carry-over with
its count, date and the person who made it. Each side reads the links alone, never the other side's tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import CarriedTask, Province, Task, Tenant, User
from backend.db.models.remedies import task_is_open
from backend.domain.remedies.visibility import opens_every_task
from backend.domain.tenants.deps import TenantContext


class Origin(NamedTuple):
    """Where a successor's task came from: the archive as its cards name it, and the task's number there."""

    label: str
    number: int


class CarriedTo(NamedTuple):
    """Where an archive's task went: the successor (with its province when another), the task's number there,
    and the task's page when this reader may open it (None otherwise)."""

    successor: str
    number: int
    href: str | None


@dataclass(frozen=True)
class CarryOver:
    """One carry-over of the archive's open tasks of a year to a successor, as the archive's board tells it."""

    successor: str
    path: str  # the successor's home
    count: int
    at: datetime
    by: str  # the person who carried them over ("" when unknown)


@dataclass(frozen=True)
class ArchiveCarried:
    """What the archive's board of a year shows of its carried-over tasks."""

    tasks: dict[uuid.UUID, tuple[CarriedTo, ...]]  # the archive's task → where it went
    carry_overs: list[CarryOver]  # oldest first
    still_open: int  # its open tasks of the year carried over nowhere


_ORIGINS = select(CarriedTask.task_id, CarriedTask.source_label, CarriedTask.source_number)


async def origins(db: AsyncSession, ctx: TenantContext) -> dict[uuid.UUID, Origin]:
    """The tenant's tasks carried over from a predecessor, by id (the rows it owns, not those of its own archive)."""
    rows = await db.execute(_ORIGINS.where(CarriedTask.tenant_id == ctx.tenant.id))
    return {task_id: Origin(label, number) for task_id, label, number in rows}


@dataclass(frozen=True)
class Side:
    """The other side of a carried-over task: its tenant and province, and the task's number there."""

    tenant_id: uuid.UUID
    tenant_code: str
    tenant_name: str
    province_id: uuid.UUID
    province_code: str
    province_name: str
    number: int
    carried_at: datetime
    carried_by: str  # the person who carried it over ("" when unknown)

    def name_from(self, ctx: TenantContext) -> str:
        """The tenant's name, with its province when it is not the reader's tenant's."""
        return self.tenant_name if self.province_id == ctx.province.id else f"{self.tenant_name} ({self.province_name})"

    def task_path(self, year: int) -> str:
        return f"/t/{self.province_code}/{self.tenant_code}/ke-hoach/{year}/the/{self.number}"


def _sides(other: Any, number: Any) -> Any:
    """A select of (this tenant's task id, `Side` columns) for the links whose other tenant is the column `other`."""
    return (
        select(
            Tenant.id,
            Tenant.code,
            Tenant.name,
            Province.id,
            Province.code,
            Province.name,
            number,
            CarriedTask.carried_at,
            func.coalesce(func.nullif(User.full_name, ""), User.email, ""),
        )
        .join(Tenant, Tenant.id == other)
        .join(Province, Province.id == Tenant.province_id)
        .outerjoin(User, User.id == CarriedTask.carried_by)
    )


async def went_to(db: AsyncSession, ctx: TenantContext, *where: Any) -> list[tuple[uuid.UUID, Side]]:
    """An archive's tasks (bound to it) carried over, matching `where`, with where each went; oldest first."""
    statement = (
        _sides(CarriedTask.tenant_id, CarriedTask.number)
        .add_columns(CarriedTask.source_task_id)
        .join(Task, Task.id == CarriedTask.source_task_id)
        .where(CarriedTask.predecessor_id == ctx.tenant.id, *where)
        .order_by(CarriedTask.carried_at, Tenant.name, CarriedTask.number)
    )
    return [(row[-1], Side(*row[:-1])) for row in await db.execute(statement)]


async def came_from(db: AsyncSession, ctx: TenantContext, task_ids: list[uuid.UUID]) -> dict[uuid.UUID, Side]:
    """The tenant's tasks among `task_ids` carried over from a predecessor, with where each came from."""
    statement = (
        _sides(CarriedTask.predecessor_id, CarriedTask.source_number)
        .add_columns(CarriedTask.task_id)
        .where(CarriedTask.tenant_id == ctx.tenant.id, CarriedTask.task_id.in_(task_ids))
    )
    return {row[-1]: Side(*row[:-1]) for row in await db.execute(statement)}


def may_open(ctx: TenantContext, side: Side) -> bool:
    """Whether this reader may open the task on the other side's board (`visibility.opens_every_task`)."""
    return opens_every_task(ctx.principal, side.tenant_id)


async def archive_carried(db: AsyncSession, ctx: TenantContext, year: int) -> ArchiveCarried:
    """For an archive's board of `year` (bound to the archive): where each of its tasks went, each carry-over, and
    how many of its open tasks went nowhere yet. Two statements."""
    tasks: dict[uuid.UUID, tuple[CarriedTo, ...]] = {}
    grouped: dict[tuple[uuid.UUID, datetime, str], list[Side]] = {}
    for source, side in await went_to(db, ctx, Task.year == year):
        href = side.task_path(year) if may_open(ctx, side) else None
        tasks[source] = (*tasks.get(source, ()), CarriedTo(side.name_from(ctx), side.number, href))
        grouped.setdefault((side.tenant_id, side.carried_at, side.carried_by), []).append(side)
    carry_overs = [
        CarryOver(sides[0].name_from(ctx), f"/t/{sides[0].province_code}/{sides[0].tenant_code}", len(sides), at, by)
        for (_, at, by), sides in grouped.items()
    ]
    open_ids = await db.scalars(select(Task.id).where(Task.year == year, task_is_open()))
    return ArchiveCarried(tasks, carry_overs, sum(1 for task_id in open_ids if task_id not in tasks))


class TaskLink(NamedTuple):
    """A task's page line: carried over `to` a successor's task, or from a predecessor's; `href` when the reader
    may open that task there."""

    to: bool
    tenant: str
    number: int
    href: str | None


async def task_links(db: AsyncSession, ctx: TenantContext, task: Task) -> list[TaskLink]:
    """Where `task` came from and, on an archive's board, where it went: its page says so as its card does."""
    links = []
    origin = (await came_from(db, ctx, [task.id])).get(task.id)
    if origin is not None:
        href = origin.task_path(task.year) if may_open(ctx, origin) else None
        links.append(TaskLink(False, origin.name_from(ctx), origin.number, href))
    if ctx.archived:
        for _, side in await went_to(db, ctx, CarriedTask.source_task_id == task.id):
            href = side.task_path(task.year) if may_open(ctx, side) else None
            links.append(TaskLink(True, side.name_from(ctx), side.number, href))
    return links
