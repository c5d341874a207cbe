"""A department's self-assessment in the database: start it, save a row, move it through its workflow.

Every write checks the workflow (only a draft is edited; an approved one is locked, and the database
refuses it too), runs inside the request's transaction with the tenant bound, and leaves an audit entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    AppraisedResult,
    Assessment,
    AssessmentItem,
    AssessmentStatus,
    AuditEntry,
    CriteriaSet,
    Criterion,
    ExternalScore,
    Province,
    Tenant,
)
from backend.domain.assessments.sheet import Entry, External, Node, Row, RowInput, Sheet, build_sheet, parse_row
from backend.domain.evidence.services import year_submitted

STATUS_LABELS = {
    AssessmentStatus.DRAFT.value: "Dự thảo",
    AssessmentStatus.READY.value: "Chờ lãnh đạo duyệt",
    AssessmentStatus.APPROVED.value: "Đã duyệt",
}


class WorkflowError(ValueError):
    """A change the assessment's state does not allow; the message is for the person."""


class StaleRow(ValueError):
    """The row was saved by someone else since its form was opened; nothing was saved, the message is for the
    person, who gets the fresh row."""


@dataclass(frozen=True)
class Transition:
    action: str
    source: tuple[str, ...]
    target: str
    permission: str  # a Permission value
    label: str
    needs_reason: bool = False


S = AssessmentStatus
TRANSITIONS = {
    t.action: t
    for t in (
        Transition("gui-duyet", (S.DRAFT,), S.READY, "assessment.edit", "Gửi lãnh đạo duyệt"),
        Transition("rut-lai", (S.READY,), S.DRAFT, "assessment.edit", "Rút về dự thảo"),
        Transition("tra-lai", (S.READY,), S.DRAFT, "assessment.approve", "Trả lại để sửa", needs_reason=True),
        Transition("duyet", (S.READY,), S.APPROVED, "assessment.approve", "Duyệt"),
        Transition("mo-lai", (S.APPROVED,), S.DRAFT, "assessment.approve", "Mở lại để sửa", needs_reason=True),
    )
}


@dataclass
class Loaded:
    assessment: Assessment | None
    criteria_set: CriteriaSet
    sheet: Sheet
    versions: dict[uuid.UUID, int] = field(default_factory=dict)  # criterion id → its row's version (absent: 0)


async def criteria_years(db: AsyncSession, province: Province) -> list[int]:
    rows = await db.scalars(
        select(CriteriaSet.year).where(CriteriaSet.province_id == province.id).distinct().order_by(CriteriaSet.year)
    )
    return list(rows)


async def latest_set(db: AsyncSession, province: Province, year: int) -> CriteriaSet | None:
    return await db.scalar(
        select(CriteriaSet)
        .where(CriteriaSet.province_id == province.id, CriteriaSet.year == year)
        .order_by(CriteriaSet.version.desc())
        .limit(1)
    )


async def nodes_of(db: AsyncSession, criteria_set_id: uuid.UUID) -> list[Node]:
    rows = await db.scalars(
        select(Criterion)
        .where(Criterion.criteria_set_id == criteria_set_id)
        .order_by(Criterion.depth, Criterion.position)
    )
    return [
        Node(
            id=c.id,
            code=c.code,
            parent_id=c.parent_id,
            depth=c.depth,
            position=c.position,
            title=c.title,
            max_points=c.max_points,
            kind=c.kind,
            method=c.method,
            evidence=c.evidence,
            lead_unit=c.lead_unit,
            appraising_agency=c.appraising_agency,
        )
        for c in rows
    ]


