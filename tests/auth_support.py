"""Sign-in test support: parboard and real OpenID providers served on 127.0.0.1, and a scripted browser.

Fixtures (load with `pytest_plugins = ("tests.auth_support",)`):

- `auth_stack` (session): the development identity provider (PKCE S256 enforced) and parboard, each
  served by uvicorn on its own port; parboard's public URL is chosen before it starts, as the redirect
  URIs registered at the provider need it.
- `dev_tenants`: the demo provinces (and their demo people) synced with their issuers on that provider.
- `mock_issuer` (session): `oidc-provider-mock`, a third-party provider, on localhost.
- `browser`: an httpx client that follows nothing by itself, so each redirect is checked on its way.
- `auth_log`: what parboard's sign-in code logged during the test.

The tables are emptied after each test by tests/conftest.py (`_empty_tables`), so every test syncs what it needs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import socket
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth import controllers
from backend.auth.services import DEV_CLIENT_SECRET
from backend.auth.sessions import COOKIE
from backend.db.runtime import DatabaseUrls
from backend.devidp import DevClient, DevIdentityProvider, create_dev_idp, dev_idp_of, dev_provinces_from_config
from backend.domain.tenants.config import LoadedProvince, load_directory, with_issuer_base
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT, AuthSettings, Settings
from tests.support import LiveServer, make_settings

DEMO_DIR = PROJECT_ROOT / "tenants"
BRVT = "ba-ria-vung-tau"
HA_TINH = "ha-tinh"
CLIENT_ID = "parboard"
FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"  # Nguyễn Thị Lan, Đầu mối CCHC of BRVT's Sở TN&MT, unit Văn phòng
# The https deployment of the Secure-cookie test (served in-process; never contacted over the network).
HTTPS_PUBLIC = "https://parboard.example.gov.vn"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- HTML forms, as a browser posts them ------------------------------------------------------------


@dataclass
class Form:
    action: str | None
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # name, value


class Forms(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action")))
        elif tag == "input" and a.get("type") == "hidden" and self.forms:
            self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms:
            self.forms[-1].buttons.append((a.get("name", ""), a.get("value", "")))

    def pressing(self, name: str, value: str, **hidden: str) -> tuple[Form, dict[str, str]]:
        """The form holding the button `name=value` (and these hidden values), and what pressing it posts."""
        for form in self.forms:
            if (name, value) in form.buttons and all(form.fields.get(k) == v for k, v in hidden.items()):
                return form, {**form.fields, name: value}
        raise AssertionError(f"no button {name}={value} on the page")


# --- the running servers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthStack:
    idp_url: str
    idp: DevIdentityProvider
    public_url: str  # parboard, as the browser and the redirect URIs know it
    app: Litestar
    provinces: list[LoadedProvince]  # the demo provinces, their issuers on the development provider

    def issuer(self, province: str) -> str:
        return f"{self.idp_url}/{province}"


def dev_client(public_urls: list[str], provinces: list[str]) -> DevClient:
    return DevClient(
        client_id=CLIENT_ID,
        client_secret=DEV_CLIENT_SECRET,
        redirect_uris=[f"{base}/auth/{code}/callback" for base in public_urls for code in provinces],
        post_logout_redirect_uris=[f"{base}/" for base in public_urls],
    )


def parboard_settings(public_url: str, **auth: Any) -> Settings:
    return make_settings(auth=AuthSettings(public_url=public_url, **auth))


@pytest.fixture(scope="session")
def auth_stack(database: DatabaseUrls) -> Iterator[AuthStack]:
    loaded = load_directory(DEMO_DIR)
    codes = [p.config.province.code for p in loaded]
    idp_app = create_dev_idp(dev_provinces_from_config(loaded), [], base_url="http://127.0.0.1")
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with LiveServer(idp_app) as idp_server:
        idp = dev_idp_of(idp_app)
        idp.base_url = idp_server.url  # the provider's port is known only now
        idp.register_client(dev_client([public_url, HTTPS_PUBLIC], codes))
        app = create_app(parboard_settings(public_url, dev_idp_url=idp_server.url), database)
        with LiveServer(app, port=port) as server:
            assert server.url == public_url
            yield AuthStack(
                idp_url=idp_server.url,
                idp=idp,
                public_url=public_url,
                app=app,
                provinces=with_issuer_base(loaded, idp_server.url),
            )


async def sync_dev_provinces(
    owner_engine: AsyncEngine, stack: AuthStack, *, demo_people: bool = True, only: tuple[str, ...] = (BRVT,)
) -> None:
    """Sync demo provinces (BRVT alone unless told: each one more costs a tenth of a second)."""
    wanted = [p for p in stack.provinces if p.config.province.code in only]
    await sync_tenants(owner_engine, wanted, demo_people=demo_people)


@pytest.fixture
async def dev_tenants(auth_stack: AuthStack, owner_engine: AsyncEngine) -> None:
    """BRVT and its demo people, signing in through the development provider."""
    await sync_dev_provinces(owner_engine, auth_stack)


@functools.cache
def _demo_provinces() -> list[LoadedProvince]:
    return load_directory(DEMO_DIR)


async def add_focal_point(owner_engine: AsyncEngine, issuer: str) -> uuid.UUID:
    """Nguyễn Thị Lan, focal point of BRVT's Sở TN&MT in its Văn phòng, as the demo sync would create her
    (a tenth of a second quicker than syncing every demo person)."""
    user_id = uuid.uuid4()
    await execute(
        owner_engine,
        "INSERT INTO users (id, issuer, subject, email, full_name) VALUES (:id, :iss, :e, :e, 'Nguyễn Thị Lan')",
        id=user_id,
        iss=issuer,
        e=FOCAL_POINT,
    )
    stnmt = await tenant_id(owner_engine, BRVT, "so-tai-nguyen-moi-truong")
    await in_tenant(
        owner_engine,
        stnmt,
        "INSERT INTO memberships (id, tenant_id, user_id, role, unit_id) "
        "SELECT :id, :t, :u, 'focal_point', id FROM units WHERE tenant_id = :t AND code = 'van-phong'",
        id=uuid.uuid4(),
        t=stnmt,
        u=user_id,
    )
    return user_id


@pytest.fixture
async def brvt_focal_point(owner_engine: AsyncEngine) -> uuid.UUID:
    """BRVT as in tenants/ (placeholder issuer) and its focal point: for tests without a provider."""
    (brvt,) = [p for p in _demo_provinces() if p.config.province.code == BRVT]
    await sync_tenants(owner_engine, [brvt])
    return await add_focal_point(owner_engine, brvt.config.province.identity_provider.issuer)


@pytest.fixture
async def dev_focal_point(auth_stack: AuthStack, owner_engine: AsyncEngine) -> uuid.UUID:
    """BRVT signing in through the development provider, and its focal point (no other demo person)."""
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    return await add_focal_point(owner_engine, auth_stack.issuer(BRVT))


@pytest.fixture(scope="session")
def mock_issuer() -> Iterator[str]:
    """oidc-provider-mock on localhost; its issuer is the host URL it is asked on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its own use of authlib.jose, not ours
        from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=0, require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


