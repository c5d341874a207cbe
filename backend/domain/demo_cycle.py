"""The demo's cycle of today (`make run`): the year before the year being assessed published, the year being
assessed under way, for every demo department of every province.

On 05/12/2026 that is: 2025 self-assessed, submitted (a real package), appraised by the province's Sở Nội vụ
(some criteria lowered, with reasons), published and ranked; a remedy board generated from 2025's published
appraisal, its plan approved, its tasks spread over the columns (some done, some overdue); 2026's periodic
reports on that plan sent, but for the last one due (left overdue); 2026's self-assessment a draft, about
two thirds scored. Scores come from a hash of the tenant's and criterion's
codes, so every run makes the same demo. Years without a criteria set in `tenants/` (these two and the generated
history's) reuse the province's latest set, imported under a file name that says it is demo data ("du-lieu-mau-…").

Runs once per department (a department with the published year's assessment is left as it is), through the
services the pages use: the importer, submission and package build, the review's decisions, finalising and
ranking, the board's task generator.

Hà Tĩnh's Sở Tài nguyên và Môi trường, an archive since its merge of 01/03/2025 (tenants/lineage.yaml), gets the
remedy plan of its 2024 appraisal as it stood at the merge (`ARCHIVE_PLAN`): a few tasks done, the rest open and
not carried over, so that its successor's focal point finds the carry-over action on her home.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.principal import Principal
from backend.clock import VIETNAM, vietnam_today
from backend.db.engine import create_session_maker
from backend.db.models import (
    Assessment,
    AssessmentItem,
    CriteriaSet,
    ExternalScore,
    Membership,
    ProgressReport,
    Province,
    RankingGroup,
    RemedyPlan,
    Role,
    Submission,
    Task,
    Tenant,
    TenantKind,
    Unit,
)
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.criteria.config import CriteriaSet as CriteriaSetFile
from backend.domain.criteria.importer import import_set, load_all
from backend.domain.cycle import current_cycle
from backend.domain.evidence.storage import Storage
from backend.domain.remedies import reports, tasks
from backend.domain.review import decisions, publishing
from backend.domain.review import services as review
from backend.domain.submissions import services as submissions
from backend.domain.submissions.calendar import year_calendar
from backend.domain.tenants.demo_fill import YEARS as HISTORY_YEARS
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.services import report_deadlines
from backend.settings import Settings

DEMO_NOTE = "(dữ liệu mẫu)"
ZERO = Decimal(0)
CENT = Decimal("0.01")


def _share(*parts: str) -> int:
    """A stable number 0–99 from the codes: the same demo on every run and machine."""
    return int(hashlib.sha256(":".join(parts).encode()).hexdigest()[:8], 16) % 100


def _moment(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VIETNAM).astimezone(UTC)


def _self_score(tenant: str, year: int, code: str, max_points: Decimal, kind: str) -> Decimal:
    share = _share(tenant, str(year), code)
    if kind == "penalty":
        return ZERO
    if kind == "bonus":
        return min(max_points, Decimal(1)) if share < 40 else ZERO
    if share < 70:
        return max_points
    if share < 85:
        return (max_points * Decimal("0.75")).quantize(CENT)
    if share < 95:
        return (max_points / 2).quantize(CENT)
    return ZERO


async def _import_missing_sets(db: AsyncSession, tenants_dir: Path, years: tuple[int, ...]) -> list[str]:
    """For each province and ranking group without a set for one of `years`, its latest set under that year."""
    latest: dict[tuple[str, str | None], CriteriaSetFile] = {}
    for criteria in sorted(load_all(tenants_dir), key=lambda s: s.year):
        latest[(criteria.province, criteria.group)] = criteria
    provinces = {p.code: p for p in await db.scalars(select(Province))}
    report = []
    for (code, group), criteria in latest.items():
        province = provinces.get(code)
        if province is None:
            continue
        group_id = None
        if group is not None:
            group_id = await db.scalar(
                select(RankingGroup.id).where(RankingGroup.province_id == province.id, RankingGroup.code == group)
            )
        for year in years:
            exists = await db.scalar(
                select(CriteriaSet.id)
                .where(
                    CriteriaSet.province_id == province.id,
                    CriteriaSet.year == year,
                    CriteriaSet.ranking_group_id.is_not_distinct_from(group_id),
                )
                .limit(1)
            )
            if exists is not None:
                continue
            suffix = f"-{group}" if group else ""
            name = f"du-lieu-mau-{year}-theo-bo-chi-so-{criteria.year}{suffix}.yaml"
            await import_set(db, province, replace(criteria, year=year, file=Path(name), maps_from_previous={}))
            report.append(f"{code} {year}{' ' + group if group else ''}: bộ chỉ số mẫu theo năm {criteria.year}")
    return report


async def _person(db: AsyncSession, tenant: Tenant, *roles: Role) -> uuid.UUID | None:
    """A demo person of the tenant with one of `roles` (the first by e-mail order), if the demo people are loaded."""
    await bind_tenant(db, tenant.id)
    for role in roles:
        found = await db.scalar(
            select(Membership.user_id)
            .where(Membership.tenant_id == tenant.id, Membership.role == role.value, Membership.is_active)
            .order_by(Membership.user_id)
            .limit(1)
        )
        if found is not None:
            return found
    return None


def _context(tenant: Tenant, province: Province, user_id: uuid.UUID | None, role: Role) -> TenantContext:
    principal = Principal(user_id=user_id, display_name="Dữ liệu mẫu", roles={tenant.id: frozenset({role})})
    return TenantContext(tenant=tenant, province=province, principal=principal)


async def _self_assess(
    db: AsyncSession, dept: Tenant, province: Province, year: int, actor: uuid.UUID | None, *, partial: bool
) -> Assessment:
    """The year's self-assessment with every criterion scored (approved), or about two thirds (a draft)."""
    assessment = await assessments.start(db, dept, province, year, actor)
    loaded = await assessments.load(db, province, year)
    assert loaded is not None  # started above on the year's set
    for row in loaded.sheet.rows():
        if not row.editable:
            continue
        key = f"{row.code}{'*' if row.remainder else ''}"
        if partial and _share(dept.code, "nhap", key) >= 65:
            continue
        points = _self_score(dept.code, year, key, row.max_points, row.node.kind)
        db.add(
            AssessmentItem(
                id=uuid.uuid4(),
                tenant_id=dept.id,
                assessment_id=assessment.id,
                criterion_id=row.node.id,
                points=points,
                inputs={},
                explanation=f"Tự chấm {DEMO_NOTE}." if points < row.max_points else "",
                evidence_refs="",
                version=1,
                updated_by=actor,
            )
        )
    await db.flush()  # the rows before the approval: an approved assessment takes no more rows
    if not partial:
        assessment.status = "approved"
        assessment.approved_at = _moment(date(year, 11, 12))
        assessment.approved_by = actor
        criteria_set = await db.get(CriteriaSet, assessment.criteria_set_id)
        if criteria_set is not None and criteria_set.frozen_at is None:
            criteria_set.frozen_at = assessment.approved_at
    await db.flush()
    return assessment


