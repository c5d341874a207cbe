"""Submission pages: submit, status with a live progress bar, versions, download, retry, withdraw,
and the verify page."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from typing import IO, Any
from urllib.parse import parse_qs

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser, parse_options_header  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.permissions import Permission
from backend.db.models import Assessment, Submission, Tenant
from backend.db.rls import acting_in
from backend.domain.admin.province import is_home_affairs
from backend.domain.assessments.services import STATUS_LABELS, criteria_years
from backend.domain.evidence.services import csrf_ok
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.remedies import visibility
from backend.domain.submissions import services
from backend.domain.submissions.services import STATUS_LABELS_VN, SubmissionError
from backend.domain.submissions.verify import Report, check_archive, match_submission
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.services import province_calendar
from backend.domain.tenants.years import archived_year, archived_year_page
from backend.web.downloads import ZIP, stream_download
from backend.web.flash import notice
from backend.web.input import unstorable_message
from backend.web.templating import page

VIEW = {"access": Permission.TENANT_VIEW}
SUBMIT = {"access": Permission.SUBMISSION_SUBMIT}
VERIFY = {"access": Permission.SUBMISSION_VERIFY}
# The page takes a department's package (evidence up to 50 MB a file); a larger one is checked with
# `parboard verify` on the server. The upload streams to a temporary file: this bounds the disk it takes.
MAX_VERIFY_BYTES = 1024 * 1024 * 1024
MAX_FIELD_BYTES = 8 * 1024
WRITE_CHUNK = 1024 * 1024


async def _status_context(db: AsyncSession, tenant: TenantContext, year: int) -> dict[str, Any]:
    now = clock.utc_now()
    versions = await services.list_versions(db, year)
    assessment = await db.scalar(select(Assessment).where(Assessment.year == year))
    calendar = province_calendar(tenant.province, year)
    live = next((s for s in versions if s.status in ("building", "submitted")), None)
    try:
        services.check_submittable(year, assessment, live, calendar, now)
    except SubmissionError:
        evidence_check = None  # the page offers no submit button, so no warning about it
    else:
        evidence_check = await services.criteria_without_evidence(db, tenant.province, year)
    return {
        "ctx": tenant,
        "section": "submission",
        "year": year,
        "versions": versions,
        "assessment": assessment,
        "assessment_labels": STATUS_LABELS,
        "labels": STATUS_LABELS_VN,
        "calendar": calendar,
        "deadline_open": calendar is None or calendar.submission_open(now),
        "live": live,
        "building": any(s.status == "building" for s in versions),
        "can_retry": {s.id: services.can_retry(s, now) for s in versions},
        "may_download": visibility.sees_all(tenant),
        "evidence_check": evidence_check,
        "base": f"{tenant.base_path}/nop-ho-so/{year}",
    }


async def _status_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    year: int,
    *,
    block: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    """The year's submission page (or its `block` for htmx), with a refused step's `error`."""
    context = await _status_context(db, tenant, year)
    years = await criteria_years(db, tenant.province)
    if absent := archived_year(tenant, year, section="submission", has_record=bool(context["versions"])):
        title = f"Nộp hồ sơ đánh giá năm {year}"
        href = f"{tenant.base_path}/nop-ho-so"
        return await archived_year_page(request, db, tenant, absent, title=title, href=href, years=years)
    return page(
        request, "submissions/status.html", block=block, **context, years=years, error=error, status_code=status_code
    )


async def _version(db: AsyncSession, year: int, version: int) -> Submission:
    found = await db.scalar(select(Submission).where(Submission.year == year, Submission.version == version))
    if found is None:
        raise NotFoundException("Không có lần nộp này.")
    return found


async def package_stream(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, year: int, version: int
) -> Stream:
    """One version's package as a download (the page's and the API's): only for those who see every task, since
    it holds the evidence of every task, those the board hides from a unit's staff included."""
    if not visibility.sees_all(tenant):
        raise PermissionDeniedException("Gói hồ sơ có tài liệu kiểm chứng của mọi phòng, đơn vị.")
    submission = await _version(db, year, version)
    storage = storage_from_settings(request.app.state["settings"])
    if not submission.package_key or not await storage.exists(submission.package_key):
        raise NotFoundException("Lần nộp này chưa có gói hồ sơ.")
    name = f"ho-so-cchc-{tenant.tenant.code}-{year}-lan-{version}.zip"
    return stream_download(
        storage.open(submission.package_key),
        name,
        ZIP,
        size=submission.package_size,
        headers={"X-Content-SHA256": submission.package_sha256 or ""},
    )


async def _retry(db: AsyncSession, tenant: TenantContext, submission: Submission) -> None:
    await services.retry(db, submission, tenant.principal.user_id)


