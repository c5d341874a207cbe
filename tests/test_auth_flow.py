"""Signing in through a province's identity provider, driven like a browser against real servers.

parboard runs under uvicorn on 127.0.0.1; the providers are the development one (PKCE S256 enforced,
one issuer per province) and the third-party `oidc-provider-mock`. Every redirect is taken by hand,
so each hop (parboard → provider page → chosen person → callback → landing page) is checked.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth.sessions import COOKIE
from backend.db.runtime import DatabaseUrls
from backend.domain.tenants.config import ClaimMapping, LoadedProvince, load_directory
from backend.domain.tenants.sync import sync_tenants
from tests.html_support import squash
from tests.support import LiveServer

pytest.register_assert_rewrite("tests.auth_support")  # before its import: the fixtures below come from it

from tests.auth_support import (  # noqa: E402
    BRVT,
    FOCAL_POINT,
    HA_TINH,
    HTTPS_PUBLIC,
    MOCK_WARNINGS,
    AuthStack,
    Browser,
    RecordingLog,
    audit_by_users,
    choose_at_dev_idp,
    cookie_attributes,
    counts,
    execute,
    free_port,
    in_tenant,
    memberships_of,
    parboard_settings,
    path_of,
    query_of,
    rows,
    scalar,
    secret_variable,
    set_cookies,
    sha256_hex,
    sync_dev_provinces,
    tenant_id,
    write_province,
)

pytest_plugins = ("tests.auth_support",)

STNMT = "so-tai-nguyen-moi-truong"
HOME = f"/t/{BRVT}/{STNMT}/"
HA_TINH_HOME = f"/t/{HA_TINH}/{STNMT}/"
HA_TINH_FOCAL_POINT = "thuong.tth@stnmt.hatinh.example.vn"  # Trần Thị Hoài Thương, Hà Tĩnh's Sở TN&MT
INVALID_FLOW = "Phiên đăng nhập không hợp lệ"


def b64url_sha256(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("ascii")).digest()).rstrip(b"=").decode()


def tenant_links(html: str) -> list[str]:
    return re.findall(r'href="(/t/[^"]*)"', html)


async def user_id_of(owner_engine: AsyncEngine, email: str) -> uuid.UUID:
    found = await scalar(owner_engine, "SELECT id FROM users WHERE email = :e", e=email)
    assert found is not None
    return uuid.UUID(str(found))


async def session_rows(owner_engine: AsyncEngine) -> list[Any]:
    return await rows(
        owner_engine,
        "SELECT s.token_hash, s.revoked_at, s.revoked_by, u.email, p.code AS province "
        "FROM user_sessions s JOIN users u ON u.id = s.user_id JOIN provinces p ON p.id = s.province_id "
        "ORDER BY s.created_at",
    )


def assert_refused(response: httpx.Response, status: int = 400, text: str = INVALID_FLOW) -> None:
    assert response.status_code == status, response.text
    assert text in response.text
    assert response.headers["content-type"].startswith("text/html")
    assert COOKIE not in set_cookies(response)


# --- the whole flow with the development provider ------------------------------------------------


@pytest.mark.usefixtures("dev_tenants")
async def test_a_member_signs_in_lands_on_their_tenant_and_signs_out_everywhere(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    start = await browser.login(BRVT)
    assert start.status_code == 302
    authorize = start.headers["location"]
    assert authorize.startswith(f"{auth_stack.issuer(BRVT)}/authorize?")
    flow_cookie = set_cookies(start)["parboard_login"]
    assert {"httponly", "path=/auth", "samesite=lax"} <= cookie_attributes(flow_cookie)

    back = await browser.at_dev_idp(authorize, FOCAL_POINT)
    assert back.startswith(f"{auth_stack.public_url}/auth/{BRVT}/callback?")
    landed = await browser.callback(back)
    assert landed.status_code == 302, landed.text
    assert landed.headers["location"] == HOME
    cookie = set_cookies(landed)[COOKIE]
    attributes = cookie_attributes(cookie)
    assert {"httponly", "path=/", "samesite=lax"} <= attributes
    assert "secure" not in attributes  # public_url is http://127.0.0.1 here: see the https test below
    assert "max-age=0" in cookie_attributes(set_cookies(landed)["parboard_login"])  # the flow is over
    token = browser.session_cookie
    assert token

    home = await browser.get(HOME)
    assert home.status_code == 200
    assert "<h1>Sở Tài nguyên và Môi trường</h1>" in squash(home.text)
    assert "Nguyễn Thị Lan" in home.text
    assert tenant_links((await browser.get("/")).text) == [HOME]
    assert (await browser.get(f"/t/{BRVT}/so-noi-vu/")).status_code == 403
    assert await scalar(owner_engine, "SELECT count(*) FROM login_flows") == 0  # used up

    (session,) = await session_rows(owner_engine)
    assert (session.email, session.province, session.revoked_at) == (FOCAL_POINT, BRVT, None)
    assert session.token_hash == sha256_hex(token)

    bye = await browser.sign_out()
    assert bye.status_code == 303
    end_session = bye.headers["location"]
    assert end_session.startswith(f"{auth_stack.issuer(BRVT)}/end_session?")
    assert query_of(end_session) == {
        "client_id": "parboard",
        "post_logout_redirect_uri": f"{auth_stack.public_url}/",
    }  # no id_token_hint: ID tokens are not kept (migration 0020); client_id names the client
    cleared = set_cookies(bye)[COOKIE]
    assert {"max-age=0", "path=/", "httponly", "samesite=lax"} <= cookie_attributes(cleared)
    back_home = await browser.get(end_session)
    assert back_home.status_code == 302
    assert back_home.headers["location"] == f"{auth_stack.public_url}/"

    (session,) = await session_rows(owner_engine)
    assert session.revoked_at is not None
    assert session.revoked_by == "sign-out"
    assert browser.session_cookie is None
    # The old cookie, replayed by hand, opens nothing any more.
    browser.http.cookies.clear()
    browser.http.cookies.set(COOKIE, token)
    stale = await browser.get(HOME)
    assert stale.status_code == 401
    assert "Cần đăng nhập" in stale.text
    assert tenant_links((await browser.get("/")).text) == []


async def test_the_session_cookie_is_secure_when_parboard_is_served_over_https(
    auth_stack: AuthStack, owner_engine: AsyncEngine, database: DatabaseUrls
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack)
    app = create_app(parboard_settings(HTTPS_PUBLIC, dev_idp_url=auth_stack.idp_url), database)
    async with (
        AsyncTestClient(app=app, base_url=HTTPS_PUBLIC) as parboard,
        httpx.AsyncClient(follow_redirects=False, timeout=10) as idp,
    ):
        start = await parboard.get(f"/auth/{BRVT}/login", follow_redirects=False)
        assert start.status_code == 302, start.text
        assert "secure" in cookie_attributes(set_cookies(start)["parboard_login"])
        assert query_of(start.headers["location"])["redirect_uri"] == f"{HTTPS_PUBLIC}/auth/{BRVT}/callback"
        back = await choose_at_dev_idp(idp, start.headers["location"], FOCAL_POINT)
        assert back.startswith(f"{HTTPS_PUBLIC}/auth/{BRVT}/callback?")
        landed = await parboard.get(path_of(back), follow_redirects=False)
    assert landed.status_code == 302, landed.text
    assert landed.headers["location"] == HOME
    attributes = cookie_attributes(set_cookies(landed)[COOKIE])
    assert {"httponly", "secure", "path=/", "samesite=lax"} <= attributes


# --- PKCE -------------------------------------------------------------------------------------------


async def test_the_authorization_request_carries_an_s256_challenge_of_the_stored_verifier(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    params = query_of(start.headers["location"])
    assert params["code_challenge_method"] == "S256"
    assert params["response_type"] == "code"
    assert params["client_id"] == "parboard"
    assert set(params["scope"].split()) >= {"openid", "email", "profile"}
    ((verifier, nonce),) = await rows(
        owner_engine,
        "SELECT code_verifier, nonce FROM login_flows WHERE state_hash = :h",
        h=sha256_hex(params["state"]),
    )
    assert 43 <= len(verifier) <= 128
    assert params["code_challenge"] == b64url_sha256(verifier)
    assert params["nonce"] == nonce
    assert verifier not in start.headers["location"]
    assert params["state"] not in str(await rows(owner_engine, "SELECT * FROM login_flows"))  # only its hash


async def test_a_tampered_code_verifier_is_refused_by_the_provider_and_signs_nobody_in(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine, auth_log: RecordingLog
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], FOCAL_POINT)
    await execute(owner_engine, "UPDATE login_flows SET code_verifier = :v", v=secrets.token_urlsafe(48))
    answer = await browser.callback(back)
    assert_refused(answer)
    assert "Không thể đăng nhập" in answer.text
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}
    assert ("warning", "sign-in refused", {"province": BRVT, "reason": "token_error"}) in auth_log.records


# --- state, flow cookie, replay, expiry, provinces ---------------------------------------------------


async def test_an_unknown_state_is_refused(auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], FOCAL_POINT)
    forged = back.replace(query_of(back)["state"], secrets.token_urlsafe(32))
    refused = await browser.callback(forged)
    assert_refused(refused)
    assert "parboard_login" not in set_cookies(refused)  # the browser's own flow is still under way
    assert_refused(await browser.get(f"/auth/{BRVT}/callback"))  # no state at all
    assert_refused(await browser.get(f"/auth/{BRVT}/callback", params={"state": "x" * 5000, "code": "y"}))
    counted = await counts(owner_engine)
    assert (counted["users"], counted["user_sessions"]) == (0, 0)
    # Forged states consumed nothing: the genuine answer still completes the browser's own sign-in.
    assert (await browser.callback(back)).status_code == 302
    assert (await counts(owner_engine))["user_sessions"] == 1


async def test_a_callback_in_another_browser_without_the_flow_cookie_is_refused(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], FOCAL_POINT)
    other = Browser(auth_stack.public_url)
    try:
        assert_refused(await other.callback(back))
        other.http.cookies.set("parboard_login", "not-the-one", path="/auth")
        assert_refused(await other.callback(back))
    finally:
        await other.aclose()
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}


async def test_a_replayed_callback_is_refused_and_creates_nothing(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], FOCAL_POINT)
    first = await browser.callback(back)
    assert first.status_code == 302
    assert "max-age=0" in cookie_attributes(set_cookies(first)["parboard_login"])
    before = await counts(owner_engine)
    assert (before["users"], before["user_sessions"]) == (1, 1)
    # The flow cookie is cleared by then; a replay with it put back is refused all the same.
    browser.http.cookies.set("parboard_login", "x", path="/auth")
    assert_refused(await browser.callback(back))
    assert await counts(owner_engine) == before


async def test_an_expired_flow_is_refused(auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], FOCAL_POINT)
    await execute(owner_engine, "UPDATE login_flows SET expires_at = now() - interval '1 second'")
    assert_refused(await browser.callback(back))
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}


async def test_a_flow_of_one_province_is_refused_on_another_province_s_callback(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False, only=(BRVT, HA_TINH))
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], FOCAL_POINT)
    elsewhere = back.replace(f"/auth/{BRVT}/callback", f"/auth/{HA_TINH}/callback")
    assert_refused(await browser.callback(elsewhere))
    assert_refused(await browser.callback(back.replace(f"/auth/{BRVT}/", "/auth/khong-co-tinh-nay/")))
    assert (await counts(owner_engine))["user_sessions"] == 0


async def test_a_code_from_one_province_s_issuer_never_opens_another_province(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    """A Hà Tĩnh flow, completed with a code that BRVT's issuer gave out: Hà Tĩnh's issuer refuses it."""
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False, only=(BRVT, HA_TINH))
    ha_tinh_state = query_of((await browser.login(HA_TINH)).headers["location"])["state"]
    brvt = await browser.login(BRVT)
    brvt_code = query_of(await browser.at_dev_idp(brvt.headers["location"], FOCAL_POINT))["code"]
    answer = await browser.get(f"/auth/{HA_TINH}/callback", params={"code": brvt_code, "state": ha_tinh_state})
    assert_refused(answer)
    counted = await counts(owner_engine)
    assert (counted["users"], counted["user_sessions"]) == (0, 0)


async def test_a_person_of_one_province_never_gets_roles_in_another(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    """Even a membership in BRVT granted by mistake to a Hà Tĩnh person gives their Hà Tĩnh session nothing."""
    await sync_dev_provinces(owner_engine, auth_stack, only=(BRVT, HA_TINH))
    landed = await browser.sign_in(HA_TINH, HA_TINH_FOCAL_POINT)
    assert landed.headers["location"] == HA_TINH_HOME
    person = await user_id_of(owner_engine, HA_TINH_FOCAL_POINT)
    brvt_stnmt = await tenant_id(owner_engine, BRVT, STNMT)
    await in_tenant(
        owner_engine,
        brvt_stnmt,
        "INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (:id, :t, :u, 'tenant_admin')",
        id=uuid.uuid4(),
        t=brvt_stnmt,
        u=person,
    )
    assert (await browser.get(HA_TINH_HOME)).status_code == 200
    refused = await browser.get(HOME)
    assert refused.status_code == 403
    assert "Văn phòng Sở" not in refused.text
    assert tenant_links((await browser.get("/")).text) == [HA_TINH_HOME]
    # and signing in again (to Hà Tĩnh) lists Hà Tĩnh's tenants only
    again = await browser.sign_in(HA_TINH, HA_TINH_FOCAL_POINT)
    assert again.headers["location"] == HA_TINH_HOME


async def test_refusing_at_the_provider_says_so(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    start = await browser.login(BRVT)
    back = await browser.at_dev_idp(start.headers["location"], None, deny=True)
    assert query_of(back)["error"] == "access_denied"
    answer = await browser.callback(back)
    assert_refused(answer, 400, "Bạn đã từ chối đăng nhập")
    assert "max-age=0" in cookie_attributes(set_cookies(answer)["parboard_login"])  # that flow is over
    assert "từ chối" in answer.text
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}


# --- where the person lands --------------------------------------------------------------------------


OFF_SITE = ["//evil.example", "//evil.example/t/", "https://evil.example/", "/\\evil.example", "\\\\evil.example"]
UNUSABLE = ["/\t/evil.example", "/t/\x00", "/t/\x7f", "/t/\x1b[31m", "/" + "a" * 3000, ""]


@pytest.mark.usefixtures("dev_focal_point")
async def test_an_off_site_or_unusable_next_lands_on_the_person_s_home(
    browser: Browser, owner_engine: AsyncEngine
) -> None:
    for next_path in OFF_SITE + UNUSABLE:
        start = await browser.login(BRVT, next=next_path)
        assert start.status_code == 302, next_path
        stored = await scalar(
            owner_engine,
            "SELECT next_path FROM login_flows WHERE state_hash = :h",
            h=sha256_hex(query_of(start.headers["location"])["state"]),
        )
        assert stored == "/", next_path  # "/" means: the person's home, decided at the callback
    for next_path in ("//evil.example", "/t/\x00"):
        landed = await browser.sign_in(BRVT, FOCAL_POINT, next=next_path)
        assert landed.status_code == 302, next_path
        assert landed.headers["location"] == HOME


@pytest.mark.usefixtures("dev_focal_point")
async def test_a_local_next_path_is_honoured(browser: Browser) -> None:
    for next_path, location in [
        (f"{HOME}?tab=1", f"{HOME}?tab=1"),
        ("/dang-nhap", "/dang-nhap"),
        ("/t/tỉnh", "/t/t%E1%BB%89nh"),  # beyond ASCII: percent-encoded, still on site
    ]:
        landed = await browser.sign_in(BRVT, FOCAL_POINT, next=next_path)
        assert landed.status_code == 302, next_path
        assert landed.headers["location"] == location


@pytest.mark.usefixtures("dev_focal_point")
async def test_someone_with_several_tenants_lands_on_the_list(browser: Browser, owner_engine: AsyncEngine) -> None:
    person = await user_id_of(owner_engine, FOCAL_POINT)
    noi_vu = await tenant_id(owner_engine, BRVT, "so-noi-vu")
    await in_tenant(
        owner_engine,
        noi_vu,
        "INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (:id, :t, :u, 'viewer')",
        id=uuid.uuid4(),
        t=noi_vu,
        u=person,
    )
    landed = await browser.sign_in(BRVT, FOCAL_POINT)
    assert landed.headers["location"] == "/"
    assert sorted(tenant_links((await browser.get("/")).text)) == sorted([HOME, f"/t/{BRVT}/so-noi-vu/"])


# --- a third-party provider: oidc-provider-mock ------------------------------------------------------

MOCK_PROVINCE = "tinh-thu-nghiem"
MOCK_PROVINCE_NAME = "Tỉnh Thử nghiệm"


async def sync_mock_province(
    mock_issuer: str,
    tmp_path: Path,
    owner_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    identity: dict[str, Any] | None = None,
) -> str:
    """A province whose issuer is oidc-provider-mock: claim agency = so-x gives the role staff in so-x;
    `identity`: more keys of its identity_provider."""
    async with httpx.AsyncClient(timeout=5) as http:
        discovery = (await http.get(f"{mock_issuer}/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == mock_issuer  # the mock names itself after the host it is asked on
    mappings = [{"claim": "agency", "value": "so-x", "tenant": "so-x", "role": "staff"}]
    write_province(tmp_path, MOCK_PROVINCE, MOCK_PROVINCE_NAME, mock_issuer, claim_mappings=mappings, identity=identity)
    await sync_tenants(owner_engine, load_directory(tmp_path))
    monkeypatch.setenv(secret_variable(MOCK_PROVINCE), "mock-accepts-any-secret")
    return mock_issuer


@pytest.fixture
async def mock_province(
    mock_issuer: str, tmp_path: Path, owner_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A province whose issuer is oidc-provider-mock: claim agency = so-x gives the role staff in so-x."""
    return await sync_mock_province(mock_issuer, tmp_path, owner_engine, monkeypatch)


