"""Health checks, the landing page and the list of provinces."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.response import Response, Template
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import PUBLIC
from backend.auth.principal import current_principal
from backend.db.models import Province, Tenant
from backend.web.templating import page


class SystemController(Controller):
    @get("/healthz", opt={"access": PUBLIC}, summary="Process is alive", tags=["system"])
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/readyz", opt={"access": PUBLIC}, summary="Database reachable, migrations at head", tags=["system"])
    async def readyz(self, state: State, db_session: NamedDependency[AsyncSession]) -> Response[dict[str, Any]]:
        expected = state.migration_head
        try:
            current = await db_session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:
            return Response({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
        ready = current == expected
        body = {"status": "ok" if ready else "migrations pending", "migration": current, "expected": expected}
        return Response(body, status_code=200 if ready else 503)

    @get("/", opt={"access": PUBLIC}, include_in_schema=False, name="index")
    async def index(self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Template:
        provinces = list(await db_session.scalars(select(Province).order_by(Province.name)))
        tenants: dict[Any, list[Tenant]] = {}
        principal = current_principal(request)
        if principal is not None:
            for tenant in await db_session.scalars(select(Tenant).where(Tenant.is_active).order_by(Tenant.name)):
                if principal.roles_in(tenant.id):
                    tenants.setdefault(tenant.province_id, []).append(tenant)
        return page(request, "index.html", provinces=provinces, tenants=tenants)
