"""Health checks, the landing page and the list of provinces."""

from __future__ import annotations

import asyncio
import os
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
from backend.domain.evidence.storage import LocalStorage, storage_from_settings
from backend.settings import Settings
from backend.web.templating import page


class SystemController(Controller):
    @get("/healthz", opt={"access": PUBLIC}, summary="Process is alive", tags=["system"])
    async def healthz(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/readyz",
        opt={"access": PUBLIC},
        summary="Database reachable with migrations at head, object store reachable; the workers' heartbeat",
        tags=["system"],
    )
    async def readyz(self, state: State, db_session: NamedDependency[AsyncSession]) -> Response[dict[str, Any]]:
        """Ready when every dependency answers; `checks` names each one and what failed."""
        expected = state.migration_head
        checks: dict[str, str] = {}
        body: dict[str, Any] = {"expected": expected, "checks": checks}
        status = "ok"
        try:
            current = await db_session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:
            checks["database"], status = type(exc).__name__, "unavailable"
        else:
            body["migration"] = current
            checks["database"] = "ok" if current == expected else "migrations pending"
            if current != expected:
                status = "migrations pending"
            checks["worker"] = await _worker_check(db_session)
        checks["storage"] = await _storage_check(state.settings)
        if checks["storage"] != "ok":
            status = "unavailable"
        body["status"] = status
        return Response(body, status_code=200 if body["status"] == "ok" else 503)

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


async def _storage_check(settings: Settings) -> str:
    """The evidence store answers: a lookup of a key that is never stored (local: its folder is writable)."""
    storage = storage_from_settings(settings)
    try:
        if isinstance(storage, LocalStorage):
            storage.root.mkdir(parents=True, exist_ok=True)
            return "ok" if os.access(storage.root, os.W_OK | os.X_OK) else "not writable"
        await asyncio.wait_for(storage.exists("0" * 64), timeout=5)
    except Exception as exc:
        return type(exc).__name__
    return "ok"


async def _worker_check(db: AsyncSession) -> str:
    """The job workers' heartbeat: the last run of their every-minute schedule. Reported, but readiness does not
    depend on it: a web host serves pages while the workers are down (reminders and package builds wait)."""
    from backend.jobs.queue import HEARTBEAT, HEARTBEAT_STALE_S

    try:
        async with db.begin_nested():  # a failure here leaves the request's transaction usable
            age = await db.scalar(
                text(
                    "SELECT extract(epoch FROM now() - max(last_run)) FROM pgqueuer.pgqueuer_schedules"
                    " WHERE entrypoint = :entrypoint"
                ),
                {"entrypoint": HEARTBEAT},
            )
    except Exception as exc:
        return type(exc).__name__
    if age is None:
        return "no worker seen"
    return "ok" if age <= HEARTBEAT_STALE_S else f"no heartbeat for {int(age)} s"