async def mock_person(issuer: str, claims: dict[str, Any]) -> str:
    sub = f"{uuid.uuid4().hex[:10]}@mock.example.vn"
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.put(f"{issuer}/users/{sub}", json={"email": sub, **claims})
    assert answer.status_code == 204
    return sub


@MOCK_WARNINGS
async def test_a_person_without_any_role_is_created_just_in_time_and_told_whom_to_ask(
    mock_province: str, browser: Browser, owner_engine: AsyncEngine
) -> None:
    sub = await mock_person(mock_province, {"name": "Lê Văn Mới"})
    start = await browser.login(MOCK_PROVINCE)
    assert start.headers["location"].startswith(f"{mock_province}/oauth2/authorize?")
    landed = await browser.callback(await browser.at_mock(start.headers["location"], sub))
    assert landed.status_code == 302, landed.text
    assert landed.headers["location"] == "/khong-co-quyen"

    page = await browser.get("/khong-co-quyen")
    assert page.status_code == 200
    assert "Tài khoản chưa được cấp quyền" in page.text
    assert "Lê Văn Mới" in page.text
    assert "<strong>Văn phòng Sở</strong>" in squash(page.text)
    assert f"<strong>Sở Nội vụ</strong> {MOCK_PROVINCE_NAME}" in squash(page.text)
    assert tenant_links((await browser.get("/")).text) == []
    assert (await browser.get(f"/t/{MOCK_PROVINCE}/so-x/")).status_code == 403

    ((user_id, issuer, subject, email),) = await rows(owner_engine, "SELECT id, issuer, subject, email FROM users")
    assert (issuer, subject, email) == (mock_province, sub, sub)
    assert await counts(owner_engine) == {"users": 1, "user_sessions": 1, "login_flows": 0}
    assert await memberships_of(owner_engine, user_id) == []
    assert await audit_by_users(owner_engine) == []


