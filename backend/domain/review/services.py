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
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.db.models import (
    Appraisal,
    AppraisalItem,
    AppraisalStatus,
    AppraisedResult,
    AuditEntry,
    EvidenceFile,
    EvidenceRequest,
    Province,
    RankingGroup,
    Submission,
    SubmissionStatus,
    Tenant,
    TenantKind,
)
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.assessments.services import Loaded
from backend.domain.assessments.sheet import Entry, External, Row, Sheet, build_sheet
from backend.domain.scoring.index import published_results
from backend.domain.scoring.methods import POINTS_PLACES, ScoringError, parse_decimal, quantize
from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, SCORE_SCHEMA
from backend.domain.submissions.calendar import YearCalendar
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.services import province_calendar

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


def is_home_affairs(ctx: TenantContext) -> bool:
    return ctx.tenant.kind == TenantKind.HOME_AFFAIRS


@asynccontextmanager
async def bound_to(db: AsyncSession, ctx: TenantContext, department: Tenant) -> AsyncIterator[None]:
    """The session bound to `department` for the block, then back to the reviewer's tenant (always)."""
    await bind_tenant(db, department.id, ctx.principal.user_id)
    try:
        yield
    finally:
        await bind_tenant(db, ctx.tenant.id, ctx.principal.user_id)


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


def _actor(ctx: TenantContext) -> uuid.UUID | None:
    return ctx.principal.user_id


def _audit_department(
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
            _actor(ctx),
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
            _actor(ctx),
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
class DepartmentLine:
    department: Tenant
    submission: Submission | None
    appraisal: Appraisal | None
    criteria: int
    without_evidence: int
    open_requests: int
    assigned: int  # criteria assigned to the viewing agency (other agencies only)
    result: AppraisedResult | None = None  # the published result, once the appraisal is finalised

    @property
    def submission_label(self) -> str:
        if self.submission is None:
            return "Chưa nộp"
        label = SUBMISSION_LABELS.get(self.submission.status, self.submission.status)
        return f"{label} v{self.submission.version}" if self.submission.status == "submitted" else label

    @property
    def appraisal_label(self) -> str:
        if self.appraisal is None:
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
            result = None
            if review.finalised:
                result = await db.scalar(select(AppraisedResult).where(AppraisedResult.year == year))
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
                )
            )
    return lines


# ---- checking what the reviewer typed ---------------------------------------------------------------------


def parse_points(typed: str, max_points: Decimal) -> Decimal:
    """ "1,25" or "1.25" within [0, max], at most 3 decimals; ScoringError (Vietnamese) otherwise."""
    text = typed.strip()
    if not text:
        raise ScoringError("Nhập điểm thẩm định.")
    if len(text) > MAX_TYPED:
        raise ScoringError("Giá trị quá dài.")
    value = parse_decimal(text)
    if value < 0:
        raise ScoringError("Điểm thẩm định không được âm.")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > POINTS_PLACES:
        raise ScoringError(f"Điểm có tối đa {POINTS_PLACES} chữ số thập phân.")
    if value > max_points:
        raise ScoringError(f"Điểm {_vn(value)} vượt quá điểm tối đa {_vn(max_points)}.")
    return quantize(abs(value))


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").replace("\r\n", "\n").strip()


def _too_long(text: str) -> str | None:
    if len(text) > MAX_TEXT:
        return f"Tối đa {MAX_TEXT:,} ký tự (hiện có {len(text):,}).".replace(",", ".")
    return None


