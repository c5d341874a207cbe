"""The inspectors' review (thẩm định) of the province's departments by its Sở Nội vụ, and the departments'
answers (giải trình).

Every review row lives in the reviewed department's tenant. The reviewer's session binds that department
(row-level security stays on), reads or writes, and binds back to the reviewer's own tenant; every change
is audited in the department and in the reviewer's tenant. Criteria may be assigned to another appraising
agency of the province (Sở Tư pháp for legal criteria …): that agency's reviewers see and decide only those.

Rounds: round 1 decisions; "chuyển vòng 2" carries over the decisions on criteria nobody asked about and
leaves the others to be decided again next to the department's answers. Finalising writes the year's
appraised result (per area, bonus, penalty, total, rank within the ranking group over the province's
published departments), which the dashboard, the history and the remedy-plan generator read.

This module reads (the calendar, crossing into a department, one department's review, the reviewer's list,
the appraised sheet, the department's requests); decisions.py holds the reviewer's and the department's
actions, publishing.py finalising and ranking.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Stream
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.auth.permissions import Permission
from backend.db.models import (
    Appraisal,
    AppraisalItem,
    AppraisalStatus,
    AppraisedResult,
    AuditEntry,
    EvidenceFile,
    EvidenceRequest,
    Province,
    Submission,
    SubmissionStatus,
    Tenant,
    TenantKind,
)
from backend.db.rls import acting_in
from backend.domain.admin.province import is_home_affairs
from backend.domain.assessments import services as assessments
from backend.domain.assessments.services import Loaded
from backend.domain.assessments.sheet import Entry, External, Row, Sheet, build_sheet
from backend.domain.evidence import services as evidence
from backend.domain.evidence.storage import Storage
from backend.domain.submissions.calendar import YearCalendar
from backend.domain.tenants.deps import Successor, TenantContext, archive_years, successors_of
from backend.domain.tenants.services import province_calendar
from backend.domain.tenants.years import ArchivedYear, archive_absence

MAX_TEXT = 4000
MAX_TYPED = 40
ZERO = Decimal(0)

SUBMISSION_LABELS = {
    SubmissionStatus.BUILDING.value: "Đang nộp",
    SubmissionStatus.FAILED.value: "Đóng gói lỗi",
    SubmissionStatus.SUBMITTED.value: "Đã nộp",
    SubmissionStatus.WITHDRAWN.value: "Đã rút",
    SubmissionStatus.RETURNED.value: "Trả lại",
}
APPRAISAL_LABELS = {
    AppraisalStatus.ROUND_1.value: "Đang thẩm định vòng 1",
    AppraisalStatus.ROUND_2.value: "Đang thẩm định vòng 2",
    AppraisalStatus.FINALISED.value: "Đã công bố",
}
REQUEST_LABELS = {"open": "Chờ giải trình", "answered": "Đã giải trình", "closed": "Đã đóng"}


class ReviewError(ValueError):
    """An action the review's state does not allow; the message is for the person."""


# ---- the province's calendar ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Calendar:
    """The dates the review needs from the province's calendar (none set: nothing locks by date)."""

    submission_deadline: date | None = None
    explanation_deadline: date | None = None
    year_calendar: YearCalendar | None = None

    def explanation_open(self, now: datetime) -> bool:
        return self.year_calendar is None or self.year_calendar.explanation_open(now)


def review_calendar(province: Province, year: int) -> Calendar:
    """The year's submission and explanation (giải trình) deadlines from the province's calendar."""
    calendar = province_calendar(province, year)
    if calendar is None:
        return Calendar()
    return Calendar(calendar.submission_deadline, calendar.explanation_deadline, calendar)


# ---- crossing into a department -------------------------------------------------------------------------


@asynccontextmanager
async def bound_to(db: AsyncSession, ctx: TenantContext, department: Tenant) -> AsyncIterator[None]:
    """The session bound to `department` for the block, then back to the reviewer's tenant (always): the review's
    crossing through `acting_in`, for a person who may appraise."""
    async with acting_in(db, ctx.tenant, department, ctx.principal, Permission.REVIEW_APPRAISE):
        yield


async def lock_review(db: AsyncSession, scope: str) -> None:
    """Serialise the review's writes on one department's year (or the province's ranking) until commit:
    two reviewers deciding at once take turns instead of colliding on the unique keys."""
    await db.execute(select(func.pg_advisory_xact_lock(func.hashtext("review"), func.hashtext(scope))))