# --- provinces of one's own, in a temporary tenants/ directory --------------------------------------


# The mock signs its tokens through an Authlib API that Authlib deprecates (in the mock's own thread).
MOCK_WARNINGS = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")


def province_yaml(
    code: str,
    name: str,
    issuer: str,
    claim_mappings: list[dict[str, str]] | None = None,
    identity: dict[str, Any] | None = None,
) -> str:
    """A province of two tenants (so-x and its Sở Nội vụ); `identity`: more keys of its identity_provider
    (scopes, claim names, …), written as JSON, which YAML reads as it is."""
    mappings = "".join(f"      - {json.dumps(m, ensure_ascii=False)}\n" for m in claim_mappings or [])
    more = "".join(f"    {key}: {json.dumps(value, ensure_ascii=False)}\n" for key, value in (identity or {}).items())
    return (
        "province:\n"
        f"  code: {code}\n"
        f'  name: "{name}"\n'
        "  identity_provider:\n"
        f"    issuer: {issuer}\n"
        f"    client_id: {CLIENT_ID}\n" + more + ("    claim_mappings:\n" + mappings if mappings else "") + "tenants:\n"
        "  - code: so-x\n"
        '    name: "Sở Thử nghiệm"\n'
        "    kind: department\n"
        "    units:\n"
        '      - {code: van-phong, name: "Văn phòng Sở", kind: office}\n'
        "  - code: so-noi-vu\n"
        '    name: "Sở Nội vụ"\n'
        "    kind: home_affairs\n"
        "    units:\n"
        '      - {code: van-phong, name: "Văn phòng Sở", kind: office}\n'
    )


