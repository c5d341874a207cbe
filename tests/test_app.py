"""The application as a browser or a monitor sees it: health, schema, headers, error pages, htmx and CSRF."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from litestar import Litestar, get, post
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth.permissions import PUBLIC
from backend.db import migrate
from backend.db.runtime import DatabaseUrls
from backend.jobs import queue as jobs
from backend.settings import AuthSettings, StorageSettings
from tests.fixtures.csrf import csrf_token
from tests.html_support import squash
from tests.support import fresh_database, make_settings, sign_in

HOME = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/"
FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"  # a member of HOME's tenant
OTHER_MEMBER = "hung.pv@stnmt.brvt.example.vn"  # another one
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
async def member_client(client: AsyncTestClient[Litestar], demo_tenants: None) -> AsyncTestClient[Litestar]:
    """The test client, signed in as a member of HOME's tenant."""
    await sign_in(client, FOCAL_POINT)
    return client


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-request-id"]


TAG = re.compile(r"<[a-zA-Z][^>]*>")


def assert_csp_safe_html(html: str) -> None:
    """Nothing the CSP would block: no inline script bodies or handlers, no style attributes or elements."""
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I):
        assert re.search(r"\bsrc=", attributes), f"inline <script>: {attributes} {body[:80]}"
        assert body.strip() == "", f"<script src> with a body: {body[:80]}"
    assert not re.search(r"<style\b", html, flags=re.I), "inline <style> element"
    for tag in TAG.findall(html):
        assert not re.search(r"\sstyle\s*=", tag, flags=re.I), f"style attribute: {tag}"
        assert not re.search(r"\son[a-z]+\s*=", tag, flags=re.I), f"event handler attribute: {tag}"
        assert not re.search(r"\shx-on", tag, flags=re.I), f"htmx inline handler: {tag}"
        assert "javascript:" not in tag.lower(), f"javascript: URL: {tag}"


# --- health and schema ----------------------------------------------------------------------------


async def test_healthz_says_ok(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_migration_at_head(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["migration"] == body["expected"] == migrate.head_revision()
    assert {name: body["checks"][name] for name in ("database", "storage")} == {"database": "ok", "storage": "ok"}
    assert set(body["checks"]) == {"database", "storage", "worker"}  # no worker runs here: reported, not failed


@pytest.mark.parametrize(("minutes_ago", "worker"), [(1, "ok"), (10, "no heartbeat for 600 s")])
async def test_readyz_reports_the_workers_heartbeat_without_failing_on_it(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, minutes_ago: int, worker: str
) -> None:
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "INSERT INTO pgqueuer.pgqueuer_schedules (expression, entrypoint, next_run, last_run)"
                " VALUES (:cron, :entrypoint, now(), now() - make_interval(mins => :ago))"
                " ON CONFLICT (expression, entrypoint) DO UPDATE SET last_run = EXCLUDED.last_run"
            ),
            {"cron": jobs.HEARTBEAT_CRON, "entrypoint": jobs.HEARTBEAT, "ago": minutes_ago},
        )
    try:
        response = await client.get("/readyz")
        assert response.status_code == 200  # the web host serves pages while the workers are down
        assert response.json()["checks"]["worker"].startswith(worker[:16])
    finally:
        async with owner_engine.begin() as db:
            await db.execute(
                text("DELETE FROM pgqueuer.pgqueuer_schedules WHERE entrypoint = :e"), {"e": jobs.HEARTBEAT}
            )


async def test_readyz_says_which_dependency_failed_when_the_object_store_is_unreachable(database: DatabaseUrls) -> None:
    storage = StorageSettings(backend="s3", s3_endpoint="http://127.0.0.1:1", s3_bucket="b", s3_access_key="k")
    app = create_app(replace(make_settings(), storage=storage), database)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["storage"] not in ("", "ok")


async def test_readyz_is_unavailable_when_the_database_is_behind_the_code(own_app: Litestar) -> None:
    own_app.state.migration_head = "9999_not_yet_applied"
    async with AsyncTestClient(app=own_app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "migrations pending"
    assert response.json()["expected"] == "9999_not_yet_applied"


@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="needs a second, empty database on the embedded server"
)
async def test_readyz_is_unavailable_on_a_database_without_migrations() -> None:
    with fresh_database() as empty:
        app = create_app(make_settings(), empty)
        async with AsyncTestClient(app=app) as client:
            response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] == "unavailable"


