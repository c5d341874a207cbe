"""A department's self-assessment in the database: start it, save a row, move it through its workflow.

Every write checks the workflow (only a draft is edited; an approved one is locked, and the database
refuses it too), runs inside the request's transaction with the tenant bound, and leaves an audit entry.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, Select, Uuid, and_, bindparam, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import JSONB, insert
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
    NotApplicableDecision,
    Province,
    RankingGroup,
    Tenant,
)
from backend.domain.assessments.published import Publication
from backend.domain.assessments.sheet import Entry, External, Node, Row, RowInput, Sheet, build_sheet, parse_row
from backend.domain.evidence.services import year_submitted
from backend.domain.submissions.calendar import calendar_lock
from backend.domain.tenants.deps import TenantContext

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
    rules: Publication = field(default_factory=Publication)  # the province's classes and index places


async def criteria_years(db: AsyncSession, province: Province) -> list[int]:
    rows = await db.scalars(
        select(CriteriaSet.year).where(CriteriaSet.province_id == province.id).distinct().order_by(CriteriaSet.year)
    )
    return list(rows)


# The tenant the session is bound to (row-level security's setting): whose group picks the criteria set.
BOUND_TENANT = func.nullif(func.current_setting("app.tenant_id", True), "").cast(Uuid)


async def latest_set(db: AsyncSession, province: Province, year: int) -> CriteriaSet | None:
    """The newest version of the year's set for the bound tenant's ranking group, else of the set for every group."""
    return await db.scalar(_LATEST_SET, {"province": province.id, "year": year})


# The statements of every page that shows an assessment (the tenant home among them) are built once, with
# parameters: building one and computing its cache key cost more than a millisecond a time under load.
_PROVINCE = bindparam("province", type_=Uuid)
_YEAR = bindparam("year", type_=Integer)
_LATEST_SET: Select[CriteriaSet] = (
    select(CriteriaSet)
    .where(
        CriteriaSet.province_id == _PROVINCE,
        CriteriaSet.year == _YEAR,
        or_(
            CriteriaSet.ranking_group_id.is_(None),
            CriteriaSet.ranking_group_id
            == select(Tenant.ranking_group_id).where(Tenant.id == BOUND_TENANT).scalar_subquery(),
        ),
    )
    .order_by(CriteriaSet.ranking_group_id.is_(None), CriteriaSet.version.desc())
    .limit(1)
)
# The set of the year's assessment, else the newest set for the tenant's group, with the assessment when there is
# one; and for what does not apply, the bound tenant's attributes and the Sở Nội vụ's decisions of the year for it
# (code → reason).
_SET_AND_ASSESSMENT = (
    select(
        CriteriaSet,
        Assessment,
        select(Tenant.attributes).where(Tenant.id == BOUND_TENANT).scalar_subquery().label("attributes"),
        select(
            func.coalesce(
                func.jsonb_object_agg(NotApplicableDecision.criterion_code, NotApplicableDecision.reason),
                func.jsonb_build_object(),
                type_=JSONB,
            )
        )
        .where(
            NotApplicableDecision.tenant_id == BOUND_TENANT,
            NotApplicableDecision.year == _YEAR,
            NotApplicableDecision.status == "decided",
        )
        .scalar_subquery()
        .label("decided"),
    )
    .outerjoin(Assessment, and_(Assessment.criteria_set_id == CriteriaSet.id, Assessment.year == _YEAR))
    .where(
        CriteriaSet.id
        == func.coalesce(
            select(Assessment.criteria_set_id).where(Assessment.year == _YEAR).scalar_subquery(),
            _LATEST_SET.with_only_columns(CriteriaSet.id).scalar_subquery(),
        )
    )
)
_ITEMS = select(AssessmentItem).where(AssessmentItem.assessment_id == bindparam("assessment", type_=Uuid))
# Matched by code across the year's versions (newest wins): scores the Sở Nội vụ entered against a newer version
# still reach an assessment made on an older one.
_ENTERED = (
    select(ExternalScore, Criterion.code)
    .join(Criterion, Criterion.id == ExternalScore.criterion_id)
    .join(CriteriaSet, CriteriaSet.id == Criterion.criteria_set_id)
    .where(CriteriaSet.province_id == _PROVINCE, CriteriaSet.year == _YEAR)
    .order_by(CriteriaSet.version)
)


def _not_applicable(criteria_set: CriteriaSet, attributes: list[str] | None, decided: dict[str, str]) -> dict[str, str]:
    """The set's rules for the tenant's attributes, then the Sở Nội vụ's decisions (code → reason)."""
    found: dict[str, str] = {}
    for rule in criteria_set.not_applicable or []:
        if rule.get("attribute") in (attributes or []):
            for code in rule.get("criteria", []):
                found.setdefault(str(code), str(rule.get("reason", "")))
    found.update(decided)
    return found


