"""The province admin's view across the province's tenants.

Row-level security stays on: the list reads the province in one statement (`reading_province`), an invitation
enters its tenant through `acting_in`, both checking the person's right in the Sở Nội vụ; every action is audited
both in the target tenant and in the Sở Nội vụ.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import AuditEntry, Invitation, Membership, Role, Tenant, TenantKind, Unit
from backend.db.rls import acting_in, reading_province
from backend.domain.admin import services
from backend.domain.tenants.deps import TenantContext


@dataclass(frozen=True)
class TenantSummary:
    tenant: Tenant
    units: int
    members: int
    admins: int


def is_home_affairs(ctx: TenantContext) -> bool:
    return ctx.tenant.kind == TenantKind.HOME_AFFAIRS


def home_affairs_only(ctx: TenantContext, message: str = "Trang quản trị tỉnh chỉ có ở Sở Nội vụ") -> TenantContext:
    """`ctx` when it is the province's Sở Nội vụ; a 404 with `message` anywhere else (the province's pages and
    operations exist only there)."""
    if not is_home_affairs(ctx):
        raise NotFoundException(message)
    return ctx


# Every tenant of the province with its unit, member and admin counts, in one statement (`reading_province`): the
# counts group by tenant, so a person's own memberships elsewhere (the memberships policy shows them too) count only
# where they are.
_UNITS = select(Unit.tenant_id, func.count().label("n")).group_by(Unit.tenant_id).subquery()
_MEMBERS = (
    select(
        Membership.tenant_id,
        func.count(func.distinct(Membership.user_id)).label("members"),
        func.count().filter(Membership.role == Role.TENANT_ADMIN).label("admins"),
    )
    .where(Membership.is_active)
    .group_by(Membership.tenant_id)
    .subquery()
)
_PROVINCE_ID: BindParameter[uuid.UUID] = bindparam("province")
_OVERVIEW = (
    select(Tenant, _UNITS.c.n, _MEMBERS.c.members, _MEMBERS.c.admins)
    .outerjoin(_UNITS, _UNITS.c.tenant_id == Tenant.id)
    .outerjoin(_MEMBERS, _MEMBERS.c.tenant_id == Tenant.id)
    .where(Tenant.province_id == _PROVINCE_ID)
    .order_by(Tenant.kind, Tenant.name)
)


async def overview(db: AsyncSession, ctx: TenantContext) -> list[TenantSummary]:
    """Every tenant of the province with its unit, member and admin counts (one statement, however many tenants)."""
    home_affairs_only(ctx)
    async with reading_province(db, ctx.tenant, ctx.principal, Permission.PROVINCE_MANAGE):
        rows = (await db.execute(_OVERVIEW, {"province": ctx.province.id})).all()
    return [TenantSummary(tenant, units or 0, members or 0, admins or 0) for tenant, units, members, admins in rows]


async def invite_tenant_admin(
    db: AsyncSession, ctx: TenantContext, form: dict[str, Any]
) -> tuple[Invitation | None, services.FormErrors]:
    """Invite a tenant admin into one tenant of the province (how a new department gets its first admin); the
    invitation is read back whole while still inside its tenant."""
    home_affairs_only(ctx)
    errors = services.FormErrors()
    code = str(form.get("tenant_code", "")).strip()
    target = await db.scalar(
        select(Tenant).where(Tenant.province_id == ctx.province.id, Tenant.code == code, Tenant.is_active)
    )
    if target is None:
        errors.add("tenant_code", "Chọn một sở, ban, ngành của tỉnh.")
        return None, errors
    actor: uuid.UUID | None = ctx.principal.user_id
    async with acting_in(db, ctx.tenant, target, ctx.principal, Permission.PROVINCE_MANAGE):
        invitation, errors = await services.invite(db, target, actor, {**form, "role": Role.TENANT_ADMIN.value})
        if invitation is not None:
            await db.refresh(invitation)
    if invitation is None:
        return None, errors
    db.add(
        AuditEntry(
            tenant_id=ctx.tenant.id,
            actor=f"user:{actor}",
            action="invite",
            entity="province-invitation",
            entity_id=str(invitation.id),
            after={"tenant": target.code, "email": invitation.email, "role": invitation.role},
        )
    )
    await db.flush()
    return invitation, errors