def write_province(directory: Path, code: str, name: str, issuer: str, **kwargs: Any) -> Path:
    folder = directory / code
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "province.yaml").write_text(province_yaml(code, name, issuer, **kwargs), encoding="utf-8")
    return directory


def secret_variable(code: str) -> str:
    return "PARBOARD_OIDC_SECRET_" + code.upper().replace("-", "_")


async def choose_at_dev_idp(
    http: httpx.AsyncClient, authorize_url: str, email: str | None, *, deny: bool = False
) -> str:
    """On the development provider's page, sign in as `email` (or refuse): where it sends the browser back."""
    page = await http.get(authorize_url)
    assert page.status_code == 200, page.text
    forms = Forms(page.text)
    form, data = forms.pressing("action", "deny") if deny else forms.pressing("sub", email or "")
    answer = await http.post(urljoin(authorize_url, form.action), data=data)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


# --- the browser ----------------------------------------------------------------------------------


class Browser:
    """One person's browser: a cookie jar, and every redirect taken by hand."""

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url
        self.http = httpx.AsyncClient(base_url=public_url, follow_redirects=False, timeout=10)

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get(COOKIE)

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(url, **kwargs)

    async def login(self, province: str, **params: str) -> httpx.Response:
        """Press "Đăng nhập qua SSO của tỉnh": parboard's answer (a redirect to the provider, or an error page)."""
        return await self.http.get(f"/auth/{province}/login", params=params)

    async def at_dev_idp(self, authorize_url: str, email: str | None, *, deny: bool = False) -> str:
        return await choose_at_dev_idp(self.http, authorize_url, email, deny=deny)

    async def at_mock(self, authorize_url: str, sub: str) -> str:
        """On oidc-provider-mock's page, type `sub` and press "Authorize": where it sends the browser back."""
        page = await self.http.get(authorize_url)
        assert page.status_code == 200, page.text
        answer = await self.http.post(authorize_url, data={"sub": sub})  # the form posts to the page's own URL
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]

    async def callback(self, url: str) -> httpx.Response:
        assert url.startswith(f"{self.public_url}/auth/"), url
        return await self.http.get(path_of(url))

    async def sign_in(self, province: str, email: str, **params: str) -> httpx.Response:
        """The whole flow through the development provider: parboard's answer to the callback."""
        start = await self.login(province, **params)
        assert start.status_code == 302, start.text
        return await self.callback(await self.at_dev_idp(start.headers["location"], email))

    async def csrf_token(self) -> str:
        page = await self.http.get("/")
        marker = 'name="csrf-token" content="'
        assert marker in page.text
        return page.text.split(marker, 1)[1].split('"', 1)[0]

    async def sign_out(self) -> httpx.Response:
        return await self.http.post("/dang-xuat", data={"_csrf_token": await self.csrf_token()})