async def load(db: AsyncSession, province: Province, year: int) -> Loaded | None:
    """The tenant's assessment for `year` (bound by row-level security) as a scored sheet; None: no criteria set."""
    assessment = await db.scalar(select(Assessment).where(Assessment.year == year))
    criteria_set = (
        await db.get(CriteriaSet, assessment.criteria_set_id)
        if assessment is not None
        else await latest_set(db, province, year)
    )
    if criteria_set is None:
        return None
    nodes = await nodes_of(db, criteria_set.id)
    entries: dict[uuid.UUID, Entry] = {}
    versions: dict[uuid.UUID, int] = {}
    if assessment is not None:
        for item in await db.scalars(select(AssessmentItem).where(AssessmentItem.assessment_id == assessment.id)):
            entries[item.criterion_id] = Entry(item.points, dict(item.inputs), item.explanation, item.evidence_refs)
            versions[item.criterion_id] = item.version
    # Matched by code across the year's versions (newest wins): scores the Sở Nội vụ entered against a
    # newer version still reach an assessment made on an older one.
    entered = await db.execute(
        select(ExternalScore, Criterion.code)
        .join(Criterion, Criterion.id == ExternalScore.criterion_id)
        .join(CriteriaSet, CriteriaSet.id == Criterion.criteria_set_id)
        .where(CriteriaSet.province_id == criteria_set.province_id, CriteriaSet.year == criteria_set.year)
        .order_by(CriteriaSet.version)
    )
    by_code = {code: External(score.points, score.value) for score, code in entered}
    externals = {n.id: by_code[n.code] for n in nodes if n.code in by_code}
    return Loaded(assessment, criteria_set, build_sheet(nodes, entries, externals, criteria_set.total_max), versions)