# A criteria set's version is never edited once imported (`criteria/importer.py`: a change is a new version, a new
# id), so its nodes are read once per process, not on every page that scores a sheet (the tenant home among them).
# Sets are global rows (no tenant's data): one cache serves every tenant.
_NODES: OrderedDict[uuid.UUID, tuple[Node, ...]] = OrderedDict()
NODES_CACHED = 64  # sets: a province has a few a year


async def nodes_of(db: AsyncSession, criteria_set_id: uuid.UUID) -> list[Node]:
    """The set's nodes by depth and position."""
    if (cached := _NODES.get(criteria_set_id)) is not None:
        _NODES.move_to_end(criteria_set_id)
        return list(cached)
    nodes = await _read_nodes(db, criteria_set_id)
    if nodes:  # an unknown id is not remembered
        _NODES[criteria_set_id] = tuple(nodes)
        while len(_NODES) > NODES_CACHED:
            _NODES.popitem(last=False)
    return nodes


async def _read_nodes(db: AsyncSession, criteria_set_id: uuid.UUID) -> list[Node]:
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
    found = (await db.execute(_SET_AND_ASSESSMENT, {"province": province.id, "year": year})).one_or_none()
    if found is None:
        return None
    criteria_set, assessment, attributes, decided = found
    nodes = await nodes_of(db, criteria_set.id)
    entries: dict[uuid.UUID, Entry] = {}
    versions: dict[uuid.UUID, int] = {}
    if assessment is not None:
        for item in await db.scalars(_ITEMS, {"assessment": assessment.id}):
            entries[item.criterion_id] = Entry(item.points, dict(item.inputs), item.explanation, item.evidence_refs)
            versions[item.criterion_id] = item.version
    entered = await db.execute(_ENTERED, {"province": criteria_set.province_id, "year": criteria_set.year})
    by_code = {code: External(score.points, score.value) for score, code in entered}
    externals = {n.id: by_code[n.code] for n in nodes if n.code in by_code}
    sheet = build_sheet(
        nodes,
        entries,
        externals,
        criteria_set.total_max,
        not_applicable=_not_applicable(criteria_set, attributes, decided),
        bonus_cap=criteria_set.bonus_cap,
        penalty_cap=criteria_set.penalty_cap,
    )
    return Loaded(assessment, criteria_set, sheet, versions)


