"""Resolve the tenant named by the URL, check the person may act there, and bind the session to it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, declared_access
from backend.auth.principal import Principal, current_principal
from backend.db.models import CriteriaSet, Province, Tenant
from backend.db.rls import TENANT_SETTING, USER_SETTING, remember_context


@dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    province: Province
    principal: Principal

    @property
    def id(self) -> uuid.UUID:
        return self.tenant.id

    @property
    def base_path(self) -> str:
        return f"/t/{self.province.code}/{self.tenant.code}"

    def can(self, permission: str) -> bool:
        """For templates: whether to show a link or action (routes check again on their own)."""
        return self.principal.can(Permission(permission), self.tenant.id)


# Built once: every tenant page runs it. The row also binds the transaction to its tenant and person (row-level
# security), saving a round trip; binding reads nothing, and the application-level check below runs before
# anything of the tenant's is read (a refusal ends the request and rolls the transaction back).
_TENANT = (
    select(
        Tenant,
        Province,
        func.set_config(TENANT_SETTING, cast(Tenant.id, String), True),
        func.set_config(USER_SETTING, bindparam("user", type_=String), True),
    )
    .join(Province, Province.id == Tenant.province_id)
    .where(Province.code == bindparam("province"), Tenant.code == bindparam("tenant"), Tenant.is_active)
)


async def provide_tenant_context(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    province_code: FromPath[str],
    tenant_code: FromPath[str],
) -> TenantContext:
    """The application-level wall; row-level security (bound here) is the second one."""
    principal = current_principal(request)
    if principal is None:
        raise NotAuthorizedException("Cần đăng nhập")
    parameters = {"province": province_code, "tenant": tenant_code, "user": str(principal.user_id)}
    row = (await db_session.execute(_TENANT, parameters)).one_or_none()
    if row is None:
        raise NotFoundException("Không tìm thấy đơn vị")
    tenant, province, _, _ = row
    access = declared_access(request.route_handler)
    if not isinstance(access, Permission) or not principal.can(access, tenant.id):
        raise PermissionDeniedException("Không có quyền trong đơn vị này")
    remember_context(db_session, tenant.id, principal.user_id)  # for the request's later transactions
    return TenantContext(tenant=tenant, province=province, principal=principal)


async def latest_criteria_year(db: AsyncSession, ctx: TenantContext) -> int:
    """The latest year the province has a criteria set for: where a section opened without a year goes."""
    year = await db.scalar(select(func.max(CriteriaSet.year)).where(CriteriaSet.province_id == ctx.province.id))
    if year is None:
        raise NotFoundException("Tỉnh chưa ban hành bộ chỉ số CCHC nào.")
    return int(year)
