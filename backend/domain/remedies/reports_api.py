"""Progress reports on the remedy plan over the JSON API (`/api/v1/t/<province>/<tenant>/bao-cao/<year>`): the
year's periods with their due dates and each report's state, one period's report with its figures, saving its
narratives (with the version read: 409 with the fresh report if someone saved since) and submitting it, through
the report page's own functions (backend.domain.remedies.reports)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.remedies.reports import (
    MAX_NARRATIVE,
    ReportError,
    areas_of,
    due_of,
    find_report,
    periods,
    plan_task_count,
    plan_year,
    report_data,
    save_report,
    submit_report,
)
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.years import ensure_archived_year
from backend.web.api import ApiConflict, ApiError, ApiProblem, error_responses


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


class ReportOut(msgspec.Struct):
    """One period's report: its state and `version` (0 until started; it goes back with a save or a submit), the
    narratives per reform area, and the figures (frozen once submitted, else the board's live ones)."""

    year: int
    period: str
    due: date
    status: str | None
    version: int
    narratives: dict[str, str]
    submitted_at: datetime | None
    figures: dict[str, Any]
    page_url: str


class ReportConflict(ApiError, kw_only=True):
    """A save or submit on a stale version: nothing was changed; `current` is the report as it is now. `current` is
    absent when the database itself refused the write as conflicting (caught at commit): read the report again."""

    current: ReportOut | None = None


# a bound on what is read at all; each narrative's own limit (MAX_NARRATIVE) is checked with its message
Narrative = Annotated[str, msgspec.Meta(max_length=4 * MAX_NARRATIVE)]
AreaCode = Annotated[str, msgspec.Meta(max_length=31)]


class ReportIn(msgspec.Struct, forbid_unknown_fields=True):
    """The narratives by reform area code (a blank one is dropped), and the `version` read."""

    version: int
    narratives: Annotated[dict[AreaCode, Narrative], msgspec.Meta(max_length=50)]


class ReportSubmitIn(msgspec.Struct, forbid_unknown_fields=True):
    version: int


async def report_out(db: AsyncSession, tenant: TenantContext, year: int, period: str) -> ReportOut:
    due = due_of(tenant, year, period)
    report = await find_report(db, year, period)
    return ReportOut(
        year=year,
        period=period,
        due=due.due,
        status=report.status if report else None,
        version=report.version if report else 0,
        narratives=dict(report.narratives) if report else {},
        submitted_at=report.submitted_at if report else None,
        figures=await report_data(db, tenant, year, report),
        page_url=f"{tenant.base_path}/bao-cao/{year}/{period}",
    )


async def _check_version(db: AsyncSession, tenant: TenantContext, year: int, period: str, version: int) -> None:
    """A write names a period of the province (404 otherwise) and the version it read: any other answers 409 with
    the fresh report."""
    due_of(tenant, year, period)
    report = await find_report(db, year, period)
    if version != (report.version if report else 0):
        raise ApiConflict(await report_out(db, tenant, year, period))


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
        found = await periods(db_session, tenant, year)
        ensure_archived_year(tenant, year, section="reports", has_record=any(p.report for p in found))
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
                for p in found
            ],
        )

    @get(
        "/{period:str}",
        name="api:report",
        opt={"access": Permission.TENANT_VIEW},
        summary="Báo cáo tiến độ của một kỳ: trạng thái, nội dung theo lĩnh vực và số liệu",
        responses=error_responses(),
    )
    async def report(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        period: FromPath[str],
    ) -> ReportOut:
        if tenant.archived:  # an archive's period it did not report on: 404, not an empty report falling due
            report = await find_report(db_session, year, period)
            ensure_archived_year(tenant, year, section="reports", has_record=report is not None)
        return await report_out(db_session, tenant, year, period)

    @put(
        "/{period:str}",
        name="api:report_save",
        opt={"access": Permission.TASK_EDIT_ANY},
        summary="Lưu nội dung báo cáo theo lĩnh vực (kèm version đã đọc; 409 kèm báo cáo mới nhất)",
        responses=error_responses((409, ReportConflict)),
    )
    async def save(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        period: FromPath[str],
        data: JSONBody[ReportIn],
    ) -> ReportOut:
        await _check_version(db_session, tenant, year, period, data.version)
        areas = await areas_of(db_session, tenant, year)
        for code in data.narratives:
            if code not in areas:
                raise ApiProblem(f"Không có lĩnh vực «{code}» trong kế hoạch.", field=f"narratives.{code}")
        try:
            await save_report(db_session, tenant, year, period, data.narratives)
        except ReportError as exc:
            raise ApiProblem(str(exc), field=f"narratives.{exc.field}" if exc.field else None) from None
        return await report_out(db_session, tenant, year, period)

    @post(
        "/{period:str}/nop",
        name="api:report_submit",
        opt={"access": Permission.SUBMISSION_SUBMIT},
        status_code=200,
        summary="Nộp báo cáo: số liệu và nội dung được chốt, không sửa được nữa (kèm version đã đọc)",
        responses=error_responses((409, ReportConflict)),
    )
    async def submit(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        period: FromPath[str],
        data: JSONBody[ReportSubmitIn],
    ) -> ReportOut:
        await _check_version(db_session, tenant, year, period, data.version)
        try:
            await submit_report(db_session, tenant, year, period)
        except ReportError as exc:
            raise ApiProblem(str(exc)) from None
        return await report_out(db_session, tenant, year, period)