@MOCK_WARNINGS
async def test_a_claim_mapping_grants_the_role_at_first_sign_in_and_audits_it(
    mock_province: str, browser: Browser, owner_engine: AsyncEngine
) -> None:
    sub = await mock_person(mock_province, {"name": "Phan Thị Gán", "agency": "so-x"})
    start = await browser.login(MOCK_PROVINCE)
    landed = await browser.callback(await browser.at_mock(start.headers["location"], sub))
    home = f"/t/{MOCK_PROVINCE}/so-x/"
    assert landed.headers["location"] == home
    assert (await browser.get(home)).status_code == 200

    user_id = uuid.UUID(str(await scalar(owner_engine, "SELECT id FROM users WHERE subject = :s", s=sub)))
    so_x = await tenant_id(owner_engine, MOCK_PROVINCE, "so-x")
    assert await memberships_of(owner_engine, user_id) == [(so_x, "staff")]
    entries = await in_tenant(
        owner_engine, so_x, "SELECT actor, action, entity, after FROM audit_log WHERE actor = :a", a=f"user:{user_id}"
    )
    assert len(entries) == 1
    _, action, entity, after = entries[0]
    assert (action, entity) == ("grant", "membership")
    assert after == {"user": str(user_id), "email": sub, "role": "staff", "source": "claim"}

    # The next sign-in grants nothing twice.
    browser.http.cookies.clear()
    start = await browser.login(MOCK_PROVINCE)
    assert (await browser.callback(await browser.at_mock(start.headers["location"], sub))).status_code == 302
    assert len(await audit_by_users(owner_engine)) == 1
    assert await memberships_of(owner_engine, user_id) == [(so_x, "staff")]


