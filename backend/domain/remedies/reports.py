"""Periodic progress reports (quý I, 6 tháng, quý III, năm) on the remedy plan, with each province's deadlines.

The reports of a year (its periods fall due in that year) are on the plan carried out during it: the board of
the previous year's results (`plan_year`). A year whose plan has no task yet has nothing overdue and nothing to
submit.

While a report is a draft its summary is computed live from the board; submitting freezes the summary and
the narratives into a snapshot that never changes again (the report Sở Nội vụ received).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.db.models import AuditEntry, BoardColumn, Task, Unit
from backend.db.models.remedies import task_is_open
from backend.db.models.reports import ProgressReport
from backend.domain.assessments import services as assessments
from backend.domain.remedies import visibility
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.services import ReportDue, report_deadlines
from backend.domain.tenants.years import ArchivedYear, archived_year, archived_year_page
from backend.web.flash import redirect_after_change
from backend.web.formatting import vn_number
from backend.web.templating import page

MAX_NARRATIVE = 8000


EMPTY_REPORT = (
    "Báo cáo trống: Kế hoạch khắc phục sau kết quả năm {plan} chưa có nhiệm vụ nào và chưa có nội dung báo cáo. "
    "Hãy lập kế hoạch (thêm nhiệm vụ) hoặc ghi kết quả thực hiện trước khi nộp."
)


def plan_year(year: int) -> int:
    """The board a year's reports are on: the plan after the previous year's results, carried out this year."""
    return year - 1


@dataclass(frozen=True)
class Period:
    code: str
    due: date
    report: ProgressReport | None


async def plan_task_count(db: AsyncSession, year: int) -> int:
    """How many tasks the plan the year's reports are on has (0: no plan yet)."""
    return await board_task_count(db, plan_year(year))


async def board_task_count(db: AsyncSession, year: int, *, open_only: bool = False) -> int:
    """How many tasks the board of `year` (the plan after that year's results) has; `open_only`: not done yet."""
    query = select(func.count()).select_from(Task).where(Task.year == year)
    if open_only:
        query = query.where(task_is_open())
    return int(await db.scalar(query) or 0)


async def periods(db: AsyncSession, ctx: TenantContext, year: int) -> list[Period]:
    reports = {r.period: r for r in await db.scalars(select(ProgressReport).where(ProgressReport.year == year))}
    return [Period(d.period, d.due, reports.get(d.period)) for d in report_deadlines(ctx.province, year)]


def due_of(ctx: TenantContext, year: int, period: str) -> ReportDue:
    for due in report_deadlines(ctx.province, year):
        if due.period == period:
            return due
    raise NotFoundException("Tỉnh không có kỳ báo cáo này.")


async def summary(
    db: AsyncSession, year: int, areas: Mapping[str, str], today: date, visible: ColumnElement[bool] | None = None
) -> dict[str, Any]:
    """Tasks of the year by status, unit and area, and the overdue ones (JSON-ready: it may be frozen); only those
    `visible` (the board's rule for the person reading, None: all)."""
    columns = list(await db.scalars(select(BoardColumn).order_by(BoardColumn.position)))
    done = {c.id for c in columns if c.is_done}
    names = {c.id: c.name for c in columns}
    units = {u.id: u.name for u in await db.scalars(select(Unit))}
    query = select(Task).where(Task.year == year).order_by(Task.number)
    if visible is not None:
        query = query.where(visible)
    tasks = list(await db.scalars(query))
    by_status = {c.name: 0 for c in columns}
    by_unit: dict[str, dict[str, int]] = {}
    by_area: dict[str, dict[str, int]] = {}
    overdue = []
    for task in tasks:
        status = names.get(task.column_id, "")
        by_status[status] = by_status.get(status, 0) + 1
        late = bool(task.due_date and task.due_date < today and task.column_id not in done)
        unit = (
            units.get(task.lead_unit_id, "Chưa giao đơn vị chủ trì")
            if task.lead_unit_id
            else "Chưa giao đơn vị chủ trì"
        )
        for bucket, key in ((by_unit, unit), (by_area, task.area_code)):
            row = bucket.setdefault(key, {"total": 0, "done": 0, "overdue": 0})
            row["total"] += 1
            row["done"] += task.column_id in done
            row["overdue"] += late
        if late and task.due_date:
            overdue.append(
                {
                    "code": f"KP-{task.number}",
                    "title": task.title,
                    "due": task.due_date.strftime("%d/%m/%Y"),
                    "unit": unit,
                }
            )
    return {
        "as_of": today.strftime("%d/%m/%Y"),
        "total": len(tasks),
        "by_status": by_status,
        "by_unit": dict(sorted(by_unit.items())),
        "by_area": {code: by_area.get(code, {"total": 0, "done": 0, "overdue": 0}) for code in areas},
        "area_titles": dict(areas),
        "overdue": overdue,
    }


