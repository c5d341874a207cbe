"""Submissions in the database: submit, retry, withdraw, and the background job that builds the package.

Submitting checks the year's assessment is approved (frozen by the app and a trigger) and the calendar's
deadline, inserts version n+1 in status "building" and enqueues the build job in the same transaction:
the submission and its job exist together or not at all. The partial unique index `uq_submissions_live`
lets only one live submission exist per department and year, so of two simultaneous submits one wins and
the other is told so (409).

The job binds the department's tenant (row-level security applies to the worker too), streams the ZIP into
storage, commits its progress in short transactions of its own, and only then records the package's hash
and marks it submitted. Any failure marks it "failed" with the reason: never "submitted" without a package.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pgqueuer import AsyncpgDriver
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend import clock
from backend.clock import vietnam_today
from backend.db.engine import create_session_maker
from backend.db.models import (
    Assessment,
    AssessmentStatus,
    AuditEntry,
    CriteriaSet,
    EvidenceFile,
    Province,
    Submission,
    SubmissionStatus,
    Tenant,
    User,
)
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.assessments.published import publication, tenant_result
from backend.domain.assessments.services import STATUS_LABELS
from backend.domain.assessments.xlsx import (
    SelfAssessmentSheet,
    adjustment_lines,
    export_self_assessment,
    sheet_rows,
)
from backend.domain.evidence.storage import LocalStorage, Storage
from backend.domain.submissions.calendar import YearCalendar, year_calendar
from backend.domain.submissions.package import (
    INDEX,
    MANIFEST,
    SUMS,
    CriterionEntry,
    EvidenceEntry,
    Member,
    PackageError,
    PackageInfo,
    Progress,
    digest_of,
    manifest,
    manifest_bytes,
    place_evidence,
    render_index,
    sums_line,
    zip_stream,
)
from backend.jobs.queue import queries
from backend.logging import get_logger
from backend.web.metrics import PACKAGE_SECONDS, PACKAGES

log = get_logger("parboard.submissions")

BUILD_JOB = "submission.build"  # payload: "<tenant id>:<submission id>"
STALE_AFTER = timedelta(minutes=2)  # a build without progress this long is offered a retry
PROGRESS_EVERY_FILES = 20
PROGRESS_EVERY_SECONDS = 1.0
S = SubmissionStatus

STATUS_LABELS_VN = {
    S.BUILDING.value: "Đang đóng gói",
    S.FAILED.value: "Đóng gói lỗi",
    S.SUBMITTED.value: "Đã nộp",
    S.WITHDRAWN.value: "Đã rút",
    S.RETURNED.value: "Bị trả lại",
}


class SubmissionError(ValueError):
    """A submission the rules refuse; `status` is the HTTP answer (409 conflict, 422 refused)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


async def list_versions(db: AsyncSession, year: int) -> list[Submission]:
    """The bound tenant's submissions of `year`, newest first."""
    return list(await db.scalars(select(Submission).where(Submission.year == year).order_by(Submission.version.desc())))


async def criteria_without_evidence(
    db: AsyncSession, province: Province, year: int
) -> tuple[list[tuple[str, str]], int]:
    """The criteria the department scores itself that have no evidence file yet, (code, title) in sheet order,
    and how many such criteria there are in all: the submit button warns about them."""
    loaded = await assessments.load(db, province, year)
    if loaded is None:
        return [], 0
    with_files = set(
        await db.scalars(
            select(EvidenceFile.criterion_code)
            .where(
                EvidenceFile.year == year,
                EvidenceFile.deleted_at.is_(None),
                EvidenceFile.request_id.is_(None),
                EvidenceFile.criterion_code.is_not(None),
            )
            .distinct()
        )
    )
    criteria = [
        (row.code, row.node.title)
        for area in loaded.sheet.areas
        for row in area.walk()
        if row.editable and not row.remainder and not row.children
    ]
    return [(code, title) for code, title in criteria if code not in with_files], len(criteria)


async def get(db: AsyncSession, submission_id: uuid.UUID) -> Submission | None:
    return await db.scalar(select(Submission).where(Submission.id == submission_id))


def is_stale(submission: Submission, now: datetime) -> bool:
    return submission.status == S.BUILDING and (now - submission.updated_at) > STALE_AFTER


def can_retry(submission: Submission, now: datetime) -> bool:
    return submission.status == S.FAILED or is_stale(submission, now)


