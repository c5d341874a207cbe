"""The daily reminders: every person's overdue tasks and tasks due within 7 days, by e-mail.

Tenants are read one at a time in a session bound to that tenant, connected as the application's role,
so row-level security keeps each tenant's tasks to that tenant's members. A person who is a member of
several tenants gets one e-mail with a section per tenant. Nothing is stored: the queue's log records
the run. Without SMTP settings the job only logs what it would have sent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import Province, Tenant, User
from backend.db.rls import bind_tenant
from backend.domain.remedies.agenda import Agenda, agendas
from backend.domain.remedies.board import DUE_SOON_DAYS, roll_recurring
from backend.jobs import mail
from backend.logging import get_logger
from backend.settings import Settings
from backend.web.formatting import vn_date
from backend.web.templating import jinja_environment

log = get_logger("parboard.jobs.reminders")


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    code: str
    name: str
    province_code: str

    @property
    def base_path(self) -> str:
        return f"/t/{self.province_code}/{self.code}"


@dataclass
class Reminder:
    """One person's e-mail: their agenda in each tenant where something is overdue or due soon."""

    email: str
    name: str
    sections: list[tuple[TenantRef, Agenda]] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(len(agenda.overdue) for _, agenda in self.sections)

    @property
    def due_soon(self) -> int:
        return sum(len(agenda.due_soon) for _, agenda in self.sections)


@dataclass(frozen=True)
class ReminderReport:
    day: date
    tenants: int
    people: int  # with something overdue or due soon
    sent: int
    smtp: bool

    def summary(self) -> str:
        head = f"nhắc việc ngày {vn_date(self.day)}: {self.tenants} đơn vị, {self.people} người cần nhắc"
        if not self.smtp:
            return f"{head}; chưa cấu hình SMTP (PARBOARD_SMTP_HOST): không gửi thư nào"
        return f"{head}, đã gửi {self.sent} thư"


async def collect(engine: AsyncEngine, day: date) -> tuple[int, list[Reminder]]:
    """The reminders due on `day`, per person (e-mail order), and how many active tenants were read; recurring
    tasks move on to their next due date first."""
    sessions = create_session_maker(engine)
    async with sessions() as db:
        rows = await db.execute(
            select(Tenant.id, Tenant.code, Tenant.name, Province.code)
            .join(Province, Province.id == Tenant.province_id)
            .where(Tenant.is_active, Tenant.archived_on.is_(None))  # an archive (tenants/lineage.yaml) is read-only
            .order_by(Province.code, Tenant.code)
        )
        tenants = [TenantRef(*row) for row in rows]
    people: dict[uuid.UUID, Reminder] = {}
    for tenant in tenants:
        async with sessions() as db:
            await bind_tenant(db, tenant.id)
            async with db.begin():
                await roll_recurring(db, day)
                found = await agendas(db, tenant.id, day, due_soon_only=True)
                wanted = {person: agenda for person, agenda in found.items() if agenda.needs_reminder}
                if not wanted:
                    continue
                users = await db.execute(select(User.id, User.email, User.full_name).where(User.id.in_(list(wanted))))
                for user_id, email, full_name in users:
                    if not email:
                        continue
                    reminder = people.setdefault(user_id, Reminder(email=email, name=full_name or email))
                    reminder.sections.append((tenant, wanted[user_id]))
    return len(tenants), sorted(people.values(), key=lambda r: r.email)


def subject(reminder: Reminder) -> str:
    parts = []
    if reminder.overdue:
        parts.append(f"{reminder.overdue} nhiệm vụ quá hạn")
    if reminder.due_soon:
        parts.append(f"{reminder.due_soon} nhiệm vụ đến hạn trong {DUE_SOON_DAYS} ngày")
    return "Nhắc việc Chỉ số CCHC: " + ", ".join(parts)


@lru_cache(maxsize=4)
def _templates(directory: Path) -> Environment:
    environment = jinja_environment(directory, keep_trailing_newline=True)
    environment.filters["vn_date"] = vn_date
    return environment


def compose(settings: Settings, reminder: Reminder, day: date) -> mail.Mail:
    context = {
        "reminder": reminder,
        "day": day,
        "public_url": settings.auth.public_url,
        "due_soon_days": DUE_SOON_DAYS,
    }
    templates = _templates(settings.paths.templates_dir)
    return mail.Mail(
        to=reminder.email,
        subject=subject(reminder),
        text=templates.get_template("emails/reminders.txt").render(context),
        html=templates.get_template("emails/reminders.html").render(context),
    )


async def send_reminders(engine: AsyncEngine, settings: Settings, day: date) -> ReminderReport:
    """Read every active tenant's agendas for `day` and e-mail each person theirs (when SMTP is configured)."""
    tenants, reminders = await collect(engine, day)
    if not settings.smtp.configured:
        log.info("reminders: SMTP is not configured, no e-mail sent", day=day.isoformat(), people=len(reminders))
        return ReminderReport(day, tenants, len(reminders), 0, smtp=False)
    sent = await mail.send(settings.smtp, [compose(settings, reminder, day) for reminder in reminders])
    log.info("reminders sent", day=day.isoformat(), tenants=tenants, people=len(reminders), sent=sent)
    return ReminderReport(day, tenants, len(reminders), sent, smtp=True)
