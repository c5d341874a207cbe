"""A person's open remedy tasks by due state: what the "Việc của tôi" page shows and the daily reminder e-mails.

A task is a person's when it is assigned to them or led by a unit they are a member of (unit heads and staff
of the lead unit); a task in a done column is nobody's any more. Read in the session's tenant (row-level
security), and filtered on it again: a person's memberships in other tenants are visible to them, their
tasks here are not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import BoardColumn, Membership, Task, TaskAssignee, Unit, User
from backend.domain.remedies.board import DUE_SOON_DAYS


@dataclass(frozen=True)
class AgendaTask:
    number: int
    year: int
    title: str
    due_date: date | None
    lead_unit: str
    column: str
    assigned: bool  # to this person; else theirs through the lead unit

    @property
    def code(self) -> str:
        return f"KP-{self.number}"

    def card_path(self, base_path: str) -> str:
        return f"{base_path}/ke-hoach/{self.year}/the/{self.number}"

    def days_left(self, today: date) -> int | None:
        """Days until the due date: negative when overdue, 0 on the day, None without a date."""
        return (self.due_date - today).days if self.due_date else None

    def due_note(self, today: date) -> str:
        days = self.days_left(today)
        if days is None:
            return "chưa có hạn"
        if days < 0:
            return f"quá hạn {-days} ngày"
        return "đến hạn hôm nay" if days == 0 else f"còn {days} ngày"


@dataclass
class Agenda:
    user_id: uuid.UUID
    overdue: list[AgendaTask] = field(default_factory=list)
    due_soon: list[AgendaTask] = field(default_factory=list)  # due today or within DUE_SOON_DAYS
    later: list[AgendaTask] = field(default_factory=list)  # due later, or without a date

    @property
    def needs_reminder(self) -> bool:
        return bool(self.overdue or self.due_soon)

    def add(self, task: AgendaTask, today: date) -> None:
        days = task.days_left(today)
        if days is not None and days < 0:
            self.overdue.append(task)
        elif days is not None and days <= DUE_SOON_DAYS:
            self.due_soon.append(task)
        else:
            self.later.append(task)


async def agendas(
    db: AsyncSession,
    tenant_id: uuid.UUID,
    today: date,
    *,
    user_id: uuid.UUID | None = None,
    due_soon_only: bool = False,
) -> dict[uuid.UUID, Agenda]:
    """The open tasks of every active member of the tenant (or of `user_id` alone), in three statements.

    With `due_soon_only`, tasks due after the next DUE_SOON_DAYS days or without a date are left out (the
    reminders need nothing else). Only people with an active membership and an active account are listed.
    """
    members = (
        select(Membership.user_id, Membership.unit_id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id, Membership.is_active, User.is_active)
    )
    if user_id is not None:
        members = members.where(Membership.user_id == user_id)
    people: set[uuid.UUID] = set()
    unit_members: dict[uuid.UUID, set[uuid.UUID]] = {}
    for person, unit in await db.execute(members):
        people.add(person)
        if unit is not None:
            unit_members.setdefault(unit, set()).add(person)
    if not people:
        return {}
    assigned = select(TaskAssignee.task_id, TaskAssignee.user_id).where(
        TaskAssignee.tenant_id == tenant_id, TaskAssignee.user_id.in_(people)
    )
    assignees: dict[uuid.UUID, set[uuid.UUID]] = {}
    for task_id, person in await db.execute(assigned):
        assignees.setdefault(task_id, set()).add(person)
    if not assignees and not unit_members:
        return {}
    statement = (
        select(Task, BoardColumn.name, Unit.name)
        .join(BoardColumn, BoardColumn.id == Task.column_id)
        .outerjoin(Unit, Unit.id == Task.lead_unit_id)
        .where(Task.tenant_id == tenant_id, BoardColumn.is_done.is_(False))
        .where(Task.id.in_(list(assignees)) | Task.lead_unit_id.in_(list(unit_members)))
        .order_by(Task.due_date.asc().nulls_last(), Task.number)
    )
    if due_soon_only:
        statement = statement.where(Task.due_date <= today + timedelta(DUE_SOON_DAYS))
    result: dict[uuid.UUID, Agenda] = {}
    for task, column, lead_unit in await db.execute(statement):
        assigned_to = assignees.get(task.id, set())
        leading = unit_members.get(task.lead_unit_id, set()) if task.lead_unit_id else set()
        for person in sorted(assigned_to | leading):
            item = AgendaTask(
                number=task.number,
                year=task.year,
                title=task.title,
                due_date=task.due_date,
                lead_unit=lead_unit or "",
                column=column,
                assigned=person in assigned_to,
            )
            result.setdefault(person, Agenda(person)).add(item, today)
    return result