def _audit(ctx: TenantContext, action: str, report: ProgressReport, **data: Any) -> AuditEntry:
    entity_id = f"{report.year}:{report.period}"
    return AuditEntry.by(ctx.tenant.id, ctx.principal.user_id, action, "report", entity_id, after=data.get("after"))


async def _report(db: AsyncSession, ctx: TenantContext, year: int, period: str) -> ProgressReport:
    report = await db.scalar(select(ProgressReport).where(ProgressReport.year == year, ProgressReport.period == period))
    if report is None:
        report = ProgressReport(
            id=uuid.uuid4(), tenant_id=ctx.tenant.id, year=year, period=period, narratives={}, status="draft", version=1
        )
        db.add(report)
    return report


async def areas_of(db: AsyncSession, ctx: TenantContext, year: int) -> dict[str, str]:
    """The reform areas of the plan the year's reports are on (its year's criteria set), code → title."""
    loaded = await assessments.load(db, ctx.province, plan_year(year))
    return {a.code: a.node.title for a in loaded.sheet.areas} if loaded else {}


def _base(ctx: TenantContext, year: int) -> str:
    return f"{ctx.base_path}/bao-cao/{year}"


async def report_data(db: AsyncSession, ctx: TenantContext, year: int, report: ProgressReport | None) -> dict[str, Any]:
    """The figures a person reads on a report: the frozen snapshot once submitted, else the board live. What the
    board hides from a unit's staff the report does not show either: they get the figures of the tasks they see,
    live (the frozen snapshot holds every unit's), with the report's narratives."""
    areas = await areas_of(db, ctx, year)
    today = vietnam_today()
    visible = visibility.visible_condition(ctx)
    if visible is not None:
        data = await summary(db, plan_year(year), areas, today, visible)
        if report and report.snapshot:
            data["narratives"] = report.snapshot.get("narratives", {})
        return data
    if report and report.snapshot:
        return dict(report.snapshot)
    return await summary(db, plan_year(year), areas, today)


class ReportError(Exception):
    """A report that cannot be saved or submitted as asked (Vietnamese), and the input at fault (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


async def find_report(db: AsyncSession, year: int, period: str) -> ProgressReport | None:
    return await db.scalar(select(ProgressReport).where(ProgressReport.year == year, ProgressReport.period == period))


async def save_report(
    db: AsyncSession, ctx: TenantContext, year: int, period: str, fields: Mapping[str, Any]
) -> ProgressReport:
    """Save the draft's narratives (area code → text; blank ones dropped), the report page's form and the API's
    alike. ReportError, with nothing written, once submitted or for a text over MAX_NARRATIVE."""
    due_of(ctx, year, period)
    existing = await find_report(db, year, period)
    if existing is not None and existing.status == "submitted":
        raise ReportError("Báo cáo đã nộp: không sửa được nữa.")
    narratives = {}
    for key, value in fields.items():
        text = str(value or "").replace("\r\n", "\n").strip()
        if len(text) > MAX_NARRATIVE:
            raise ReportError(f"Mỗi phần tối đa {vn_number(MAX_NARRATIVE)} ký tự.", field=key)
        if text:
            narratives[key[:31]] = text
    report = existing or await _report(db, ctx, year, period)
    report.narratives = narratives
    report.version += 1
    db.add(_audit(ctx, "report.save", report, after={"areas": sorted(narratives)}))
    await db.flush()
    return report


async def submit_report(db: AsyncSession, ctx: TenantContext, year: int, period: str) -> ProgressReport:
    """Submit the period's report: its summary of the board and its narratives frozen into the snapshot. ReportError,
    with nothing written (not even an empty draft), for an empty report or one already submitted."""
    due_of(ctx, year, period)
    areas = await areas_of(db, ctx, year)
    data = await summary(db, plan_year(year), areas, vietnam_today())
    existing = await find_report(db, year, period)
    if not data["total"] and not (existing and any(existing.narratives.values())):
        raise ReportError(EMPTY_REPORT.format(plan=plan_year(year)))
    report = existing or await _report(db, ctx, year, period)
    if report.status == "submitted":
        raise ReportError("Báo cáo đã nộp.")
    report.snapshot = {**data, "narratives": dict(report.narratives)}
    report.status = "submitted"
    report.submitted_at = datetime.now(UTC)
    report.submitted_by = ctx.principal.user_id
    report.version += 1
    db.add(_audit(ctx, "report.submit", report, after={"total": report.snapshot["total"]}))
    await db.flush()
    return report


async def _archived_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    absent: ArchivedYear,
    years: list[int] | None = None,
) -> Template:
    """An archive's reports of a year it did not report on: why, and no periods falling due as if work were."""
    title = f"Báo cáo tiến độ khắc phục năm {absent.year}"
    href = f"{tenant.base_path}/bao-cao"
    return await archived_year_page(request, db, tenant, absent, title=title, href=href, years=years)