@MOCK_WARNINGS
async def test_a_subject_longer_than_the_spec_allows_is_a_provider_fault_in_vietnamese(
    mock_province: str, browser: Browser, owner_engine: AsyncEngine, auth_log: RecordingLog
) -> None:
    sub = "x" * 300
    async with httpx.AsyncClient(timeout=5) as http:
        assert (
            await http.put(f"{mock_province}/users/{sub}", json={"email": "dai@mock.example.vn"})
        ).status_code == 204
    start = await browser.login(MOCK_PROVINCE)
    answer = await browser.callback(await browser.at_mock(start.headers["location"], sub))
    assert_refused(answer, 502, "Hệ thống đăng nhập của tỉnh trả lời không hợp lệ")
    assert ("warning", "sign-in refused", {"province": MOCK_PROVINCE, "reason": "bad_response"}) in auth_log.records
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}


# --- invitations -------------------------------------------------------------------------------------


async def invite(
    owner_engine: AsyncEngine, tenant: uuid.UUID, email: str, *, role: str = "viewer", days: float = 7
) -> uuid.UUID:
    invitation = uuid.uuid4()
    await in_tenant(
        owner_engine,
        tenant,
        "INSERT INTO invitations (id, tenant_id, email, role, expires_at) VALUES (:id, :t, :e, :r, now() + :x)",
        id=invitation,
        t=tenant,
        e=email,
        r=role,
        x=timedelta(days=days),
    )
    return invitation


