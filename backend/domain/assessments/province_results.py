"""The province's view across its departments: ranks within each ranking group, the points-lost heatmap and
the criteria most departments lose points on — from every department's self-assessment of the year.

Reading across tenants is the one explicit path: the Sở Nội vụ's session binds each tenant of its own
province in turn (row-level security stays on), then binds back to the Sở Nội vụ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import RankingGroup, Tenant, TenantKind
from backend.db.rls import bind_tenant
from backend.domain.assessments import services
from backend.domain.assessments.services import STATUS_LABELS
from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, SCORE_SCHEMA, heatmap, most_lost, province_rank
from backend.domain.tenants.deps import TenantContext
from backend.web.charts import HeatCell
from backend.web.charts import heatmap as heatmap_svg


@dataclass(frozen=True)
class Ranked:
    tenant: Tenant
    group: str
    total: Decimal
    rank: int
    of: int
    status: str


@dataclass
class ProvinceResults:
    year: int
    ranked: list[Ranked] = field(default_factory=list)
    missing: list[Tenant] = field(default_factory=list)  # no self-assessment for the year yet
    most_lost: list[dict[str, object]] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)  # criterion code → title
    heatmap_svg: str = ""


async def province_results(db: AsyncSession, ctx: TenantContext, year: int) -> ProvinceResults:
    groups = {
        g.id: g.name for g in await db.scalars(select(RankingGroup).where(RankingGroup.province_id == ctx.province.id))
    }
    tenants = list(
        await db.scalars(
            select(Tenant)
            .where(Tenant.province_id == ctx.province.id, Tenant.is_active, Tenant.kind != TenantKind.HOME_AFFAIRS)
            .order_by(Tenant.name)
        )
    )
    result = ProvinceResults(year)
    scores: list[dict[str, object]] = []
    adjustments: list[dict[str, object]] = []
    status: dict[str, str] = {}
    by_code = {t.code: t for t in tenants}
    try:
        for tenant in tenants:
            await bind_tenant(db, tenant.id, ctx.principal.user_id)
            loaded = await services.load(db, ctx.province, year)
            if loaded is None or loaded.assessment is None:
                result.missing.append(tenant)
                continue
            status[tenant.code] = STATUS_LABELS[loaded.assessment.status]
            group = groups.get(tenant.ranking_group_id, "") if tenant.ranking_group_id else ""
            for area in loaded.sheet.areas:
                if area.node.kind in {"bonus", "penalty"}:
                    continue
                for row in area.walk():
                    if row.children or row.score is None:
                        continue
                    code = f"{row.code}*" if row.remainder else row.code
                    result.titles.setdefault(
                        code, f"Các nội dung khác của {row.code}" if row.remainder else row.node.title
                    )
                    scores.append(
                        {
                            "tenant": tenant.code,
                            "group": group or "Chưa phân nhóm",
                            "year": year,
                            "area": area.code,
                            "criterion": code,
                            "achieved": row.score,
                            "max": row.max_points,
                        }
                    )
            adjustments.append(
                {"tenant": tenant.code, "year": year, "bonus": loaded.sheet.bonus, "penalty": loaded.sheet.penalty}
            )
    finally:
        await bind_tenant(db, ctx.tenant.id, ctx.principal.user_id)
    if not scores:
        return result
    frame = pl.DataFrame(scores, schema=SCORE_SCHEMA)
    adjust = pl.DataFrame(adjustments, schema=ADJUSTMENT_SCHEMA)
    for ranked in province_rank(frame, year, adjust).iter_rows(named=True):
        tenant = by_code[ranked["tenant"]]
        result.ranked.append(
            Ranked(tenant, ranked["group"], ranked["total"], ranked["rank"], ranked["of"], status[tenant.code])
        )
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
