"""Server-side sessions: timeouts, revocation, disabled people, rotation, the last-seen write, pool hygiene.

`SessionStore` is driven directly (as the application role) and through the live server; time moves by
replacing `backend.auth.sessions.now`, the one clock sessions are judged by.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth import sessions
from backend.auth.sessions import COOKIE, SessionStore
from backend.db.engine import create_engine, create_session_maker
from backend.db.models import Province, Role, User
from backend.db.runtime import DatabaseUrls
from backend.settings import AuthSettings, DatabaseSettings
from tests.support import make_settings

pytest.register_assert_rewrite("tests.auth_support")  # before its import: the fixtures below come from it

from tests.auth_support import (  # noqa: E402
    BRVT,
    FOCAL_POINT,
    Browser,
    execute,
    in_tenant,
    rows,
    scalar,
    set_cookies,
    sha256_hex,
    tenant_id,
)

pytest_plugins = ("tests.auth_support",)

HOME = f"/t/{BRVT}/so-tai-nguyen-moi-truong/"


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moving = Clock()
    monkeypatch.setattr(sessions, "now", moving.now)
    return moving


def store_on(engine: AsyncEngine, **auth: Any) -> SessionStore:
    return SessionStore(engine, make_settings(auth=AuthSettings(**auth)))


async def open_session(store: SessionStore, email: str = FOCAL_POINT) -> str:
    """A session for a synced demo person, created as the sign-in callback creates it: its cookie value."""
    async with create_session_maker(store.engine)() as db, db.begin():
        user = (await db.scalars(select(User).where(User.email == email))).one()
        province = (await db.scalars(select(Province).where(Province.code == BRVT))).one()
        created = await store.create(
            db, user_id=user.id, province_id=province.id, user_agent="pytest", ip_address="127.0.0.1"
        )
    return created.token


@pytest.fixture
def store(app_engine: AsyncEngine) -> SessionStore:
    return store_on(app_engine)


async def last_seen(owner_engine: AsyncEngine, token: str) -> datetime:
    found = await scalar(
        owner_engine, "SELECT last_seen_at FROM user_sessions WHERE token_hash = :h", h=sha256_hex(token)
    )
    assert isinstance(found, datetime)
    return found


# --- the store itself --------------------------------------------------------------------------------


@pytest.mark.usefixtures("brvt_focal_point")
async def test_a_session_is_its_person_with_their_roles_in_their_province(
    store: SessionStore, owner_engine: AsyncEngine
) -> None:
    token = await open_session(store)
    principal = await store.resolve(token)
    assert principal is not None
    stnmt = await tenant_id(owner_engine, BRVT, "so-tai-nguyen-moi-truong")
    ((office,),) = await in_tenant(owner_engine, stnmt, "SELECT id FROM units WHERE code = 'van-phong'")
    assert principal.display_name == "Nguyễn Thị Lan"
    assert principal.email == FOCAL_POINT
    assert principal.roles == {stnmt: frozenset({Role.FOCAL_POINT})}
    assert principal.units == {stnmt: frozenset({office})}
    assert principal.province_id == await scalar(owner_engine, "SELECT id FROM provinces WHERE code = :p", p=BRVT)
    assert not principal.is_platform_admin
    assert await store.resolve("khong-phai-phien-that") is None
    assert await store.resolve(token + "x") is None


@pytest.mark.usefixtures("brvt_focal_point")
async def test_an_idle_session_ends(store: SessionStore, clock: Clock) -> None:
    token = await open_session(store)
    clock.advance(minutes=59)
    assert await store.resolve(token) is not None  # and seen now: the idle time starts again
    clock.advance(minutes=59)
    assert await store.resolve(token) is not None
    clock.advance(minutes=60)
    assert await store.resolve(token) is None

    idle = await open_session(store)
    clock.advance(minutes=61)
    assert await store.resolve(idle) is None


@pytest.mark.usefixtures("brvt_focal_point")
async def test_a_session_ends_at_its_absolute_timeout_however_busy(app_engine: AsyncEngine, clock: Clock) -> None:
    store = store_on(app_engine, session_idle_minutes=24 * 60, session_absolute_hours=1)
    token = await open_session(store)
    for _ in range(5):
        clock.advance(minutes=11)
        assert await store.resolve(token) is not None
    clock.advance(minutes=6)  # 61 minutes after sign-in, seen 6 minutes ago
    assert await store.resolve(token) is None


@pytest.mark.usefixtures("brvt_focal_point")
async def test_a_revoked_session_is_anonymous(store: SessionStore, owner_engine: AsyncEngine) -> None:
    first, second, third = [await open_session(store) for _ in range(3)]
    async with create_session_maker(store.engine)() as db, db.begin():
        revoked = await store.revoke_token(db, first, by="sign-out")
        assert revoked is not None
        assert await store.revoke_token(db, first, by="sign-out") is None  # once
    assert await store.resolve(first) is None
    assert await store.resolve(second) is not None
    user_id = await scalar(owner_engine, "SELECT id FROM users WHERE email = :e", e=FOCAL_POINT)
    async with create_session_maker(store.engine)() as db, db.begin():
        assert await store.revoke_user(db, user_id, by="admin") == 2
    assert await store.resolve(second) is None
    assert await store.resolve(third) is None
    assert sorted(r.revoked_by for r in await rows(owner_engine, "SELECT revoked_by FROM user_sessions")) == [
        "admin",
        "admin",
        "sign-out",
    ]


@pytest.mark.usefixtures("brvt_focal_point")
async def test_a_disabled_person_s_session_is_anonymous(store: SessionStore, owner_engine: AsyncEngine) -> None:
    token = await open_session(store)
    await execute(owner_engine, "UPDATE users SET is_active = false WHERE email = :e", e=FOCAL_POINT)
    assert await store.resolve(token) is None
    await execute(owner_engine, "UPDATE users SET is_active = true WHERE email = :e", e=FOCAL_POINT)
    assert await store.resolve(token) is not None


@pytest.mark.usefixtures("brvt_focal_point")
async def test_last_seen_is_written_at_most_once_a_minute(
    store: SessionStore, owner_engine: AsyncEngine, clock: Clock
) -> None:
    # Each write stores the (fake) clock's time, so an unchanged value proves no write happened.
    token = await open_session(store)
    created = await last_seen(owner_engine, token)
    for _ in range(5):
        assert await store.resolve(token) is not None
    clock.advance(seconds=30)
    assert await store.resolve(token) is not None
    assert await last_seen(owner_engine, token) == created

    clock.advance(seconds=31)
    assert await store.resolve(token) is not None
    touched = await last_seen(owner_engine, token)
    assert touched - created >= timedelta(seconds=61)
    for _ in range(5):
        assert await store.resolve(token) is not None
    assert await last_seen(owner_engine, token) == touched

    clock.advance(seconds=59)
    assert await store.resolve(token) is not None
    assert await last_seen(owner_engine, token) == touched
    clock.advance(seconds=2)
    assert await store.resolve(token) is not None
    assert await last_seen(owner_engine, token) - touched >= timedelta(seconds=61)


@pytest.mark.usefixtures("brvt_focal_point")
async def test_a_pooled_connection_keeps_no_person_after_a_session_lookup(database: DatabaseUrls, clock: Clock) -> None:
    engine = create_engine(database.app_url, DatabaseSettings(pool_size=1, max_overflow=0))
    try:
        store = store_on(engine)
        token = await open_session(store)
        async with engine.connect() as db:
            pid = await db.scalar(text("SELECT pg_backend_pid()"))
        clock.advance(minutes=2)  # so the lookup writes last_seen_at too
        principal = await store.resolve(token)
        assert principal is not None
        async with engine.connect() as db:
            assert await db.scalar(text("SELECT pg_backend_pid()")) == pid  # the very connection it used
            assert await db.scalar(text("SELECT current_setting('app.user_id', true)")) in ("", None)
            assert await db.scalar(text("SELECT current_setting('app.tenant_id', true)")) in ("", None)
            # and, as the application role without a person, it sees nobody's memberships
            assert await db.scalar(text("SELECT count(*) FROM memberships")) == 0
    finally:
        await engine.dispose()


# --- through the live server ------------------------------------------------------------------------


@pytest.mark.usefixtures("dev_focal_point")
async def test_an_idle_browser_is_signed_out(browser: Browser, clock: Clock) -> None:
    assert (await browser.sign_in(BRVT, FOCAL_POINT)).headers["location"] == HOME
    assert (await browser.get(HOME)).status_code == 200
    clock.advance(minutes=61)
    assert (await browser.get(HOME)).status_code == 401
    assert 'href="/t/' not in (await browser.get("/")).text


@pytest.mark.usefixtures("dev_focal_point")
async def test_a_disabled_person_is_signed_out_and_cannot_sign_in_again(
    browser: Browser, owner_engine: AsyncEngine
) -> None:
    await browser.sign_in(BRVT, FOCAL_POINT)
    await execute(owner_engine, "UPDATE users SET is_active = false WHERE email = :e", e=FOCAL_POINT)
    assert (await browser.get(HOME)).status_code == 401
    refused = await browser.sign_in(BRVT, FOCAL_POINT)
    assert refused.status_code == 403
    assert "Tài khoản của bạn đã bị khoá. Liên hệ quản trị viên của đơn vị." in refused.text
    assert COOKIE not in set_cookies(refused)
    assert await scalar(owner_engine, "SELECT count(*) FROM user_sessions") == 1


@pytest.mark.usefixtures("dev_focal_point")
async def test_signing_in_again_revokes_the_browser_s_previous_session(
    browser: Browser, owner_engine: AsyncEngine
) -> None:
    await browser.sign_in(BRVT, FOCAL_POINT)
    first = browser.session_cookie
    assert first
    await browser.sign_in(BRVT, FOCAL_POINT)
    second = browser.session_cookie
    assert second
    assert second != first
    by_hash = {
        r.token_hash: r
        for r in await rows(owner_engine, "SELECT token_hash, revoked_at, revoked_by FROM user_sessions")
    }
    assert by_hash[sha256_hex(first)].revoked_by == "rotation"
    assert by_hash[sha256_hex(first)].revoked_at is not None
    assert by_hash[sha256_hex(second)].revoked_at is None
    assert (await browser.get(HOME)).status_code == 200
    browser.http.cookies.clear()
    browser.http.cookies.set(COOKIE, first)  # the old cookie, kept by someone
    assert (await browser.get(HOME)).status_code == 401


@pytest.mark.usefixtures("dev_focal_point")
async def test_signing_out_without_a_live_session_just_goes_home(browser: Browser) -> None:
    for cookie in (None, "khong-phai-phien-that"):
        if cookie:
            browser.http.cookies.set(COOKIE, cookie)
        answer = await browser.sign_out()
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
    without_csrf = await browser.http.post("/dang-xuat")
    assert without_csrf.status_code == 403