async def test_an_invitation_grants_its_role_at_first_sign_in(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False)
    stnmt = await tenant_id(owner_engine, BRVT, STNMT)
    invitation = await invite(owner_engine, stnmt, FOCAL_POINT, role="focal_point")
    landed = await browser.sign_in(BRVT, FOCAL_POINT)
    assert landed.headers["location"] == HOME
    assert (await browser.get(HOME)).status_code == 200

    user_id = await user_id_of(owner_engine, FOCAL_POINT)
    assert await memberships_of(owner_engine, user_id) == [(stnmt, "focal_point")]
    ((accepted_at, accepted_by),) = await in_tenant(
        owner_engine, stnmt, "SELECT accepted_at, accepted_by FROM invitations WHERE id = :i", i=invitation
    )
    assert accepted_at is not None
    assert accepted_by == user_id
    ((tenant, actor, action, entity, after),) = await audit_by_users(owner_engine)
    assert (tenant, actor, action, entity) == (stnmt, f"user:{user_id}", "grant", "membership")
    assert after["source"] == "invitation"
    assert after["role"] == "focal_point"


@pytest.mark.parametrize("kind", ["expired", "revoked", "another province"])
async def test_an_unusable_invitation_grants_nothing(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine, kind: str
) -> None:
    province = HA_TINH if kind == "another province" else BRVT
    await sync_dev_provinces(owner_engine, auth_stack, demo_people=False, only=(BRVT, province))
    tenant = await tenant_id(owner_engine, province, STNMT)
    invitation = await invite(owner_engine, tenant, FOCAL_POINT, days=-0.001 if kind == "expired" else 7)
    if kind == "revoked":
        await in_tenant(owner_engine, tenant, "UPDATE invitations SET revoked_at = now() WHERE id = :i", i=invitation)
    landed = await browser.sign_in(BRVT, FOCAL_POINT)
    assert landed.headers["location"] == "/khong-co-quyen"
    user_id = await user_id_of(owner_engine, FOCAL_POINT)
    assert await memberships_of(owner_engine, user_id) == []
    assert await audit_by_users(owner_engine) == []
    ((accepted_at,),) = await in_tenant(
        owner_engine, tenant, "SELECT accepted_at FROM invitations WHERE id = :i", i=invitation
    )
    assert accepted_at is None


