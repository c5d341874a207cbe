"""The tenant's home page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.domain.assessments.controllers import history_chart, history_chart_response
from backend.domain.assessments.dashboard import dashboard
from backend.domain.assessments.parts import province_parts, province_points
from backend.domain.assessments.services import history
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.services import province_calendar, tenant_home
from backend.domain.tenants.waiting import department_waiting, inspector_queue
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
        today = vietnam_today()
        cycle = tenant.cycle
        home = await tenant_home(db_session, tenant.province, cycle.year)
        board = await dashboard(db_session, tenant.province, cycle.year)
        # What waits for the person first: one statement for the department's boxes, the inspector's queue
        # only for those who appraise.
        waiting = await department_waiting(db_session, tenant.province, today)
        queue = await inspector_queue(db_session, tenant) if tenant.can(Permission.REVIEW_APPRAISE) else None
        parts = province_parts(board.loaded.sheet) if board.loaded else []
        return page(
            request,
            "tenants/home.html",
            block="content",
            ctx=tenant,
            home=home,
            today=today,
            board=board,
            waiting=waiting,
            queue=queue,
            province_parts=parts,
            province_points=province_points(parts),
            cycle=cycle,
            calendar=province_calendar(tenant.province, cycle.year),
        )

    @get("/bieu-do/{name:str}", name="tenant:chart", opt={"access": Permission.TENANT_VIEW})
    async def chart(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], name: FromPath[str]
    ) -> Response[bytes]:
        results = await history(db_session)
        return history_chart_response(name, history_chart(results), tenant.tenant.code)