async def departments_of(db: AsyncSession, province: Province) -> list[Tenant]:
    """The province's reviewed tenants (every active one except its Sở Nội vụ), by name."""
    return list(
        await db.scalars(
            select(Tenant)
            .where(Tenant.province_id == province.id, Tenant.is_active, Tenant.kind != TenantKind.HOME_AFFAIRS.value)
            .order_by(Tenant.name)
        )
    )


async def department(db: AsyncSession, ctx: TenantContext, code: str) -> Tenant | None:
    """A reviewed tenant of the reviewer's own province (None: no such department there)."""
    return await db.scalar(
        select(Tenant).where(
            Tenant.province_id == ctx.province.id,
            Tenant.code == code,
            Tenant.is_active,
            Tenant.kind != TenantKind.HOME_AFFAIRS.value,
        )
    )


async def reviewed_department(db: AsyncSession, ctx: TenantContext, code: str) -> Tenant:
    """`department`, 404 when there is none (or it is the reviewer's own tenant)."""
    dept = await department(db, ctx, code)
    if dept is None or dept.id == ctx.tenant.id:
        raise NotFoundException("Không có đơn vị này trong tỉnh.")
    return dept


async def visible_review(db: AsyncSession, ctx: TenantContext, dept: Tenant, year: int) -> Review:
    """`dept`'s review of `year`, 404 unless this reviewer sees some of it (the caller holds `bound_to` `dept`)."""
    review = await load_review(db, ctx.province, dept, year)
    if review is None:
        raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
    if not is_home_affairs(ctx) and not review.visible_to(ctx):
        raise NotFoundException("Không có tiêu chí nào của đơn vị này giao cho cơ quan của bạn thẩm định.")
    return review


async def review_and_archive(
    db: AsyncSession, ctx: TenantContext, dept: Tenant, year: int
) -> tuple[Review, ArchivedDepartment | None]:
    """`visible_review` and, for an archive, `archived_department` (the caller holds `bound_to` `dept`): what the
    review page and its API show of one department's year."""
    review = await visible_review(db, ctx, dept, year)
    return review, await archived_department(db, ctx.province, dept, year, has_review=review.started)


def visible_row(review: Review, ctx: TenantContext, key: str) -> ReviewRow:
    """The review's criterion `key`: 404 when the set has none, 403 when it is not this reviewer's agency's."""
    try:
        row = review.row(key)
    except KeyError:
        raise NotFoundException("Không có tiêu chí này trong bộ chỉ số.") from None
    if row not in review.visible_to(ctx):
        raise PermissionDeniedException("Tiêu chí này không giao cho cơ quan của bạn thẩm định.")
    return row


async def review_file(
    db: AsyncSession,
    ctx: TenantContext,
    storage: Storage,
    year: int,
    department_code: str,
    file_id: uuid.UUID,
    *,
    inline: bool,
) -> Stream:
    """A department's evidence file for its inspector (the review page shows it inline, the API downloads it): only
    a file of a criterion this reviewer sees (404 otherwise)."""
    dept = await reviewed_department(db, ctx, department_code)
    async with bound_to(db, ctx, dept):
        review = await visible_review(db, ctx, dept, year)
        visible = {f.id for r in review.visible_to(ctx) for f in r.all_files()}
        if file_id not in visible:
            raise NotFoundException("Không tìm thấy tệp kiểm chứng này.")
        return await evidence.stream_file(db, storage, file_id, inline=inline)


def actor_of(ctx: TenantContext) -> uuid.UUID | None:
    return ctx.principal.user_id