async def start(db: AsyncSession, tenant: Tenant, province: Province, year: int, actor: uuid.UUID | None) -> Assessment:
    """Begin the year's self-assessment on the newest criteria set version (idempotent)."""
    existing = await db.scalar(select(Assessment).where(Assessment.year == year))
    if existing is not None:
        return existing
    criteria_set = await latest_set(db, province, year)
    if criteria_set is None:
        raise WorkflowError(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
    assessment = Assessment(
        id=uuid.uuid4(), tenant_id=tenant.id, criteria_set_id=criteria_set.id, year=year, status=S.DRAFT.value
    )
    db.add(assessment)
    db.add(_audit(tenant, actor, "assessment.start", str(year), after={"criteria_set_version": criteria_set.version}))
    await db.flush()
    return assessment


async def save_row(
    db: AsyncSession,
    tenant: Tenant,
    loaded: Loaded,
    row: Row,
    form: dict[str, Any],
    actor: uuid.UUID | None,
    *,
    locked: str | None = None,
) -> RowInput:
    """Check and store one row; on any error nothing is written and the errors say why, per field.
    `locked`: why the province's calendar no longer allows editing (None: it does). The form's `version` must
    be the row's (0 for a row never saved): otherwise `StaleRow`, and nothing is written."""
    assessment = loaded.assessment
    parsed = parse_row(row, form)
    if locked:
        parsed.errors.setdefault("points", locked)
    elif assessment is None:
        parsed.errors.setdefault("points", "Chưa bắt đầu tự đánh giá năm này.")
    elif assessment.status != S.DRAFT.value:
        parsed.errors.setdefault("points", _locked_message(assessment.status))
    if parsed.errors:
        return parsed
    assert assessment is not None
    version = _form_version(form)
    # The row's lock, taken before its version is compared: of two saves from one version, the second waits
    # for the first and then finds the version it bumped.
    item = await db.scalar(
        select(AssessmentItem)
        .where(AssessmentItem.assessment_id == assessment.id, AssessmentItem.criterion_id == row.node.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if item is None:
        if version != 0:
            raise StaleRow(_stale_message(row))
        # A first save inserts the row; of two first saves at once the second finds the first's (ON CONFLICT
        # waits for it) and is stale like any other.
        created = await db.scalar(
            insert(AssessmentItem)
            .values(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                assessment_id=assessment.id,
                criterion_id=row.node.id,
                inputs={},
                explanation="",
                evidence_refs="",
                version=0,
            )
            .on_conflict_do_nothing(index_elements=["assessment_id", "criterion_id"])
            .returning(AssessmentItem.id)
        )
        if created is None:
            raise StaleRow(_stale_message(row))
        item = await db.get_one(AssessmentItem, created)
        before = None
    else:
        if item.version != version:
            raise StaleRow(_stale_message(row))
        before = _item_state(item)
    item.version += 1
    item.points = parsed.points
    item.inputs = parsed.inputs
    item.explanation = parsed.explanation
    item.evidence_refs = parsed.evidence_refs
    item.updated_by = actor
    after = _item_state(item)
    if before != after:
        await db.execute(
            update(Assessment).where(Assessment.id == assessment.id).values(revision=Assessment.revision + 1)
        )
        db.add(_audit(tenant, actor, "assessment.row", f"{assessment.year}:{row.code}", before=before, after=after))
    await db.flush()
    return parsed


async def transition(
    db: AsyncSession,
    tenant: Tenant,
    loaded: Loaded,
    action: str,
    reason: str,
    actor: uuid.UUID | None,
    allowed: set[str],
) -> Assessment:
    """Move the assessment; `allowed` is the set of permission values the person holds here."""
    assessment = loaded.assessment
    step = TRANSITIONS.get(action)
    if step is None:
        raise WorkflowError("Thao tác không hợp lệ.")
    if step.permission not in allowed:
        raise PermissionError("Bạn không có quyền thực hiện thao tác này.")
    if assessment is None or assessment.status not in step.source:
        raise WorkflowError(
            f"Không thể “{step.label.lower()}” khi bản tự đánh giá đang ở trạng thái "
            f"“{STATUS_LABELS.get(assessment.status if assessment else '', 'chưa bắt đầu')}”."
        )
    reason = reason.strip()
    if step.needs_reason and not reason:
        raise WorkflowError("Cần ghi lý do.")
    if len(reason) > 2000:
        raise WorkflowError("Lý do tối đa 2.000 ký tự.")
    if step.target == S.READY and loaded.sheet.to_enter:
        raise WorkflowError(f"Còn {loaded.sheet.to_enter} tiêu chí chưa chấm điểm.")
    # A submission freezes what it packaged: while one is live the assessment stays as submitted.
    if assessment.status == S.APPROVED and await year_submitted(db, assessment.year):
        raise WorkflowError("Bản tự đánh giá đã nộp Sở Nội vụ: rút bản nộp trước khi mở lại để sửa.")
    before = assessment.status
    assessment.status = step.target
    assessment.revision += 1
    if step.target == S.APPROVED:
        assessment.approved_at = datetime.now(UTC)
        assessment.approved_by = actor
        # The set an approved assessment was made against never changes again (the database enforces it).
        await db.execute(
            update(CriteriaSet)
            .where(CriteriaSet.id == assessment.criteria_set_id, CriteriaSet.frozen_at.is_(None))
            .values(frozen_at=datetime.now(UTC))
        )
    else:
        assessment.approved_at = None
        assessment.approved_by = None
    db.add(
        _audit(
            tenant,
            actor,
            f"assessment.{action}",
            str(assessment.year),
            before={"status": before},
            after={"status": step.target, "reason": reason, "total": str(loaded.sheet.total)},
        )
    )
    await db.flush()
    return assessment


def available_actions(assessment: Assessment | None, allowed: set[str]) -> list[Transition]:
    if assessment is None:
        return []
    return [t for t in TRANSITIONS.values() if assessment.status in t.source and t.permission in allowed]


async def history(db: AsyncSession) -> list[AppraisedResult]:
    return list(await db.scalars(select(AppraisedResult).order_by(AppraisedResult.year)))


def _form_version(form: dict[str, Any]) -> int:
    """The row version the form was made from; -1 (never a row's) when missing or unreadable."""
    try:
        version = int(str(form.get("version", "")).strip())
    except ValueError:
        return -1
    return version if 0 <= version < 2**31 else -1


def _stale_message(row: Row) -> str:
    return (
        f"Tiêu chí {row.code} vừa được người khác lưu trong khi bạn đang sửa: đây là nội dung mới nhất, "
        "thay đổi của bạn chưa được lưu. Hãy xem lại rồi nhập lại nếu cần."
    )


def _locked_message(status: str) -> str:
    if status == S.APPROVED:
        return "Bản tự đánh giá đã được lãnh đạo duyệt: không sửa được nữa (lãnh đạo có thể mở lại)."
    return "Bản tự đánh giá đang chờ lãnh đạo duyệt: rút về dự thảo để sửa."


def _item_state(item: AssessmentItem) -> dict[str, Any]:
    points: Decimal | None = item.points
    return {
        "points": str(points) if points is not None else None,
        "inputs": dict(item.inputs or {}),
        "explanation": item.explanation or "",
        "evidence_refs": item.evidence_refs or "",
    }


def _audit(tenant: Tenant, actor: uuid.UUID | None, action: str, entity_id: str, **data: Any) -> AuditEntry:
    return AuditEntry.by(
        tenant.id, actor, action, "assessment", entity_id, before=data.get("before"), after=data.get("after")
    )
