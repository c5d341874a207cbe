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
) -> Template:
    """A clear page saying the province has no criteria set for `criteria_year` (default `year`), with the
    year switcher. The section's default year answers 200 (the page it opens on exists, only empty); any
    other year 404."""
    default = ctx.cycle.year if cycle_year is None else cycle_year
    return page(
        request,
        "tenants/no_criteria.html",
        block="content",
        ctx=ctx,
        section=section,
        title=title,
        year=year,
        years=await criteria_years(db, ctx.province),
        href=href,
        cycle_year=default,
        criteria_year=year if criteria_year is None else criteria_year,
        status_code=200 if year == default else 404,
    )