@MOCK_WARNINGS
@pytest.mark.parametrize(
    ("verified", "trusted", "taken"),
    [
        pytest.param(None, False, False, id="claim-missing"),
        pytest.param(False, False, False, id="false"),
        pytest.param("true", False, False, id="the-text-true"),
        pytest.param(True, False, True, id="true"),
        pytest.param(None, True, True, id="missing-but-the-province-trusts-its-provider"),
        pytest.param(False, True, False, id="false-even-when-trusted"),
    ],
)
async def test_only_a_verified_e_mail_takes_an_invitation(
    mock_issuer: str,
    tmp_path: Path,
    owner_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    browser: Browser,
    verified: object,
    trusted: bool,
    taken: bool,
) -> None:
    identity = {"trust_email_without_verified": True} if trusted else None
    await sync_mock_province(mock_issuer, tmp_path, owner_engine, monkeypatch, identity=identity)
    claims: dict[str, Any] = {"name": "Đỗ Thị Mời"}
    if verified is not None:
        claims["email_verified"] = verified
    sub = await mock_person(mock_issuer, claims)  # the e-mail is the sub
    so_x = await tenant_id(owner_engine, MOCK_PROVINCE, "so-x")
    invitation = await invite(owner_engine, so_x, sub, role="viewer")

    start = await browser.login(MOCK_PROVINCE)
    landed = await browser.callback(await browser.at_mock(start.headers["location"], sub))

    assert landed.status_code == 302, landed.text
    assert landed.headers["location"] == (f"/t/{MOCK_PROVINCE}/so-x/" if taken else "/khong-co-quyen")
    user_id = uuid.UUID(str(await scalar(owner_engine, "SELECT id FROM users WHERE subject = :s", s=sub)))
    assert await memberships_of(owner_engine, user_id) == ([(so_x, "viewer")] if taken else [])
    ((accepted_by,),) = await in_tenant(
        owner_engine, so_x, "SELECT accepted_by FROM invitations WHERE id = :i", i=invitation
    )
    assert accepted_by == (user_id if taken else None)


