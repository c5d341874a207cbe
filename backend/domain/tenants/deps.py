"""Resolve the tenant named by the URL, check the person may act there, and bind the session to it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission, declared_access
from backend.auth.principal import Principal, current_principal
from backend.auth.sessions import COOKIE
from backend.db.engine import driver_connection
from backend.db.models import CriteriaSet, Province, Tenant
from backend.db.rls import SESSION_SETTING, TENANT_SETTING, USER_SETTING, remember_context, remember_session


@dataclass(frozen=True)
class TenantContext:
    tenant: Tenant
    province: Province
    principal: Principal
    # the raw session cookie: the database functions that act for a person in a tenant check it (migration 0020)
    session_token: str = field(default="", repr=False)

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
        func.set_config(SESSION_SETTING, bindparam("session", type_=String), True),
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
    principal = _signed_in(request)
    token = _token(request)
    parameters = {"province": province_code, "tenant": tenant_code, "user": str(principal.user_id), "session": token}
    row = (await db_session.execute(_TENANT, parameters)).one_or_none()
    if row is None:
        raise NotFoundException("Không tìm thấy đơn vị")
    tenant, province, _, _, _ = row
    _check_access(request, principal, tenant.id)
    remember_session(db_session, token)
    remember_context(db_session, tenant.id, principal.user_id)  # for the request's later transactions
    return TenantContext(tenant=tenant, province=province, principal=principal, session_token=token)


# The same row for a handler whose statements bind their own tenant and person (a card move): one statement
# outside any transaction, where `_TENANT` costs a transaction of three round trips and an ORM session.
_TENANT_COLUMNS = [column.name for column in Tenant.__table__.columns]
_PROVINCE_COLUMNS = [column.name for column in Province.__table__.columns]
_TENANT_ROW = (
    "SELECT "
    + ", ".join(f"t.{name}" for name in _TENANT_COLUMNS)
    + ", "
    + ", ".join(f"p.{name} AS province_{name}" for name in _PROVINCE_COLUMNS)
    + " FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = $1 AND t.code = $2 AND t.is_active"
)


async def provide_unbound_tenant_context(
    request: Request[Any, Any, Any],
    db_engine: NamedDependency[AsyncEngine],
    db_session: NamedDependency[AsyncSession],
    province_code: FromPath[str],
    tenant_code: FromPath[str],
) -> TenantContext:
    """`provide_tenant_context` for a handler that reads and writes the tenant's rows through statements that
    bind their own tenant and person: the same wall, read in one statement outside any transaction. The tenant
    and province are detached copies of their rows. `db_session` is bound for any later transaction of its."""
    principal = _signed_in(request)
    async with driver_connection(db_engine) as driver:
        row = await driver.fetchrow(_TENANT_ROW, province_code, tenant_code)
    if row is None:
        raise NotFoundException("Không tìm thấy đơn vị")
    tenant = Tenant(**{name: row[name] for name in _TENANT_COLUMNS})
    _check_access(request, principal, tenant.id)
    values = {name: row[f"province_{name}"] for name in _PROVINCE_COLUMNS}
    if isinstance(values["settings"], str):  # asyncpg hands JSONB over as text
        values["settings"] = json.loads(values["settings"])
    remember_session(db_session, _token(request))
    remember_context(db_session, tenant.id, principal.user_id)
    return TenantContext(tenant=tenant, province=Province(**values), principal=principal, session_token=_token(request))


def _token(request: Request[Any, Any, Any]) -> str:
    return request.cookies.get(COOKIE) or ""


def _signed_in(request: Request[Any, Any, Any]) -> Principal:
    principal = current_principal(request)
    if principal is None:
        raise NotAuthorizedException("Cần đăng nhập")
    return principal


def _check_access(request: Request[Any, Any, Any], principal: Principal, tenant_id: uuid.UUID) -> None:
    access = declared_access(request.route_handler)
    if not isinstance(access, Permission) or not principal.can(access, tenant_id):
        raise PermissionDeniedException("Không có quyền trong đơn vị này")


async def latest_criteria_year(db: AsyncSession, ctx: TenantContext) -> int:
    """The latest year the province has a criteria set for: where a section opened without a year goes."""
    year = await db.scalar(select(func.max(CriteriaSet.year)).where(CriteriaSet.province_id == ctx.province.id))
    if year is None:
        raise NotFoundException("Tỉnh chưa ban hành bộ chỉ số CCHC nào.")
    return int(year)
