"""The permission matrix, and the proof that every route declares its access and the guard fails closed."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.handlers.base import BaseRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from backend.auth.permissions import PUBLIC, SIGNED_IN, Permission, declared_access


def _handlers_of(app: Litestar) -> list[tuple[str, str, BaseRouteHandler]]:
    """(path, methods, handler) of every handler the app dispatches to, as registered and as routed."""
    found: list[tuple[str, str, BaseRouteHandler]] = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                found.append((route.path, ",".join(sorted(handler.http_methods)), handler))
            for method, (handler, _kwargs) in route.route_handler_map.items():
                found.append((route.path, method, handler))
        else:  # websocket and ASGI routes (none today) have a single handler
            found.append((route.path, "*", route.route_handler))  # type: ignore[attr-defined]
    return found


def test_every_registered_route_handler_declares_its_access(app: Litestar) -> None:
    handlers = _handlers_of(app)
    paths = {path for path, _methods, _handler in handlers}
    # The walk covers the framework's own routes too, not only the controllers.
    assert {"/healthz", "/readyz", "/", "/t/{province_code:str}/{tenant_code:str}"} <= paths
    assert {"/dang-nhap", "/auth/{province_code:str}/callback", "/dang-xuat", "/khong-co-quyen"} <= paths
    assert "/static/{path:path}" in paths
    assert "/assets/{digest:str}/{path:path}" in paths
    assert "/schema/openapi.json" in paths
    undeclared = sorted(
        f"{methods} {path} ({handler.handler_name})"
        for path, methods, handler in handlers
        if declared_access(handler) is None
    )
    assert undeclared == [], "route handlers without opt['access']:\n" + "\n".join(undeclared)


FILES_AND_SCHEMA = ("/schema", "/static/", "/assets/")


def _routes_with(app: Litestar, access: object) -> set[tuple[str, str]]:
    """(methods, path) of every handler declaring `access`, apart from the automatic OPTIONS answers,
    the OpenAPI schema and the static files (each checked on its own)."""
    return {
        (methods, path)
        for path, methods, handler in _handlers_of(app)
        if declared_access(handler) is access and methods != "OPTIONS" and not path.startswith(FILES_AND_SCHEMA)
    }


def test_only_the_health_pages_landing_page_and_the_sign_in_steps_are_public(app: Litestar) -> None:
    assert _routes_with(app, PUBLIC) == {
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        # Signing in: the page listing the provinces, the redirect to a province's identity provider,
        # and the way back from it (which checks the state, the browser's cookie, PKCE and the ID token).
        ("GET", "/dang-nhap"),
        ("GET", "/auth/{province_code:str}/login"),
        ("GET", "/auth/{province_code:str}/callback"),
        # Signing out works with or without a live session (an expired one still clears the cookie).
        ("POST", "/dang-xuat"),
        # The operator's metrics: no person's session, a bearer token of its own (404 when none is set).
        ("GET", "/metrics"),
    }


def test_the_schema_and_static_files_are_public_for_reading_only(app: Litestar) -> None:
    for path, methods, handler in _handlers_of(app):
        if path.startswith(FILES_AND_SCHEMA):
            assert declared_access(handler) is PUBLIC, path
            assert set(methods.split(",")) <= {"GET", "HEAD", "OPTIONS"}, (methods, path)


def test_only_the_no_membership_page_needs_just_a_signed_in_person(app: Litestar) -> None:
    """And its API twin: the list of the tenants the person has a role in (each row filtered by the database)."""
    assert _routes_with(app, SIGNED_IN) == {("GET", "/khong-co-quyen"), ("GET", "/api/v1/t")}


def test_every_tenant_route_needs_a_permission_and_the_home_needs_tenant_view(app: Litestar) -> None:
    tenant_routes = [
        (path, methods, declared_access(handler))
        for path, methods, handler in _handlers_of(app)
        if path.startswith("/t/") and methods != "OPTIONS"
    ]
    assert tenant_routes
    assert [route for route in tenant_routes if not isinstance(route[2], Permission)] == []
    home = {access for path, methods, access in tenant_routes if path == "/t/{province_code:str}/{tenant_code:str}"}
    assert home == {Permission.TENANT_VIEW}


async def test_a_route_that_declares_no_access_is_refused_with_the_vietnamese_page(own_app: Litestar) -> None:
    @get("/forgot-to-declare", sync_to_thread=False)
    def forgot() -> str:
        return "should never be served"

    own_app.register(forgot)
    async with AsyncTestClient(app=own_app) as client:
        response = await client.get("/forgot-to-declare")
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text
    assert "should never be served" not in response.text


async def test_an_access_written_as_a_plain_string_is_refused_too(own_app: Litestar) -> None:
    @get("/string-access", opt={"access": "public"}, sync_to_thread=False)
    def stringly() -> str:
        return "should never be served"

    own_app.register(stringly)
    async with AsyncTestClient(app=own_app) as client:
        response = await client.get("/string-access", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["title"] == "Không có quyền truy cập"


async def test_a_permission_route_asks_an_anonymous_visitor_to_sign_in(own_app: Litestar) -> None:
    @get("/needs-audit", opt={"access": Permission.AUDIT_READ}, sync_to_thread=False)
    def audit() -> str:
        return "audit log"

    own_app.register(audit)
    async with AsyncTestClient(app=own_app) as client:
        response = await client.get("/needs-audit")
    assert response.status_code == 401
    assert "Cần đăng nhập" in response.text


async def test_the_automatic_options_answer_is_public_and_only_lists_the_methods(app: Litestar) -> None:
    async with AsyncTestClient(app=app) as client:
        response = await client.options("/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS"
    assert response.content == b""