async def test_readyz_is_unavailable_when_the_database_cannot_be_reached(database: DatabaseUrls) -> None:
    unreachable = replace(database, app_url="postgresql+asyncpg://parboard_app:x@127.0.0.1:1/parboard")
    app = create_app(make_settings(), unreachable)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] != "ok"
    assert response.json()["checks"]["storage"] == "ok"


async def test_the_openapi_schema_lists_the_health_checks(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/healthz", "/readyz"} <= set(paths)
    # the schema lists the JSON API (/api/v1) and the health checks; pages stay out
    assert [path for path in paths if not path.startswith(("/api/v1/", "/schema"))] == ["/healthz", "/readyz"]
    assert "/api/v1/t/{province_code}/{tenant_code}/ket-qua/{year}" in paths


# --- headers and markup ---------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_tenants")
async def test_the_landing_page_is_vietnamese_html_with_the_security_headers(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in squash(response.text)
    assert "Tỉnh Bà Rịa – Vũng Tàu" in response.text
    assert_security_headers(response)
    assert_csp_safe_html(response.text)


@pytest.mark.usefixtures("demo_tenants")
async def test_the_sign_in_page_is_vietnamese_and_csp_safe(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/dang-nhap")
    assert response.status_code == 200
    assert '<html lang="vi">' in squash(response.text)
    assert 'href="/auth/ba-ria-vung-tau/login?next=/"' in response.text
    assert "Người dùng mẫu" not in response.text  # the demo people are for development only
    assert_security_headers(response)
    assert_csp_safe_html(response.text)


async def test_the_tenant_home_is_csp_safe_and_varies_on_htmx(member_client: AsyncTestClient[Litestar]) -> None:
    response = await member_client.get(HOME)
    assert response.status_code == 200
    assert_security_headers(response)
    assert_csp_safe_html(response.text)
    assert "HX-Request" in response.headers["vary"]


async def test_an_htmx_request_gets_only_the_content_block(member_client: AsyncTestClient[Litestar]) -> None:
    response = await member_client.get(HOME, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    fragment = squash(response.text)
    assert "<h1>Sở Tài nguyên và Môi trường</h1>" in fragment
    assert "Văn phòng Sở" in fragment
    for outside in ("<html", "<head", "<body", "<header", "<footer", "<main", 'class="dev-banner"', "Đăng xuất"):
        assert outside not in fragment
    assert_security_headers(response)
    assert_csp_safe_html(fragment)


def _csp_directives(response: httpx.Response) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))


async def test_forms_lead_only_to_parboard_and_the_provinces_identity_providers(
    client: AsyncTestClient[Litestar], database: DatabaseUrls
) -> None:
    """Signing out is a form whose redirect ends at the province's end_session endpoint; browsers apply
    form-action to that redirect, so those origins (and no others) are allowed."""
    providers = (
        "https://sso.ba-ria-vung-tau.example.gov.vn https://sso.ha-tinh.example.gov.vn"
        " https://sso.ho-chi-minh.example.gov.vn"
    )
    assert _csp_directives(await client.get("/healthz"))["form-action"] == f"'self' {providers}"
    development = create_app(
        make_settings(env="development", auth=AuthSettings(dev_idp_url="http://127.0.0.1:8001")), database
    )
    async with AsyncTestClient(app=development) as dev_client:
        response = await dev_client.get("/healthz")
    assert _csp_directives(response)["form-action"] == f"'self' http://127.0.0.1:8001 {providers}"


async def test_the_static_assets_are_served_with_the_security_headers(client: AsyncTestClient[Litestar]) -> None:
    for path in ("/static/js/app.js", "/static/css/app.css", "/static/vendor/htmx/2.0.11/htmx.min.js"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


async def test_a_valid_incoming_request_id_is_echoed(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "lb-2024.06_abc-123"})
    assert response.headers["x-request-id"] == "lb-2024.06_abc-123"


@pytest.mark.parametrize("incoming", ["has spaces in it", "x" * 200, "<script>", "ngày-1", ""])
async def test_an_invalid_incoming_request_id_is_replaced(client: AsyncTestClient[Litestar], incoming: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": incoming.encode()})
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_each_request_gets_its_own_request_id(client: AsyncTestClient[Litestar]) -> None:
    first, second = await client.get("/healthz"), await client.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


# --- error pages ----------------------------------------------------------------------------------


async def test_an_unknown_page_is_a_vietnamese_404_with_headers_and_reference(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/khong-co-trang-nay", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy trang" in response.text
    assert "<code>req-404</code>" in squash(response.text)
    assert_security_headers(response)
    assert_csp_safe_html(response.text)


async def test_a_missing_static_file_is_a_vietnamese_404(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/static/js/khong-co.js")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text
    assert_security_headers(response)


async def test_a_wrong_method_is_a_vietnamese_405_not_a_server_error(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post("/healthz")
    assert response.status_code == 405
    assert "Phương thức không được hỗ trợ" in response.text
    assert_security_headers(response)
    as_json = await client.post("/healthz", headers={"Accept": "application/json"})
    assert as_json.status_code == 405
    assert as_json.json()["title"] == "Phương thức không được hỗ trợ"


async def test_json_clients_get_json_errors_with_the_request_id(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/khong-co", headers={"Accept": "application/json", "X-Request-ID": "req-json"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "status_code": 404,
        "title": "Không tìm thấy trang",
        "detail": "Trang bạn tìm không tồn tại hoặc đã được chuyển đi.",
        "request_id": "req-json",
    }
    unauthorised = await client.get(HOME, headers={"Accept": "application/json"})
    assert unauthorised.status_code == 401
    assert unauthorised.json()["title"] == "Cần đăng nhập"


async def test_a_browser_accepting_html_and_json_gets_the_page(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/khong-co", headers={"Accept": "text/html,application/json;q=0.9"})
    assert response.headers["content-type"].startswith("text/html")


async def test_an_unexpected_error_shows_the_vietnamese_500_page_without_a_traceback(own_app: Litestar) -> None:
    @get("/hong", opt={"access": PUBLIC}, sync_to_thread=False)
    def broken() -> str:
        raise RuntimeError("bí mật nội bộ: mật khẩu=hunter2")

    own_app.register(broken)
    async with AsyncTestClient(app=own_app) as client:
        response = await client.get("/hong", headers={"X-Request-ID": "req-500"})
        as_json = await client.get("/hong", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert "Đã xảy ra lỗi hệ thống" in response.text
    assert "<code>req-500</code>" in squash(response.text)
    for leak in ("Traceback", "RuntimeError", "hunter2", "bí mật", 'File "'):
        assert leak not in response.text
        assert leak not in as_json.text
    assert_security_headers(response)
    assert as_json.status_code == 500
    assert as_json.json()["request_id"] == as_json.headers["x-request-id"]


# --- CSRF -----------------------------------------------------------------------------------------


@pytest.fixture
def app_with_form(own_app: Litestar) -> Litestar:
    @post("/thu-gui", opt={"access": PUBLIC}, status_code=200, sync_to_thread=False)
    def submit() -> str:
        return "đã nhận"

    own_app.register(submit)
    return own_app


@pytest.fixture
async def form_client(app_with_form: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app_with_form) as client:
        yield client


async def _page_token(client: AsyncTestClient[Litestar]) -> str:
    """The token as a browser finds it: in the page's <meta>, with the csrftoken cookie set alongside."""
    token = await csrf_token(client)
    assert client.cookies.get("csrftoken")
    return token


@pytest.mark.usefixtures("demo_tenants")
async def test_the_layout_carries_the_csrf_token_in_meta_and_hx_headers(form_client: AsyncTestClient[Litestar]) -> None:
    token = await _page_token(form_client)
    page = await form_client.get("/")
    body = re.search(r"<body hx-headers='([^']*)'>", squash(page.text))
    assert body is not None
    assert json.loads(body.group(1)) == {"x-csrftoken": token}


async def test_a_post_without_a_csrf_token_is_forbidden(form_client: AsyncTestClient[Litestar]) -> None:
    await _page_token(form_client)
    response = await form_client.post("/thu-gui", data={"ten": "x"})
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.text
    assert "đã nhận" not in response.text


async def test_a_post_without_the_cookie_is_forbidden(form_client: AsyncTestClient[Litestar]) -> None:
    token = await _page_token(form_client)
    form_client.cookies.clear()
    response = await form_client.post("/thu-gui", data={"_csrf_token": token})
    assert response.status_code == 403


async def test_a_post_with_a_wrong_csrf_token_is_forbidden(form_client: AsyncTestClient[Litestar]) -> None:
    await _page_token(form_client)
    response = await form_client.post("/thu-gui", headers={"x-csrftoken": "f" * 128, "Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["status_code"] == 403


async def test_a_form_with_the_csrf_field_is_accepted(form_client: AsyncTestClient[Litestar]) -> None:
    token = await _page_token(form_client)
    response = await form_client.post("/thu-gui", data={"_csrf_token": token, "ten": "Văn phòng Sở"})
    assert response.status_code == 200
    assert response.text == "đã nhận"


async def test_an_htmx_request_with_the_csrf_header_is_accepted(form_client: AsyncTestClient[Litestar]) -> None:
    token = await _page_token(form_client)
    response = await form_client.post(
        "/thu-gui", data={"ten": "Văn phòng Sở"}, headers={"x-csrftoken": token, "HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text == "đã nhận"


async def _meta_token(client: AsyncTestClient[Litestar]) -> str:
    return await csrf_token(client, HOME)


@pytest.mark.usefixtures("demo_tenants")
async def test_a_csrf_token_of_another_session_is_refused(form_client: AsyncTestClient[Litestar]) -> None:
    await sign_in(form_client, FOCAL_POINT)
    theirs = await _meta_token(form_client)  # the attacker's own page: a valid token, and the same as its cookie
    await sign_in(form_client, OTHER_MEMBER)  # the victim's session cookie
    form_client.cookies.set("csrftoken", theirs)
    refused = await form_client.post("/thu-gui", data={"_csrf_token": theirs, "ten": "x"})
    assert refused.status_code == 403
    assert "đã nhận" not in refused.text
    htmx = await form_client.post("/thu-gui", data={"ten": "x"}, headers={"x-csrftoken": theirs, "HX-Request": "true"})
    assert htmx.status_code == 403

    own = await _meta_token(form_client)
    assert own != theirs
    page = await form_client.get(HOME)
    body = re.search(r"<body hx-headers='([^']*)'>", squash(page.text))
    assert body is not None
    assert json.loads(body.group(1)) == {"x-csrftoken": own}
    assert (await form_client.post("/thu-gui", data={"_csrf_token": own, "ten": "x"})).status_code == 200
    assert (await form_client.post("/thu-gui", headers={"x-csrftoken": own, "HX-Request": "true"})).status_code == 200
    form_client.cookies.delete("csrftoken")  # the browser lost its cookie: the session still carries the token
    assert (await form_client.post("/thu-gui", data={"_csrf_token": own, "ten": "x"})).status_code == 200


def test_app_js_sends_the_meta_token_as_the_csrf_header(app: Litestar) -> None:
    settings = app.state.settings
    script = (settings.paths.static_dir / "js" / "app.js").read_text(encoding="utf-8")
    assert 'meta[name="csrf-token"]' in script
    assert "headers['x-csrftoken']" in script


async def test_an_app_outside_tests_compiles_every_template_before_its_first_request(database: DatabaseUrls) -> None:
    """The first person after a start (or the first browser test of a run) does not wait for a compile."""
    development = create_app(
        make_settings(env="development", auth=AuthSettings(dev_idp_url="http://127.0.0.1:8001")), database
    )
    environment = development.template_engine.engine  # type: ignore[union-attr]
    names = set(environment.list_templates())
    assert not any(key[1] in names for key in environment.cache)  # nothing compiled at construction
    async with AsyncTestClient(app=development):
        compiled = {name for _, name in environment.cache}
    assert compiled == names
