"""Read models of a tenant's home page."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row

from backend.db.models import Province
from backend.domain.submissions.calendar import YearCalendar, year_calendar


@dataclass(frozen=True)
class UnitView:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class UnitGroupView:
    code: str
    name: str
    unit_names: list[str]


@dataclass(frozen=True)
class ReportDue:
    period: str
    due: date


@dataclass(frozen=True)
class TenantHome:
    units: list[UnitView]
    groups: list[UnitGroupView]
    member_count: int
    reports: list[ReportDue]


def report_deadlines(province: Province, year: int) -> list[ReportDue]:
    """This year's periodic report deadlines from the province's configuration, in date order."""
    deadlines = []
    for item in province.settings.get("report_deadlines", []):
        day, month = (int(part) for part in str(item["due"]).split("/"))
        # 29/02 falls on 28/02 in a common year
        day = min(day, calendar.monthrange(year, month)[1])
        deadlines.append(ReportDue(period=str(item["period"]), due=date(year, month, day)))
    return sorted(deadlines, key=lambda d: d.due)


def province_calendar(province: Province, year: int) -> YearCalendar | None:
    """The year's calendar from tenants/ (self-assessment window, submission and explanation deadlines,
    appraisal rounds), or None when the province set none: then nothing locks by date that year."""
    return year_calendar(province.settings, year)


# Shaped by PostgreSQL: the home page is the most-opened page of the product, and building ORM objects for it cost
# more than the queries themselves. The select list alone: the home page reads it in one statement with what waits
# for the person (backend/domain/tenants/controllers.py).
HOME_COLUMNS = """
      (SELECT coalesce(json_agg(json_build_object('id', u.id, 'code', u.code, 'name', u.name, 'kind', u.kind)
                                ORDER BY u.position, u.name), '[]')
         FROM units u) AS units,
      (SELECT coalesce(json_agg(json_build_object('code', g.code, 'name', g.name, 'units', g.units)
                                ORDER BY g.name), '[]')
         FROM (SELECT ug.code, ug.name,
                      coalesce(array_agg(u.name ORDER BY u.position, u.name) FILTER (WHERE u.id IS NOT NULL),
                               '{}') AS units
                 FROM unit_groups ug
                 LEFT JOIN unit_group_members m ON m.unit_group_id = ug.id
                 LEFT JOIN units u ON u.id = m.unit_id
                GROUP BY ug.id) g) AS groups,
      (SELECT count(DISTINCT user_id) FROM memberships WHERE is_active) AS members
"""


def tenant_home_of(row: Row[Any], province: Province, year: int) -> TenantHome:
    """Units, unit groups and members of the tenant (row-level security scopes the statement that read `row`, with
    `HOME_COLUMNS`), and the report deadlines of `year` (the year being assessed)."""
    return TenantHome(
        units=[UnitView(code=u["code"], name=u["name"], kind=u["kind"]) for u in row.units],
        groups=[UnitGroupView(code=g["code"], name=g["name"], unit_names=list(g["units"])) for g in row.groups],
        member_count=int(row.members),
        reports=report_deadlines(province, year),
    )
