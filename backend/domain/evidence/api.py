"""The evidence API for a department's systems (its document management system, hệ thống quản lý văn bản): upload
files to a criterion of a year's self-assessment with the pages' streaming limits, sniffing and all-or-nothing
rule (`services.receive_uploads`), list a year's files, download one. A tenant API token with `evidence:upload` or
`evidence:read`, or a signed-in session with the pages' rights."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, TokenScope
from backend.db.models import EvidenceFile
from backend.domain.evidence import services
from backend.domain.evidence.services import ClientGone, Target, TargetLookup
from backend.domain.evidence.sniff import ACCEPTED_TEXT
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.years import ensure_archived_year
from backend.web.api import API_PREFIX, ApiError, ApiProblem, error_responses, multipart_operation

READ = {"access": Permission.TENANT_VIEW, "token_scope": TokenScope.EVIDENCE_READ}
# The upload streams its own body (as the page's does): Litestar's CSRF middleware would buffer it, so
# `receive_uploads` checks the session's CSRF token itself; a token's request carries a matching pair
# (backend.auth.csrf).
UPLOAD = {
    "access": Permission.EVIDENCE_UPLOAD,
    "token_scope": TokenScope.EVIDENCE_UPLOAD,
    "exclude_from_csrf": True,
    "reads_own_body": True,
}


UPLOAD_DESCRIPTION = (
    "Gửi `multipart/form-data`: `files` (một hoặc nhiều tệp, tối đa "
    f"{services.MAX_FILES} tệp; mỗi tệp tối đa theo cấu hình máy chủ `PARBOARD_MAX_UPLOAD_MB`, mặc định 50 MB; "
    f"định dạng nhận diện theo nội dung, không theo tên: {ACCEPTED_TEXT}), và các trường chữ không bắt buộc "
    "`description` (tối đa 2000 ký tự), `document` (số và ngày văn bản, ví dụ «640/KH-STNMT ngày 24/02/2023») và "
    f"`section` (vị trí trong văn bản, tối đa {services.MAX_SECTION} ký tự); mỗi trường chữ tối đa "
    f"{services.MAX_FIELD_BYTES // 1024} KiB. Lưu tất cả hoặc không tệp nào: một tệp không nhận được thì trả 422 "
    "(hoặc 413 khi quá lớn, 415 khi không phải multipart/form-data) và không lưu gì."
)


_TEXT = Schema(type=OpenAPIType.STRING)
# The upload streams its own body: its fields, for a client generator and the schema fuzz.
UploadOperation = multipart_operation(
    UPLOAD_DESCRIPTION,
    Schema(
        type=OpenAPIType.OBJECT,
        required=["files"],
        properties={
            "files": Schema(
                type=OpenAPIType.ARRAY,
                items=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                min_items=1,
                max_items=services.MAX_FILES,
                description=f"các tệp ({ACCEPTED_TEXT})",
            ),
            "description": replace(_TEXT, max_length=2000, description="mô tả"),
            "document": replace(_TEXT, max_length=200, description="số và ngày văn bản"),
            "section": replace(_TEXT, max_length=services.MAX_SECTION, description="vị trí trong văn bản"),
        },
    ),
)


# A remedy task's and an evidence request's files, and deleting one: for signed-in people, as on the pages.
VIEW_SIGNED_IN = {"access": Permission.TENANT_VIEW}
UPLOAD_SIGNED_IN = {"access": Permission.EVIDENCE_UPLOAD, "exclude_from_csrf": True, "reads_own_body": True}
DELETE = {"access": Permission.EVIDENCE_UPLOAD}


class EvidenceFileOut(msgspec.Struct):
    id: uuid.UUID
    year: int
    criterion: str | None
    task_id: uuid.UUID | None
    filename: str
    content_type: str  # sniffed from the content, never taken from the name
    size: int
    sha256: str
    description: str
    document_number: str
    document_date: date | None
    document_section: str
    uploaded_at: datetime
    download: str  # the API path of its content


class EvidenceListOut(msgspec.Struct):
    year: int
    files: list[EvidenceFileOut]


def _out(base: str, file: EvidenceFile) -> EvidenceFileOut:
    return EvidenceFileOut(
        file.id,
        file.year,
        file.criterion_code,
        file.task_id,
        file.filename,
        file.content_type,
        file.size,
        file.sha256,
        file.description,
        file.document_number,
        file.document_date,
        file.document_section,
        file.uploaded_at,
        f"{API_PREFIX}{base}/tai-lieu/tep/{file.id}",
    )


async def _files(db: AsyncSession, tenant: TenantContext, target: Target) -> EvidenceListOut:
    return EvidenceListOut(target.year, [_out(tenant.base_path, f) for f in await services.files_for(db, target)])


async def _receive(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, target: Target | TargetLookup
) -> EvidenceListOut:
    """The request's files stored to `target` with the pages' limits and sniffing, all or none. A task or a request
    is looked up after the body is read (`TargetLookup`), so that a refused field answers 400 before any service."""
    try:
        received = await services.receive_uploads(request, db, tenant, request.app.state["settings"], target)
    except ClientGone:
        raise ApiProblem("Kết nối bị ngắt trước khi gửi xong tệp.", field="files", status=400) from None
    if received.errors:
        field, message = next(iter(received.errors.items()))
        raise ApiProblem(message, field=field, status=received.status_code)
    return EvidenceListOut(received.files[0].year, [_out(tenant.base_path, f) for f in received.files])


class EvidenceApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/tai-lieu"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Tài liệu kiểm chứng"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/{year:int}",
        name="evidence:api_list",
        opt=READ,
        summary="Tài liệu kiểm chứng của đơn vị trong năm",
        responses=error_responses(),
    )
    async def listing(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        criterion: Annotated[
            str | None, QueryParameter(name="tieu-chi", description="mã tiêu chí, ví dụ 1.2", max_length=31)
        ] = None,
    ) -> EvidenceListOut:
        """The live files of the year's criteria (a remedy task's files are on its task); 404 for an archive's year
        after (or before) its life."""
        ensure_archived_year(tenant, year, section="evidence")
        if criterion is not None and not services.CRITERION_CODE.match(criterion):
            raise ApiProblem("Không có tiêu chí này.", field="tieu-chi", status=404)
        files = await services.criterion_files(db_session, year, criterion)
        return EvidenceListOut(year, [_out(tenant.base_path, f) for f in files])

    @post(
        "/{year:int}/tieu-chi/{code:str}",
        name="evidence:api_upload",
        opt=UPLOAD,
        status_code=201,
        request_max_body_size=None,
        summary="Tải tài liệu kiểm chứng lên một tiêu chí (multipart/form-data: files, description, document, section)",
        responses=error_responses((413, ApiError), (415, ApiError)),
        operation_class=UploadOperation,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
    ) -> EvidenceListOut:
        """Up to the page's number of files, each within the size limit and of an accepted type (sniffed): all are
        saved or none. `document` is the document's number and date ("640/KH-STNMT ngày 24/02/2023")."""
        return await _receive(request, db_session, tenant, services.criterion_target(year, code))

    @get(
        "/nhiem-vu/{task_id:uuid}",
        name="evidence:api_task_files",
        opt=VIEW_SIGNED_IN,
        summary="Tài liệu kiểm chứng của một nhiệm vụ khắc phục",
        responses=error_responses(),
    )
    async def task_files(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        task_id: FromPath[uuid.UUID],
    ) -> EvidenceListOut:
        """The live files of a task the person sees on the board (404 otherwise), oldest first."""
        return await _files(db_session, tenant, await services.target_for_task(db_session, tenant, task_id))

    @get(
        "/yeu-cau/{request_id:uuid}",
        name="evidence:api_request_files",
        opt=VIEW_SIGNED_IN,
        summary="Tài liệu kiểm chứng trả lời một yêu cầu bổ sung của thẩm định",
        responses=error_responses(),
    )
    async def request_files(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        request_id: FromPath[uuid.UUID],
    ) -> EvidenceListOut:
        """The live files answering an evidence request, oldest first."""
        return await _files(db_session, tenant, await services.target_for_request(db_session, request_id))

    @post(
        "/nhiem-vu/{task_id:uuid}",
        name="evidence:api_upload_task",
        opt=UPLOAD_SIGNED_IN,
        status_code=201,
        request_max_body_size=None,
        summary="Tải tài liệu kiểm chứng lên một nhiệm vụ khắc phục (multipart/form-data, như khi tải lên tiêu chí)",
        responses=error_responses((413, ApiError), (415, ApiError)),
        operation_class=UploadOperation,
    )
    async def upload_task(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        task_id: FromPath[uuid.UUID],
    ) -> EvidenceListOut:
        """The same limits and all-or-nothing rule, to a task the person sees on the board (404 otherwise)."""
        return await _receive(
            request, db_session, tenant, lambda: services.target_for_task(db_session, tenant, task_id)
        )

    @post(
        "/yeu-cau/{request_id:uuid}",
        name="evidence:api_upload_request",
        opt=UPLOAD_SIGNED_IN,
        status_code=201,
        request_max_body_size=None,
        summary="Tải tài liệu kiểm chứng trả lời một yêu cầu bổ sung của thẩm định (multipart/form-data)",
        responses=error_responses((413, ApiError), (415, ApiError)),
        operation_class=UploadOperation,
    )
    async def upload_request(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        request_id: FromPath[uuid.UUID],
    ) -> EvidenceListOut:
        """Files answering an inspector's evidence request, while it is open, with the same limits."""
        return await _receive(request, db_session, tenant, lambda: services.target_for_request(db_session, request_id))

    @delete(
        "/tep/{file_id:uuid}",
        name="evidence:api_delete",
        opt=DELETE,
        summary="Xoá một tài liệu kiểm chứng (người tải lên hoặc đầu mối CCHC, khi năm chưa nộp)",
        responses=error_responses(),
    )
    async def delete_file(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        file_id: FromPath[uuid.UUID],
    ) -> None:
        await services.visible_file(db_session, tenant, file_id)
        try:
            await services.delete_file(db_session, tenant, file_id)
        except services.EvidenceError as exc:
            raise ApiProblem(str(exc)) from None

    @get(
        "/tep/{file_id:uuid}",
        name="evidence:api_download",
        opt=READ,
        summary="Nội dung một tài liệu kiểm chứng",
        responses=error_responses(),
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        file_id: FromPath[uuid.UUID],
    ) -> Stream:
        return await services.open_file(db_session, tenant, request.app.state["settings"], file_id, inline=False)
