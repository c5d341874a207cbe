"""Province data entry by the Sở Nội vụ: criteria set uploads (province admins) and every department's external
scores (province admins and reviewers), as a grid or from a filled-in spreadsheet. Only in the province's
Sở Nội vụ; the writes across tenants go through the audited cross-tenant path of the services."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.admin import province_scores_services as services
from backend.domain.admin import survey_import
from backend.domain.admin.province import home_affairs_only
from backend.domain.admin.province_scores_services import ExternalGrid
from backend.domain.admin.survey_import import AnswerPreview
from backend.domain.assessments.xlsx import MAX_FILE_BYTES, ImportProblem
from backend.domain.tenants.deps import TenantContext
from backend.web.flash import notice
from backend.web.templating import page

UPLOAD = {"access": Permission.PROVINCE_MANAGE}
EXTERNAL = {"access": Permission.EXTERNAL_SCORES_ENTER}
FILE_FIELD = "tep"


def _changed(count: int) -> str:
    return f"{count} đơn vị có thay đổi." if count else "không có thay đổi nào."


async def _upload(request: Request[Any, Any, Any]) -> UploadFile | None:
    form = await request.form()
    upload = form.get(FILE_FIELD)
    return upload if isinstance(upload, UploadFile) else None


class ProvinceScoresController(Controller):
    """Criteria sets and external scores of the province, reached through its Sở Nội vụ."""

    path = "/quan-tri/tinh"
    include_in_schema = False

    # ---- criteria sets ----

    async def _sets_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        *,
        problems: list[str] | None = None,
        file_name: str = "",
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "admin/criteria_sets.html",
            block="content",
            ctx=tenant,
            section="province",
            sets=await services.criteria_sets(db, tenant.province),
            problems=problems or [],
            file_name=file_name,
            max_mb=services.MAX_UPLOAD_BYTES // (1024 * 1024),
            status_code=status_code,
        )

    @get("/bo-chi-so", name="admin:criteria-sets", opt=UPLOAD)
    async def criteria_sets(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        home_affairs_only(tenant)
        return await self._sets_page(request, db_session, tenant)

    @post("/bo-chi-so", name="admin:criteria-upload", opt=UPLOAD, status_code=303)
    async def upload_criteria(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        home_affairs_only(tenant)
        upload = await _upload(request)
        if upload is None:
            problems = ["Chọn tệp bộ chỉ số (.yaml) để tải lên."]
            return await self._sets_page(request, db_session, tenant, problems=problems, status_code=422)
        data = await upload.read(services.MAX_UPLOAD_BYTES + 1)
        imported, problems = await services.upload_criteria(db_session, tenant, data, upload.filename)
        if imported is None:
            name = services.upload_name(upload.filename)
            return await self._sets_page(
                request, db_session, tenant, problems=problems, file_name=name, status_code=422
            )
        row = imported.criteria_set
        if imported.created:
            notice(request, f"Đã nhập bộ chỉ số năm {row.year}, phiên bản {row.version}.")
        else:
            notice(
                request,
                f"Bộ chỉ số năm {row.year} không đổi: nội dung trùng phiên bản {row.version}, không tạo phiên bản mới.",
                "info",
            )
        return Redirect(f"{tenant.base_path}/quan-tri/tinh/bo-chi-so", status_code=303)

    # ---- external scores ----

    async def _grid(
        self, db: AsyncSession, tenant: TenantContext, year: int, request: Request[Any, Any, Any]
    ) -> ExternalGrid:
        group = request.query_params.get("nhom")
        return await services.home_affairs_grid(db, tenant, year, group, missing=f"Tỉnh chưa có bộ chỉ số năm {year}.")

    async def _grid_page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        year: int,
        grid: ExternalGrid | None,
        *,
        typed: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        problems: list[ImportProblem] | None = None,
        preview: AnswerPreview | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "admin/external_scores.html",
            block="content",
            ctx=tenant,
            section="province",
            year=year,
            years=await services.criteria_years(db, tenant.province),
            grid=grid,
            typed=typed or {},
            errors=errors or {},
            problems=problems or [],
            preview=preview,
            can_upload=tenant.can(Permission.PROVINCE_MANAGE.value),
            base=f"{tenant.base_path}/quan-tri/tinh/diem-ngoai/{year}",
            status_code=status_code,
        )

    @get("/diem-ngoai", name="admin:external-years", opt=EXTERNAL)
    async def external_years(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        home_affairs_only(tenant)
        years = await services.criteria_years(db_session, tenant.province)
        if not years:
            return await self._grid_page(request, db_session, tenant, 0, None, status_code=404)
        # the year being assessed, else (its set not imported yet) the latest year before it that has one
        year = max((y for y in years if y <= tenant.cycle.year), default=years[-1])
        return Redirect(f"{tenant.base_path}/quan-tri/tinh/diem-ngoai/{year}")

    @get("/diem-ngoai/{year:int}", name="admin:external-scores", opt=EXTERNAL)
    async def external_scores(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        home_affairs_only(tenant)
        grid = await services.load_grid(db_session, tenant, year, request.query_params.get("nhom"))
        return await self._grid_page(request, db_session, tenant, year, grid, status_code=200 if grid else 404)

    @post("/diem-ngoai/{year:int}", name="admin:external-save", opt=EXTERNAL, status_code=303)
    async def save_external_scores(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template | Redirect:
        grid = await self._grid(db_session, tenant, year, request)
        parsed = services.parse_grid(grid, await request.form())
        if parsed.errors:
            return await self._grid_page(
                request, db_session, tenant, year, grid, typed=parsed.typed, errors=parsed.errors, status_code=422
            )
        changed = await services.save_entries(db_session, tenant, grid, parsed.entries, source="form")
        # a survey answers' preview confirmed: what had too few answers does not apply to its unit
        decisions = []
        for value in (await request.form()).getall("khong-ap-dung", []):
            tenant_code, _, rest = str(value).partition(":")
            code, _, reason = rest.partition(":")
            decisions.append((tenant_code, code, reason))
        await services.decide_not_applicable(db_session, tenant, year, decisions)
        notice(request, f"Đã lưu bảng điểm: {_changed(changed)}")
        return Redirect(
            f"{tenant.base_path}/quan-tri/tinh/diem-ngoai/{year}",
            query_params=_group_query(grid) or None,
            status_code=303,
        )

    @get("/diem-ngoai/{year:int}/mau.xlsx", name="admin:external-template", opt=EXTERNAL)
    async def external_template(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[bytes]:
        return services.template_download(tenant, await self._grid(db_session, tenant, year, request))

    @post("/diem-ngoai/{year:int}/nhap-phieu", name="admin:survey-answers", opt=EXTERNAL, status_code=200)
    async def preview_survey_answers(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        """Questionnaire answers (XLSX or CSV) checked row by row and aggregated into a preview; nothing saved."""
        grid = await self._grid(db_session, tenant, year, request)
        upload = await _upload(request)
        if upload is None:
            preview = AnswerPreview(problems=[ImportProblem("", "Chọn tệp câu trả lời (.xlsx hoặc .csv) để nhập.")])
            preview.problem_count = 1
        else:
            data = await upload.read(survey_import.MAX_BYTES + 1)
            preview = await anyio.to_thread.run_sync(
                survey_import.read_answers, data, grid, survey_import.survey_rules(tenant.province)
            )
        return await self._grid_page(
            request,
            db_session,
            tenant,
            year,
            grid,
            preview=preview,
            status_code=422 if preview.problems else 200,
        )

    @post("/diem-ngoai/{year:int}/nhap-xlsx", name="admin:external-import", opt=EXTERNAL, status_code=303)
    async def import_external_scores(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template | Redirect:
        grid = await self._grid(db_session, tenant, year, request)
        upload = await _upload(request)
        if upload is None:
            problems = [ImportProblem("", "Chọn tệp bảng tính (.xlsx) để nhập.")]
            return await self._grid_page(request, db_session, tenant, year, grid, problems=problems, status_code=422)
        data = await upload.read(MAX_FILE_BYTES + 1)
        _, problems, changed = await services.import_workbook(db_session, tenant, grid, data, "xlsx")
        if problems:
            return await self._grid_page(request, db_session, tenant, year, grid, problems=problems, status_code=422)
        notice(request, f"Đã nhập bảng tính: {_changed(changed)}")
        return Redirect(
            f"{tenant.base_path}/quan-tri/tinh/diem-ngoai/{year}",
            query_params=_group_query(grid) or None,
            status_code=303,
        )


def _group_query(grid: ExternalGrid) -> dict[str, str]:
    return {"nhom": grid.group.code} if grid.group is not None else {}
