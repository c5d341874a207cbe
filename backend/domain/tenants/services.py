"""Read models of a tenant's home page."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Membership, Province, Tenant, Unit, UnitGroup, UnitGroupMember


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
    units: list[Unit]
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


async def tenant_home(session: AsyncSession, tenant: Tenant, province: Province, today: date) -> TenantHome:
    """Units, unit groups and members of the tenant bound to `session` (three queries, whatever the size)."""
    units = list(await session.scalars(select(Unit).order_by(Unit.position, Unit.name)))
    names: dict[uuid.UUID, str] = {u.id: u.name for u in units}
    rows = await session.execute(
        select(UnitGroup.code, UnitGroup.name, func.array_agg(UnitGroupMember.unit_id))
        .join(UnitGroupMember, UnitGroupMember.unit_group_id == UnitGroup.id, isouter=True)
        .group_by(UnitGroup.id)
        .order_by(UnitGroup.name)
    )
    groups = [
        UnitGroupView(code=code, name=name, unit_names=[names[u] for u in members if u in names])
        for code, name, members in rows
    ]
    member_count = await session.scalar(
        select(func.count(func.distinct(Membership.user_id))).where(
            Membership.tenant_id == tenant.id, Membership.is_active
        )
    )
    return TenantHome(
        units=units,
        groups=groups,
        member_count=member_count or 0,
        reports=report_deadlines(province, today.year),
    )