async def _survey_scores(
    db: AsyncSession, dept: Tenant, province: Province, year: int, actor: uuid.UUID | None
) -> None:
    """The parts Sở Nội vụ enters (survey, external indices), 80–95 % of their maximum."""
    loaded = await assessments.load(db, province, year)
    assert loaded is not None
    for row in loaded.sheet.rows():
        if not row.by_province or row.children or row.not_applicable is not None or row.external is not None:
            continue
        ratio = Decimal(80 + _share(dept.code, "khao-sat", row.code) % 16) / 100
        db.add(
            ExternalScore(
                id=uuid.uuid4(),
                tenant_id=dept.id,
                criterion_id=row.node.id,
                value=None,
                points=(row.node.max_points * ratio).quantize(CENT),
                source="form",
                entered_by=actor,
            )
        )
    await db.flush()


async def _appraise(db: AsyncSession, snv: TenantContext, dept: Tenant, year: int, published: date) -> None:
    """Sở Nội vụ's decisions (most self-scores kept, some lowered with a reason), then the published result."""
    async with review.bound_to(db, snv, dept):
        loaded = await review.load_review(db, snv.province, dept, year)
        assert loaded is not None
        for row in loaded.rows:
            score = row.self_score
            if score is not None and score > 0 and _share(dept.code, "tham-dinh", row.key) < 20:
                lowered = (score / 2).quantize(CENT)
                form = {
                    "decision": "score",
                    "points": f"{lowered}".replace(".", ","),
                    "reason": f"Tài liệu kiểm chứng chưa chứng minh đủ kết quả tự chấm {DEMO_NOTE}.",
                }
            elif score is None:
                form = {"decision": "score", "points": "0", "reason": f"Đơn vị không tự chấm {DEMO_NOTE}."}
            else:
                form = {"decision": "accept"}
            errors = await decisions.decide(db, snv, loaded, row, form)
            assert not errors, errors
        await publishing.finalise(db, snv, loaded)
        assert loaded.appraisal is not None
        loaded.appraisal.finalised_at = _moment(published, 16)  # published on the province's day, not today
        await db.flush()


