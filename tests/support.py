"""Test infrastructure: a fresh PostgreSQL database per test session, and a real server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
            province = next(p for p in provinces if p.settings["identity_provider"]["issuer"] == user.issuer)
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
