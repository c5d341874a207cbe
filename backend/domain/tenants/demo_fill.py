"""The demo's fill (`parboard demo` only, never `tenants sync`): enough departments and communes in each demo
province (`demo: true`) that its lists and rankings look like a real province's, not "1/1", with published
results for past years. Generated deterministically from a seed: the same run after run. Their names are real
kinds of agencies and real post-2025 communes and wards; their scores are invented (the pages say "Dữ liệu mẫu").
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import (
    AppraisedResult,
    Assessment,
    AssessmentItem,
    AssessmentStatus,
    CriteriaSet,
    Criterion,
    ExternalScore,
    Province,
    Tenant,
)
from backend.db.rls import bind_tenant
from backend.domain.tenants.config import LoadedProvince, TenantConfig, UnitConfig

SEED = 2025
MIN_DEPARTMENTS = 22
MIN_COMMUNES = 10
YEARS = (2021, 2022, 2023, 2024)
SOURCE = "dữ liệu mẫu (sinh tự động)"

# Cơ quan chuyên môn thuộc UBND tỉnh sau sắp xếp 2025 (and a few agencies ranked with them).
DEPARTMENTS = (
    ("van-phong-ubnd", "Văn phòng UBND tỉnh", "VP"),
    ("so-tai-chinh", "Sở Tài chính", "STC"),
    ("so-xay-dung", "Sở Xây dựng", "SXD"),
    ("so-cong-thuong", "Sở Công Thương", "SCT"),
    ("so-y-te", "Sở Y tế", "SYT"),
    ("so-giao-duc-dao-tao", "Sở Giáo dục và Đào tạo", "SGDĐT"),
    ("so-van-hoa-the-thao-du-lich", "Sở Văn hóa, Thể thao và Du lịch", "SVHTTDL"),
    ("so-khoa-hoc-cong-nghe", "Sở Khoa học và Công nghệ", "SKHCN"),
    ("so-tu-phap", "Sở Tư pháp", "STP"),
    ("so-dan-toc-ton-giao", "Sở Dân tộc và Tôn giáo", "SDTTG"),
    ("thanh-tra-tinh", "Thanh tra tỉnh", "TTr"),
    ("ban-quan-ly-khu-kinh-te", "Ban Quản lý Khu kinh tế", "BQLKKT"),
    ("so-ngoai-vu", "Sở Ngoại vụ", "SNgV"),
    ("dai-phat-thanh-truyen-hinh", "Đài Phát thanh và Truyền hình", "ĐPTTH"),
    ("ban-dan-toc", "Ban Dân tộc", "BDT"),
    ("cong-an-tinh", "Công an tỉnh", "CAT"),
    ("bo-chi-huy-quan-su", "Bộ Chỉ huy Quân sự tỉnh", "BCHQS"),
    ("kho-bac-nha-nuoc", "Kho bạc Nhà nước khu vực", "KBNN"),
    ("cuc-thue", "Thuế tỉnh", "TT"),
    ("bao-hiem-xa-hoi", "Bảo hiểm xã hội tỉnh", "BHXH"),
    ("ban-quan-ly-du-an", "Ban Quản lý dự án đầu tư xây dựng", "BQLDA"),
    ("truong-cao-dang", "Trường Cao đẳng Kỹ thuật", "CĐKT"),
    ("trung-tam-xuc-tien", "Trung tâm Xúc tiến Đầu tư, Thương mại và Du lịch", "TTXT"),
)
COMMUNES = {
    "ha-tinh": (
        ("phuong-tran-phu", "UBND phường Trần Phú"),
        ("phuong-ha-huy-tap", "UBND phường Hà Huy Tập"),
        ("phuong-bac-hong-linh", "UBND phường Bắc Hồng Lĩnh"),
        ("phuong-nam-hong-linh", "UBND phường Nam Hồng Lĩnh"),
        ("phuong-song-tri", "UBND phường Sông Trí"),
        ("xa-cam-xuyen", "UBND xã Cẩm Xuyên"),
        ("xa-thach-ha", "UBND xã Thạch Hà"),
        ("xa-duc-tho", "UBND xã Đức Thọ"),
        ("xa-huong-son", "UBND xã Hương Sơn"),
        ("xa-nghi-xuan", "UBND xã Nghi Xuân"),
        ("xa-can-loc", "UBND xã Can Lộc"),
    ),
    "ho-chi-minh": (
        ("phuong-sai-gon", "UBND phường Sài Gòn"),
        ("phuong-ben-thanh", "UBND phường Bến Thành"),
        ("phuong-tan-dinh", "UBND phường Tân Định"),
        ("phuong-thu-duc", "UBND phường Thủ Đức"),
        ("phuong-thu-dau-mot", "UBND phường Thủ Dầu Một"),
        ("phuong-di-an", "UBND phường Dĩ An"),
        ("xa-hoc-mon", "UBND xã Hóc Môn"),
        ("xa-cu-chi", "UBND xã Củ Chi"),
    ),
}
DEPARTMENT_UNITS = [
    UnitConfig("van-phong", "Văn phòng", "office"),
    UnitConfig("thanh-tra", "Thanh tra", "inspectorate"),
    UnitConfig("phong-ke-hoach-tai-chinh", "Phòng Kế hoạch – Tài chính", "phong"),
    UnitConfig("phong-nghiep-vu", "Phòng Nghiệp vụ", "phong"),
]
COMMUNE_UNITS = [
    UnitConfig("van-phong", "Văn phòng HĐND và UBND", "office"),
    UnitConfig("phong-kinh-te", "Phòng Kinh tế", "phong"),
    UnitConfig("phong-van-hoa-xa-hoi", "Phòng Văn hóa – Xã hội", "phong"),
    UnitConfig("trung-tam-phuc-vu-hcc", "Trung tâm Phục vụ hành chính công", "public_service"),
]
# The published areas of a year (maxima summing to 100, as seed 004's 2022): key, name, max
AREAS = (
    ("chi-dao-dieu-hanh", "Công tác chỉ đạo điều hành CCHC", "13.5"),
    ("the-che", "Cải cách thể chế", "6.5"),
    ("thu-tuc-hanh-chinh", "Cải cách thủ tục hành chính", "12"),
    ("to-chuc-bo-may", "Cải cách tổ chức bộ máy HCNN", "6.5"),
    ("cong-vu", "Cải cách chế độ công vụ", "8"),
    ("tai-chinh-cong", "Cải cách tài chính công", "8.5"),
    ("chinh-quyen-so", "Chính quyền điện tử, chính quyền số", "10.5"),
    ("dieu-tra-xa-hoi-hoc", "Điều tra xã hội học", "35"),
)
THOUSANDTH = Decimal("0.001")


def with_demo_tenants(
    provinces: list[LoadedProvince], skip: set[str] | frozenset[str] = frozenset()
) -> list[LoadedProvince]:
    """Each demo province (not in `skip`: one merged into another) filled up to the minimum numbers of departments
    and communes with generated ones, after its declared tenants (whose codes are never taken)."""
    result = []
    for loaded in provinces:
        info = loaded.config.province
        if not info.demo or info.code in skip:
            result.append(loaded)
            continue
        declared = loaded.config.tenants
        groups = {g.code for g in info.ranking_groups}
        communes = [(code, name, _short(name)) for code, name in COMMUNES.get(info.code, ())]
        extra = [
            *_generated(declared, MIN_DEPARTMENTS, DEPARTMENTS, "department", "so-ban-nganh", groups, DEPARTMENT_UNITS),
            *_generated(declared, MIN_COMMUNES, communes, "commune", "xa-phuong", groups, COMMUNE_UNITS),
        ]
        config = msgspec.structs.replace(loaded.config, tenants=[*declared, *extra])
        result.append(LoadedProvince(loaded.file, config))
    return result


def _generated(
    declared: list[TenantConfig],
    minimum: int,
    candidates: Iterable[tuple[str, str, str]],
    kind: str,
    group: str,
    groups: set[str],
    units: list[UnitConfig],
) -> list[TenantConfig]:
    """Generated tenants of `kind` from `candidates` (code, name, short name) whose codes are not declared, as many as
    the province lacks of `minimum`; in `group` when the province declares that ranking group."""
    codes = {t.code for t in declared}
    lacking = max(0, minimum - sum(t.kind == kind for t in declared))
    fresh = [c for c in candidates if c[0] not in codes][:lacking]
    ranking_group = group if group in groups else None
    return [
        TenantConfig(code=code, name=name, kind=kind, short_name=short, ranking_group=ranking_group, units=list(units))
        for code, name, short in fresh
    ]


def _short(name: str) -> str:
    """ "UBND phường Trần Phú" → "P. Trần Phú": what a heatmap's row and a document number can tell apart."""
    place = name.removeprefix("UBND ")
    for kind, letter in (("phường ", "P. "), ("xã ", "X. "), ("đặc khu ", "ĐK. ")):
        if place.startswith(kind):
            return (letter + place.removeprefix(kind))[:31]
    return place[:31]


