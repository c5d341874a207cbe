"""Yearly pages and the year being assessed: the page a section shows for a year the province has no criteria
set for yet (the year being assessed before Sở Nội vụ imports its set, or a year typed into the URL)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.assessments.services import criteria_years
from backend.domain.tenants.deps import TenantContext
from backend.web.templating import page


async def no_criteria_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    ctx: TenantContext,
    *,
    year: int,
    section: str,
    title: str,
    href: str,
    cycle_year: int | None = None,
    criteria_year: int | None = None,
    years: list[int] | None = None,
) -> Template:
    """A clear page saying the province has no criteria set for `criteria_year` (default `year`), with the
    year switcher. The section's default year answers 200 (the page it opens on exists, only empty); any
    other year 404. `years`: the province's criteria years when the caller has read them."""
    default = ctx.cycle.year if cycle_year is None else cycle_year
    return page(
        request,
        "tenants/no_criteria.html",
        block="content",
        ctx=ctx,
        section=section,
        title=title,
        year=year,
        years=await criteria_years(db, ctx.province) if years is None else years,
        href=href,
        cycle_year=default,
        criteria_year=year if criteria_year is None else criteria_year,
        status_code=200 if year == default else 404,
    )


async def criteria_years_or_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    ctx: TenantContext,
    *,
    year: int,
    section: str,
    title: str,
    href: str,
) -> list[int] | Template:
    """The province's criteria years when `year` is one of them (the yearly page goes on), else the section's
    `no_criteria_page` for `year`, which the handler returns as it is."""
    years = await criteria_years(db, ctx.province)
    if year in years:
        return years
    return await no_criteria_page(request, db, ctx, year=year, section=section, title=title, href=href, years=years)
