"""The remedy plan as documents: the Word plan and the Excel table of the year's tasks, and the import of an existing
plan's table (upload → preview of every row → confirmation that creates every task, or none)."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.assessments.xlsx import MAX_FILE_BYTES
from backend.domain.remedies import plan_files, tasks
from backend.domain.remedies.board_reading import board_path, lanes_and_sheet
from backend.domain.remedies.plan_io import MAX_TOKEN_AGE, Preview, sign_upload, verify_upload
from backend.domain.tenants.deps import TenantContext
from backend.settings import Settings
from backend.web.flash import notice
from backend.web.templating import page

VIEW = {"access": Permission.TENANT_VIEW}
IMPORT = {"access": Permission.TASK_EDIT_ANY}
FILE_FIELD = "tep"
# The upload carries the file (≤ 5 MB) and the confirmation its base64 text (4/3 of it): room for both, no more.
UPLOAD_BODY = MAX_FILE_BYTES + 512 * 1024
CONFIRM_BODY = MAX_FILE_BYTES * 4 // 3 + 512 * 1024
TAMPERED = (
    "Dữ liệu xem trước không hợp lệ hoặc đã bị thay đổi, nên không nhập gì. Hãy tải tệp kế hoạch lên lại để xem trước."
)
EXPIRED = (
    f"Bản xem trước đã quá hạn ({MAX_TOKEN_AGE // 3600} giờ), nên không nhập gì. Hãy tải tệp kế hoạch lên lại để xem "
    "trước."
)


def _secret(request: Request[Any, Any, Any]) -> str:
    settings: Settings = request.app.state.settings
    return settings.app.secret_key


class RemedyPlanController(Controller):
    """/t/<tỉnh>/<sở>/ke-hoach/<năm>/xuat/… and /nhap: the year's plan out of and into the board."""

    path = "/ke-hoach/{year:int}"
    include_in_schema = False

    # ---- export ----

    @get("/xuat/ke-hoach.docx", name="plan:docx", opt=VIEW)
    async def export_docx(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[bytes]:
        return await plan_files.plan_export(db_session, tenant, year, "docx")

    @get("/xuat/ke-hoach.xlsx", name="plan:xlsx", opt=VIEW)
    async def export_xlsx(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[bytes]:
        return await plan_files.plan_export(db_session, tenant, year, "xlsx")

    # ---- import ----

    @get("/nhap", name="plan:import", opt=IMPORT)
    async def import_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        await lanes_and_sheet(db_session, tenant, year)
        return _page(request, tenant, year)

    @post("/nhap", name="plan:preview", opt=IMPORT, request_max_body_size=UPLOAD_BODY)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        _, loaded = await lanes_and_sheet(db_session, tenant, year)
        form = await request.form()
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, tenant, year, problems=["Chọn tệp kế hoạch (.xlsx) để tải lên."], status=422)
        name = plan_files.upload_name(upload.filename)
        try:
            data = await plan_files.read_upload(upload)
            preview = await plan_files.preview_plan(db_session, tenant, year, loaded.sheet, data)
        except plan_files.PlanImportRefused as refused:
            return _page(request, tenant, year, problems=refused.problems, file_name=name, status=422)
        signed: dict[str, str] | None = None
        if preview.importable:
            issued_at = int(time.time())
            signed = {
                "du_lieu": base64.b64encode(data).decode("ascii"),
                "ten_tep": name,
                "luc": str(issued_at),
                "chu_ky": sign_upload(
                    _secret(request),
                    tenant_id=tenant.tenant.id,
                    year=year,
                    user_id=tenant.principal.user_id,
                    issued_at=issued_at,
                    filename=name,
                    data=data,
                ),
            }
        return _page(request, tenant, year, preview=preview, file_name=name, signed=signed)

    @post("/nhap/xac-nhan", name="plan:import-confirm", opt=IMPORT, request_max_body_size=CONFIRM_BODY)
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        _, loaded = await lanes_and_sheet(db_session, tenant, year)
        form = await request.form()
        name = plan_files.upload_name(str(form.get("ten_tep") or ""))
        signature = str(form.get("chu_ky") or "")
        try:
            issued_at = int(str(form.get("luc") or ""))
            data = base64.b64decode(str(form.get("du_lieu") or ""), validate=True)
        except (ValueError, binascii.Error):
            return _page(request, tenant, year, problems=[TAMPERED], status=400)
        valid = bool(data) and verify_upload(
            _secret(request),
            signature,
            tenant_id=tenant.tenant.id,
            year=year,
            user_id=tenant.principal.user_id,
            issued_at=issued_at,
            filename=name,
            data=data,
        )
        if not valid:
            return _page(request, tenant, year, problems=[TAMPERED], status=400)
        if not 0 <= time.time() - issued_at <= MAX_TOKEN_AGE:
            return _page(request, tenant, year, problems=[EXPIRED], file_name=name, status=400)

        try:
            numbers = await plan_files.import_plan(
                db_session, tenant, year, loaded.sheet, data, name, signature=signature
            )
        except plan_files.PlanImportRefused as refused:
            return _page(
                request,
                tenant,
                year,
                problems=refused.problems,
                preview=refused.preview,
                file_name=name,
                status=refused.status,
            )
        notice(request, f"Đã nhập {len(numbers)} nhiệm vụ từ tệp.")
        return Redirect(board_path(tenant, year))


def _page(
    request: Request[Any, Any, Any],
    ctx: TenantContext,
    year: int,
    *,
    problems: list[str] | None = None,
    preview: Preview | None = None,
    file_name: str = "",
    signed: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    return page(
        request,
        "remedies/import.html",
        ctx=ctx,
        section="board",
        year=year,
        base=board_path(ctx, year),
        problems=problems or [],
        preview=preview,
        file_name=file_name,
        signed=signed,
        max_mb=plan_files.MAX_MB,
        max_age_hours=MAX_TOKEN_AGE // 3600,
        kinds=tasks.KIND_LABELS,
        status_code=status,
    )


__all__ = ["RemedyPlanController"]