def _approved_plan(tenant: Tenant, year: int, published: date, leader: uuid.UUID | None) -> RemedyPlan:
    """The plan after `year`'s results published on `published`, approved ten days later."""
    return RemedyPlan(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        year=year,
        result_date=published,
        status="approved",
        approved_at=_moment(published + timedelta(days=10)),
        approved_by=leader,
        version=1,
    )


async def _board(
    db: AsyncSession, ctx: TenantContext, year: int, published: date, leader: uuid.UUID | None, today: date
) -> int:
    """The plan after `year`'s published appraisal, carried out the next year: generated, approved, under way."""
    loaded = await assessments.load(db, ctx.province, year)
    assert loaded is not None
    options = await tasks.choices(db, loaded.sheet)
    proposals = await tasks.plan_proposals(db, year, loaded.sheet, list(options.units.values()), set())
    columns = options.columns
    units = sorted(options.units.values(), key=lambda u: (u.position, u.name))
    done = [c for c in columns if c.is_done]
    open_columns = [c for c in columns if not c.is_done] or columns
    for number, proposal in enumerate(proposals):
        share = _share(ctx.tenant.code, "ke-hoach", proposal.criterion_code)
        quarter = 1 + share % 4
        due = {1: date(year + 1, 3, 31), 2: date(year + 1, 6, 30), 3: date(year + 1, 9, 30), 4: date(year + 1, 12, 15)}[
            quarter
        ]
        finished = due < today and share < 75  # most of what fell due is done; the rest is overdue
        column = (done[0] if done else columns[-1]) if finished else open_columns[number % len(open_columns)]
        values = proposal.task_values(
            label="thẩm định",
            notes=DEMO_NOTE,
            deadline_text=f"{due:%d/%m/%Y}",
            due_date=due,
            lead_unit_id=units[share % len(units)].id if units else None,  # the set names no lead unit: one of them
        )
        await tasks.create_task(db, ctx, year, values, options, column)
    db.add(_approved_plan(ctx.tenant, year, published, leader))
    await db.flush()
    return len(proposals)


async def _reports(db: AsyncSession, ctx: TenantContext, year: int, actor: uuid.UUID | None, today: date) -> None:
    """The year's periodic reports on the plan: those due before the last passed deadline sent on time, with a
    line per area; the last passed one left overdue, for the demo to show one."""
    loaded = await assessments.load(db, ctx.province, reports.plan_year(year))
    areas = {a.code: a.node.title for a in loaded.sheet.areas} if loaded else {}
    passed = [d for d in report_deadlines(ctx.province, year) if d.due < today]
    for due in passed[:-1]:
        sent = due.due - timedelta(days=2)
        narratives = {code: f"Các phòng, đơn vị triển khai nhiệm vụ theo kế hoạch {DEMO_NOTE}." for code in areas}
        snapshot = await reports.summary(db, reports.plan_year(year), areas, sent)
        db.add(
            ProgressReport(
                id=uuid.uuid4(),
                tenant_id=ctx.tenant.id,
                year=year,
                period=due.period,
                status="submitted",
                narratives=narratives,
                snapshot={**snapshot, "narratives": narratives},
                submitted_at=_moment(sent, 15),
                submitted_by=actor,
                version=2,
            )
        )
    await db.flush()


@dataclass(frozen=True)
class ArchiveTask:
    """A task of the archive's plan: its area and criterion (None: the area as a whole) of the year's set, points
    lost of the criterion's maximum, texts, lead unit (a code of tenants/<province>/province.yaml), deadline, done."""

    area: str
    criterion: str | None
    lost: str | None
    title: str
    deficiency: str
    output: str
    unit: str
    due: date
    done: bool


