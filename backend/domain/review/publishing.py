"""The inspectors' review: finalising. The appraised scores published as the year's result of the department, and
the rank of the province's published departments within their groups."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Appraisal,
    AppraisalStatus,
    AppraisedResult,
    RankingGroup,
    Tenant,
)
from backend.domain.review.decisions import audit_value, home_affairs_step
from backend.domain.review.services import (
    ZERO,
    Review,
    ReviewError,
    actor_of,
    appraised_sheet,
    audit_department,
    bound_to,
    departments_of,
)
from backend.domain.scoring.index import published_results
from backend.domain.scoring.methods import quantize
from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, SCORE_SCHEMA
from backend.domain.tenants.deps import TenantContext, ensure_writable


def _area_key(title: str, code: str, known: Mapping[str, str]) -> str:
    """The key the history uses for an area of this title (so the years line up), else the area's code."""
    return known.get(" ".join(title.casefold().split()), code)


async def finalise(db: AsyncSession, ctx: TenantContext, review: Review) -> AppraisedResult:
    """Publish the appraised scores as the year's result (replacing an imported one), then rank the
    province's published departments of the year within their groups. Call while bound to the department."""
    await ensure_writable(db, review.department)
    appraisal = home_affairs_step(ctx, review)
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
        before = {"total": audit_value(result.total), "source": result.source}
    result.areas = areas
    result.bonus = quantize(sheet.bonus)
    result.penalty = quantize(sheet.penalty)
    result.total = sheet.total
    result.source = f"Thẩm định vòng {appraisal.round}"
    appraisal.status = AppraisalStatus.FINALISED.value
    appraisal.finalised_at = datetime.now(UTC)
    appraisal.finalised_by = actor_of(ctx)
    after = {
        "total": audit_value(result.total),
        "bonus": audit_value(result.bonus),
        "penalty": audit_value(result.penalty),
        "round": appraisal.round,
        "areas": {k: v["achieved"] for k, v in areas.items()},
    }
    audit_department(
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
    ranks = {line["tenant"]: (int(line["rank"]), int(line["of"])) for line in ranked.iter_rows(named=True)}
    changed = [found[code] for code, rank in ranks.items() if (found[code][1].rank, found[code][1].rank_of) != rank]
    for dept, _ in changed:  # an archive's published rank stays as it was: a ranking that moves it is refused
        await ensure_writable(db, dept)
    for dept, result in changed:
        async with bound_to(db, ctx, dept):
            result.rank, result.rank_of = ranks[dept.code]
            await db.flush()
    return ranks


async def published_total(db: AsyncSession, year: int) -> Decimal | None:
    """The bound department's published total of `year`, if any."""
    return await db.scalar(select(AppraisedResult.total).where(AppraisedResult.year == year))
