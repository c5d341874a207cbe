"""The remedy plan as documents: the Word plan and the Excel table of the year's tasks, and the import of an existing
plan's table (upload → preview of every row → confirmation that creates every task, or none)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.domain.assessments.xlsx import MAX_FILE_BYTES, NOT_XLSX
from backend.domain.remedies import tasks
from backend.domain.remedies.board_reading import board_path, lanes_and_sheet
from backend.domain.remedies.plan_docx import plan_docx
from backend.domain.remedies.plan_io import (
    MAX_TOKEN_AGE,
    Preview,
    import_plan,
    plan_document,
    preview_upload,
    sign_upload,
    verify_upload,
)
from backend.domain.remedies.plan_model import PlanDocument
from backend.domain.remedies.plan_xlsx import plan_xlsx
from backend.domain.tenants.deps import TenantContext
from backend.settings import Settings
from backend.web.downloads import DOCX, XLSX, download
from backend.web.flash import notice
from backend.web.templating import page

VIEW = {"access": Permission.TENANT_VIEW}
IMPORT = {"access": Permission.TASK_EDIT_ANY}
FILE_FIELD = "tep"
MAX_MB = MAX_FILE_BYTES // (1024 * 1024)
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


def _upload_name(filename: str | None) -> str:
    """The uploaded file's own name (no folders, no control characters), for display and the signature."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:255] or "ke-hoach.xlsx"


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
        return await _export(db_session, tenant, year, plan_docx, "docx", DOCX)

    @get("/xuat/ke-hoach.xlsx", name="plan:xlsx", opt=VIEW)
    async def export_xlsx(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[bytes]:
        return await _export(db_session, tenant, year, plan_xlsx, "xlsx", XLSX)

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
        name = _upload_name(upload.filename)
        data = await upload.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            problems = [f"Tệp lớn hơn {MAX_MB} MB."]
            return _page(request, tenant, year, problems=problems, file_name=name, status=422)
        if not data:
            return _page(request, tenant, year, problems=[NOT_XLSX], file_name=name, status=422)
        preview, _ = await preview_upload(db_session, tenant, year, loaded.sheet, data)
        if preview.file_problems:
            return _page(request, tenant, year, problems=preview.file_problems, file_name=name, status=422)
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
        name = _upload_name(str(form.get("ten_tep") or ""))
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

        preview, options = await preview_upload(db_session, tenant, year, loaded.sheet, data)
        if preview.file_problems:
            return _page(request, tenant, year, problems=preview.file_problems, file_name=name, status=422)
        if not preview.importable:
            problems = [f"Không nhập nhiệm vụ nào: {len(preview.failed)} dòng có lỗi. Sửa tệp rồi tải lên lại."]
            return _page(request, tenant, year, problems=problems, preview=preview, file_name=name, status=422)
        if not options.columns:
            return _page(request, tenant, year, problems=["Bảng kế hoạch chưa có cột trạng thái nào."], status=422)
        numbers = await import_plan(db_session, tenant, year, preview, options, name, signature)
        if numbers is None:
            problems = [f"Tệp “{name}” đã được nhập từ bản xem trước này. Muốn nhập lại lần nữa, hãy tải tệp lên lại."]
            return _page(request, tenant, year, problems=problems, file_name=name, status=409)
        notice(request, f"Đã nhập {len(numbers)} nhiệm vụ từ tệp.")
        return Redirect(board_path(tenant, year))


async def _export(
    db: AsyncSession, ctx: TenantContext, year: int, write: Callable[[PlanDocument], bytes], suffix: str, media: str
) -> Response[bytes]:
    """The year's plan written by `write` (in a thread: a big plan takes a while), as a download."""
    document = await plan_document(db, ctx, year, vietnam_today())
    data = await asyncio.to_thread(write, document)
    return download(
        data,
        f"Kế hoạch khắc phục {year} - {ctx.tenant.name}.{suffix}",
        media,
        ascii_name=f"ke-hoach-khac-phuc-{ctx.tenant.code}-{year}.{suffix}",
    )


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
        max_mb=MAX_MB,
        max_age_hours=MAX_TOKEN_AGE // 3600,
        kinds=tasks.KIND_LABELS,
        status_code=status,
    )


__all__ = ["RemedyPlanController"]