def audit_department(
    db: AsyncSession,
    ctx: TenantContext,
    dept: Tenant,
    action: str,
    entity: str,
    entity_id: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """An entry in the department reviewed (call while bound to it); `audit_home` writes the reviewer's own."""
    db.add(
        AuditEntry.by(
            dept.id,
            actor_of(ctx),
            action,
            entity,
            entity_id[:63],
            before=before,
            after={**(after or {}), "by_tenant": ctx.tenant.code},
        )
    )


def audit_home(db: AsyncSession, ctx: TenantContext, dept: Tenant, action: str, entity_id: str, **data: Any) -> None:
    """The matching entry in the reviewer's own tenant (call after binding back)."""
    db.add(
        AuditEntry.by(
            ctx.tenant.id,
            actor_of(ctx),
            action,
            "review",
            f"{dept.code}:{entity_id}"[:63],
            before=data.get("before"),
            after={**(data.get("after") or {}), "tenant": dept.code},
        )
    )


# ---- one department's review ----------------------------------------------------------------------------


def criterion_key(row: Row) -> str:
    """The key a decision is stored under: the code, or "1*" for an area's unlisted remainder."""
    return f"{row.code}*" if row.remainder else row.code


@dataclass
class ReviewRow:
    """One criterion the department scored itself, with what the reviewers decided and asked."""

    row: Row
    area: Row
    key: str
    items: dict[int, AppraisalItem] = field(default_factory=dict)  # round → decision
    requests: list[EvidenceRequest] = field(default_factory=list)  # oldest first
    files: list[EvidenceFile] = field(default_factory=list)  # the self-assessment's evidence
    answer_files: dict[uuid.UUID, list[EvidenceFile]] = field(default_factory=dict)  # request id → files

    def all_files(self) -> list[EvidenceFile]:
        return self.files + [f for files in self.answer_files.values() for f in files]

    @property
    def rid(self) -> str:
        return self.key.replace(".", "-").replace("*", "-con-lai")

    @property
    def title(self) -> str:
        return f"Các nội dung khác của {self.row.code}" if self.row.remainder else self.row.node.title

    @property
    def max_points(self) -> Decimal:
        return self.row.max_points

    @property
    def self_score(self) -> Decimal | None:
        return self.row.score

    @property
    def explanation(self) -> str:
        return self.row.entry.explanation if self.row.entry else ""

    @property
    def evidence_refs(self) -> str:
        return self.row.entry.evidence_refs if self.row.entry else ""

    def item(self, round_: int) -> AppraisalItem | None:
        return self.items.get(round_)

    def decided(self, round_: int) -> bool:
        item = self.items.get(round_)
        return item is not None and (item.accepted or item.points is not None)

    def appraised(self, round_: int) -> Decimal | None:
        item = self.items.get(round_)
        if item is None or not (item.accepted or item.points is not None):
            return None
        return item.points

    def agency_id(self, round_: int) -> uuid.UUID | None:
        item = self.items.get(round_)
        return item.agency_tenant_id if item is not None else None

    def open_requests(self) -> list[EvidenceRequest]:
        return [r for r in self.requests if r.status == "open"]

    def requests_in(self, round_: int) -> list[EvidenceRequest]:
        return [r for r in self.requests if r.round == round_]


@dataclass
class Review:
    department: Tenant
    year: int
    loaded: Loaded
    appraisal: Appraisal | None
    submission: Submission | None
    rows: list[ReviewRow]
    calendar: Calendar

    @property
    def round(self) -> int:
        return self.appraisal.round if self.appraisal is not None else 1

    @property
    def finalised(self) -> bool:
        return self.appraisal is not None and self.appraisal.status == AppraisalStatus.FINALISED.value

    @property
    def started(self) -> bool:
        """Whether the department sent a package of the year or an appraisal of it began."""
        return self.submission is not None or self.appraisal is not None

    @property
    def undecided(self) -> list[ReviewRow]:
        return [r for r in self.rows if not r.decided(self.round)]

    def row(self, key: str) -> ReviewRow:
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)

    @property
    def appraised(self) -> Sheet:
        """The sheet as appraised so far in this round (what finalising would publish once every row is decided)."""
        return appraised_sheet(self)

    def visible_to(self, ctx: TenantContext) -> list[ReviewRow]:
        """Every row for the Sở Nội vụ; only the rows assigned to it for another appraising agency."""
        if is_home_affairs(ctx):
            return self.rows
        return [r for r in self.rows if r.agency_id(self.round) == ctx.tenant.id]


async def latest_submission(db: AsyncSession, year: int) -> Submission | None:
    """The bound department's newest submission version of `year`."""
    return await db.scalar(select(Submission).where(Submission.year == year).order_by(Submission.version.desc()))


