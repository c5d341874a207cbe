"""The inspectors' review: finalising. The appraised scores published as the year's result of the department, and
the rank of the province's published departments within their groups."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from litestar.exceptions import PermissionDeniedException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Appraisal,
    AppraisalStatus,
    AppraisedResult,
    Tenant,
)
from backend.domain.admin.province import is_home_affairs
from backend.domain.assessments import services as assessments
from backend.domain.review.decisions import audit_value, home_affairs_step, return_submission, to_round_2
from backend.domain.review.services import (
    ZERO,
    Review,
    ReviewError,
    actor_of,
    appraised_sheet,
    audit_department,
    audit_home,
    bound_to,
    departments_of,
    lock_review,
    visible_review,
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
    result = await assessments.appraised_result(db, review.year)
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
    groups = {g.id: g.code for g in await assessments.ranking_groups(db, ctx.province)}
    found: dict[str, tuple[Tenant, AppraisedResult]] = {}
    scores: list[dict[str, object]] = []
    adjustments: list[dict[str, object]] = []
    for dept in await departments_of(db, ctx.province):
        async with bound_to(db, ctx, dept):
            finalised = await db.scalar(
                select(Appraisal.id).where(Appraisal.year == year, Appraisal.status == AppraisalStatus.FINALISED.value)
            )
            result = await assessments.appraised_result(db, year)
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


# a department's review steps (the page's and the API's `step`) and their audit actions
STEP_ACTIONS = {"vong-2": "review.round-2", "tra-lai": "review.return", "cong-bo": "review.finalise"}


async def take_step(
    db: AsyncSession, ctx: TenantContext, dept: Tenant, year: int, step: str, form: Mapping[str, Any]
) -> None:
    """A step of `dept`'s review of `year` (one of `STEP_ACTIONS`): the second round, the submission returned (`form`
    gives the reason), or the appraisal finalised and the province ranked again; under the review's lock (and the
    province's, to rank), with its audit entry in the Sở Nội vụ. Raises ReviewError (nothing saved)."""
    if not is_home_affairs(ctx):
        raise PermissionDeniedException("Chỉ Sở Nội vụ thực hiện bước này.")
    if step == "cong-bo":  # the ranking spans the province's departments
        await lock_review(db, f"{ctx.province.id}:{year}")
    await lock_review(db, f"{dept.id}:{year}")
    async with bound_to(db, ctx, dept):
        review = await visible_review(db, ctx, dept, year)
        if step == "vong-2":
            await to_round_2(db, ctx, review)
        elif step == "tra-lai":
            await return_submission(db, ctx, review, form)
        else:
            await finalise(db, ctx, review)
    after: dict[str, Any] = {"step": step}
    if step == "cong-bo":
        after["ranks"] = {code: f"{r}/{of}" for code, (r, of) in (await rank_province(db, ctx, year)).items()}
    audit_home(db, ctx, dept, STEP_ACTIONS[step], str(year), after=after)
    await db.flush()