ARCHIVE_TENANT = ("ha-tinh", "so-tai-nguyen-moi-truong")
ARCHIVE_YEAR = 2024  # the appraisal the plan remedies; carried out in 2025 until the merge of 01/03/2025
ARCHIVE_PLAN = (
    ArchiveTask(
        "1",
        "1.2",
        "1",
        "Rà soát, hoàn thành các nhiệm vụ còn chậm của Kế hoạch cải cách hành chính năm 2024",
        "Còn 02 nhiệm vụ của Kế hoạch CCHC năm 2024 hoàn thành chậm so với thời hạn.",
        "Báo cáo kết quả thực hiện Kế hoạch CCHC năm 2024 của Sở",
        "van-phong",
        date(2025, 1, 24),
        True,
    ),
    ArchiveTask(
        "1",
        "1.5",
        "0.5",
        "Ban hành kế hoạch khắc phục tồn tại, hạn chế theo kết quả Chỉ số CCHC năm 2024",
        "Kế hoạch khắc phục tồn tại, hạn chế sau khi có kết quả Chỉ số CCHC năm 2023 ban hành chậm.",
        "Kế hoạch khắc phục được Giám đốc Sở phê duyệt, gửi Sở Nội vụ",
        "van-phong",
        date(2025, 2, 14),
        True,
    ),
    ArchiveTask(
        "2",
        "2.6.1",
        "0.5",
        "Ban hành Kế hoạch theo dõi thi hành pháp luật năm 2025 trong lĩnh vực tài nguyên và môi trường",
        "Kế hoạch theo dõi thi hành pháp luật năm 2024 ban hành chậm so với thời hạn của tỉnh.",
        "Kế hoạch theo dõi thi hành pháp luật năm 2025",
        "thanh-tra",
        date(2025, 2, 28),
        True,
    ),
    ArchiveTask(
        "3",
        None,
        None,
        "Công khai đầy đủ, đúng hạn thủ tục hành chính lĩnh vực đất đai, môi trường trên Cổng Dịch vụ công tỉnh",
        "Một số thủ tục hành chính lĩnh vực đất đai được công khai chậm sau khi có quyết định công bố.",
        "100% thủ tục hành chính của Sở được công khai đúng hạn",
        "phong-quan-ly-dat-dai",
        date(2025, 6, 30),
        False,
    ),
    ArchiveTask(
        "5",
        "5.10",
        "0.5",
        "Cập nhật, số hoá hồ sơ cán bộ, công chức, viên chức vào Cơ sở dữ liệu cán bộ, công chức của tỉnh",
        "Hồ sơ của một số công chức, viên chức chưa được cập nhật đầy đủ trên cơ sở dữ liệu.",
        "Hồ sơ cán bộ, công chức, viên chức được cập nhật đầy đủ trên phần mềm quản lý",
        "van-phong",
        date(2025, 6, 30),
        False,
    ),
    ArchiveTask(
        "7",
        "7.1.5",
        "0.5",
        "Cập nhật thường xuyên chuyên mục Cải cách hành chính trên Trang thông tin điện tử của Sở",
        "Chuyên mục cải cách hành chính trên Trang thông tin điện tử của Sở cập nhật chưa thường xuyên.",
        "Ít nhất 02 tin, bài về cải cách hành chính mỗi tháng",
        "van-phong",
        date(2025, 9, 30),
        False,
    ),
    ArchiveTask(
        "7",
        "7.1.8",
        "0.25",
        "Nâng tỷ lệ hồ sơ thủ tục hành chính lĩnh vực đất đai tiếp nhận và giải quyết trực tuyến toàn trình",
        "Tỷ lệ hồ sơ thủ tục hành chính giải quyết trực tuyến toàn trình chưa đạt chỉ tiêu tỉnh giao.",
        "Tỷ lệ hồ sơ trực tuyến toàn trình đạt chỉ tiêu tỉnh giao năm 2025",
        "van-phong-dang-ky-dat-dai",
        date(2025, 9, 30),
        False,
    ),
    ArchiveTask(
        "8",
        None,
        None,
        "Khảo sát ý kiến người dân, tổ chức về giải quyết thủ tục hành chính tại Bộ phận Một cửa của Sở",
        "Mức độ hài lòng của người dân, tổ chức về giải quyết thủ tục hành chính lĩnh vực đất đai chưa cao.",
        "Báo cáo kết quả khảo sát và giải pháp nâng cao mức độ hài lòng",
        "van-phong-dang-ky-dat-dai",
        date(2025, 10, 31),
        False,
    ),
)