async def submit(
    db: AsyncSession,
    tenant: Tenant,
    province: Province,
    year: int,
    actor: uuid.UUID | None,
    *,
    now: datetime | None = None,
) -> Submission:
    """Create version n+1 (building) and enqueue its build, in the caller's transaction."""
    now = now or clock.utc_now()
    live = await db.scalar(
        select(Submission).where(Submission.year == year, Submission.status.in_([S.BUILDING.value, S.SUBMITTED.value]))
    )
    found = await db.scalar(select(Assessment).where(Assessment.year == year))
    assessment = check_submittable(year, found, live, year_calendar(province.settings, year), now)
    version = (await db.scalar(select(func.max(Submission.version)).where(Submission.year == year)) or 0) + 1
    submission = Submission(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        assessment_id=assessment.id,
        year=year,
        version=version,
        status=S.BUILDING.value,
        submitted_by=actor,
        submitted_at=now,
        progress_done=0,
        progress_total=0,
        error="",
    )
    try:
        async with db.begin_nested():
            db.add(submission)
            await db.flush()
    except IntegrityError:
        # Another submit of the same year committed between our check and our insert.
        raise SubmissionError("Hồ sơ năm này đang được nộp hoặc đã nộp (một yêu cầu khác vừa nộp).", 409) from None
    db.add(
        AuditEntry.by(
            tenant.id,
            actor,
            "submission.submit",
            "submission",
            str(submission.id),
            after={"year": year, "version": version},
        )
    )
    await enqueue_build(db, submission)
    await db.flush()
    return submission


async def retry(
    db: AsyncSession, submission: Submission, actor: uuid.UUID | None, *, now: datetime | None = None
) -> None:
    """Build a failed (or stalled) version again, from scratch."""
    now = now or clock.utc_now()
    if not can_retry(submission, now):
        raise SubmissionError("Chỉ thử lại được lần nộp bị lỗi hoặc bị treo.", 409)
    before = submission.status
    try:
        async with db.begin_nested():
            submission.status = S.BUILDING.value
            submission.progress_done = 0
            submission.error = ""
            submission.updated_at = now
            await db.flush()
    except IntegrityError:
        raise SubmissionError("Đã có một lần nộp khác đang đóng gói hoặc đã nộp cho năm này.", 409) from None
    db.add(
        AuditEntry.by(
            submission.tenant_id,
            actor,
            "submission.retry",
            "submission",
            str(submission.id),
            before={"status": before},
            after={"status": S.BUILDING.value},
        )
    )
    await enqueue_build(db, submission)
    await db.flush()


async def withdraw(
    db: AsyncSession,
    province: Province,
    submission: Submission,
    actor: uuid.UUID | None,
    *,
    now: datetime | None = None,
) -> None:
    """Take a submitted package back before the deadline; the package is kept and stays downloadable."""
    now = now or clock.utc_now()
    if submission.status != S.SUBMITTED:
        raise SubmissionError("Chỉ rút được hồ sơ đã nộp.", 409)
    _check_deadline(year_calendar(province.settings, submission.year), now, "rút hồ sơ")
    submission.status = S.WITHDRAWN.value
    submission.withdrawn_at = now
    db.add(
        AuditEntry.by(
            submission.tenant_id,
            actor,
            "submission.withdraw",
            "submission",
            str(submission.id),
            before={"status": S.SUBMITTED.value},
            after={"status": S.WITHDRAWN.value},
        )
    )
    await db.flush()


def check_submittable(
    year: int, assessment: Assessment | None, live: Submission | None, calendar: YearCalendar | None, now: datetime
) -> Assessment:
    """The rule for submitting `year` at `now`, which the submission page shows before `submit` applies it: its
    approved `assessment`, or a SubmissionError saying why not (none or not approved, past the deadline, or the
    `live` version, building or submitted, 409)."""
    if assessment is None:
        raise SubmissionError(f"Chưa có bản tự đánh giá năm {year}.")
    if assessment.status != AssessmentStatus.APPROVED:
        raise SubmissionError("Bản tự đánh giá chưa được lãnh đạo duyệt: chỉ nộp được bản đã duyệt.")
    _check_deadline(calendar, now, "nộp hồ sơ")
    if live is not None:
        raise SubmissionError(_live_message(live), status=409)
    return assessment


def _check_deadline(calendar: YearCalendar | None, now: datetime, what: str) -> None:
    if calendar is not None and not calendar.submission_open(now):
        raise SubmissionError(f"Đã quá hạn nộp hồ sơ ({calendar.submission_deadline:%d/%m/%Y}): không {what} được nữa.")


def _live_message(live: Submission) -> str:
    if live.status == S.BUILDING:
        return f"Hồ sơ năm {live.year} đang được đóng gói (lần {live.version})."
    return f"Hồ sơ năm {live.year} đã nộp (lần {live.version}); rút hồ sơ trước nếu cần nộp lại."


