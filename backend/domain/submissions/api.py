"""Submissions over the JSON API (`/api/v1/t/<province>/<tenant>/nop-ho-so`): submit the approved
self-assessment (202 with the submission and its status URL), the year's submissions, one submission's status,
a version's package, and the check of a package file (`/kiem-tra`: the file streamed in as the page's form sends
it, checked by the same code, and matched with the submission it claims to be). The same services and rules as
the submission page."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import Submission
from backend.domain.submissions import services
from backend.domain.submissions.controllers import (
    MAX_VERIFY_BYTES,
    VERIFY,
    Unreadable,
    check_package,
    package_stream,
    version_step,
)
from backend.domain.submissions.services import STATUS_LABELS_VN, SubmissionError
from backend.domain.submissions.verify import Report
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.years import ensure_archived_year
from backend.web.api import API_PREFIX, ApiError, ApiProblem, error_responses, multipart_operation

VIEW = {"access": Permission.TENANT_VIEW}
SUBMIT = {"access": Permission.SUBMISSION_SUBMIT}


class SubmitIn(msgspec.Struct, forbid_unknown_fields=True):
    """The submit's confirmation (`{}` confirms too)."""

    confirm: bool = True


class SubmissionOut(msgspec.Struct):
    """One submission (lần nộp) of a year: its state, its progress while the package is built, the package's
    SHA-256 and size once built, and where to follow it."""

    id: uuid.UUID
    year: int
    version: int
    status: str
    status_label: str
    progress_done: int
    progress_total: int
    package_sha256: str | None
    package_size: int | None
    error: str | None
    status_url: str
    page_url: str
    download_url: str | None


class SubmissionsOut(msgspec.Struct):
    year: int
    items: list[SubmissionOut]


def submission_out(tenant: TenantContext, submission: Submission) -> SubmissionOut:
    api = f"{API_PREFIX}{tenant.base_path}/nop-ho-so/{submission.year}"
    return SubmissionOut(
        id=submission.id,
        year=submission.year,
        version=submission.version,
        status=submission.status,
        status_label=STATUS_LABELS_VN.get(submission.status, submission.status),
        progress_done=submission.progress_done,
        progress_total=submission.progress_total,
        package_sha256=submission.package_sha256,
        package_size=submission.package_size,
        error=submission.error or None,
        status_url=f"{api}/{submission.id}",
        page_url=f"{tenant.base_path}/nop-ho-so/{submission.year}",
        download_url=f"{api}/lan/{submission.version}/tai-ve" if submission.package_key else None,
    )


class SubmissionApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/nop-ho-so/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Nộp hồ sơ"]  # noqa: RUF012 - Litestar reads it

    @post(
        "/",
        name="submission:api_submit",
        opt=SUBMIT,
        status_code=202,
        request_max_body_size=16 * 1024,
        summary="Nộp bản tự đánh giá đã duyệt (gói hồ sơ được lập sau; theo dõi ở status_url)",
        responses=error_responses(),
    )
    async def submit(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[SubmitIn],
    ) -> SubmissionOut:
        if not data.confirm:
            raise ApiProblem("confirm phải là true.", field="confirm")
        if not 2000 <= year <= 2100:
            raise ApiProblem(f"Năm {year} không hợp lệ.", field="year")
        try:
            submission = await services.submit(
                db_session, tenant.tenant, tenant.province, year, tenant.principal.user_id
            )
        except SubmissionError as exc:
            raise ApiProblem(str(exc), status=exc.status) from None
        return submission_out(tenant, submission)

    @post(
        "/lan/{version:int}/{step:str}",
        name="submission:api_step",
        opt=SUBMIT,
        status_code=200,
        summary="Một bước trên một lần nộp: `thu-lai` (đóng gói lại khi lỗi), `rut` (rút hồ sơ đã nộp)",
        responses=error_responses(),
    )
    async def step(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        version: FromPath[int],
        step: FromPath[str],
    ) -> SubmissionOut:
        try:
            submission = await version_step(db_session, tenant, year, version, step)
        except SubmissionError as exc:
            raise ApiProblem(str(exc), status=exc.status) from None
        await db_session.refresh(submission)
        return submission_out(tenant, submission)

    @get("/", name="submission:api_list", opt=VIEW, summary="Các lần nộp của năm", responses=error_responses())
    async def submissions(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> SubmissionsOut:
        versions = await services.list_versions(db_session, year)
        ensure_archived_year(tenant, year, section="submission", has_record=bool(versions))
        return SubmissionsOut(year, [submission_out(tenant, s) for s in versions])

    @get(
        "/{submission_id:uuid}",
        name="submission:api_status",
        opt=VIEW,
        summary="Trạng thái một lần nộp",
        responses=error_responses(),
    )
    async def status(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        submission_id: FromPath[uuid.UUID],
    ) -> SubmissionOut:
        submission = await services.get(db_session, submission_id)
        if submission is None or submission.year != year:
            raise NotFoundException("Không có lần nộp này.")
        return submission_out(tenant, submission)

    @get(
        "/lan/{version:int}/tai-ve",
        name="submission:api_download",
        opt=VIEW,
        summary="Tải gói hồ sơ của một lần nộp (.zip; SHA-256 ở X-Content-SHA256)",
        media_type="application/zip",
        responses=error_responses(),
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        version: FromPath[int],
    ) -> Stream:
        return await package_stream(request, db_session, tenant, year, version)


class VerifyReportOut(msgspec.Struct):
    """What the check of a package file found: `ok` when the archive is whole and is the package recorded for its
    submission; else each problem in Vietnamese. The manifest's tenant, year, version and submission id when the
    file has a readable manifest (else null)."""

    ok: bool
    sha256: str
    size: int
    entries: int
    tenant: str | None
    year: int | None
    version: int | None
    submission_id: str | None
    recorded: str
    problems: list[str]
    lines: list[str]


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def report_out(report: Report) -> VerifyReportOut:
    has_manifest = report.manifest is not None
    return VerifyReportOut(
        ok=report.ok,
        sha256=report.sha256,
        size=report.size,
        entries=report.entries,
        tenant=report.tenant if has_manifest else None,
        year=_int_or_none(report.year) if has_manifest else None,
        version=_int_or_none(report.version) if has_manifest else None,
        submission_id=report.submission_id or None if has_manifest else None,
        recorded=report.recorded,
        problems=list(report.problems),
        lines=report.lines(),
    )


# The verify streams its own body (as the page's does): its one field, for a client generator and the schema fuzz.
VerifyOperation = multipart_operation(
    "Gửi `multipart/form-data`: `tep`, tệp hồ sơ (.zip) đã tải về từ parboard, tối đa "
    f"{MAX_VERIFY_BYTES // (1024 * 1024 * 1024)} GiB. Không có tệp thì trả 422 (413 khi quá lớn, 415 khi không phải "
    "multipart/form-data); không lưu gì.",
    Schema(
        type=OpenAPIType.OBJECT,
        required=["tep"],
        properties={
            "tep": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="tệp hồ sơ (.zip)")
        },
    ),
)


class SubmissionVerifyApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/nop-ho-so/kiem-tra"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Nộp hồ sơ"]  # noqa: RUF012 - Litestar reads it

    @post(
        "/",
        name="submission:api_verify",
        opt={**VERIFY, "exclude_from_csrf": True, "reads_own_body": True},
        status_code=200,
        request_max_body_size=MAX_VERIFY_BYTES,
        summary="Kiểm tra một tệp hồ sơ (.zip) đã tải về: còn nguyên vẹn và đúng là lần nộp đã ghi nhận "
        "(multipart/form-data: tep)",
        responses=error_responses((413, ApiError), (415, ApiError)),
        operation_class=VerifyOperation,
    )
    async def verify(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> VerifyReportOut:
        """The page's check (`/kiem-tra`), streamed the same way; the answer is 200 with `ok` false and the problems
        when the file is not the recorded package, and a 4xx on `tep` when no file could be read."""
        try:
            report = await check_package(request, db_session, tenant)
        except Unreadable as exc:
            raise ApiProblem(str(exc), field=exc.field, status=exc.status) from None
        return report_out(report)