async def load_review(db: AsyncSession, province: Province, dept: Tenant, year: int) -> Review | None:
    """The department's review of `year` (call while bound to it); None: no criteria set that year."""
    loaded = await assessments.load(db, province, year)
    if loaded is None:
        return None
    appraisal = await db.scalar(select(Appraisal).where(Appraisal.year == year))
    rows: list[ReviewRow] = []
    by_key: dict[str, ReviewRow] = {}
    for area in loaded.sheet.areas:
        for row in area.walk():
            if row.editable:
                review_row = ReviewRow(row, area, criterion_key(row))
                rows.append(review_row)
                by_key[review_row.key] = review_row
    if appraisal is not None:
        for item in await db.scalars(select(AppraisalItem).where(AppraisalItem.appraisal_id == appraisal.id)):
            if item.criterion_code in by_key:
                by_key[item.criterion_code].items[item.round] = item
    for request in await db.scalars(
        select(EvidenceRequest).where(EvidenceRequest.year == year).order_by(EvidenceRequest.requested_at)
    ):
        if request.criterion_code in by_key:
            by_key[request.criterion_code].requests.append(request)
    # A remainder row's files may be filed under its node's code or its key; a task's files are the plan's.
    by_code: dict[str, list[ReviewRow]] = {}
    for review_row in rows:
        by_code.setdefault(review_row.row.code, []).append(review_row)
        if review_row.key != review_row.row.code:
            by_code.setdefault(review_row.key, []).append(review_row)
    for file in await db.scalars(
        select(EvidenceFile)
        .where(
            EvidenceFile.year == year,
            EvidenceFile.deleted_at.is_(None),
            EvidenceFile.criterion_code.is_not(None),
            EvidenceFile.task_id.is_(None),
        )
        .order_by(EvidenceFile.uploaded_at)
    ):
        for review_row in by_code.get(file.criterion_code or "", []):
            if file.request_id is not None:
                review_row.answer_files.setdefault(file.request_id, []).append(file)
            else:
                review_row.files.append(file)
    return Review(
        dept, year, loaded, appraisal, await latest_submission(db, year), rows, review_calendar(province, year)
    )


# ---- the reviewer's list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedDepartment:
    """What the review shows of an archived department (tenants/lineage.yaml): read-only, since when, where it
    went, and its published result of the year; `absent`, why it has nothing of the year (no package, appraisal or
    published result), in the sentence its own pages use."""

    archived_on: date
    successors: tuple[Successor, ...]
    published: AppraisedResult | None  # its published result of the year, if any
    absent: ArchivedYear | None = None


async def archived_department(
    db: AsyncSession, province: Province, dept: Tenant, year: int, *, has_review: bool = False
) -> ArchivedDepartment | None:
    """None for a department that is not an archive (call while bound to it). `has_review`: it has a package or an
    appraisal of `year` (else, without a published result either, `absent` says why)."""
    if dept.archived_on is None:
        return None
    successors = await successors_of(db, dept.id)
    published = await assessments.appraised_result(db, year)
    absent = None
    if not has_review and published is None:
        years = await archive_years(db, dept.id)
        cycle = years.cycle(province.settings, dept.archived_on)
        absent = archive_absence(dept, years, successors, cycle, year, section="review", has_record=False)
    return ArchivedDepartment(dept.archived_on, successors, published, absent)


@dataclass(frozen=True)
class DepartmentLine:
    department: Tenant
    submission: Submission | None
    appraisal: Appraisal | None
    criteria: int
    without_evidence: int
    open_requests: int
    assigned: int  # criteria assigned to the viewing agency (other agencies only)
    result: AppraisedResult | None = None  # the published result, once the appraisal is finalised
    archive: ArchivedDepartment | None = None  # an archive's successors and published result (tenants/lineage.yaml)

    @property
    def submission_label(self) -> str:
        if self.submission is None:
            return "Không có trên parboard" if self.department.archived_on else "Chưa nộp"
        label = SUBMISSION_LABELS.get(self.submission.status, self.submission.status)
        return f"{label} v{self.submission.version}" if self.submission.status == "submitted" else label

    @property
    def appraisal_label(self) -> str:
        if self.appraisal is None:
            if self.department.archived_on and self.result is not None:
                return "Đã công bố"
            return "Chưa thẩm định"
        return APPRAISAL_LABELS.get(self.appraisal.status, self.appraisal.status)