class ProgressReportController(Controller):
    path = "/bao-cao"
    include_in_schema = False

    @get("/", name="reports:index", opt={"access": Permission.TENANT_VIEW})
    async def this_year(self, tenant: NamedDependency[TenantContext]) -> Redirect:
        return Redirect(_base(tenant, tenant.cycle.year))

    @get("/{year:int}", name="reports:list", opt={"access": Permission.TENANT_VIEW})
    async def year_list(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        found = await periods(db_session, tenant, year)
        years = await assessments.criteria_years(db_session, tenant.province)
        if absent := archived_year(tenant, year, section="reports", has_record=any(p.report for p in found)):
            return await _archived_page(request, db_session, tenant, absent, years)
        return page(
            request,
            "remedies/reports.html",
            ctx=tenant,
            section="reports",
            year=year,
            plan_year=plan_year(year),
            plan_tasks=await plan_task_count(db_session, year),
            years=years,
            periods=found,
            today=vietnam_today(),
        )

    @get("/{year:int}/{period:str}", name="reports:show", opt={"access": Permission.TENANT_VIEW})
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        period: FromPath[str],
    ) -> Template:
        report = await find_report(db_session, year, period)
        if absent := archived_year(tenant, year, section="reports", has_record=report is not None):
            return await _archived_page(request, db_session, tenant, absent)
        due = due_of(tenant, year, period)
        data = await report_data(db_session, tenant, year, report)
        visible = visibility.visible_condition(tenant)
        return page(
            request,
            "remedies/report.html",
            ctx=tenant,
            section="reports",
            year=year,
            plan_year=plan_year(year),
            due=due,
            report=report,
            data=data,
            own_tasks_only=visible is not None,
            narratives=(report.narratives if report else {}),
            errors={},
            base=_base(tenant, year),
        )

    @post("/{year:int}/{period:str}", name="reports:save", opt={"access": Permission.TASK_EDIT_ANY})
    async def save(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        period: FromPath[str],
    ) -> Redirect:
        raw = await request.form()
        fields = {key.removeprefix("area-"): raw.get(key, "") for key in raw if key.startswith("area-")}
        return await redirect_after_change(
            request,
            f"{_base(tenant, year)}/{period}",
            save_report(db_session, tenant, year, period, fields),
            "Đã lưu nội dung báo cáo.",
            ReportError,
        )

    @post("/{year:int}/{period:str}/nop", name="reports:submit", opt={"access": Permission.SUBMISSION_SUBMIT})
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        period: FromPath[str],
    ) -> Redirect:
        return await redirect_after_change(
            request,
            f"{_base(tenant, year)}/{period}",
            submit_report(db_session, tenant, year, period),
            "Đã nộp báo cáo; số liệu đã được chốt.",
            ReportError,
        )
