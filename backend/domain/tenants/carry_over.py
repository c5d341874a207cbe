"""Carrying a predecessor's open remedy tasks over to its successor's board (tenants/lineage.yaml): one action
of the successor's focal point or leader, audited in the successor's log, done once per predecessor. The
archive itself is never written: its tasks stay as they were, read-only. Each task carried over is linked to the
task it became (`carried_tasks`, the successor's row the archive's people read too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import AuditEntry, BoardColumn, CarriedTask, Task, Unit
from backend.db.rls import reading_archive
from backend.domain.remedies.board import end_of_cell, lock_board, next_number
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.lineage import Predecessor

ACTION = "lineage.carry_over"
COPIED = (
    "year",
    "kind",
    "area_code",
    "criterion_code",
    "deficiency",
    "points_lost",
    "points_max",
    "title",
    "deadline_text",
    "due_date",
    "due_series",
    "expected_output",
    "labels",
    "search_text",
)


@dataclass(frozen=True)
class OpenTasks:
    predecessor: Predecessor
    count: int  # tasks not in a done column of the predecessor's board
    carried: bool  # already carried over to this tenant


async def _carried(db: AsyncSession, predecessor: Predecessor) -> bool:
    found = await db.scalar(
        select(AuditEntry.id).where(AuditEntry.action == ACTION, AuditEntry.entity_id == str(predecessor.id)).limit(1)
    )
    return found is not None


async def open_tasks(db: AsyncSession, ctx: TenantContext, earlier: list[Predecessor]) -> list[OpenTasks]:
    """Each predecessor's open tasks, and whether they were carried over already (the successor's audit log)."""
    result = []
    for predecessor in earlier:
        carried = await _carried(db, predecessor)
        async with reading_archive(db, ctx.tenant, predecessor.id, ctx.principal, Permission.TENANT_VIEW):
            count = await db.scalar(
                select(func.count())
                .select_from(Task)
                .join(BoardColumn, BoardColumn.id == Task.column_id)
                .where(~BoardColumn.is_done)
            )
        result.append(OpenTasks(predecessor, int(count or 0), carried))
    return result


async def carry_over(db: AsyncSession, ctx: TenantContext, earlier: list[Predecessor]) -> dict[str, int]:
    """Copy every open task of each predecessor not carried over yet onto the tenant's board: same year, area,
    criterion, texts and deadline; the column and lead unit of the same code when the board has them (else the
    first column, no unit); a note names the task it came from. Returns predecessor name → tasks copied."""
    copied: dict[str, int] = {}
    await lock_board(db, ctx)
    for predecessor in earlier:
        if await _carried(db, predecessor):
            continue
        async with reading_archive(db, ctx.tenant, predecessor.id, ctx.principal, Permission.TENANT_VIEW):
            rows = list(
                await db.execute(
                    select(Task, BoardColumn.code, Unit.code)
                    .join(BoardColumn, BoardColumn.id == Task.column_id)
                    .outerjoin(Unit, Unit.id == Task.lead_unit_id)
                    .where(~BoardColumn.is_done)
                    .order_by(Task.year, Task.number)
                )
            )
            sources = [
                ({name: getattr(task, name) for name in COPIED}, task.id, task.number, column, unit)
                for task, column, unit in rows
            ]
            for task, _, _ in rows:
                db.expunge(task)
        columns = list(await db.scalars(select(BoardColumn).order_by(BoardColumn.position)))
        by_code = {c.code: c for c in columns if not c.is_done}
        units = {u.code: u.id for u in await db.scalars(select(Unit))}
        moved = []
        # the archive as the successor's cards name it: its province only when it is another one
        label = predecessor.name if predecessor.province_code == ctx.province.code else predecessor.label
        for values, source_id, number, column_code, unit_code in sources:
            column = by_code.get(column_code) or columns[0]
            new_number = await next_number(db)
            note = f"Chuyển từ KP-{number} của {predecessor.name} ({predecessor.province_name})."
            task = Task(
                id=uuid.uuid4(),
                tenant_id=ctx.tenant.id,
                number=new_number,
                column_id=column.id,
                position=await end_of_cell(db, values["year"], column.id, values["area_code"]),
                version=1,
                lead_unit_id=units.get(unit_code) if unit_code else None,
                notes=note,
                created_by=ctx.principal.user_id,
                **values,
            )
            db.add(task)
            await db.flush()
            db.add(
                CarriedTask(
                    tenant_id=ctx.tenant.id,
                    task_id=task.id,
                    number=new_number,
                    predecessor_id=predecessor.id,
                    source_task_id=source_id,
                    source_number=number,
                    source_label=label,
                    carried_by=ctx.principal.user_id,
                )
            )
            moved.append({"from": f"KP-{number}", "to": f"KP-{new_number}", "year": values["year"]})
        db.add(
            AuditEntry.by(
                ctx.tenant.id,
                ctx.principal.user_id,
                ACTION,
                "tenant",
                str(predecessor.id),
                after={"predecessor": predecessor.label, "tasks": moved},
            )
        )
        await db.flush()
        copied[predecessor.label] = len(moved)
    return copied
