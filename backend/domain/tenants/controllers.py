"""The tenant's home page."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.services import tenant_home
from backend.web.templating import page


class TenantController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    include_in_schema = False

    @get("/", name="tenant:home", opt={"access": Permission.TENANT_VIEW})
    async def home(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        today = date.today()  # noqa: DTZ011 - the department's calendar day
        home = await tenant_home(db_session, tenant.province, today)
        return page(request, "tenants/home.html", block="content", ctx=tenant, home=home, today=today)