async def enqueue_build(db: AsyncSession, submission: Submission) -> None:
    """Put the build job on pgqueuer through the session's own connection: it commits with the submission."""
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    queue = queries(AsyncpgDriver(raw.driver_connection))
    await queue.enqueue(BUILD_JOB, f"{submission.tenant_id}:{submission.id}".encode())


def parse_payload(payload: bytes | None) -> tuple[uuid.UUID, uuid.UUID]:
    tenant, _, submission = (payload or b"").decode().partition(":")
    return uuid.UUID(tenant), uuid.UUID(submission)


# --- the build ---------------------------------------------------------------------------------------------


@dataclass
class _Loaded:
    info: PackageInfo
    xlsx: bytes


async def _load_for_build(db: AsyncSession, submission: Submission) -> _Loaded:
    tenant = await db.get(Tenant, submission.tenant_id)
    assert tenant is not None
    province = await db.get(Province, tenant.province_id)
    assert province is not None
    assessment = await db.get(Assessment, submission.assessment_id)
    assert assessment is not None
    if assessment.status != AssessmentStatus.APPROVED:
        raise PackageError("Bản tự đánh giá không còn ở trạng thái đã duyệt (đã được mở lại).")
    loaded = await assessments.load(db, province, submission.year)
    assert loaded is not None
    criteria_set = await db.get(CriteriaSet, assessment.criteria_set_id)
    assert criteria_set is not None
    user = await db.get(User, submission.submitted_by) if submission.submitted_by else None
    files = await db.scalars(
        select(EvidenceFile)
        .where(
            EvidenceFile.year == submission.year,
            EvidenceFile.deleted_at.is_(None),
            EvidenceFile.request_id.is_(None),
        )
        .order_by(EvidenceFile.criterion_code, EvidenceFile.uploaded_at, EvidenceFile.id)
    )
    evidence = place_evidence(
        [
            EvidenceEntry(
                id=str(f.id),
                sha256=f.sha256,
                size=f.size,
                content_type=f.content_type,
                filename=f.filename,
                criterion_code=f.criterion_code,
                description=f.description,
                document_number=f.document_number,
                document_date=f.document_date,
                document_section=f.document_section,
            )
            for f in files
        ]
    )
    sheet = loaded.sheet
    result = tenant_result(sheet, submission.year, await publication(db, province, submission.year))
    info = PackageInfo(
        tenant_code=tenant.code,
        tenant_name=tenant.name,
        province_code=province.code,
        province_name=province.name,
        year=submission.year,
        criteria_set_id=str(criteria_set.id),
        criteria_set_version=criteria_set.version,
        total_max=sheet.total_max,
        total_score=sheet.total,
        adjustments=adjustment_lines(sheet),
        assessment_status=assessment.status,
        submission_id=str(submission.id),
        version=submission.version,
        submitted_by=(user.full_name or user.email) if user else "",
        submitted_at=submission.submitted_at,
        criteria=[
            CriterionEntry(
                code=r.code,
                title=r.node.title,
                max_points=r.max_points,
                self_score=r.score,
                explanation=(r.entry.explanation if r.entry else ""),
                remainder=r.remainder,
            )
            for r in sheet.rows()
        ],
        evidence=evidence,
    )
    xlsx = export_self_assessment(
        SelfAssessmentSheet(
            province=province.name,
            tenant=tenant.name,
            year=submission.year,
            status=STATUS_LABELS.get(assessment.status, ""),
            exported_on=vietnam_today(submission.submitted_at),
            rows=sheet_rows(sheet),
            total_max=sheet.applicable_max,  # what applies to the tenant
            total_score=sheet.total,
            index=result.index,
            result_class=result.result_class,
            adjustments=adjustment_lines(sheet),
        )
    )
    return _Loaded(info, xlsx)


def members_of(
    info: PackageInfo, xlsx: bytes, storage: Storage, templates_dir: Path
) -> tuple[list[Member], dict[str, Any]]:
    """The archive's entries in order, and the manifest they carry."""
    index = render_index(info, templates_dir).encode()
    generated = {INDEX: digest_of(index), info.xlsx_name: digest_of(xlsx)}
    data = manifest(info, generated)
    manifest_data = manifest_bytes(data)
    sums = "".join(
        [sums_line(digest_of(manifest_data)[0], MANIFEST)]
        + [sums_line(digest, path) for path, (digest, _) in generated.items()]
        + [sums_line(f.sha256, f.path) for f in info.evidence]
    ).encode()
    members = [
        Member(MANIFEST, manifest_data, compress=True),
        Member(SUMS, sums, compress=True),
        Member(INDEX, index, compress=True),
        Member(info.xlsx_name, xlsx),
    ]
    local = storage if isinstance(storage, LocalStorage) else None
    members += [
        Member(f.path, _opener(storage, f.sha256), size=f.size, local_file=local.path(f.sha256) if local else None)
        for f in info.evidence
    ]
    return members, data