async def _archive_board(db: AsyncSession) -> str | None:
    """The archive's plan of `ARCHIVE_YEAR` (`ARCHIVE_PLAN`) as it stood at the merge: tasks created after the
    year's results were published, those due before the merge done, the rest open, none carried over. Once: an
    archive with a task of the year is left as it is."""
    province_code, tenant_code = ARCHIVE_TENANT
    found = (
        await db.execute(
            select(Tenant, Province)
            .join(Province, Province.id == Tenant.province_id)
            .where(Province.code == province_code, Tenant.code == tenant_code, Tenant.archived_on.is_not(None))
        )
    ).one_or_none()
    if found is None:
        return None  # not reorganised in this configuration
    archive, province = found
    actor = await _person(db, archive, Role.FOCAL_POINT, Role.TENANT_ADMIN)
    await bind_tenant(db, archive.id, actor)
    if await db.scalar(select(Task.id).where(Task.year == ARCHIVE_YEAR).limit(1)) is not None:
        return None
    loaded = await assessments.load(db, province, ARCHIVE_YEAR)
    if loaded is None:
        return None
    calendar = year_calendar(province.settings, ARCHIVE_YEAR)
    published = calendar.round_2.end if calendar else date(ARCHIVE_YEAR, 12, 19)
    assert archive.archived_on is not None
    ctx = _context(archive, province, actor, Role.FOCAL_POINT)
    options = await tasks.choices(db, loaded.sheet)
    done = next(c for c in options.columns if c.is_done)
    open_columns = [c for c in options.columns if not c.is_done and not c.needs_confirmation]
    units = {u.code: u.id for u in await db.scalars(select(Unit))}
    created = _moment(published + timedelta(days=5))
    for number, item in enumerate(ARCHIVE_PLAN):
        points_max = options.criteria[item.criterion][2] if item.criterion else None
        values = {
            "kind": "fix",
            "area_code": item.area,
            "criterion_code": item.criterion,
            "title": item.title,
            "deficiency": item.deficiency,
            "expected_output": item.output,
            "notes": DEMO_NOTE,
            "points_lost": Decimal(item.lost) if item.lost else None,
            "points_max": points_max,
            "deadline_text": f"{item.due:%d/%m/%Y}",
            "due_date": item.due,
            "lead_unit_id": units.get(item.unit),
            "labels": ["thẩm định"],
            "coordinating": [],
            "monitoring_unit_id": None,
            "assignees": [],
        }
        column = done if item.done else open_columns[number % len(open_columns)]
        task = await tasks.create_task(db, ctx, ARCHIVE_YEAR, values, options, column)
        task.created_at = created
        task.updated_at = _moment(item.due - timedelta(days=3), 15) if item.done else created
        assert task.updated_at.date() < archive.archived_on
    db.add(_approved_plan(archive, ARCHIVE_YEAR, published, actor))
    await db.flush()
    still_open = sum(1 for item in ARCHIVE_PLAN if not item.done)
    return (
        f"{province_code}/{tenant_code}: kế hoạch khắc phục năm {ARCHIVE_YEAR} đến ngày hợp nhất, "
        f"{len(ARCHIVE_PLAN)} nhiệm vụ ({still_open} chưa hoàn thành, chưa chuyển) {DEMO_NOTE}"
    )


