"""“Việc của tôi”: the signed-in person's open remedy tasks, overdue first, computed live as the reminders are."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.domain.remedies.agenda import agendas
from backend.domain.remedies.board import DUE_SOON_DAYS
from backend.domain.tenants.deps import TenantContext
from backend.web.templating import page


class MyTasksController(Controller):
    path = "/viec-cua-toi"
    include_in_schema = False

    @get("/", name="tasks:mine", opt={"access": Permission.TENANT_VIEW})
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        today = vietnam_today()
        user_id = tenant.principal.user_id
        found = await agendas(db_session, tenant.id, today, user_id=user_id) if user_id else {}
        agenda = found.get(user_id) if user_id else None
        return page(
            request,
            "remedies/my_tasks.html",
            ctx=tenant,
            section="mine",
            agenda=agenda,
            today=today,
            due_soon_days=DUE_SOON_DAYS,
        )
