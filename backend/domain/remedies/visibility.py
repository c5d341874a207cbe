"""Which remedy tasks a person sees: the one rule the board, a card, the evidence of a task and the periodic
report all apply, so that what the board hides no other route shows.

Unit staff and unit heads see the tasks their unit leads or coordinates and those they are assigned to;
everyone else with access to the tenant sees every task. Row-level security has already kept the rows to
the tenant; this narrows them within it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import UNIT_ROLES, Permission
from backend.auth.principal import Principal
from backend.db.models import Task, TaskAssignee, TaskUnit
from backend.domain.tenants.deps import TenantContext


def sees_every_task(principal: Principal, tenant_id: uuid.UUID) -> bool:
    """Unit staff and unit heads see their unit's tasks; everyone else with access sees the whole board, and so
    does an API token of the tenant (its tenant admin made it for the tenant, not for a unit; its scope decides
    whether it reads tasks at all)."""
    if principal.token_scopes is not None:
        return principal.token_tenant_id == tenant_id
    return bool(principal.roles_in(tenant_id) - UNIT_ROLES) or principal.is_platform_admin


def sees_all(ctx: TenantContext) -> bool:
    return sees_every_task(ctx.principal, ctx.tenant.id)


def opens_every_task(principal: Principal, tenant_id: uuid.UUID) -> bool:
    """Whether `principal` opens any task of another tenant's board (a successor's, from its archive) without
    reading it first: a right to view there and the whole board. A unit's staff there may see some tasks only,
    which the archive cannot tell: they are not offered the link."""
    return principal.can(Permission.TENANT_VIEW, tenant_id) and sees_every_task(principal, tenant_id)


def own_units(ctx: TenantContext) -> frozenset[uuid.UUID]:
    return ctx.principal.units.get(ctx.tenant.id, frozenset())


def visible_condition(ctx: TenantContext) -> ColumnElement[bool] | None:
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


async def visible_task(db: AsyncSession, ctx: TenantContext, *where: Any) -> Task | None:
    """The task matching `where` if this person sees it; None when there is none or it is hidden from them
    (the caller answers 404 either way: a hidden task is not there)."""
    statement = select(Task).where(*where)
    visible = visible_condition(ctx)
    if visible is not None:
        statement = statement.where(visible)
    return await db.scalar(statement)


async def task_visible(db: AsyncSession, ctx: TenantContext, task_id: uuid.UUID) -> bool:
    """Whether this person sees the task `task_id` (one cheap statement, none when they see every task)."""
    visible = visible_condition(ctx)
    if visible is None:
        return True
    return await db.scalar(select(Task.id).where(Task.id == task_id, visible)) is not None
