"""The province admin's view across the province's tenants: the one explicit cross-tenant path.

Row-level security stays on: the path binds each tenant's context in turn, after checking that the
person is a province admin in the province's Sở Nội vụ, and every action is audited both in the
target tenant and in the Sở Nội vụ.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AuditEntry, Membership, Role, Tenant, TenantKind, Unit
from backend.db.rls import bind_tenant
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


# A tenant's unit, member and admin counts, read under its row-level security (one tenant per statement). The
# tenant is named as well: the memberships policy also shows the reader their own rows in other tenants.
_TENANT_ID: BindParameter[uuid.UUID] = bindparam("tenant")
_COUNTS = select(
    select(func.count()).select_from(Unit).where(Unit.tenant_id == _TENANT_ID).scalar_subquery(),
    select(func.count(func.distinct(Membership.user_id)))
    .where(Membership.tenant_id == _TENANT_ID, Membership.is_active)
    .scalar_subquery(),
    select(func.count())
    .select_from(Membership)
    .where(Membership.tenant_id == _TENANT_ID, Membership.role == Role.TENANT_ADMIN, Membership.is_active)
    .scalar_subquery(),
)


async def overview(db: AsyncSession, ctx: TenantContext) -> list[TenantSummary]:
    """Every tenant of the province with its unit, member and admin counts."""
    tenants = list(
        await db.scalars(select(Tenant).where(Tenant.province_id == ctx.province.id).order_by(Tenant.kind, Tenant.name))
    )
    summaries = []
    try:
        for tenant in tenants:
            await bind_tenant(db, tenant.id, ctx.principal.user_id)
            units, members, admins = (await db.execute(_COUNTS, {"tenant": tenant.id})).one()  # one round trip
            summaries.append(TenantSummary(tenant, units or 0, members or 0, admins or 0))
    finally:
        await bind_tenant(db, ctx.tenant.id, ctx.principal.user_id)
    return summaries


async def invite_tenant_admin(
    db: AsyncSession, ctx: TenantContext, form: dict[str, Any]
) -> tuple[Tenant | None, services.FormErrors]:
    """Invite a tenant admin into one tenant of the province (how a new department gets its first admin)."""
    errors = services.FormErrors()
    code = str(form.get("tenant_code", "")).strip()
    target = await db.scalar(
        select(Tenant).where(Tenant.province_id == ctx.province.id, Tenant.code == code, Tenant.is_active)
    )
    if target is None:
        errors.add("tenant_code", "Chọn một sở, ban, ngành của tỉnh.")
        return None, errors
    actor: uuid.UUID | None = ctx.principal.user_id
    try:
        await bind_tenant(db, target.id, actor)
        invitation, errors = await services.invite(db, target, actor, {**form, "role": Role.TENANT_ADMIN.value})
    finally:
        await bind_tenant(db, ctx.tenant.id, actor)
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
    return target, errors