def generated_codes(province: str) -> set[str]:
    return {code for code, _, _ in DEPARTMENTS} | {code for code, _ in COMMUNES.get(province, ())}


def _year_result(rng: random.Random) -> tuple[dict[str, dict[str, str]], Decimal, Decimal, Decimal]:
    level = rng.randint(760, 960)  # the tenant's level that year, in thousandths
    areas: dict[str, dict[str, str]] = {}
    achieved_sum = Decimal(0)
    for key, name, maximum in AREAS:
        share = Decimal(max(500, min(1000, level + rng.randint(-90, 60)))) / 1000
        achieved = (Decimal(maximum) * share).quantize(THOUSANDTH)
        achieved_sum += achieved
        areas[key] = {"name": name, "achieved": str(achieved), "max": maximum, "merged_into": None}  # type: ignore[dict-item]
    bonus = Decimal(rng.choice(("0", "0.5", "1", "1.5")))
    penalty = Decimal(rng.choice(("0", "0", "0.5", "1")))
    return areas, bonus, penalty, achieved_sum + bonus - penalty


async def demo_history(owner_engine: AsyncEngine, provinces: list[LoadedProvince], seed: int = SEED) -> int:
    """Published results of `YEARS` for the generated tenants of each demo province, ranked within their group
    (ties share), each tenant's series from its own seeded generator; a year already there is kept. Returns
    the number of rows written."""
    written = 0
    session_maker = create_session_maker(owner_engine)
    async with session_maker() as session, session.begin():
        for loaded in provinces:
            info = loaded.config.province
            if not info.demo:
                continue
            province = await session.scalar(select(Province).where(Province.code == info.code))
            if province is None:
                continue
            tenants = [
                t
                for t in await session.scalars(select(Tenant).where(Tenant.province_id == province.id))
                if t.code in generated_codes(info.code)
            ]
            for year in YEARS:
                rows = []
                for tenant in sorted(tenants, key=lambda t: t.code):
                    rng = random.Random(f"{seed}:{info.code}:{tenant.code}:{year}")  # noqa: S311 - demo scores, not secrets
                    rows.append((tenant, *_year_result(rng)))
                for tenant, areas, bonus, penalty, total in rows:
                    group = [r for r in rows if r[0].ranking_group_id == tenant.ranking_group_id]
                    rank = 1 + sum(r[4] > total for r in group)
                    await bind_tenant(session, tenant.id)
                    result = await session.execute(
                        insert(AppraisedResult)
                        .values(
                            id=uuid.uuid4(),
                            tenant_id=tenant.id,
                            year=year,
                            areas=areas,
                            bonus=bonus,
                            penalty=penalty,
                            total=total,
                            rank=rank,
                            rank_of=len(group),
                            source=SOURCE,
                        )
                        .on_conflict_do_nothing(index_elements=["tenant_id", "year"])
                    )
                    written += int(getattr(result, "rowcount", 0) or 0)
        await bind_tenant(session, None)
    return written