# --- what the provider is asked for, and where its answers are ----------------------------------------

AGENCY_GRANTS_VIEWER = ClaimMapping(value=STNMT, tenant=STNMT, role="viewer")  # no `claim`: the agency claim


async def sync_brvt_identity(owner_engine: AsyncEngine, stack: AuthStack, **changes: Any) -> None:
    """BRVT on the development provider (no demo person), its identity_provider changed as given."""
    (brvt,) = [p for p in stack.provinces if p.config.province.code == BRVT]
    info = brvt.config.province
    idp = msgspec.structs.replace(info.identity_provider, **changes)
    config = msgspec.structs.replace(brvt.config, province=msgspec.structs.replace(info, identity_provider=idp))
    await sync_tenants(owner_engine, [LoadedProvince(brvt.file, config)], demo_people=False)


async def test_the_configured_scopes_are_asked_and_a_claim_released_only_under_one_grants_its_role(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    scopes = ["openid", "email", "profile", "agency"]
    await sync_brvt_identity(owner_engine, auth_stack, scopes=scopes, claim_mappings=[AGENCY_GRANTS_VIEWER])
    start = await browser.login(BRVT)
    assert query_of(start.headers["location"])["scope"] == "openid email profile agency"
    landed = await browser.callback(await browser.at_dev_idp(start.headers["location"], FOCAL_POINT))
    assert landed.headers["location"] == HOME
    stnmt = await tenant_id(owner_engine, BRVT, STNMT)
    assert await memberships_of(owner_engine, await user_id_of(owner_engine, FOCAL_POINT)) == [(stnmt, "viewer")]


async def test_without_its_scope_the_agency_claim_is_not_released_and_grants_nothing(
    auth_stack: AuthStack, browser: Browser, owner_engine: AsyncEngine
) -> None:
    scopes = ["openid", "email", "profile"]
    await sync_brvt_identity(owner_engine, auth_stack, scopes=scopes, claim_mappings=[AGENCY_GRANTS_VIEWER])
    start = await browser.login(BRVT)
    assert query_of(start.headers["location"])["scope"] == "openid email profile"
    landed = await browser.callback(await browser.at_dev_idp(start.headers["location"], FOCAL_POINT))
    assert landed.headers["location"] == "/khong-co-quyen"
    assert await memberships_of(owner_engine, await user_id_of(owner_engine, FOCAL_POINT)) == []


@MOCK_WARNINGS
async def test_the_e_mail_and_the_name_are_read_from_the_province_s_claim_names(
    mock_issuer: str, tmp_path: Path, owner_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, browser: Browser
) -> None:
    identity = {"email_claim": "thu_dien_tu", "name_claim": "ho_ten"}
    await sync_mock_province(mock_issuer, tmp_path, owner_engine, monkeypatch, identity=identity)
    sub = await mock_person(
        mock_issuer, {"thu_dien_tu": "Ngo.Van.Ten@So-X.Example.vn", "ho_ten": "Ngô Văn Tên", "name": "Không phải"}
    )
    start = await browser.login(MOCK_PROVINCE)
    landed = await browser.callback(await browser.at_mock(start.headers["location"], sub))
    assert landed.status_code == 302, landed.text
    assert await rows(owner_engine, "SELECT email, full_name FROM users WHERE subject = :s", s=sub) == [
        ("ngo.van.ten@so-x.example.vn", "Ngô Văn Tên")
    ]


# --- the provider down, slow, or talking nonsense -----------------------------------------------------


class _Hold:
    """The slow provider's requests, held until teardown lets them go (so its server stops at once)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.holding = 0  # requests received and not answered yet

    def wait(self) -> None:
        with self.lock:
            self.holding += 1
        try:
            self.released.wait(60)  # 60 × parboard's timeout here
        finally:
            with self.lock:
                self.holding -= 1


_HOLD = _Hold()


@get("/slow/.well-known/openid-configuration", media_type="application/json")
async def _slow_discovery() -> dict[str, str]:
    await asyncio.to_thread(_HOLD.wait)
    return {}


@get("/garbage/.well-known/openid-configuration", media_type="text/plain")
async def _garbage_discovery() -> str:
    return "<html>Đây không phải JSON</html>"


@pytest.fixture(scope="module")
def broken_providers() -> Iterator[str]:
    app = Litestar(route_handlers=[_slow_discovery, _garbage_discovery], openapi_config=None, logging_config=None)
    _HOLD.released.clear()
    with LiveServer(app) as server:
        try:
            yield server.url
        finally:
            _HOLD.released.set()


@pytest.fixture(scope="module")
def impatient_parboard(database: DatabaseUrls) -> Iterator[str]:
    """parboard waiting at most one second for a provider."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    app = create_app(parboard_settings(public_url, oidc_timeout_seconds=1), database)
    with LiveServer(app, port=port):
        yield public_url


@pytest.fixture
async def impatient_browser(impatient_parboard: str) -> AsyncIterator[Browser]:
    browser = Browser(impatient_parboard)
    yield browser
    await browser.aclose()


@pytest.mark.parametrize(
    ("where", "status", "message", "reason"),
    [
        ("closed port", 502, "Không kết nối được với hệ thống đăng nhập của tỉnh", "provider_unavailable"),
        ("slow", 504, "Hệ thống đăng nhập của tỉnh không phản hồi kịp", "provider_timeout"),
        ("garbage", 502, "Hệ thống đăng nhập của tỉnh trả lời không hợp lệ", "bad_discovery"),
    ],
)
async def test_a_provider_that_cannot_be_used_gets_a_vietnamese_page_without_waiting_for_it(
    broken_providers: str,
    impatient_browser: Browser,
    owner_engine: AsyncEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    auth_log: RecordingLog,
    where: str,
    status: int,
    message: str,
    reason: str,
) -> None:
    issuer = {
        "closed port": f"http://127.0.0.1:{free_port()}/closed",
        "slow": f"{broken_providers}/slow",
        "garbage": f"{broken_providers}/garbage",
    }[where]
    code = "tinh-" + uuid.uuid4().hex[:8]
    write_province(tmp_path, code, "Tỉnh Hỏng", issuer)
    await sync_tenants(owner_engine, load_directory(tmp_path))
    monkeypatch.setenv(secret_variable(code), "s3cret")

    held = _HOLD.holding
    answer = await impatient_browser.login(code)
    if where == "slow":  # the provider still holds the request: the page came from parboard's own 1 s timeout
        assert _HOLD.holding == held + 1
    assert_refused(answer, status, message)
    assert "parboard_login" not in set_cookies(answer)
    assert ("warning", "sign-in could not start", {"province": code, "reason": reason}) in auth_log.records
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}


async def test_a_province_without_a_client_secret_is_not_configured(
    impatient_browser: Browser, owner_engine: AsyncEngine, tmp_path: Path, auth_log: RecordingLog
) -> None:
    write_province(tmp_path, "tinh-chua-cau-hinh", "Tỉnh Chưa cấu hình", "https://sso.example.gov.vn/x")
    await sync_tenants(owner_engine, load_directory(tmp_path))
    answer = await impatient_browser.login("tinh-chua-cau-hinh")
    assert_refused(answer, 503, "chưa cấu hình hệ thống đăng nhập")
    assert_refused(await impatient_browser.login("khong-co-tinh-nay"), 404, "Không tìm thấy tỉnh")
    assert await counts(owner_engine) == {"users": 0, "user_sessions": 0, "login_flows": 0}
