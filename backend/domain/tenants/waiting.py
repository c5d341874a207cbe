"""What waits for the signed-in person, at the top of their home page (issue 17 item 10).

One statement per box: the department's open evidence requests, tasks due or overdue, self-assessments awaiting
the leader's approval and cards awaiting confirmation come in one round trip (row-level security scopes it to
the tenant). The inspector's queue reads every department of the province in one statement too
(`reading_province`, the one door for reading a province).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, Row, Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import Province, Tenant
from backend.db.rls import reading_province
from backend.domain.admin.province import is_home_affairs
from backend.domain.remedies.deadlines import working_days
from backend.domain.review.services import departments_of
from backend.domain.tenants.deps import TenantContext

# "Sắp đến hạn": within this many working days of the province's calendar (holidays and make-up days counted).
DUE_SOON_WORKING_DAYS = 5
SHOWN_TASKS = 5


@dataclass(frozen=True)
class DueTask:
    number: int
    year: int
    title: str
    due_date: date

    @property
    def code(self) -> str:
        return f"KP-{self.number}"

    def note(self, today: date) -> str:
        days = (self.due_date - today).days
        if days < 0:
            return f"quá hạn {-days} ngày"
        return "đến hạn hôm nay" if days == 0 else f"còn {days} ngày"


@dataclass(frozen=True)
class DepartmentWaiting:
    open_requests: int
    request_year: int | None  # the latest year with an open request (its page)
    overdue: int
    due_soon: int  # due today or within the next DUE_SOON_WORKING_DAYS working days
    horizon: date
    tasks: list[DueTask]  # the first SHOWN_TASKS of them, earliest first
    ready_years: list[int]  # self-assessments awaiting the leader's approval
    to_confirm: int  # cards in the column before the one that needs confirmation


# The select list alone, so the home page can read it in the same statement as the tenant's units.
DEPARTMENT_COLUMNS = """
      (SELECT count(*) FROM evidence_requests WHERE status = 'open') AS open_requests,
      (SELECT max(year) FROM evidence_requests WHERE status = 'open') AS request_year,
      (SELECT count(*) FROM tasks t JOIN board_columns c ON c.id = t.column_id
        WHERE NOT c.is_done AND t.due_date < :today) AS overdue,
      (SELECT count(*) FROM tasks t JOIN board_columns c ON c.id = t.column_id
        WHERE NOT c.is_done AND t.due_date BETWEEN :today AND :horizon) AS due_soon,
      (SELECT coalesce(json_agg(json_build_object('number', d.number, 'year', d.year, 'title', d.title,
                                                  'due', d.due_date) ORDER BY d.due_date, d.number), '[]')
         FROM (SELECT t.number, t.year, t.title, t.due_date FROM tasks t JOIN board_columns c ON c.id = t.column_id
                WHERE NOT c.is_done AND t.due_date <= :horizon
                ORDER BY t.due_date, t.number LIMIT :shown) d) AS tasks,
      (SELECT coalesce(array_agg(year ORDER BY year), '{}') FROM assessments WHERE status = 'ready') AS ready_years,
      (SELECT count(*) FROM tasks t JOIN board_columns c ON c.id = t.column_id
        WHERE NOT c.is_done AND c.position = (
          SELECT max(b.position) FROM board_columns b
           WHERE NOT b.is_done AND b.position < (SELECT min(position) FROM board_columns WHERE needs_confirmation)
        )) AS to_confirm
"""
_DEPARTMENT = text("SELECT" + DEPARTMENT_COLUMNS).bindparams(bindparam("shown", SHOWN_TASKS))


async def department_waiting(db: AsyncSession, province: Province, today: date) -> DepartmentWaiting:
    """What waits in the department bound to `db`: today is Vietnam's day, `horizon` is counted in the
    province's working days."""
    horizon = due_horizon(province, today)
    return department_waiting_of((await db.execute(_DEPARTMENT, {"today": today, "horizon": horizon})).one(), horizon)


def due_horizon(province: Province, today: date) -> date:
    """The last day of "Sắp đến hạn": DUE_SOON_WORKING_DAYS working days of the province's calendar from today."""
    return working_days(province.settings or {}).add_working_days(today, DUE_SOON_WORKING_DAYS)


def department_waiting_of(row: Row[Any], horizon: date) -> DepartmentWaiting:
    """`department_waiting` from a row that has `DEPARTMENT_COLUMNS` (bound with today, `horizon` and shown)."""
    return DepartmentWaiting(
        open_requests=int(row.open_requests),
        request_year=row.request_year,
        overdue=int(row.overdue),
        due_soon=int(row.due_soon),
        horizon=horizon,
        tasks=[DueTask(t["number"], t["year"], t["title"], date.fromisoformat(t["due"])) for t in row.tasks],
        ready_years=list(row.ready_years),
        to_confirm=int(row.to_confirm),
    )


@dataclass(frozen=True)
class QueueLine:
    """A department's submission that waits for the inspector: not yet appraised to the end."""

    department: Tenant
    year: int
    version: int
    submitted_at: datetime
    appraisal: str | None  # None: not opened yet; else its status
    answered: int  # evidence requests the department answered, to read
    assigned: int  # criteria assigned to the viewer's agency, not signed off (another agency only)


@dataclass
class InspectorQueue:
    lines: list[QueueLine] = field(default_factory=list)


# Across the province's departments at once (`reading_province`): every join names its tenant.
_QUEUE = text(
    """
    SELECT s.tenant_id, s.year, s.version, s.submitted_at, a.status AS appraisal,
      (SELECT count(*) FROM evidence_requests r
        WHERE r.tenant_id = s.tenant_id AND r.year = s.year AND r.status = 'answered') AS answered,
      (SELECT count(*) FROM appraisal_items i
        WHERE i.tenant_id = s.tenant_id AND i.appraisal_id = a.id AND i.round = a.round
          AND i.agency_tenant_id = :agency AND NOT i.signed_off)
        AS assigned
      FROM submissions s LEFT JOIN appraisals a ON a.tenant_id = s.tenant_id AND a.year = s.year
     WHERE s.tenant_id = ANY(:departments) AND s.status = 'submitted' AND a.status IS DISTINCT FROM 'finalised'
     ORDER BY s.year
    """
).bindparams(bindparam("departments", type_=ARRAY(Uuid)))


async def inspector_queue(db: AsyncSession, ctx: TenantContext) -> InspectorQueue:
    """Submissions waiting for appraisal across the province (the Sở Nội vụ's inspectors), or, for another
    appraising agency, those with criteria assigned to it; with the answers to read. One statement."""
    queue = InspectorQueue()
    home_affairs = is_home_affairs(ctx)
    # an archive waits for nothing: its packages can no longer be appraised (tenants/lineage.yaml)
    live = [d for d in await departments_of(db, ctx.province) if d.id != ctx.tenant.id and d.archived_on is None]
    departments = {d.id: d for d in live}
    async with reading_province(db, ctx.tenant, ctx.principal, Permission.REVIEW_APPRAISE):
        rows = (await db.execute(_QUEUE, {"agency": ctx.tenant.id, "departments": list(departments)})).all()
    for dept in departments.values():  # by name, then year, as the page lists them
        for row in rows:
            if row.tenant_id != dept.id or (not home_affairs and not row.assigned):
                continue
            queue.lines.append(
                QueueLine(
                    dept, row.year, row.version, row.submitted_at, row.appraisal, int(row.answered), int(row.assigned)
                )
            )
    return queue