async def demo_assessments(owner_engine: AsyncEngine, provinces: list[LoadedProvince], seed: int = SEED) -> int:
    """An approved self-assessment for each generated tenant of a demo province, for every year the province has
    a criteria set for the tenant's group (else for every group): each row it scores, at the tenant's seeded
    level ± a little, to a quarter point; what the Sở Nội vụ enters (surveys, indices) as its external scores.
    A year the tenant already has is kept. Returns the number of self-assessments written."""
    written = 0
    quarter = Decimal("0.25")
    session_maker = create_session_maker(owner_engine)
    async with session_maker() as session, session.begin():
        for loaded in provinces:
            info = loaded.config.province
            province = await session.scalar(select(Province).where(Province.code == info.code))
            if not info.demo or province is None:
                continue
            sets = list(
                await session.scalars(
                    select(CriteriaSet)
                    .where(CriteriaSet.province_id == province.id)
                    .order_by(CriteriaSet.year, CriteriaSet.version)
                )
            )
            latest: dict[tuple[int, uuid.UUID | None], CriteriaSet] = {(s.year, s.ranking_group_id): s for s in sets}
            nodes: dict[uuid.UUID, list[Criterion]] = {}
            for criteria_set in latest.values():
                nodes[criteria_set.id] = list(
                    await session.scalars(select(Criterion).where(Criterion.criteria_set_id == criteria_set.id))
                )
            tenants = [
                t
                for t in await session.scalars(
                    select(Tenant).where(Tenant.province_id == province.id).order_by(Tenant.code)
                )
                if t.code in generated_codes(info.code)
            ]
            for year in sorted({y for y, _ in latest}):
                for tenant in tenants:
                    chosen = latest.get((year, tenant.ranking_group_id)) or latest.get((year, None))
                    if chosen is None:
                        continue
                    await bind_tenant(session, tenant.id)
                    if await session.scalar(select(Assessment.id).where(Assessment.year == year)) is not None:
                        continue
                    rng = random.Random(f"{seed}:{info.code}:{tenant.code}:{year}:assessment")  # noqa: S311 - demo scores
                    level = rng.randint(780, 970)
                    assessment = Assessment(
                        id=uuid.uuid4(),
                        tenant_id=tenant.id,
                        criteria_set_id=chosen.id,
                        year=year,
                        status=AssessmentStatus.DRAFT.value,  # rows go into a draft; then it is approved
                    )
                    session.add(assessment)
                    await session.flush()
                    children: dict[uuid.UUID, Decimal] = {}
                    for node in nodes[chosen.id]:
                        if node.parent_id is not None:
                            children[node.parent_id] = children.get(node.parent_id, Decimal(0)) + node.max_points
                    for node in nodes[chosen.id]:
                        if node.kind in ("bonus", "penalty"):
                            continue
                        method = str((node.method or {}).get("type", "manual"))
                        own = node.max_points - children.get(node.id, Decimal(0))
                        if own <= 0:
                            continue
                        share = Decimal(max(400, min(1000, level + rng.randint(-150, 50)))) / 1000
                        points = min(own, ((own * share) / quarter).to_integral_value() * quarter)
                        if method in ("external", "index"):
                            if node.id not in children:
                                session.add(
                                    ExternalScore(
                                        id=uuid.uuid4(), tenant_id=tenant.id, criterion_id=node.id, points=points
                                    )
                                )
                            continue
                        session.add(
                            AssessmentItem(
                                id=uuid.uuid4(),
                                tenant_id=tenant.id,
                                assessment_id=assessment.id,
                                criterion_id=node.id,
                                points=points,
                                explanation=SOURCE,
                            )
                        )
                    await session.flush()
                    assessment.status = AssessmentStatus.APPROVED.value
                    assessment.approved_at = datetime.now(UTC)
                    await session.flush()
                    written += 1
        await bind_tenant(session, None)
    return written
