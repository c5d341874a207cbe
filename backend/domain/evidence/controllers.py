"""Evidence pages: a target's panel (list + upload control), the streaming upload, download, preview and
soft delete. The panel is loaded by htmx into a criterion row and a task card; without JavaScript the
links lead to the same panel as a page, and its form posts the files the plain way."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.evidence import services
from backend.domain.evidence.services import ClientGone, EvidenceError, Received, Target
from backend.domain.evidence.sniff import ACCEPTED_TEXT, INLINE
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.years import archived_year, archived_year_page
from backend.settings import Settings
from backend.web.flash import notice
from backend.web.templating import page

VIEW = {"access": Permission.TENANT_VIEW}
# The upload reads its own body as it streams: Litestar's CSRF middleware would buffer it with
# request.form(), so it is skipped here and `receive_uploads` makes the same check (header or first field).
# For the same reason the app's form cleaning (backend.web.input) leaves it alone: `receive_uploads` cleans.
UPLOAD = {"access": Permission.EVIDENCE_UPLOAD, "exclude_from_csrf": True, "reads_own_body": True}
DELETE = {"access": Permission.EVIDENCE_UPLOAD}


async def _panel_context(
    db: AsyncSession, tenant: TenantContext, settings: Settings, target: Target, received: Received | None = None
) -> dict[str, Any]:
    files = await services.files_for(db, target)
    names = await services.uploader_names(db, files)
    try:
        await services.check_target(db, target)
        locked = ""
    except EvidenceError as exc:
        locked = str(exc)
    kept = await services.sent_answers(db, files)
    return {
        "ctx": tenant,
        "section": "assessment" if target.task_id is None else "remedies",
        "target": target,
        "files": files,
        "uploaders": names,
        "url": services.panel_url(tenant.base_path, target),
        "files_base": f"{tenant.base_path}/tai-lieu/tep",
        "may_upload": tenant.can(Permission.EVIDENCE_UPLOAD.value) and not locked,
        "locked": locked,
        "may_delete": {f.id for f in files if services.may_delete(tenant, f) and f.id not in kept}
        if not locked or target.request_id
        else set(),
        "inline_types": INLINE,
        "accepted": ACCEPTED_TEXT,
        "limit": services.upload_limit_text(settings.storage.max_upload_bytes),
        "max_files": services.MAX_FILES,
        "limit_bytes": settings.storage.max_upload_bytes,
        "errors": received.errors if received else {},
        # after a successful upload the form starts empty (the next files are other documents)
        "form": received.form if received and received.errors else {},
        "stored": received.files if received and not received.errors else [],
    }


class EvidenceController(Controller):
    path = "/tai-lieu"
    include_in_schema = False

    async def _panel(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        target: Target,
        received: Received | None = None,
        status_code: int = 200,
    ) -> Template:
        context = await _panel_context(db, tenant, request.app.state["settings"], target, received)
        return page(request, "evidence/panel.html", block="panel", **context, status_code=status_code)

    async def _upload(
        self, request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, target: Target
    ) -> Response[Any]:
        try:
            received = await services.receive_uploads(request, db, tenant, request.app.state["settings"], target)
        except ClientGone:
            return Response(content="", status_code=400)
        if received.errors:
            return await self._refused(request, db, tenant, target, received, received.status_code)
        return await self._done(request, db, tenant, target, "Đã tải lên tài liệu kiểm chứng.", received, 201)

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        target: Target,
        received: Received,
        status_code: int,
    ) -> Template:
        # htmx swaps only 2xx and 422 answers here (base.html): the message must reach the row
        status = 422 if request.headers.get("hx-request") == "true" else status_code
        return await self._panel(request, db, tenant, target, received, status)

    async def _done(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        target: Target,
        message: str,
        received: Received | None = None,
        status_code: int = 200,
    ) -> Response[Any]:
        """The panel again for htmx; without JavaScript, the panel's page with `message` after a redirect."""
        if request.headers.get("hx-request") == "true":
            return await self._panel(request, db, tenant, target, received, status_code)
        notice(request, message)
        return Redirect(services.panel_url(tenant.base_path, target), status_code=HTTP_303_SEE_OTHER)

    @get("/{year:int}/tieu-chi/{code:str}", name="evidence:criterion", opt=VIEW)
    async def criterion(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
    ) -> Template:
        if absent := archived_year(tenant, year, section="evidence"):  # an archive's year after (or before) its life
            title = f"Tài liệu kiểm chứng năm {year}"
            href = f"{tenant.base_path}/tu-danh-gia"
            return await archived_year_page(request, db_session, tenant, absent, title=title, href=href)
        return await self._panel(request, db_session, tenant, services.criterion_target(year, code))

    @post("/{year:int}/tieu-chi/{code:str}", name="evidence:upload_criterion", opt=UPLOAD, request_max_body_size=None)
    async def upload_criterion(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
    ) -> Response[Any]:
        return await self._upload(request, db_session, tenant, services.criterion_target(year, code))

    @get("/nhiem-vu/{task_id:uuid}", name="evidence:task", opt=VIEW)
    async def task(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        task_id: FromPath[uuid.UUID],
    ) -> Template:
        target = await services.target_for_task(db_session, tenant, task_id)
        return await self._panel(request, db_session, tenant, target)

    @post("/nhiem-vu/{task_id:uuid}", name="evidence:upload_task", opt=UPLOAD, request_max_body_size=None)
    async def upload_task(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        task_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        target = await services.target_for_task(db_session, tenant, task_id)
        return await self._upload(request, db_session, tenant, target)

    @get("/yeu-cau/{request_id:uuid}", name="evidence:request", opt=VIEW)
    async def evidence_request(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        request_id: FromPath[uuid.UUID],
    ) -> Template:
        target = await services.target_for_request(db_session, request_id)
        return await self._panel(request, db_session, tenant, target)

    @post("/yeu-cau/{request_id:uuid}", name="evidence:upload_request", opt=UPLOAD, request_max_body_size=None)
    async def upload_request(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        target = await services.target_for_request(db_session, request_id)
        return await self._upload(request, db_session, tenant, target)

    @get("/tep/{file_id:uuid}", name="evidence:download", opt=VIEW)
    async def download(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        file_id: FromPath[uuid.UUID],
    ) -> Stream:
        settings = request.app.state["settings"]
        return await services.open_file(db_session, tenant, settings, file_id, inline=False)

    @get("/tep/{file_id:uuid}/xem", name="evidence:preview", opt=VIEW)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        file_id: FromPath[uuid.UUID],
    ) -> Stream:
        settings = request.app.state["settings"]
        return await services.open_file(db_session, tenant, settings, file_id, inline=True)

    @post("/tep/{file_id:uuid}/xoa", name="evidence:delete", opt=DELETE)
    async def delete(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        file_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        file = await services.visible_file(db_session, tenant, file_id)
        target = Target(file.year, file.criterion_code, file.task_id, file.request_id)
        try:
            await services.delete_file(db_session, tenant, file_id)
        except EvidenceError as exc:
            return await self._refused(request, db_session, tenant, target, Received(errors={"files": str(exc)}), 409)
        return await self._done(request, db_session, tenant, target, "Đã xoá tài liệu kiểm chứng.")