async def overview(db: AsyncSession, ctx: TenantContext, year: int) -> list[DepartmentLine]:
    """Every department of the reviewer's province with its submission, completeness and appraisal; for
    another appraising agency only the departments with criteria assigned to it."""
    lines = []
    for dept in await departments_of(db, ctx.province):
        if dept.id == ctx.tenant.id:
            continue
        async with bound_to(db, ctx, dept):
            review = await load_review(db, ctx.province, dept, year)
            if review is None:
                continue
            visible = review.visible_to(ctx)
            if not is_home_affairs(ctx) and not visible:
                continue
            archive = await archived_department(db, ctx.province, dept, year, has_review=review.started)
            result = archive.published if archive else None
            if review.finalised and archive is None:
                result = await assessments.appraised_result(db, year)
            if archive and archive.absent:
                continue  # a year an archive has nothing of (its successor's): not a department that failed to submit
            if archive and review.submission is None:
                visible = []  # an archive's year it sent no package of: nothing to count, nothing missing
            lines.append(
                DepartmentLine(
                    department=dept,
                    submission=review.submission,
                    appraisal=review.appraisal,
                    criteria=len(visible),
                    without_evidence=sum(1 for r in visible if not r.files),
                    open_requests=sum(len(r.open_requests()) for r in visible),
                    assigned=len(visible) if not is_home_affairs(ctx) else 0,
                    result=result,
                    archive=archive,
                )
            )
    return lines


# ---- finalising: the appraised sheet and the published result --------------------------------------------


def appraised_sheet(review: Review) -> Sheet:
    """The department's sheet with the current round's appraised points in place of its own."""
    sheet = review.loaded.sheet
    nodes = []
    externals: dict[uuid.UUID, External] = {}
    for row in sheet.rows():
        if row.remainder:
            continue
        nodes.append(row.node)
        if row.external is not None:
            externals[row.node.id] = row.external
    entries: dict[uuid.UUID, Entry] = {}
    for review_row in review.rows:
        item = review_row.item(review.round)
        points = review_row.appraised(review.round)
        entries[review_row.row.node.id] = Entry(points, {}, item.reason if item else "", "")
    skipped = {r.code: r.not_applicable for r in sheet.rows() if r.not_applicable is not None and not r.remainder}
    return build_sheet(
        nodes,
        entries,
        externals,
        sheet.total_max,
        not_applicable=skipped,
        bonus_cap=sheet.bonus_cap,
        penalty_cap=sheet.penalty_cap,
    )


# ---- the department's side: requests and answers ---------------------------------------------------------


@dataclass(frozen=True)
class DepartmentRequests:
    year: int
    requests: list[EvidenceRequest]
    calendar: Calendar
    titles: dict[str, str]

    @property
    def open(self) -> list[EvidenceRequest]:
        return [r for r in self.requests if r.status == "open"]

    @property
    def locked(self) -> bool:
        return not self.calendar.explanation_open(clock.utc_now())

    def for_code(self, code: str) -> list[EvidenceRequest]:
        return [r for r in self.requests if r.criterion_code == code]


async def department_requests(db: AsyncSession, ctx: TenantContext, year: int) -> DepartmentRequests:
    """The bound department's evidence requests of `year`, oldest first, with criteria titles."""
    requests = list(
        await db.scalars(
            select(EvidenceRequest).where(EvidenceRequest.year == year).order_by(EvidenceRequest.requested_at)
        )
    )
    titles: dict[str, str] = {}
    if requests:
        loaded = await assessments.load(db, ctx.province, year)
        if loaded is not None:
            for row in loaded.sheet.rows():
                if row.editable:
                    titles[criterion_key(row)] = (
                        f"Các nội dung khác của {row.code}" if row.remainder else row.node.title
                    )
    return DepartmentRequests(year, requests, review_calendar(ctx.province, year), titles)


async def open_request_count(db: AsyncSession, year: int) -> int:
    return (
        await db.scalar(
            select(func.count())
            .select_from(EvidenceRequest)
            .where(EvidenceRequest.year == year, EvidenceRequest.status == "open")
        )
        or 0
    )


# ---- for the remedy-plan generator -----------------------------------------------------------------------


@dataclass(frozen=True)
class AppraisedCriterion:
    points: Decimal
    reason: str


async def finalised_criteria(db: AsyncSession, year: int) -> dict[str, AppraisedCriterion] | None:
    """The bound department's finalised appraisal of `year`: criterion code → appraised points and reason
    (the final round's decisions); None when the year's appraisal is not finalised."""
    appraisal = await db.scalar(
        select(Appraisal).where(Appraisal.year == year, Appraisal.status == AppraisalStatus.FINALISED.value)
    )
    if appraisal is None:
        return None
    found: dict[str, AppraisedCriterion] = {}
    for item in await db.scalars(
        select(AppraisalItem).where(AppraisalItem.appraisal_id == appraisal.id, AppraisalItem.round == appraisal.round)
    ):
        if item.points is not None:
            found[item.criterion_code] = AppraisedCriterion(item.points, "" if item.accepted else item.reason)
    return found
