"""The inspectors' review: the actions. The reviewer's decisions on a criterion (points, sign-off, a request for
evidence, the appraising agency), the move to round 2 and the return of a submission, each called while bound
to the department and audited on both sides; and the department's answer to a request."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Appraisal,
    AppraisalItem,
    AppraisalStatus,
    AuditEntry,
    EvidenceRequest,
    SubmissionStatus,
    Tenant,
)
from backend.domain.admin.province import is_home_affairs
from backend.domain.review.services import (
    MAX_TEXT,
    MAX_TYPED,
    DepartmentRequests,
    Review,
    ReviewError,
    ReviewRow,
    actor_of,
    audit_department,
    audit_home,
    bound_to,
    department,
    lock_review,
    visible_review,
    visible_row,
)
from backend.domain.scoring.methods import POINTS_PLACES, ScoringError, parse_decimal, quantize
from backend.domain.tenants.deps import TenantContext, ensure_writable

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


def audit_value(value: Decimal | None) -> str | None:
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
        "points": audit_value(item.points),
        "reason": item.reason,
        "signed_off": item.signed_off,
        "agency": str(item.agency_tenant_id) if item.agency_tenant_id else None,
    }


async def decide(
    db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow, form: Mapping[str, Any]
) -> dict[str, str]:
    """Accept the self-score, or set the appraised score with its mandatory reason, in the current round.
    Returns the errors per field (nothing written), or {} when saved."""
    await ensure_writable(db, review.department)
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
    item.decided_by = actor_of(ctx)
    item.decided_at = datetime.now(UTC)
    after = _item_state(item)
    entity_id = f"{review.year}:{row.key}:v{appraisal.round}"
    audit_department(
        db, ctx, review.department, "review.decide", "appraisal-item", entity_id, before=before, after=after
    )
    await db.flush()
    return {}


async def sign_off(db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow) -> None:
    """The reviewer signs off (or withdraws the sign-off of) the current round's decision on a criterion."""
    await ensure_writable(db, review.department)
    _can_decide(ctx, review, row)
    item = row.item(review.round)
    if item is None or not row.decided(review.round):
        raise ReviewError("Chưa có quyết định điểm ở vòng này để ký duyệt.")
    item.signed_off = not item.signed_off
    entity_id = f"{review.year}:{row.key}:v{review.round}"
    audit_department(
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
    await ensure_writable(db, review.department)
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
        requested_by=actor_of(ctx),
        requested_at=datetime.now(UTC),
        answer="",
    )
    db.add(request)
    row.requests.append(request)
    audit_department(
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
    await ensure_writable(db, review.department)
    _can_decide(ctx, review, row)
    appraisal = await _appraisal(db, review)
    before = _item_state(row.item(appraisal.round))
    item = _item(review, appraisal, row, db)
    item.agency_tenant_id = agency.id if agency is not None else None
    entity_id = f"{review.year}:{row.key}:v{appraisal.round}"
    after = {"agency": agency.code if agency is not None else None}
    audit_department(
        db, ctx, review.department, "review.assign", "appraisal-item", entity_id, before=before, after=after
    )
    await db.flush()


AGENCY_REFUSED = "Chọn một cơ quan của tỉnh (không phải chính đơn vị được thẩm định)."


async def assign_to(
    db: AsyncSession, ctx: TenantContext, review: Review, row: ReviewRow, agency_code: str
) -> dict[str, str]:
    """Assign a criterion to the agency of the province with this code ("": back to the Sở Nội vụ); the errors by
    field (nothing written) when the code is no agency of the province or the reviewed department itself."""
    agency = None
    if agency_code:
        agency = await department(db, ctx, agency_code)
        if agency is None or agency.id == review.department.id:
            return {"agency": AGENCY_REFUSED}
    await assign(db, ctx, review, row, agency)
    return {}


def home_affairs_step(ctx: TenantContext, review: Review) -> Appraisal:
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
    await ensure_writable(db, review.department)
    appraisal = home_affairs_step(ctx, review)
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
    audit_department(
        db, ctx, review.department, "review.round-2", "appraisal", str(review.year), after={"carried_over": carried}
    )
    await db.flush()


async def return_submission(db: AsyncSession, ctx: TenantContext, review: Review, form: Mapping[str, Any]) -> None:
    """Send the submitted package back to the department for a corrected one (the old package is kept)."""
    if not is_home_affairs(ctx):
        raise PermissionError("Chỉ Sở Nội vụ trả lại hồ sơ.")
    await ensure_writable(db, review.department)
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
    audit_department(
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


async def answer(
    db: AsyncSession, ctx: TenantContext, requests: DepartmentRequests, request_id: uuid.UUID, form: Mapping[str, Any]
) -> dict[str, str]:
    """The department's answer (giải trình) to one open request, before the explanation deadline. An answered
    request is never edited: a further exchange is a new request."""
    await ensure_writable(db, ctx.tenant)
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
    request.answered_by = actor_of(ctx)
    request.answered_at = datetime.now(UTC)
    db.add(
        AuditEntry.by(
            ctx.tenant.id,
            actor_of(ctx),
            "review.answer",
            "evidence-request",
            str(request.id),
            before={"status": "open"},
            after={"status": "answered", "criterion": request.criterion_code, "answer": text},
        )
    )
    await db.flush()
    return {}


async def act_on_criterion(
    db: AsyncSession, ctx: TenantContext, dept: Tenant, year: int, key: str, action: str, form: Mapping[str, Any]
) -> dict[str, str]:
    """One decision on the criterion `key` of `dept`'s review of `year` (`action`: decide, request, assign or
    sign-off), under the review's lock, and its audit entry in the reviewer's tenant. The form's refusals by field
    (then nothing is saved); raises PermissionError or ReviewError when the decision cannot be taken."""
    await lock_review(db, f"{dept.id}:{year}")
    errors: dict[str, str] = {}
    async with bound_to(db, ctx, dept):
        review = await visible_review(db, ctx, dept, year)
        row = visible_row(review, ctx, key)
        if action == "decide":
            errors = await decide(db, ctx, review, row, form)
        elif action == "request":
            errors = await request_evidence(db, ctx, review, row, form)
        elif action == "assign":
            errors = await assign_to(db, ctx, review, row, str(form.get("agency") or ""))
        else:
            await sign_off(db, ctx, review, row)
    if not errors:
        audit_home(db, ctx, dept, f"review.{action}", f"{year}:{key}", after={"criterion": key})
        await db.flush()
    return errors
