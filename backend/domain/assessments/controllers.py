"""Self-assessment pages: the year's overview, one page per area with a form per row, workflow, exports."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.domain.assessments import not_applicable, services
from backend.domain.assessments.charts import area_chart, history_chart
from backend.domain.assessments.parts import province_parts, province_points
from backend.domain.assessments.province_results import checked_year, home_affairs_only, province_results
from backend.domain.assessments.published import publication, tenant_result
from backend.domain.assessments.services import STATUS_LABELS, Loaded, StaleRow, WorkflowError
from backend.domain.assessments.sheet import METHOD_LABELS, Row, RowInput
from backend.domain.assessments.xlsx import (
    ResultLine,
    SelfAssessmentSheet,
    adjustment_lines,
    export_province_results,
    export_self_assessment,
    sheet_rows,
)
from backend.domain.submissions.calendar import calendar_lock
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.years import (
    ArchivedYear,
    archived_year,
    archived_year_page,
    criteria_years_or_page,
    ensure_archived_year,
    no_criteria_page,
)
from backend.web.charts import svg_to_png
from backend.web.downloads import PNG, SVG, XLSX, download
from backend.web.flash import notice, redirect_after, redirect_after_change
from backend.web.templating import page

VIEW = {"access": Permission.TENANT_VIEW}
EDIT = {"access": Permission.ASSESSMENT_EDIT}
RESULTS = {"access": Permission.PROVINCE_RESULTS}
MANAGE = {"access": Permission.PROVINCE_MANAGE}
WORKFLOW_NOTICES = {
    "bat-dau": "Đã bắt đầu bản tự đánh giá.",
    "gui-duyet": "Đã gửi lãnh đạo duyệt.",
    "rut-lai": "Đã rút về dự thảo.",
    "tra-lai": "Đã trả lại để sửa.",
    "duyet": "Đã duyệt bản tự đánh giá.",
    "mo-lai": "Đã mở lại để sửa.",
}


def _allowed(tenant: TenantContext) -> set[str]:
    return {p.value for p in Permission if tenant.can(p.value)}


async def _loaded(db: AsyncSession, tenant: TenantContext, year: int) -> Loaded:
    loaded = await services.load(db, tenant.province, year)
    if loaded is None:
        raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
    loaded.rules = await publication(db, tenant.province, year)
    return loaded


def _area(loaded: Loaded, code: str) -> Row:
    for area in loaded.sheet.areas:
        if area.code == code:
            return area
    raise NotFoundException("Không có lĩnh vực này trong bộ chỉ số.")


def _context(tenant: TenantContext, loaded: Loaded, year: int) -> dict[str, Any]:
    return {
        "ctx": tenant,
        "section": "assessment",
        "year": year,
        "loaded": loaded,
        "sheet": loaded.sheet,
        "result": tenant_result(loaded.sheet, year, loaded.rules),
        "assessment": loaded.assessment,
        "status_labels": STATUS_LABELS,
        "method_labels": METHOD_LABELS,
        "editable": loaded.assessment is not None
        and loaded.assessment.status == "draft"
        and tenant.can(Permission.ASSESSMENT_EDIT.value)
        and calendar_lock(tenant.province, year) is None,
        "calendar_lock": calendar_lock(tenant.province, year),
        "base": f"{tenant.base_path}/tu-danh-gia/{year}",
    }


class AssessmentController(Controller):
    path = "/tu-danh-gia"
    include_in_schema = False

    @get("/", name="assessment:index", opt=VIEW)
    async def index(self, tenant: NamedDependency[TenantContext]) -> Redirect:
        return Redirect(f"{tenant.base_path}/tu-danh-gia/{tenant.cycle.year}")

    @get("/{year:int}", name="assessment:overview", opt=VIEW)
    async def overview(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        return await _overview_page(request, db_session, tenant, year)

    @post("/{year:int}/khong-ap-dung", name="assessment:claim_not_applicable", opt=EDIT)
    async def claim_not_applicable(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        """The department asks that a criterion not apply to it this year, with a reason; the province decides."""
        raw = await request.form()
        form = {key: str(raw.get(key) or "") for key in ("criterion", "reason")}
        try:
            await not_applicable.claim(db_session, tenant, year, form["criterion"], form["reason"])
        except not_applicable.DecisionError as exc:
            return await _overview_page(
                request, db_session, tenant, year, claim_errors={exc.field: str(exc)}, claim_form=form, status_code=422
            )
        notice(request, "Đã gửi đề nghị không áp dụng tiêu chí; Sở Nội vụ sẽ xem xét.")
        return Redirect(f"{tenant.base_path}/tu-danh-gia/{year}#khong-ap-dung")

    @post("/{year:int}/bat-dau", name="assessment:start", opt=EDIT)
    async def start(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        await _loaded(db_session, tenant, year)
        return await redirect_after_change(
            request,
            f"{tenant.base_path}/tu-danh-gia/{year}",
            services.start(db_session, tenant.tenant, tenant.province, year, tenant.principal.user_id),
            WORKFLOW_NOTICES["bat-dau"],
            WorkflowError,
        )

    @get("/{year:int}/linh-vuc/{code:str}", name="assessment:area", opt=VIEW)
    async def area(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
    ) -> Template:
        loaded = await _loaded(db_session, tenant, year)
        if absent := archived_year(tenant, year, section="assessment", has_record=loaded.assessment is not None):
            return await _archived_page(request, db_session, tenant, year, absent)
        area = _area(loaded, code)
        return page(
            request,
            "assessments/area.html",
            block="content",
            **_context(tenant, loaded, year),
            area=area,
            errors={},
            forms={},
            chart=area_chart(loaded.sheet, year),
        )

    @post("/{year:int}/tieu-chi/{code:str}", name="assessment:save_row", opt=EDIT)
    async def save_row(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
    ) -> Response[Any]:
        loaded = await _loaded(db_session, tenant, year)
        raw = await request.form()
        form = {key: raw.get(key) for key in raw}
        remainder = form.get("phan") == "con-lai"
        try:
            row = loaded.sheet.row(code, remainder=remainder)
        except KeyError:
            raise NotFoundException("Không có tiêu chí này trong bộ chỉ số.") from None
        htmx = request.headers.get("hx-request") == "true"
        try:
            result = await services.save_own_row(db_session, tenant, loaded, row, form, year)
        except StaleRow as exc:
            return await self._stale_row(request, db_session, tenant, year, code, remainder, str(exc), htmx)
        area_code = loaded.sheet.area_of(code).code
        if not result.errors and not htmx:
            return Redirect(f"{tenant.base_path}/tu-danh-gia/{year}/linh-vuc/{area_code}#row-{row_id(row)}")
        if not result.errors:
            loaded = await _loaded(db_session, tenant, year)  # rescored with the saved row
            row = loaded.sheet.row(code, remainder=remainder)
        key = row_id(row)
        context = {
            **_context(tenant, loaded, year),
            "area": loaded.sheet.area_of(code),
            "row": row,
            "errors": {key: result.errors} if result.errors else {},
            "forms": {key: _echo(result)} if result.errors else {},
            "saved": not result.errors,
            "chart": area_chart(loaded.sheet, year),
        }
        status = 422 if result.errors else 200
        return _row_answer(request, htmx, context, status)

    async def _stale_row(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        year: int,
        code: str,
        remainder: bool,
        message: str,
        htmx: bool,
    ) -> Template:
        """409: the row as it is now (its fresh values and version, nothing of what was typed) with the message."""
        loaded = await _loaded(db, tenant, year)  # read anew: the row as the other save left it
        row = loaded.sheet.row(code, remainder=remainder)
        context = {
            **_context(tenant, loaded, year),
            "area": loaded.sheet.area_of(code),
            "row": row,
            "errors": {row_id(row): {"version": message}},
            "forms": {},
            "saved": False,
            "chart": area_chart(loaded.sheet, year),
        }
        return _row_answer(request, htmx, context, 409)

    @post("/{year:int}/trang-thai", name="assessment:transition", opt=VIEW)
    async def change_status(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        loaded = await _loaded(db_session, tenant, year)
        raw = await request.form()
        action = str(raw.get("action", ""))
        change = services.transition(
            db_session,
            tenant.tenant,
            loaded,
            action,
            str(raw.get("reason", "")),
            tenant.principal.user_id,
            _allowed(tenant),
        )
        try:
            return await redirect_after_change(
                request,
                f"{tenant.base_path}/tu-danh-gia/{year}",
                change,
                WORKFLOW_NOTICES.get(action, "Đã lưu."),
                WorkflowError,
            )
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None

    @get("/{year:int}/bang-tu-danh-gia.xlsx", name="assessment:export", opt=VIEW)
    async def export(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> Response[bytes]:
        loaded = await _loaded(db_session, tenant, year)
        # an archive's year it did not self-assess: a 404 saying so, not an empty sheet "Chưa bắt đầu"
        ensure_archived_year(tenant, year, section="assessment", has_record=loaded.assessment is not None)
        sheet = loaded.sheet
        result = tenant_result(sheet, year, loaded.rules)
        status = loaded.assessment.status if loaded.assessment else ""
        data = export_self_assessment(
            SelfAssessmentSheet(
                province=tenant.province.name,
                tenant=tenant.tenant.name,
                year=year,
                status=STATUS_LABELS.get(status, "Chưa bắt đầu"),
                exported_on=vietnam_today(),
                rows=sheet_rows(sheet),
                total_max=sheet.applicable_max,  # what applies to the tenant
                total_score=sheet.total,
                index=result.index,
                result_class=result.result_class,
                adjustments=adjustment_lines(sheet),
            )
        )
        return download(
            data,
            f"Tự đánh giá {year} - {tenant.tenant.name}.xlsx",
            XLSX,
            ascii_name=f"tu-danh-gia-{tenant.tenant.code}-{year}.xlsx",
        )

    @get("/{year:int}/bieu-do/{name:str}", name="assessment:chart", opt=VIEW)
    async def chart(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        name: FromPath[str],
    ) -> Response[bytes]:
        loaded = await _loaded(db_session, tenant, year)
        return _chart_response(
            name, "diem-theo-linh-vuc", area_chart(loaded.sheet, year), f"{tenant.tenant.code}-{year}"
        )


def _chart_response(name: str, stem: str, svg: str, suffix: str) -> Response[bytes]:
    if name == f"{stem}.svg":
        return download(svg.encode(), f"{stem}-{suffix}.svg", SVG)
    if name == f"{stem}.png":
        return download(svg_to_png(svg), f"{stem}-{suffix}.png", PNG)
    raise NotFoundException("Không có biểu đồ này.")


def history_chart_response(name: str, svg: str, suffix: str) -> Response[bytes]:
    return _chart_response(name, "diem-qua-cac-nam", svg, suffix)


def _row_answer(request: Request[Any, Any, Any], htmx: bool, context: dict[str, Any], status_code: int) -> Template:
    """A row's save answered: to htmx the row and its area's totals, to a browser the area page."""
    if htmx:
        return Template(
            template_name="assessments/row_response.html",
            context=context,
            status_code=status_code,
            headers={"Vary": "HX-Request"},
        )
    return page(request, "assessments/area.html", status_code=status_code, **context)


def row_id(row: Row) -> str:
    return row.code.replace(".", "-") + ("-con-lai" if row.remainder else "")


def _echo(result: RowInput) -> dict[str, str]:
    """What the person typed, shown back with the errors (nothing they typed is lost)."""
    return {**result.inputs, "explanation": result.explanation, "evidence_refs": result.evidence_refs}


class ProvinceResultsController(Controller):
    """Ranks, heatmap and most-lost criteria across the province's departments, in its Sở Nội vụ."""

    path = "/tinh/ket-qua"
    include_in_schema = False

    @get("/", name="province:results_index", opt=RESULTS)
    async def index(self, tenant: NamedDependency[TenantContext]) -> Redirect:
        home_affairs_only(tenant)
        return Redirect(f"{tenant.base_path}/tinh/ket-qua/{tenant.cycle.year}")

    @get("/{year:int}", name="province:results", opt=RESULTS)
    async def results(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        home_affairs_only(tenant)
        years = await criteria_years_or_page(
            request,
            db_session,
            tenant,
            year=year,
            section="results",
            title=f"Kết quả toàn tỉnh năm {year}",
            href=f"{tenant.base_path}/tinh/ket-qua",
        )
        if isinstance(years, Template):
            return years
        return await _province_page(request, db_session, tenant, year, years)

    @get("/{year:int}/ket-qua.xlsx", name="province:results_export", opt=RESULTS)
    async def results_export(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> Response[bytes]:
        """The results page's ranking as a spreadsheet: per group rank, points, applicable maximum, index, class."""
        await checked_year(db_session, tenant, year)
        results = await province_results(db_session, tenant, year)
        lines = [
            ResultLine(
                group=r.group,
                rank=r.rank if r.of > 1 else None,  # one self-assessment in a group is no ranking (as the page)
                of=r.of,
                tenant_code=r.tenant.code,
                tenant_name=r.tenant.name,
                total=r.total,
                applicable_max=r.max_points,
                index=r.index,
                result_class=r.result_class,
                status=r.status,
            )
            for _, rows in results.groups
            for r in rows
        ]
        data = export_province_results(
            tenant.province.name,
            year,
            results.rules.places,
            lines,
            [t.name for t in results.missing],
            vietnam_today(),
        )
        return download(
            data,
            f"Kết quả Chỉ số CCHC {year} - {tenant.province.name}.xlsx",
            XLSX,
            ascii_name=f"ket-qua-{tenant.province.code}-{year}.xlsx",
        )

    @post("/{year:int}/khong-ap-dung", name="province:not_applicable", opt=MANAGE)
    async def decide_not_applicable(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        """The Sở Nội vụ decides that a criterion does not apply to one tenant this year, with a reason."""
        years = await checked_year(db_session, tenant, year)
        raw = await request.form()
        form = {key: str(raw.get(key) or "") for key in ("tenant", "criterion", "reason")}
        try:
            await not_applicable.decide(db_session, tenant, year, form["tenant"], form["criterion"], form["reason"])
        except not_applicable.DecisionError as exc:
            return await _province_page(
                request, db_session, tenant, year, years, errors={exc.field: str(exc)}, form=form, status_code=422
            )
        notice(request, "Đã quyết định tiêu chí không áp dụng cho đơn vị.")
        return Redirect(f"{tenant.base_path}/tinh/ket-qua/{year}#khong-ap-dung")

    @post("/{year:int}/khong-ap-dung/tra-loi", name="province:not_applicable_answer", opt=MANAGE)
    async def answer_not_applicable(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        """Accept (the criterion does not apply) or refuse a department's claim."""
        home_affairs_only(tenant)
        raw = await request.form()
        accepted = raw.get("action") == "chap-nhan"
        answered = await not_applicable.answer(
            db_session,
            tenant,
            year,
            str(raw.get("tenant") or ""),
            str(raw.get("criterion") or ""),
            accepted,
            str(raw.get("note") or ""),
        )
        return redirect_after(
            request,
            f"{tenant.base_path}/tinh/ket-qua/{year}#khong-ap-dung",
            None if answered else "Không có đề nghị này đang chờ trả lời.",
            "Đã chấp nhận đề nghị không áp dụng." if accepted else "Đã từ chối đề nghị không áp dụng.",
        )

    @post("/{year:int}/khong-ap-dung/bo", name="province:not_applicable_revoke", opt=MANAGE)
    async def not_applicable_revoke(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        home_affairs_only(tenant)
        raw = await request.form()
        revoked = await not_applicable.revoke(
            db_session, tenant, year, str(raw.get("tenant") or ""), str(raw.get("criterion") or "")
        )
        return redirect_after(
            request,
            f"{tenant.base_path}/tinh/ket-qua/{year}#khong-ap-dung",
            None if revoked else "Không có quyết định không áp dụng này để bỏ.",
            "Đã bỏ quyết định không áp dụng.",
        )

    @get("/{year:int}/bieu-do/{name:str}", name="province:results_chart", opt=RESULTS)
    async def chart(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        name: FromPath[str],
    ) -> Response[bytes]:
        home_affairs_only(tenant)
        results = await province_results(db_session, tenant, year)
        return _chart_response(name, "ban-do-nhiet", results.heatmap_svg, f"{tenant.province.code}-{year}")


async def _overview_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    year: int,
    *,
    claim_errors: dict[str, str] | None = None,
    claim_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    loaded = await services.load(db, tenant.province, year)
    known = None if loaded is None else loaded.assessment is not None
    if absent := archived_year(tenant, year, section="assessment", has_record=known):
        return await _archived_page(request, db, tenant, year, absent)
    if loaded is None:
        return await no_criteria_page(
            request,
            db,
            tenant,
            year=year,
            section="assessment",
            title=f"Tự đánh giá Chỉ số CCHC năm {year}",
            href=f"{tenant.base_path}/tu-danh-gia",
        )
    loaded.rules = await publication(db, tenant.province, year)
    return page(
        request,
        "assessments/overview.html",
        block="content",
        **_context(tenant, loaded, year),
        years=await services.criteria_years(db, tenant.province),
        actions=services.available_actions(loaded.assessment, _allowed(tenant)),
        chart=area_chart(loaded.sheet, year),
        claims=await not_applicable.own_claims(db, year),
        claim_labels=not_applicable.STATUS_LABELS,
        claim_errors=claim_errors or {},
        claim_form=claim_form or {},
        province_parts=(parts := province_parts(loaded.sheet)),
        province_points=province_points(parts),
        status_code=status_code,
    )


async def _archived_page(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, year: int, absent: ArchivedYear
) -> Template:
    """An archive's self-assessment of a year it did not self-assess: why, and no empty score cards."""
    return await archived_year_page(
        request,
        db,
        tenant,
        absent,
        title=f"Tự đánh giá Chỉ số CCHC năm {year}",
        href=f"{tenant.base_path}/tu-danh-gia",
    )


async def _province_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    year: int,
    years: list[int],
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    results = await province_results(db, tenant, year)
    return page(
        request,
        "assessments/province.html",
        ctx=tenant,
        section="results",
        year=year,
        years=years,
        results=results,
        decisions=await not_applicable.decisions(db, tenant, year),
        tenants=await not_applicable.province_tenants(db, tenant),
        errors=errors or {},
        form=form or {},
        status_code=status_code,
    )


__all__ = ["AssessmentController", "ProvinceResultsController", "history_chart", "history_chart_response", "row_id"]