def _opener(storage: Storage, sha256: str) -> Callable[[], AsyncIterator[bytes]]:
    def open_blob() -> AsyncIterator[bytes]:
        return storage.open(sha256)

    return open_blob


async def build_package(
    engine: AsyncEngine,
    storage: Storage,
    tenant_id: uuid.UUID,
    submission_id: uuid.UUID,
    *,
    templates_dir: Path,
    on_progress: Callable[[int], Any] | None = None,
) -> str:
    """Build and record one submission's package; returns its final status. Safe to run again."""
    sessions = create_session_maker(engine)
    async with sessions() as db:
        await bind_tenant(db, tenant_id)
        async with db.begin():
            submission = await get(db, submission_id)
            if submission is None or submission.status != S.BUILDING:
                return submission.status if submission is not None else "missing"
            loaded = await _load_for_build(db, submission)
            members, data = members_of(loaded.info, loaded.xlsx, storage, templates_dir)
            submission.progress_total = len(members)
            submission.progress_done = 0
            submission.updated_at = datetime.now(UTC)
    started = time.perf_counter()
    try:
        progress = Progress()
        stored = await storage.put(
            _reporting(zip_stream(members, progress), progress, sessions, tenant_id, submission_id, on_progress)
        )
    except Exception as exc:
        log.error("package build failed", submission=str(submission_id), error=str(exc))
        PACKAGES.labels("failed").inc()
        await _mark_failed(sessions, tenant_id, submission_id, str(exc))
        return S.FAILED.value
    async with sessions() as db:
        await bind_tenant(db, tenant_id)
        async with db.begin():
            result = await db.execute(
                update(Submission)
                .where(Submission.id == submission_id, Submission.status == S.BUILDING.value)
                .values(
                    status=S.SUBMITTED.value,
                    package_key=stored.sha256,
                    package_sha256=stored.sha256,
                    package_size=stored.size,
                    manifest=data,
                    progress_done=len(members),
                    built_at=datetime.now(UTC),
                    error="",
                    updated_at=datetime.now(UTC),
                )
            )
            if result.rowcount:  # type: ignore[attr-defined]
                PACKAGES.labels("built").inc()
                PACKAGE_SECONDS.observe(time.perf_counter() - started)
                db.add(
                    AuditEntry.by(
                        tenant_id,
                        None,
                        "submission.built",
                        "submission",
                        str(submission_id),
                        after={"package_sha256": stored.sha256, "package_size": stored.size},
                    )
                )
    return S.SUBMITTED.value if result.rowcount else "superseded"  # type: ignore[attr-defined]


async def _reporting(
    chunks: AsyncIterator[bytes],
    progress: Progress,
    sessions: Callable[[], AsyncSession],
    tenant_id: uuid.UUID,
    submission_id: uuid.UUID,
    on_progress: Callable[[int], Any] | None,
) -> AsyncIterator[bytes]:
    """Pass the archive through, committing progress every few files or every second (short transactions)."""
    reported = 0
    last = time.monotonic()
    async for chunk in chunks:
        yield chunk
        done = progress.done + 4  # the four generated entries come first
        if done != reported and (
            done - reported >= PROGRESS_EVERY_FILES or time.monotonic() - last >= PROGRESS_EVERY_SECONDS
        ):
            async with sessions() as db:
                await bind_tenant(db, tenant_id)
                async with db.begin():
                    await db.execute(
                        update(Submission)
                        .where(Submission.id == submission_id)
                        .values(progress_done=done, updated_at=datetime.now(UTC))
                    )
            reported, last = done, time.monotonic()
            if on_progress is not None:
                await on_progress(done)


async def _mark_failed(
    sessions: Callable[[], AsyncSession], tenant_id: uuid.UUID, submission_id: uuid.UUID, error: str
) -> None:
    async with sessions() as db:
        await bind_tenant(db, tenant_id)
        async with db.begin():
            await db.execute(
                update(Submission)
                .where(Submission.id == submission_id, Submission.status == S.BUILDING.value)
                .values(status=S.FAILED.value, error=error[:2000], updated_at=datetime.now(UTC))
            )
            db.add(
                AuditEntry.by(
                    tenant_id, None, "submission.failed", "submission", str(submission_id), after={"error": error[:500]}
                )
            )
