"""Progress reports on the remedy plan over the JSON API (`/api/v1/t/<province>/<tenant>/bao-cao/<year>`, read):
the year's periods with their due dates and each report's state, through the report pages' own function."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.remedies.reports import periods, plan_task_count, plan_year
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import error_responses


class ReportPeriodOut(msgspec.Struct):
    """One period's report (quy-1, 6-thang, quy-3, nam as the province sets them): null status until started."""

    period: str
    due: date
    status: str | None
    version: int | None
    submitted_at: datetime | None
    page_url: str


class ReportsOut(msgspec.Struct):
    year: int
    plan_year: int
    plan_tasks: int
    items: list[ReportPeriodOut]


class ReportApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/bao-cao/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Báo cáo tiến độ"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:reports",
        opt={"access": Permission.TENANT_VIEW},
        summary="Các kỳ báo cáo tiến độ khắc phục của năm, hạn nộp và trạng thái",
        responses=error_responses(),
    )
    async def reports(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> ReportsOut:
        base = f"{tenant.base_path}/bao-cao/{year}"
        return ReportsOut(
            year=year,
            plan_year=plan_year(year),
            plan_tasks=await plan_task_count(db_session, year),
            items=[
                ReportPeriodOut(
                    period=p.code,
                    due=p.due,
                    status=p.report.status if p.report else None,
                    version=p.report.version if p.report else None,
                    submitted_at=p.report.submitted_at if p.report else None,
                    page_url=f"{base}/{p.code}",
                )
                for p in await periods(db_session, tenant, year)
            ],
        )