async def load_many(db: AsyncSession, tenants: Sequence[Tenant], year: int) -> dict[uuid.UUID, Loaded]:
    """Each of `tenants`' assessments for `year` as a scored sheet, as `load` builds one (a tenant without one is
    left out), in a constant number of statements however many tenants: one per table, one per criteria set for
    its nodes. The caller makes the tenants readable at once (`backend.db.rls.reading_province`)."""
    by_id = {t.id: t for t in tenants}
    wanted = select(Assessment).where(Assessment.tenant_id.in_(list(by_id)), Assessment.year == year)
    assessments = {a.tenant_id: a for a in await db.scalars(wanted)}
    if not assessments:
        return {}
    sets = {
        s.id: s
        for s in await db.scalars(
            select(CriteriaSet).where(CriteriaSet.id.in_({a.criteria_set_id for a in assessments.values()}))
        )
    }
    nodes = {set_id: await nodes_of(db, set_id) for set_id in sets}
    items: dict[uuid.UUID, list[AssessmentItem]] = {}
    for item in await db.scalars(
        select(AssessmentItem).where(AssessmentItem.assessment_id.in_([a.id for a in assessments.values()]))
    ):
        items.setdefault(item.assessment_id, []).append(item)
    # as `load`: matched by code across the year's versions of the set's province and year, the newest winning
    entered: dict[tuple[uuid.UUID, uuid.UUID, int], dict[str, External]] = {}
    for score, code, province_id, set_year in await db.execute(
        select(ExternalScore, Criterion.code, CriteriaSet.province_id, CriteriaSet.year)
        .join(Criterion, Criterion.id == ExternalScore.criterion_id)
        .join(CriteriaSet, CriteriaSet.id == Criterion.criteria_set_id)
        .where(
            ExternalScore.tenant_id.in_(list(assessments)),
            tuple_(CriteriaSet.province_id, CriteriaSet.year).in_({(s.province_id, s.year) for s in sets.values()}),
        )
        .order_by(CriteriaSet.version)
    ):
        entered.setdefault((score.tenant_id, province_id, set_year), {})[code] = External(score.points, score.value)
    decided: dict[uuid.UUID, dict[str, str]] = {}
    for decision in await db.scalars(
        select(NotApplicableDecision).where(
            NotApplicableDecision.tenant_id.in_(list(assessments)),
            NotApplicableDecision.year == year,
            NotApplicableDecision.status == "decided",
        )
    ):
        decided.setdefault(decision.tenant_id, {})[decision.criterion_code] = decision.reason
    loaded: dict[uuid.UUID, Loaded] = {}
    for tenant_id, assessment in assessments.items():
        criteria_set = sets[assessment.criteria_set_id]
        entries = {
            i.criterion_id: Entry(i.points, dict(i.inputs), i.explanation, i.evidence_refs)
            for i in items.get(assessment.id, [])
        }
        by_code = entered.get((tenant_id, criteria_set.province_id, criteria_set.year), {})
        set_nodes = nodes[criteria_set.id]
        sheet = build_sheet(
            set_nodes,
            entries,
            {n.id: by_code[n.code] for n in set_nodes if n.code in by_code},
            criteria_set.total_max,
            not_applicable=_not_applicable(criteria_set, by_id[tenant_id].attributes, decided.get(tenant_id, {})),
            bonus_cap=criteria_set.bonus_cap,
            penalty_cap=criteria_set.penalty_cap,
        )
        versions = {i.criterion_id: i.version for i in items.get(assessment.id, [])}
        loaded[tenant_id] = Loaded(assessment, criteria_set, sheet, versions)
    return loaded


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


async def save_own_row(
    db: AsyncSession, ctx: TenantContext, loaded: Loaded, row: Row, form: dict[str, Any], year: int
) -> RowInput:
    """`save_row` for the signed-in person in their tenant, as the province's calendar of `year` allows it."""
    locked = calendar_lock(ctx.province, year)
    return await save_row(db, ctx.tenant, loaded, row, form, ctx.principal.user_id, locked=locked)


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


async def appraised_result(db: AsyncSession, year: int) -> AppraisedResult | None:
    """The bound tenant's appraised result of `year` (published or imported), if there is one."""
    return await db.scalar(select(AppraisedResult).where(AppraisedResult.year == year))


async def ranking_groups(db: AsyncSession, province: Province) -> list[RankingGroup]:
    """The province's ranking groups (each ranked on its own)."""
    return list(await db.scalars(select(RankingGroup).where(RankingGroup.province_id == province.id)))


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