@pytest.fixture
async def browser(auth_stack: AuthStack) -> AsyncIterator[Browser]:
    browser = Browser(auth_stack.public_url)
    yield browser
    await browser.aclose()


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """The Set-Cookie headers of a response, by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


# --- what parboard logged ----------------------------------------------------------------------------


class RecordingLog:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, dict[str, Any]]] = []

    def _record(self, level: str, event: str, **kw: Any) -> None:
        self.records.append((level, event, kw))

    def debug(self, event: str, **kw: Any) -> None:
        self._record("debug", event, **kw)

    def info(self, event: str, **kw: Any) -> None:
        self._record("info", event, **kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._record("warning", event, **kw)

    def error(self, event: str, **kw: Any) -> None:
        self._record("error", event, **kw)

    def exception(self, event: str, **kw: Any) -> None:
        self._record("exception", event, **kw)


@pytest.fixture
def auth_log(monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    recording = RecordingLog()
    monkeypatch.setattr(controllers, "log", recording)
    return recording


# --- the database, as its owner -----------------------------------------------------------------------


async def scalar(owner_engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with owner_engine.connect() as db:
        return await db.scalar(text(sql), params)


async def rows(owner_engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with owner_engine.connect() as db:
        return list(await db.execute(text(sql), params))


async def execute(owner_engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with owner_engine.begin() as db:
        await db.execute(text(sql), params)


async def in_tenant(owner_engine: AsyncEngine, tenant_id: uuid.UUID, sql: str, **params: Any) -> list[Any]:
    """Rows of a tenant-owned table, read (or written) with that tenant's context set, as the app would."""
    async with owner_engine.begin() as db:
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
        result = await db.execute(text(sql), params)
        return list(result) if result.returns_rows else []


async def in_tenant_of(owner_engine: AsyncEngine, province: str, tenant: str, sql: str, **params: Any) -> list[Any]:
    """`in_tenant` for the tenant named by its province's code and its own."""
    return await in_tenant(owner_engine, await tenant_id(owner_engine, province, tenant), sql, **params)


async def tenant_id(owner_engine: AsyncEngine, province: str, tenant: str) -> uuid.UUID:
    found = await scalar(
        owner_engine,
        "SELECT t.id FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = :p AND t.code = :t",
        p=province,
        t=tenant,
    )
    assert found is not None, (province, tenant)
    return uuid.UUID(str(found))


async def counts(owner_engine: AsyncEngine) -> dict[str, int]:
    """How many people, sessions and pending flows there are (what a sign-in creates or uses up)."""
    return {
        table: int(await scalar(owner_engine, f"SELECT count(*) FROM {table}"))
        for table in ("users", "user_sessions", "login_flows")
    }


async def audit_by_users(owner_engine: AsyncEngine) -> list[Any]:
    """Every audit entry written by a person (not by the tenants sync), tenant by tenant."""
    found: list[Any] = []
    for (tid,) in await rows(owner_engine, "SELECT id FROM tenants"):
        found += await in_tenant(
            owner_engine, tid, "SELECT tenant_id, actor, action, entity, after FROM audit_log WHERE actor LIKE 'user:%'"
        )
    return found


async def memberships_of(owner_engine: AsyncEngine, user_id: uuid.UUID) -> list[Any]:
    found: list[Any] = []
    for (tid,) in await rows(owner_engine, "SELECT id FROM tenants"):
        found += await in_tenant(
            owner_engine, tid, "SELECT tenant_id, role FROM memberships WHERE user_id = :u", u=user_id
        )
    return found


async def publish_result(
    owner_engine: AsyncEngine, province: str, tenant: str, year: int, total: str, rank: int, rank_of: int
) -> None:
    """A published (appraised) result of the tenant's year, with no areas, as a history import leaves one."""
    await in_tenant_of(
        owner_engine,
        province,
        tenant,
        "INSERT INTO appraised_results (id, tenant_id, year, areas, bonus, penalty, total, rank, rank_of, source)"
        " VALUES (gen_random_uuid(), CAST(current_setting('app.tenant_id') AS uuid), :year, '{}', 0, 0,"
        " CAST(:total AS numeric), :rank, :rank_of, 'test')",
        year=year,
        total=total,
        rank=rank,
        rank_of=rank_of,
    )
