"""The permission matrix, proven over every registered tenant route × role × (own tenant, another tenant of
the province, a tenant of another province): allowed pairs get through, every other pair is refused with a
403 or 404 whose body shows nothing of the target tenant."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.permissions import Permission, allows, declared_access
from backend.auth.sessions import COOKIE
from backend.db.models import Role
from tests.factories import add_person
from tests.fixtures.csrf import csrf_in
from tests.support import session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants")

OWN = ("ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
TARGETS = {
    "own tenant": OWN,
    "other tenant, same province": ("ba-ria-vung-tau", "so-noi-vu"),
    "other province": ("ha-tinh", "so-tai-nguyen-moi-truong"),
}
# What each target shows when a page does leak: unit and member names of that tenant.
SECRETS = {
    "other tenant, same province": ["Phòng Cải cách hành chính", "Mai Thị Thanh Tâm", "Huỳnh Thanh Tùng"],
    "other province": ["Chi cục Bảo vệ môi trường", "Trung tâm Phát triển quỹ đất và Kỹ thuật địa chính"],
}
PATH_VALUES = {"action": "khoa"}
# the pages and the JSON API (/api/v1), under the same tenant path
TENANT_PREFIXES = ("/t/{province_code:str}/{tenant_code:str}", "/api/v1/t/{province_code:str}/{tenant_code:str}")


@dataclass(frozen=True)
class TenantRoute:
    method: str
    path: str
    permission: Permission
    name: str


def tenant_routes(app: Litestar) -> list[TenantRoute]:
    found = []
    for route in app.routes:
        if not route.path.startswith(TENANT_PREFIXES):
            continue
        for handler in route.route_handlers:
            access = declared_access(handler)
            if not isinstance(handler, HTTPRouteHandler) or not isinstance(access, Permission):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append(TenantRoute(method, route.path, access, handler.name or handler.handler_name))
    return found


def concrete(path: str, province: str, tenant: str) -> str:
    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if name == "province_code":
            return province
        if name == "tenant_code":
            return tenant
        return str(uuid.uuid4()) if kind == "uuid" else PATH_VALUES.get(name, "x")

    return re.sub(r"\{(\w+):(\w+)\}", value, path)


async def _person_with_role(owner_engine: AsyncEngine, role: Role) -> str:
    """A person of the own tenant holding exactly `role` (and no other), created as sign-in would."""
    email = f"{role.value}.{uuid.uuid4().hex[:8]}@matrix.example.vn"
    await add_person(owner_engine, *OWN, email, role.value, full_name=f"Người thử {role.value}")
    return email


async def test_the_matrix_covers_every_tenant_route(app: Litestar) -> None:
    routes = tenant_routes(app)
    assert {r.name for r in routes} >= {"tenant:home", "admin:members", "admin:invite", "admin:audit"}
    assert {r.name for r in routes} >= {"admin:criteria-sets", "admin:criteria-upload", "admin:external-save"}
    assert {r.name for r in routes} >= {"api:assessment_save_row", "api:tasks", "api:task_move", "results:api_tenant"}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
async def test_role_can_do_exactly_what_the_matrix_allows_and_sees_nothing_elsewhere(
    app: Litestar, client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, role: Role
) -> None:
    email = await _person_with_role(owner_engine, role)
    client.cookies.set(COOKIE, await session_cookie_for(app, email))
    home = await client.get("/")
    csrf = csrf_in(home.text)
    failures = []
    for route in tenant_routes(app):
        for target, (province, tenant) in TARGETS.items():
            path = concrete(route.path, province, tenant)
            if route.method == "GET":
                response = await client.get(path)
            elif path.startswith("/api/"):  # JSON, the session's token in the header
                response = await client.request(route.method, path, json={}, headers={"x-csrftoken": csrf})
            else:
                response = await client.post(path, data={"_csrf_token": csrf})
            allowed = target == "own tenant" and allows({role}, route.permission)
            if allowed:
                ok = response.status_code not in (401, 403, 500)
            else:
                ok = response.status_code in (403, 404) and not any(s in response.text for s in SECRETS.get(target, []))
            if not ok:
                failures.append(f"{route.method} {path} ({target}): {response.status_code}, allowed={allowed}")
    assert failures == []
