"""Test infrastructure: a fresh PostgreSQL database per test session, and a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend import clock
from backend.db import embedded
from backend.db.models import Province, Tenant
from backend.db.runtime import DatabaseUrls
from backend.settings import (
    PROJECT_ROOT,
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    PathSettings,
    ServerSettings,
    Settings,
)
from tests.fixtures.criteria import criteria  # noqa: F401 - still imported from here by test_board and test_province_results
from tests.fixtures.csrf import Csrf

TEST_VAR = Path(os.environ.get("PARBOARD_TEST_VAR_DIR", PROJECT_ROOT / "var" / "test"))


def make_settings(*, auth: AuthSettings | None = None, **app_overrides: object) -> Settings:
    """Settings for one test app: `app_overrides` replace fields of AppSettings (e.g. env="development")."""
    app = AppSettings(env="test", secret_key="t" * 40, log_json=True, log_level="WARNING")
    return Settings(
        app=replace(app, **app_overrides),  # type: ignore[arg-type]
        db=DatabaseSettings(pool_size=5, max_overflow=5),
        server=ServerSettings(),
        paths=PathSettings(var_dir=TEST_VAR),
        auth=auth or AuthSettings(),
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a URL needed before the server starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def fresh_database() -> Iterator[DatabaseUrls]:
    """A new, empty database for this test session: on TEST_DATABASE_URL's server, or the embedded one.

    With TEST_DATABASE_URL (the application role) and TEST_DATABASE_OWNER_URL (the owner role) the
    database they name is emptied to `base` by the caller's migrations; nothing is created or dropped.
    """
    app_url, owner_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_DATABASE_OWNER_URL")
    if app_url and owner_url:
        yield DatabaseUrls(app_url=app_url, owner_url=owner_url, jobs_url=os.environ.get("TEST_DATABASE_JOBS_URL", ""))
        return
    server = embedded.start(TEST_VAR / "pg")
    name = f"parboard_test_{uuid.uuid4().hex[:12]}"
    db = embedded.ensure_database(server, name, fresh=True)
    try:
        yield DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url, jobs_url=db.jobs_url)
    finally:
        embedded.drop_database(server, name)


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 in a background thread: on `port`, or a free one by default."""

    def __init__(self, app: Litestar, *, port: int = 0) -> None:
        self.app = app
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.server.should_exit = True
                raise RuntimeError("live server did not start within 20 s (is its port already in use?)")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def session_cookie_for(app: Litestar, email: str) -> str:
    """A real server-side session for the (already synced) person with this e-mail, as the sign-in
    callback would create it after the province's identity provider vouched for them. Returns the
    cookie value; set it as `backend.auth.sessions.COOKIE` on the client.

    It connects on its own, unpooled: a connection left in the app's pool by this event loop would be
    handed to the app, which Litestar's test client runs on another loop (asyncpg refuses that)."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from backend.auth.sessions import SessionStore
    from backend.db.engine import create_session_maker
    from backend.db.models import Province, User

    store: SessionStore = app.state["sessions"]
    engine = create_async_engine(store.engine.url, poolclass=NullPool)
    try:
        async with create_session_maker(engine)() as db, db.begin():
            user = (await db.scalars(select(User).where(User.email == email.lower()))).one()
            provinces = list(await db.scalars(select(Province)))
            province = next(
                p for p in provinces if (p.settings.get("identity_provider") or {}).get("issuer") == user.issuer
            )
            created = await store.create(
                db,
                user_id=user.id,
                province_id=province.id,
                user_agent="pytest",
                ip_address="127.0.0.1",
            )
    finally:
        await engine.dispose()
    return created.token


async def sign_in(client: AsyncTestClient[Litestar], email: str) -> None:
    """Make `client` (an in-process test client) the browser of this demo person, through a real session."""
    from backend.auth.sessions import COOKIE

    client.cookies.set(COOKIE, await session_cookie_for(client.app, email))


async def signed_in_headers(client: AsyncTestClient[Litestar], csrf: Csrf, email: str) -> dict[str, str]:
    """Sign `client` in as the demo person `email`; the headers its JSON API requests carry (the CSRF token)."""
    await sign_in(client, email)
    return {"x-csrftoken": await csrf()}


def assert_refused_on_field(response: Response, status: int, field: str | None, message: str) -> None:
    """The API refused the request with `status`, naming `field` and a Vietnamese message containing `message`."""
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert message in response.json()["message"]
    assert not response.json()["message"].isascii()


async def tenant_and_province(db: AsyncSession, province: str, tenant: str) -> tuple[Tenant, Province]:
    """A tenant and its province by their codes (a session of the owner's: neither table is tenant-owned)."""
    row = (
        await db.execute(
            select(Tenant, Province)
            .join(Province, Province.id == Tenant.province_id)
            .where(Province.code == province, Tenant.code == tenant)
        )
    ).one()
    return row[0], row[1]


HTMX = {"HX-Request": "true"}


# Seed 001: Sở Ngoại vụ, Hà Tĩnh 2020, 75,25/80 — every deduction with its inputs, the rest full marks; each
# row as its form posts it the first time (version 0: the row has never been saved).
SEED_001 = [
    (code, {**form, "version": "0"})
    for code, form in (
        ("1.2", {"achieved": "94,76", "target": "100"}),
        ("1.5", {"event": "31/12/2020", "done": "15/03/2021"}),
        ("1.7", {"points": "0,5"}),
        ("1", {"phan": "con-lai", "points": "6,5"}),
        ("2.5", {"value": "90"}),
        ("2.6.1", {"points": "0"}),
        ("2", {"phan": "con-lai", "points": "7.5"}),
        ("3", {"points": "14,5"}),
        ("4.1.5", {"points": "2"}),
        ("4", {"phan": "con-lai", "points": "10"}),
        ("5.10", {"points": "0,5"}),
        ("5", {"phan": "con-lai", "points": "12,5"}),
        ("6.2.1", {"points": "1"}),
        ("6", {"phan": "con-lai", "points": "5"}),
        ("7.1.5", {"achieved": "88,7", "target": "100"}),
        ("7.1.8", {"points": "0"}),
        ("7.1", {"phan": "con-lai", "points": "6,5"}),
        ("7.2", {"points": "5"}),
    )
]


PARBOARD = Path(sys.executable).with_name("parboard")


def parboard(*args: str, database: DatabaseUrls | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `parboard` script with a test environment (and the test database, when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARBOARD_", "DATABASE_"))}
    env |= {"PARBOARD_ENV": "test", "PARBOARD_SECRET_KEY": "t" * 40, "PARBOARD_LOG_JSON": "0"}
    if database is not None:
        env |= {"DATABASE_URL": database.app_url, "DATABASE_OWNER_URL": database.owner_url}
    return subprocess.run(
        [str(PARBOARD), *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=120, check=False
    )


async def parboard_async(*args: str, database: DatabaseUrls | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(parboard, *args, database=database)


def freeze(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """Vietnam's calendar day `day`, at 09:00 there (02:00 UTC)."""
    moment = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(clock, "utc_now", lambda: moment)


# UBND phường Thành Sen on the commune set: 69,5 of its 70 criteria points (the 30 survey points not entered yet)
COMMUNE_ROWS = [
    ("1", {"points": "9,5"}),
    ("2", {"points": "8"}),
    ("3", {"points": "14"}),
    ("4", {"points": "8"}),
    ("5", {"points": "12"}),
    ("6", {"points": "6"}),
    ("7", {"points": "12"}),
]


async def get_counting_round_trips(
    client: AsyncTestClient[Litestar], app: Litestar, path: str, **kwargs: Any
) -> tuple[Response, list[str], int]:
    """`get_counting_statements`, with the connections taken from the app's pool: the session's lookup talks to
    asyncpg directly (`driver_connection`), one connection and no statement of SQLAlchemy's."""
    checkouts = 0

    def checkout(*args: Any) -> None:
        nonlocal checkouts
        checkouts += 1

    pool = app.state["sessions"].engine.sync_engine.pool
    event.listen(pool, "checkout", checkout)
    try:
        response, statements = await get_counting_statements(client, app, path, **kwargs)
    finally:
        event.remove(pool, "checkout", checkout)
    return response, statements, checkouts


async def get_counting_statements(
    client: AsyncTestClient[Litestar], app: Litestar, path: str, **kwargs: Any
) -> tuple[Response, list[str]]:
    """GET `path` (it must answer 200), with the SQL statements the app's database engine ran for it."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    target = app.state["sessions"].engine.sync_engine
    event.listen(target, "before_cursor_execute", count)
    try:
        response = await client.get(path, **kwargs)
    finally:
        event.remove(target, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    return response, statements
