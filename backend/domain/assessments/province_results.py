"""The province's view across its departments: per ranking group the index of each one's applicable maximum,
its rank (by index, ties share) and its class; the points-lost heatmap and the criteria most departments lose
points on — from every department's self-assessment of the year.

Reading across tenants goes through the one door for a province, `reading_province`: row-level security stays on
and shows the province's tenants to the Sở Nội vụ's session, a constant number of statements however many tenants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import AppraisedResult, Tenant, TenantKind
from backend.db.rls import reading_province
from backend.domain.admin import province as province_admin
from backend.domain.assessments import services
from backend.domain.assessments.published import Publication, publication, score_frame, score_rows
from backend.domain.assessments.services import STATUS_LABELS
from backend.domain.scoring.index import published_results
from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, heatmap, most_lost
from backend.domain.tenants.deps import TenantContext
from backend.web.charts import HeatCell
from backend.web.charts import heatmap as heatmap_svg


@dataclass(frozen=True)
class Ranked:
    tenant: Tenant
    group: str
    total: Decimal
    rank: int | None  # None: nothing applies to the tenant, so it has no index
    of: int
    status: str
    max_points: Decimal = Decimal(0)  # the applicable maximum
    index: Decimal | None = None
    result_class: str = ""


@dataclass(frozen=True)
class PublishedLine:
    """A department's published (appraised) result of the year, as the province announced it."""

    tenant: Tenant
    total: Decimal
    rank: int | None
    rank_of: int | None


@dataclass
class ProvinceResults:
    year: int
    ranked: list[Ranked] = field(default_factory=list)
    published: list[PublishedLine] = field(default_factory=list)  # the year's official results, where published
    missing: list[Tenant] = field(default_factory=list)  # no self-assessment for the year yet
    most_lost: list[dict[str, object]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # criterion code → title
    heatmap_svg: str = ""
    rules: Publication = field(default_factory=Publication)

    @property
    def groups(self) -> list[tuple[str, list[Ranked]]]:
        """The ranking, group by group (each ranks on its own)."""
        grouped: dict[str, list[Ranked]] = {}
        for ranked in self.ranked:
            grouped.setdefault(ranked.group, []).append(ranked)
        return list(grouped.items())


def home_affairs_only(ctx: TenantContext) -> None:
    """The province's results live at its Sở Nội vụ only: another tenant's 404."""
    province_admin.home_affairs_only(ctx, "Kết quả toàn tỉnh chỉ có ở Sở Nội vụ.")


async def checked_year(db: AsyncSession, ctx: TenantContext, year: int) -> list[int]:
    """`home_affairs_only`, for a year the province has a criteria set of (404 otherwise): the province's
    criteria years."""
    home_affairs_only(ctx)
    years = await services.criteria_years(db, ctx.province)
    if year not in years:
        raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
    return years


async def province_results(db: AsyncSession, ctx: TenantContext, year: int) -> ProvinceResults:
    groups = {g.id: g.name for g in await services.ranking_groups(db, ctx.province)}
    tenants = list(
        await db.scalars(
            select(Tenant)
            .where(Tenant.province_id == ctx.province.id, Tenant.is_active, Tenant.kind != TenantKind.HOME_AFFAIRS)
            .order_by(Tenant.name)
        )
    )
    result = ProvinceResults(year, rules=await publication(db, ctx.province, year))
    scores: list[dict[str, object]] = []
    adjustments: list[dict[str, object]] = []
    status: dict[str, str] = {}
    by_code = {t.code: t for t in tenants}
    async with reading_province(db, ctx.tenant, ctx.principal, Permission.PROVINCE_RESULTS):
        announced = {
            r.tenant_id: r
            for r in await db.scalars(
                select(AppraisedResult).where(
                    AppraisedResult.tenant_id.in_([t.id for t in tenants]), AppraisedResult.year == year
                )
            )
        }
        sheets = await services.load_many(db, tenants, year)
    for tenant in tenants:
        if (line := announced.get(tenant.id)) is not None:
            result.published.append(PublishedLine(tenant, line.total, line.rank, line.rank_of))
        loaded = sheets.get(tenant.id)
        if loaded is None or loaded.assessment is None:
            if tenant.archived_on is None:  # an archive has no self-assessment due: its successor assesses the year
                result.missing.append(tenant)
            continue
        status[tenant.code] = STATUS_LABELS[loaded.assessment.status]
        group = groups.get(tenant.ranking_group_id, "") if tenant.ranking_group_id else ""
        rows = score_rows(loaded.sheet, tenant.code, group or "Chưa phân nhóm", year)
        for row in rows:
            code = str(row["criterion"])
            node = code.rstrip("*")
            result.titles.setdefault(
                code, f"Các nội dung khác của {node}" if code.endswith("*") else loaded.sheet.row(node).node.title
            )
        scores.extend(rows)
        adjustments.append(
            {"tenant": tenant.code, "year": year, "bonus": loaded.sheet.bonus, "penalty": loaded.sheet.penalty}
        )
    if not scores:
        return result
    frame = score_frame(scores)
    adjust = pl.DataFrame(adjustments, schema=ADJUSTMENT_SCHEMA)
    published = published_results(frame, year, adjust, classes=result.rules.classes, places=result.rules.places)
    for ranked in published.iter_rows(named=True):
        tenant = by_code[ranked["tenant"]]
        result.ranked.append(
            Ranked(
                tenant,
                ranked["group"],
                ranked["total"],
                ranked["rank"],
                ranked["of"],
                status[tenant.code],
                ranked["max"],
                ranked["index"],
                result.rules.label(ranked["result_class"]),
            )
        )
    # what was lost: the rows scored that apply (a row not scored yet or not applicable loses nothing)
    frame = frame.filter(pl.col("achieved").is_not_null() & pl.col("applicable")).drop("applicable")
    result.most_lost = list(most_lost(frame, year, limit=10).iter_rows(named=True))
    cells = heatmap(frame, year)
    columns = sorted(set(cells["criterion"].to_list()), key=_code_key)
    names = {t.code: t.short_name or t.name for t in tenants}
    result.heatmap_svg = heatmap_svg(
        [names[r.tenant.code] for r in result.ranked],
        columns,
        [HeatCell(names[c["tenant"]], c["criterion"], c["lost"], c["max"]) for c in cells.iter_rows(named=True)],
        caption=f"Điểm bị trừ theo tiêu chí và đơn vị, năm {year} (tự đánh giá)",
    )
    return result


def _code_key(code: str) -> tuple[int | str, ...]:
    """ "1.2" < "1.10" < "2"; a remainder "1*" after the area's listed criteria."""
    return tuple(int(p) if p.isdigit() else p for p in code.replace("*", ".999").split("."))
