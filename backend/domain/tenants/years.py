"""Yearly pages and the year being assessed: the page a section shows for a year the province has no criteria
set for yet (the year being assessed before Sở Nội vụ imports its set, or a year typed into the URL), and the page
an archive shows for a year it has nothing of (after its reorganisation, before its first record)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Tenant
from backend.domain.assessments.services import criteria_years
from backend.domain.cycle import Cycle
from backend.domain.tenants.deps import ArchiveYears, Successor, TenantContext
from backend.web.errors import ClearRefusal
from backend.web.formatting import vn_date
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


@dataclass(frozen=True)
class ArchivedYear:
    """A year an archive has nothing of in a section, and why: `after` its reorganisation (its successor worked that
    year), `before` its first record on parboard, or `none` (a year of its life it kept no such record of)."""

    section: str
    year: int
    reason: str  # after, before, none
    last: int | None  # the section's last year the archive has a record of, to link to
    end: int  # the archive's last year in the section (where its pages open)
    message: str  # one Vietnamese sentence: the page's lead and the API's 404 message

    @property
    def record(self) -> str:
        return _SECTIONS[self.section][1]


# Each section: what a unit does there (a sentence says it did not), and the record it keeps of it.
_SECTIONS = {
    "assessment": ("tự đánh giá Chỉ số CCHC", "bản tự đánh giá"),
    "board": ("lập kế hoạch khắc phục", "kế hoạch khắc phục"),
    "submission": ("nộp hồ sơ đánh giá", "hồ sơ đã nộp"),
    "reports": ("báo cáo tiến độ khắc phục", "báo cáo tiến độ"),
    "evidence": ("thu thập tài liệu kiểm chứng", "tài liệu kiểm chứng"),
    "explanation": ("giải trình với Sở Nội vụ", "yêu cầu giải trình"),
    "review": ("được thẩm định Chỉ số CCHC", "hồ sơ thẩm định"),  # the inspector's review of a department
}


def _last_year(archive: ArchiveYears, section: str) -> int | None:
    if section == "review":  # a package sent, or a result published (imported from its history)
        return max((y for y in (archive.submitted, archive.published) if y is not None), default=None)
    return {
        "assessment": archive.assessed,
        "evidence": archive.assessed,
        "board": archive.board,
        "submission": archive.submitted,
        "explanation": archive.submitted,  # requests answer a package
        "reports": archive.reported,
    }[section]


def archived_year(
    ctx: TenantContext, year: int, *, section: str, has_record: bool | None = None
) -> ArchivedYear | None:
    """For an archive, the year of `section` it has nothing of (None when it is not an archive, or has something):
    a year of its reorganisation or later with nothing (its successor's), a year before its first record, or a year of
    its life it kept nothing of (`has_record` False, when the caller looked, or after its last record). Its pages say
    so instead of showing an empty year as if work were due."""
    if ctx.archive is None:
        return None
    return archive_absence(
        ctx.tenant, ctx.archive, ctx.successors, ctx.cycle, year, section=section, has_record=has_record
    )


def archive_absence(
    tenant: Tenant,
    archive: ArchiveYears,
    successors: tuple[Successor, ...],
    cycle: Cycle,
    year: int,
    *,
    section: str,
    has_record: bool | None = None,
) -> ArchivedYear | None:
    """`archived_year` of an archived `tenant` read from elsewhere (the inspector's review of it): its last years,
    successors and cycle (`archive_cycle`) as its own pages know them."""
    archived_on = tenant.archived_on
    if archived_on is None or has_record:
        return None
    name, (did, record), on = tenant.name, _SECTIONS[section], vn_date(archived_on)
    end = cycle.remedies if section == "board" else cycle.year
    first = archive.first
    # after: a year its reorganisation came in (or later), whose work fell to its successor; a year between its last
    # record and then (Bà Rịa – Vũng Tàu's 2024, merged in 07/2025) it lived through, keeping nothing of it here
    if year > end and year >= archived_on.year:
        later = ", ".join(f"{s.name} ({s.province_name})" for s in successors)
        reason = "after"
        message = (
            f"{name} không {did} năm {year} vì đã được sắp xếp lại từ ngày {on}"
            + (f": công việc năm {year} thuộc {later}" if later else "")
            + "."
        )
    elif first is not None and year < first:
        reason = "before"
        message = f"{name} không có hồ sơ năm {year} trên parboard: hồ sơ lưu trữ bắt đầu từ năm {first}."
    elif has_record is False or year > end:
        reason = "none"
        message = f"Hồ sơ lưu trữ của {name} không có {record} năm {year}."
    else:
        return None
    return ArchivedYear(section, year, reason, _last_year(archive, section), end, message)


def ensure_archived_year(ctx: TenantContext, year: int, *, section: str, has_record: bool | None = None) -> None:
    """The API's (and a download's) answer for `archived_year`: a 404 whose message says why there is nothing, never
    empty data."""
    absent = archived_year(ctx, year, section=section, has_record=has_record)
    if absent is not None:
        raise ClearRefusal(status_code=404, detail=absent.message)


async def archived_year_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    ctx: TenantContext,
    absent: ArchivedYear,
    *,
    title: str,
    href: str,
    years: list[int] | None = None,
    open_tasks: int | None = None,
) -> Template:
    """The page of a year an archive has nothing of in a section (`archived_year`): why, the successor, the section's
    last year it has, and no empty cards, lanes or badges. A 200: the year's state is known and final (the API's
    operations answer 404 with the same sentence, as there is no object to give)."""
    return page(
        request,
        "tenants/archived_year.html",
        block="content",
        ctx=ctx,
        section=absent.section,
        title=title,
        year=absent.year,
        absent=absent,
        years=await criteria_years(db, ctx.province) if years is None else years,
        href=href,
        cycle_year=absent.end,
        open_tasks=open_tasks,
    )