async def seed_demo_cycle(
    owner_engine: AsyncEngine, storage: Storage, tenants_dir: Path, templates_dir: Path, today: date | None = None
) -> list[str]:
    """Add the demo's published year and the year being assessed (see the module's docstring); returns what it did."""
    sessions = create_session_maker(owner_engine)
    async with sessions() as db, db.begin():
        provinces = list(await db.scalars(select(Province).order_by(Province.code)))
        years = sorted({current_cycle(p.settings, today).year for p in provinces})
        # and the generated history's years (demo_fill.YEARS), so their results pages have a set as well
        wanted = tuple(sorted({y for year in years for y in (year - 1, year)} | set(HISTORY_YEARS)))
        report = await _import_missing_sets(db, tenants_dir, wanted)

    for province in provinces:
        cycle = current_cycle(province.settings, today)
        published_year, current = cycle.remedies, cycle.year
        calendar = year_calendar(province.settings, published_year)
        submitted_on = calendar.submission_deadline - timedelta(days=2) if calendar else date(published_year, 11, 18)
        published_on = calendar.round_2.end if calendar else date(published_year, 12, 19)
        new: list[tuple[Tenant, uuid.UUID]] = []
        async with sessions() as db, db.begin():
            snv_tenant = await db.scalar(
                select(Tenant).where(
                    Tenant.province_id == province.id, Tenant.kind == TenantKind.HOME_AFFAIRS.value, Tenant.is_active
                )
            )
            if snv_tenant is None:
                continue
            for dept in await review.departments_of(db, province):
                if dept.archived_on is not None:
                    continue  # reorganised (tenants/lineage.yaml): a read-only archive has no year under way
                await bind_tenant(db, dept.id)
                if await db.scalar(select(Assessment.id).where(Assessment.year == published_year)) is not None:
                    continue  # seeded before, or real work: left as it is
                if await assessments.latest_set(db, province, published_year) is None:
                    continue
                focal = await _person(db, dept, Role.FOCAL_POINT, Role.TENANT_ADMIN)
                await _self_assess(db, dept, province, published_year, focal, partial=False)
                await _survey_scores(db, dept, province, published_year, None)
                submission = await submissions.submit(
                    db, dept, province, published_year, focal, now=_moment(submitted_on)
                )
                new.append((dept, submission.id))
        for dept, submission_id in new:  # the package, as the job worker would build it
            await submissions.build_package(owner_engine, storage, dept.id, submission_id, templates_dir=templates_dir)
        if not new:
            continue
        async with sessions() as db, db.begin():
            assert snv_tenant is not None
            reviewer = await _person(db, snv_tenant, Role.PROVINCE_REVIEWER, Role.PROVINCE_ADMIN)
            snv = _context(snv_tenant, province, reviewer, Role.PROVINCE_REVIEWER)
            await bind_tenant(db, snv_tenant.id, reviewer)
            for dept, submission_id in new:
                await bind_tenant(db, dept.id)
                status = await db.scalar(select(Submission.status).where(Submission.id == submission_id))
                if status == "submitted":
                    await _appraise(db, snv, dept, published_year, published_on)
            await bind_tenant(db, snv_tenant.id, reviewer)
            await publishing.rank_province(db, snv, published_year)
            for dept, _ in new:
                focal = await _person(db, dept, Role.FOCAL_POINT, Role.TENANT_ADMIN)
                leader = await _person(db, dept, Role.LEADER)
                await bind_tenant(db, dept.id, focal)
                ctx = _context(dept, province, focal, Role.FOCAL_POINT)
                day = today or vietnam_today()
                count = await _board(db, ctx, published_year, published_on, leader, day)
                await _reports(db, ctx, current, focal, day)
                if await assessments.latest_set(db, province, current) is not None:
                    await _self_assess(db, dept, province, current, focal, partial=True)
                report.append(
                    f"{province.code}/{dept.code}: {published_year} đã công bố, {count} nhiệm vụ khắc phục, "
                    f"{current} đang tự đánh giá {DEMO_NOTE}"
                )
    async with sessions() as db, db.begin():
        line = await _archive_board(db)
    return [*report, line] if line else report


def seed_demo(settings: Settings) -> list[str]:
    """`seed_demo_cycle` for `parboard demo`, on the configured database and storage."""
    from backend.db import runtime
    from backend.db.engine import create_engine
    from backend.domain.evidence.storage import storage_from_settings

    async def run() -> list[str]:
        engine = create_engine(runtime.resolve(settings).owner_url)
        try:
            return await seed_demo_cycle(
                engine, storage_from_settings(settings), settings.paths.tenants_dir, settings.paths.templates_dir
            )
        finally:
            await engine.dispose()

    return asyncio.run(run())