def _vn(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def _s(value: Decimal | None) -> str | None:
    return f"{value.normalize():f}" if value is not None else None


# ---- the reviewer's actions (each called while bound to the department) ---------------------------------


def _can_decide(ctx: TenantContext, review: Review, row: ReviewRow) -> None:
    if review.finalised:
        raise ReviewError("Kết quả thẩm định đã công bố: không sửa được nữa.")
    if review.submission is None or review.submission.status != SubmissionStatus.SUBMITTED.value:
        raise ReviewError("Đơn vị chưa nộp hồ sơ (hoặc hồ sơ đã rút, bị trả lại): chưa thẩm định được.")
    if not is_home_affairs(ctx) and row.agency_id(review.round) != ctx.tenant.id:
        raise PermissionError("Tiêu chí này không giao cho cơ quan của bạn thẩm định.")


async def _appraisal(db: AsyncSession, review: Review) -> Appraisal:
    if review.appraisal is None:
        review.appraisal = Appraisal(
            id=uuid.uuid4(),
            tenant_id=review.department.id,
            year=review.year,
            submission_id=review.submission.id if review.submission else None,
            status=AppraisalStatus.ROUND_1.value,
            round=1,
        )
        db.add(review.appraisal)
        await db.flush()
    elif review.submission is not None and review.appraisal.submission_id != review.submission.id:
        review.appraisal.submission_id = review.submission.id  # the corrected package after a return
    return review.appraisal


def _item(review: Review, appraisal: Appraisal, row: ReviewRow, db: AsyncSession) -> AppraisalItem:
    item = row.item(appraisal.round)
    if item is None:
        item = AppraisalItem(
            id=uuid.uuid4(),
            tenant_id=review.department.id,
            appraisal_id=appraisal.id,
            criterion_code=row.key,
            round=appraisal.round,
            accepted=False,
            points=None,
            reason="",
            signed_off=False,
            decided_at=datetime.now(UTC),
        )
        previous = row.item(appraisal.round - 1)
        if previous is not None:
            item.agency_tenant_id = previous.agency_tenant_id
        db.add(item)
        row.items[appraisal.round] = item
    return item


def _item_state(item: AppraisalItem | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {
        "accepted": item.accepted,
        "points": _s(item.points),
        "reason": item.reason,
        "signed_off": item.signed_off,
        "agency": str(item.agency_tenant_id) if item.agency_tenant_id else None,
    }


async def decide(
    db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow, form: Mapping[str, Any]
) -> dict[str, str]:
    """Accept the self-score, or set the appraised score with its mandatory reason, in the current round.
    Returns the errors per field (nothing written), or {} when saved."""
    _can_decide(ctx, review, row)
    errors: dict[str, str] = {}
    choice = str(form.get("decision") or "")
    reason = _text(form, "reason")
    if (message := _too_long(reason)) is not None:
        errors["reason"] = message
    points: Decimal | None = None
    if choice == "accept":
        if row.self_score is None:
            errors["decision"] = "Đơn vị chưa tự chấm tiêu chí này: nhập điểm thẩm định và lý do."
        points = row.self_score
    elif choice == "score":
        try:
            points = parse_points(str(form.get("points") or ""), row.max_points)
        except ScoringError as exc:
            errors["points"] = str(exc)
        if not reason:
            errors.setdefault("reason", "Cần ghi lý do cho điểm thẩm định.")
    else:
        errors["decision"] = "Chọn giữ điểm tự chấm hoặc nhập điểm thẩm định."
    if errors:
        return errors
    appraisal = await _appraisal(db, review)
    before = _item_state(row.item(appraisal.round))
    item = _item(review, appraisal, row, db)
    item.accepted = choice == "accept"
    item.points = points
    item.reason = reason
    item.signed_off = False  # a changed decision needs a new sign-off
    item.decided_by = _actor(ctx)
    item.decided_at = datetime.now(UTC)
    after = _item_state(item)
    entity_id = f"{review.year}:{row.key}:v{appraisal.round}"
    _audit_department(
        db, ctx, review.department, "review.decide", "appraisal-item", entity_id, before=before, after=after
    )
    await db.flush()
    return {}


async def sign_off(db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow) -> None:
    """The reviewer signs off (or withdraws the sign-off of) the current round's decision on a criterion."""
    _can_decide(ctx, review, row)
    item = row.item(review.round)
    if item is None or not row.decided(review.round):
        raise ReviewError("Chưa có quyết định điểm ở vòng này để ký duyệt.")
    item.signed_off = not item.signed_off
    entity_id = f"{review.year}:{row.key}:v{review.round}"
    _audit_department(
        db,
        ctx,
        review.department,
        "review.sign-off",
        "appraisal-item",
        entity_id,
        after={"signed_off": item.signed_off},
    )
    await db.flush()


async def request_evidence(
    db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow, form: Mapping[str, Any]
) -> dict[str, str]:
    """Ask the department for more evidence on a criterion (a new request row each time)."""
    _can_decide(ctx, review, row)
    message = _text(form, "message")
    if not message:
        return {"message": "Nhập nội dung yêu cầu bổ sung tài liệu."}
    if (error := _too_long(message)) is not None:
        return {"message": error}
    appraisal = await _appraisal(db, review)
    request = EvidenceRequest(
        id=uuid.uuid4(),
        tenant_id=review.department.id,
        year=review.year,
        criterion_code=row.key,
        round=appraisal.round,
        message=message,
        status="open",
        requested_by=_actor(ctx),
        requested_at=datetime.now(UTC),
        answer="",
    )
    db.add(request)
    row.requests.append(request)
    _audit_department(
        db,
        ctx,
        review.department,
        "review.request",
        "evidence-request",
        str(request.id),
        after={"criterion": row.key, "round": appraisal.round, "message": message},
    )
    await db.flush()
    return {}


async def assign(db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow, agency: Tenant | None) -> None:
    """Assign a criterion to another appraising agency's reviewers (None: back to the Sở Nội vụ)."""
    if not is_home_affairs(ctx):
        raise PermissionError("Chỉ Sở Nội vụ giao tiêu chí cho cơ quan khác thẩm định.")
    _can_decide(ctx, review, row)
    appraisal = await _appraisal(db, review)
    before = _item_state(row.item(appraisal.round))
    item = _item(review, appraisal, row, db)
    item.agency_tenant_id = agency.id if agency is not None else None
    entity_id = f"{review.year}:{row.key}:v{appraisal.round}"
    after = {"agency": agency.code if agency is not None else None}
    _audit_department(
        db, ctx, review.department, "review.assign", "appraisal-item", entity_id, before=before, after=after
    )
    await db.flush()


def _home_affairs_step(ctx: TenantContext, review: Review) -> Appraisal:
    if not is_home_affairs(ctx):
        raise PermissionError("Chỉ Sở Nội vụ thực hiện bước này.")
    if review.finalised:
        raise ReviewError("Kết quả thẩm định đã công bố.")
    if review.submission is None or review.submission.status != SubmissionStatus.SUBMITTED.value:
        raise ReviewError("Đơn vị chưa nộp hồ sơ (hoặc hồ sơ đã rút, bị trả lại).")
    if review.appraisal is None:
        raise ReviewError("Chưa có quyết định nào ở vòng 1.")
    return review.appraisal


async def to_round_2(db: AsyncSession, ctx: TenantContext, review: Review) -> None:
    """Move to round 2: decisions on criteria without a request carry over; the others are decided again
    next to the department's answers."""
    appraisal = _home_affairs_step(ctx, review)
    if appraisal.round != 1:
        raise ReviewError("Đã ở vòng 2.")
    appraisal.round = 2
    appraisal.status = AppraisalStatus.ROUND_2.value
    carried = 0
    for row in review.rows:
        first = row.item(1)
        if first is None:
            continue
        asked = bool(row.requests_in(1))
        item = AppraisalItem(
            id=uuid.uuid4(),
            tenant_id=review.department.id,
            appraisal_id=appraisal.id,
            criterion_code=row.key,
            round=2,
            accepted=first.accepted and not asked,
            points=None if asked else first.points,
            reason="" if asked else first.reason,
            agency_tenant_id=first.agency_tenant_id,
            signed_off=False,
            decided_by=first.decided_by,
            decided_at=datetime.now(UTC),
        )
        db.add(item)
        row.items[2] = item
        carried += 0 if asked else 1
    _audit_department(
        db, ctx, review.department, "review.round-2", "appraisal", str(review.year), after={"carried_over": carried}
    )
    await db.flush()


async def return_submission(db: AsyncSession, ctx: TenantContext, review: Review, form: Mapping[str, Any]) -> None:
    """Send the submitted package back to the department for a corrected one (the old package is kept)."""
    if not is_home_affairs(ctx):
        raise PermissionError("Chỉ Sở Nội vụ trả lại hồ sơ.")
    if review.finalised:
        raise ReviewError("Kết quả thẩm định đã công bố.")
    submission = review.submission
    if submission is None or submission.status != SubmissionStatus.SUBMITTED.value:
        raise ReviewError("Không có hồ sơ đã nộp để trả lại.")
    reason = _text(form, "reason")
    if not reason:
        raise ReviewError("Cần ghi lý do trả lại hồ sơ.")
    if (error := _too_long(reason)) is not None:
        raise ReviewError(error)
    submission.status = SubmissionStatus.RETURNED.value
    submission.error = reason
    _audit_department(
        db,
        ctx,
        review.department,
        "review.return",
        "submission",
        f"{review.year}:v{submission.version}",
        before={"status": SubmissionStatus.SUBMITTED.value},
        after={"status": SubmissionStatus.RETURNED.value, "reason": reason},
    )
    await db.flush()


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


def _area_key(title: str, code: str, known: Mapping[str, str]) -> str:
    """The key the history uses for an area of this title (so the years line up), else the area's code."""
    return known.get(" ".join(title.casefold().split()), code)


async def finalise(db: AsyncSession, ctx: TenantContext, review: Review) -> AppraisedResult:
    """Publish the appraised scores as the year's result (replacing an imported one), then rank the
    province's published departments of the year within their groups. Call while bound to the department."""
    appraisal = _home_affairs_step(ctx, review)
    if review.undecided:
        codes = ", ".join(r.key for r in review.undecided[:10])
        more = "…" if len(review.undecided) > 10 else ""
        raise ReviewError(
            f"Còn {len(review.undecided)} tiêu chí chưa có quyết định ở vòng {review.round}: {codes}{more}"
        )
    missing = [
        r.code
        for r in review.loaded.sheet.rows()
        if r.by_province and not r.children and r.external is None and r.not_applicable is None
    ]
    if missing:
        raise ReviewError(f"Sở Nội vụ chưa nhập điểm khảo sát, chỉ số: {', '.join(missing)}.")
    sheet = appraised_sheet(review)
    known: dict[str, str] = {}
    for past in await db.scalars(select(AppraisedResult).where(AppraisedResult.year != review.year)):
        for key, area in past.areas.items():
            known.setdefault(" ".join(str(area.get("name", "")).casefold().split()), key)
    areas = {
        _area_key(area.node.title, area.code, known): {
            "name": area.node.title,
            "achieved": str(quantize(area.score or ZERO)),
            "max": str(quantize(area.applicable_max)),  # without what does not apply to the department
            "merged_into": None,
        }
        for area in sheet.areas
        if area.node.kind in {"criterion", "survey"} and area.applicable_max > 0  # an area that applies
    }
    result = await db.scalar(select(AppraisedResult).where(AppraisedResult.year == review.year))
    before = None
    if result is None:
        result = AppraisedResult(id=uuid.uuid4(), tenant_id=review.department.id, year=review.year)
        db.add(result)
    else:
        before = {"total": _s(result.total), "source": result.source}
    result.areas = areas
    result.bonus = quantize(sheet.bonus)
    result.penalty = quantize(sheet.penalty)
    result.total = sheet.total
    result.source = f"Thẩm định vòng {appraisal.round}"
    appraisal.status = AppraisalStatus.FINALISED.value
    appraisal.finalised_at = datetime.now(UTC)
    appraisal.finalised_by = _actor(ctx)
    after = {
        "total": _s(result.total),
        "bonus": _s(result.bonus),
        "penalty": _s(result.penalty),
        "round": appraisal.round,
        "areas": {k: v["achieved"] for k, v in areas.items()},
    }
    _audit_department(
        db, ctx, review.department, "review.finalise", "appraisal", str(review.year), before=before, after=after
    )
    await db.flush()
    return result


async def rank_province(db: AsyncSession, ctx: TenantContext, year: int) -> dict[str, tuple[int, int]]:
    """Rank the results of the province's departments whose `year` appraisal is finalised, within their
    ranking groups (as the province's ranking does), and store each rank in its department. Results imported
    from published history are left as published (their ranks count departments not in the app).
    Returns tenant code → (rank, of)."""
    groups = {
        g.id: g.code for g in await db.scalars(select(RankingGroup).where(RankingGroup.province_id == ctx.province.id))
    }
    found: dict[str, tuple[Tenant, AppraisedResult]] = {}
    scores: list[dict[str, object]] = []
    adjustments: list[dict[str, object]] = []
    for dept in await departments_of(db, ctx.province):
        async with bound_to(db, ctx, dept):
            finalised = await db.scalar(
                select(Appraisal.id).where(Appraisal.year == year, Appraisal.status == AppraisalStatus.FINALISED.value)
            )
            result = await db.scalar(select(AppraisedResult).where(AppraisedResult.year == year))
        if finalised is None or result is None:
            continue
        found[dept.code] = (dept, result)
        group = groups.get(dept.ranking_group_id, "") if dept.ranking_group_id else ""
        for key, area in result.areas.items():
            scores.append(
                {
                    "tenant": dept.code,
                    "group": group or "-",
                    "year": year,
                    "area": key,
                    "criterion": key,
                    "achieved": Decimal(str(area["achieved"])),
                    "max": Decimal(str(area["max"])),
                }
            )
        adjustments.append({"tenant": dept.code, "year": year, "bonus": result.bonus, "penalty": result.penalty})
    if not scores:
        return {}
    # by the index of each department's applicable maximum, as provinces publish (ties share a rank)
    ranked = published_results(
        pl.DataFrame(scores, schema=SCORE_SCHEMA), year, pl.DataFrame(adjustments, schema=ADJUSTMENT_SCHEMA)
    ).filter(pl.col("rank").is_not_null())
    ranks: dict[str, tuple[int, int]] = {}
    for line in ranked.iter_rows(named=True):
        dept, result = found[line["tenant"]]
        ranks[dept.code] = (int(line["rank"]), int(line["of"]))
        if (result.rank, result.rank_of) == ranks[dept.code]:
            continue
        async with bound_to(db, ctx, dept):
            result.rank, result.rank_of = ranks[dept.code]
            await db.flush()
    return ranks


async def published_total(db: AsyncSession, year: int) -> Decimal | None:
    """The bound department's published total of `year`, if any."""
    return await db.scalar(select(AppraisedResult.total).where(AppraisedResult.year == year))


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


async def answer(
    db: AsyncSession, ctx: TenantContext, requests: DepartmentRequests, request_id: uuid.UUID, form: Mapping[str, Any]
) -> dict[str, str]:
    """The department's answer (giải trình) to one open request, before the explanation deadline. An answered
    request is never edited: a further exchange is a new request."""
    request = next((r for r in requests.requests if r.id == request_id), None)
    if request is None:
        raise LookupError("Không tìm thấy yêu cầu này.")
    if request.status != "open":
        return {"answer": "Yêu cầu này đã được giải trình: mỗi lần trao đổi được giữ nguyên, không sửa lại."}
    if requests.locked:
        deadline = requests.calendar.explanation_deadline
        assert deadline is not None
        return {"answer": f"Đã quá hạn giải trình ({deadline:%d/%m/%Y}): không gửi giải trình được nữa."}
    text = _text(form, "answer")
    if not text:
        return {"answer": "Nhập nội dung giải trình."}
    if (error := _too_long(text)) is not None:
        return {"answer": error}
    request.status = "answered"
    request.answer = text
    request.answered_by = _actor(ctx)
    request.answered_at = datetime.now(UTC)
    db.add(
        AuditEntry.by(
            ctx.tenant.id,
            _actor(ctx),
            "review.answer",
            "evidence-request",
            str(request.id),
            before={"status": "open"},
            after={"status": "answered", "criterion": request.criterion_code, "answer": text},
        )
    )
    await db.flush()
    return {}


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
