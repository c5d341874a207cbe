"""Tenants and units over the JSON API (read): the tenants the signed-in person has a role in, paged by cursor,
and one tenant with its units (phòng, đơn vị) and the reader's roles there."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import SIGNED_IN, Permission
from backend.auth.principal import current_principal
from backend.db.models import Province, Tenant, Unit
from backend.domain.tenants.carry_over import carry_over
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.lineage import predecessors
from backend.web.api import ApiProblem, Cursor, Limit, decode_cursor, error_responses, page_of


class TenantOut(msgspec.Struct):
    province: str
    province_name: str
    code: str
    name: str
    kind: str
    archived_on: date | None
    roles: list[str]
    path: str


class TenantsPage(msgspec.Struct):
    items: list[TenantOut]
    next_cursor: str | None


class UnitOut(msgspec.Struct):
    id: uuid.UUID
    code: str
    name: str
    kind: str


class TenantDetailOut(msgspec.Struct):
    """A tenant, its units in their order, the reader's roles and the year being assessed there today."""

    tenant: TenantOut
    cycle_year: int
    units: list[UnitOut]


def _tenant_out(tenant: Tenant, province: Province, roles: frozenset[Any]) -> TenantOut:
    return TenantOut(
        province=province.code,
        province_name=province.name,
        code=tenant.code,
        name=tenant.name,
        kind=tenant.kind,
        archived_on=tenant.archived_on,
        roles=sorted(str(role.value) for role in roles),
        path=f"/api/v1/t/{province.code}/{tenant.code}",
    )


class CarriedOut(msgspec.Struct):
    """The open tasks of each predecessor (by name) copied onto the board now: empty when all were copied before."""

    carried: dict[str, int]


class TenantApiController(Controller):
    path = "/t"
    tags = ["Đơn vị"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:tenants",
        opt={"access": SIGNED_IN},
        summary="Các đơn vị mà người đăng nhập có vai trò",
        responses=error_responses(),
    )
    async def tenants(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> TenantsPage:
        principal = current_principal(request)
        assert principal is not None  # the guard lets only a signed-in person through
        statement = (
            select(Tenant, Province)
            .join(Province, Province.id == Tenant.province_id)
            .where(Tenant.id.in_(list(principal.tenant_ids)), Tenant.is_active)
            .order_by(Province.code, Tenant.code)
        )
        if cursor:
            after = decode_cursor(cursor, tuple[str, str])
            statement = statement.where(tuple_(Province.code, Tenant.code) > after)
        rows = (await db_session.execute(statement.limit(limit + 1))).all()
        page, next_cursor = page_of(rows, limit, lambda row: (row[1].code, row[0].code))
        return TenantsPage(
            [_tenant_out(t, p, principal.roles_in(t.id)) for t, p in page],
            next_cursor,
        )

    @get(
        "/{province_code:str}/{tenant_code:str}",
        name="api:tenant",
        opt={"access": Permission.TENANT_VIEW},
        dependencies={"tenant": Provide(provide_tenant_context)},
        summary="Một đơn vị và các phòng, đơn vị trực thuộc",
        responses=error_responses(),
    )
    async def tenant(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
    ) -> TenantDetailOut:
        units = await db_session.scalars(select(Unit).order_by(Unit.position, Unit.name))
        return TenantDetailOut(
            tenant=_tenant_out(tenant.tenant, tenant.province, tenant.principal.roles_in(tenant.id)),
            cycle_year=tenant.cycle.year,
            units=[UnitOut(u.id, u.code, u.name, u.kind) for u in units],
        )

    @post(
        "/{province_code:str}/{tenant_code:str}/don-vi-tien-than/chuyen-nhiem-vu",
        name="api:carry_over",
        opt={"access": Permission.TASK_EDIT_ANY},
        dependencies={"tenant": Provide(provide_tenant_context)},
        status_code=200,
        summary="Chuyển các nhiệm vụ còn mở của đơn vị tiền thân sang Kế hoạch khắc phục của đơn vị",
        responses=error_responses(),
    )
    async def carry_over_tasks(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
    ) -> CarriedOut:
        """As the home page's button: every open task of the predecessors not carried over yet, once."""
        earlier = await predecessors(db_session, tenant.id)
        if not earlier:
            raise ApiProblem("Đơn vị không có đơn vị tiền thân: không có nhiệm vụ nào để chuyển.")
        return CarriedOut(await carry_over(db_session, tenant, earlier))