async def _withdraw(db: AsyncSession, tenant: TenantContext, submission: Submission) -> None:
    await services.withdraw(db, tenant.province, submission, tenant.principal.user_id)


# the URL's last segment → what it does to one version of a submission
VERSION_STEPS: dict[str, Callable[[AsyncSession, TenantContext, Submission], Awaitable[None]]] = {
    "thu-lai": _retry,
    "rut": _withdraw,
}


async def version_step(db: AsyncSession, tenant: TenantContext, year: int, version: int, step: str) -> Submission:
    """One of VERSION_STEPS on the year's submission `version` (404 for an unknown step or version); a refusal of the
    service is a SubmissionError."""
    act = VERSION_STEPS.get(step)
    if act is None:
        raise NotFoundException("Không có thao tác này.")
    submission = await _version(db, year, version)
    await act(db, tenant, submission)
    return submission


STEP_NOTICES = {
    "nop": "Đã gửi yêu cầu nộp: hồ sơ đang được đóng gói.",
    "thu-lai": "Đang đóng gói lại.",
    "rut": "Đã rút hồ sơ. Gói cũ vẫn được lưu; lãnh đạo có thể mở lại bản tự đánh giá để sửa.",
}


class SubmissionController(Controller):
    path = "/nop-ho-so"
    include_in_schema = False

    @get("/", name="submission:index", opt=VIEW)
    async def index(self, tenant: NamedDependency[TenantContext]) -> Redirect:
        return Redirect(f"{tenant.base_path}/nop-ho-so/{tenant.cycle.year}")

    @get("/{year:int}", name="submission:status", opt=VIEW)
    async def status(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        block = "status" if request.headers.get("hx-target") == "submission-status" else "content"
        return await _status_page(request, db_session, tenant, year, block=block)

    @post("/{year:int}", name="submission:submit", opt=SUBMIT)
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        try:
            await services.submit(db_session, tenant.tenant, tenant.province, year, tenant.principal.user_id)
        except SubmissionError as exc:
            return await self._refused(request, db_session, tenant, year, exc)
        notice(request, STEP_NOTICES["nop"])
        return Redirect(f"{tenant.base_path}/nop-ho-so/{year}")

    @post("/{year:int}/lan/{version:int}/{step:str}", name="submission:step", opt=SUBMIT)
    async def version_step(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        version: FromPath[int],
        step: FromPath[str],
    ) -> Response[Any]:
        """A step on one version: /thu-lai (build it again), /rut (withdraw it)."""
        try:
            await version_step(db_session, tenant, year, version, step)
        except SubmissionError as exc:
            return await self._refused(request, db_session, tenant, year, exc)
        notice(request, STEP_NOTICES[step])
        return Redirect(f"{tenant.base_path}/nop-ho-so/{year}")

    @get("/{year:int}/lan/{version:int}/tai-ve", name="submission:download", opt=VIEW)
    async def download(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        version: FromPath[int],
    ) -> Stream:
        return await package_stream(request, db_session, tenant, year, version)

    @get("/kiem-tra", name="submission:verify_form", opt=VERIFY)
    async def verify_form(self, request: Request[Any, Any, Any], tenant: NamedDependency[TenantContext]) -> Template:
        return page(
            request,
            "submissions/verify.html",
            block="content",
            ctx=tenant,
            section="submission",
            report=None,
            error=None,
        )

    @post(
        "/kiem-tra",
        name="submission:verify",
        opt={**VERIFY, "exclude_from_csrf": True, "reads_own_body": True},
        request_max_body_size=MAX_VERIFY_BYTES,
    )
    async def verify(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        try:
            report = await check_package(request, db_session, tenant)
        except Unreadable as exc:
            return _verify_page(request, tenant, None, str(exc), exc.status)
        return _verify_page(request, tenant, report, None, 200 if report.ok else 422)

    async def _refused(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: TenantContext,
        year: int,
        exc: SubmissionError,
    ) -> Template:
        return await _status_page(request, db_session, tenant, year, error=str(exc), status_code=exc.status)


def _verify_page(
    request: Request[Any, Any, Any], tenant: TenantContext, report: Report | None, error: str | None, status: int
) -> Template:
    return page(
        request,
        "submissions/verify.html",
        ctx=tenant,
        section="submission",
        report=report,
        error=error,
        status_code=status,
    )


class Unreadable(Exception):
    """A verify form from which no package file could be read, with its answer's status (and the form's field at
    fault: the file's, or a text field's)."""

    def __init__(self, message: str, status: int, field: str = "tep") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


async def receive_package(request: Request[Any, Any, Any], target: IO[bytes]) -> bool:
    """Stream the verify form's file ("tep") into `target` as it arrives, whatever its size (up to the route's
    bound): not `request.form()`, which keeps a text field of any length in memory. The CSRF token comes in
    the header or the `_csrf_token` field before the file, as for evidence uploads (the middleware, which
    would read the form, is skipped here). Whether a file was received; `Unreadable` for a body that is not
    the form, PermissionDeniedException without a valid token."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    csrf = csrf_ok(request, request.headers.get("x-csrftoken"))
    if kind == "application/x-www-form-urlencoded":  # the form sent without its file
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FIELD_BYTES:
                raise Unreadable("Biểu mẫu quá lớn.", 413)
        token = parse_qs(body.decode("utf-8", "replace")).get("_csrf_token", [None])[0]
        if not csrf and not csrf_ok(request, token):
            raise PermissionDeniedException("CSRF token verification failed")
        return False
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary or len(boundary) > 200:
        raise Unreadable("Hãy gửi tệp bằng biểu mẫu kiểm tra (multipart/form-data).", 415)
    parser = PushMultipartParser(boundary, max_header_size=4096, max_header_count=8, max_segment_count=8, strict=True)
    segment: MultipartSegment | None = None
    field = bytearray()
    pending = bytearray()
    received = False
    try:
        async for chunk in request.stream():
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    segment = event
                    field.clear()
                    if event.filename is not None and not csrf:
                        raise PermissionDeniedException("CSRF token verification failed")
                elif event and segment is not None:
                    if segment.filename is None:
                        field += event
                        if len(field) > MAX_FIELD_BYTES:
                            raise Unreadable("Một trường của biểu mẫu quá dài.", 413)
                    elif segment.name == "tep":
                        pending += event
                        received = True
                        if len(pending) >= WRITE_CHUNK:  # the disk in a worker thread, a chunk at a time
                            await asyncio.to_thread(target.write, bytes(pending))
                            pending.clear()
                elif event is None and segment is not None:
                    if segment.filename is None and b"\x00" in field:  # refused as every form's NUL is
                        raise Unreadable(unstorable_message(), 400, field=segment.name[:64])
                    if segment.filename is None and segment.name == "_csrf_token" and not csrf:
                        csrf = csrf_ok(request, field.decode("utf-8", "replace"))
                    segment = None
    except ParserLimitReached as exc:
        raise Unreadable("Biểu mẫu vượt giới hạn: chỉ một tệp hồ sơ.", 413) from exc
    except ParserError as exc:
        raise Unreadable("Dữ liệu gửi lên không đúng định dạng biểu mẫu.", 400) from exc
    if not csrf:
        raise PermissionDeniedException("CSRF token verification failed")
    await asyncio.to_thread(target.write, bytes(pending))
    target.seek(0)
    return received


async def check_package(request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext) -> Report:
    """The verify form's package file (the page's and the API's), streamed to a temporary file, checked whole
    (`check_archive`) and matched with the submission it claims to be (`match_in_province`); `Unreadable` when no
    file could be read."""
    with tempfile.TemporaryFile() as spooled:
        if not await receive_package(request, spooled):
            raise Unreadable("Chọn tệp hồ sơ (.zip) cần kiểm tra.", 422)
        report = await asyncio.to_thread(check_archive, spooled)
    if report.manifest is not None:
        await match_in_province(db, tenant, report)
    return report


async def match_in_province(db: AsyncSession, ctx: TenantContext, report: Report) -> None:
    """Which submission the file is: in the person's own department, or (for Sở Nội vụ) in any department
    of its province, binding each department in turn and always binding back."""
    manifest = report.manifest or {}
    tenant_code = str(manifest.get("tenant", {}).get("code", ""))
    province_code = str(manifest.get("province", {}).get("code", ""))
    if province_code != ctx.province.code or (tenant_code != ctx.tenant.code and not is_home_affairs(ctx)):
        report.problems.append("Hồ sơ này không thuộc đơn vị của bạn (hoặc tỉnh của bạn): không đối chiếu được.")
        return
    target = await db.scalar(select(Tenant).where(Tenant.province_id == ctx.province.id, Tenant.code == tenant_code))
    if target is None:
        report.problems.append("Không có đơn vị nào như manifest ghi.")
        return
    try:
        submission_id = uuid.UUID(str(manifest.get("submission", {}).get("id", "")))
    except ValueError:
        report.problems.append("Manifest không có mã lần nộp hợp lệ.")
        return
    async with acting_in(db, ctx.tenant, target, ctx.principal, Permission.SUBMISSION_VERIFY):
        submission = await db.scalar(select(Submission).where(Submission.id == submission_id))
        await match_submission(report, submission)
