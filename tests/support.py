"""Test infrastructure: a fresh PostgreSQL database per test session, and a real server on 127.0.0.1."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from backend.db import embedded
from backend.db.runtime import DatabaseUrls
from backend.settings import (
    PROJECT_ROOT,
    AppSettings,
    DatabaseSettings,
    PathSettings,
    ServerSettings,
    Settings,
)

TEST_VAR = Path(os.environ.get("PARBOARD_TEST_VAR_DIR", PROJECT_ROOT / "var" / "test"))


def make_settings(**app_overrides: object) -> Settings:
    app = AppSettings(env="test", secret_key="t" * 40, dev_login=False, log_json=True, log_level="WARNING")
    return Settings(
        app=replace(app, **app_overrides),  # type: ignore[arg-type]
        db=DatabaseSettings(pool_size=5, max_overflow=5),
        server=ServerSettings(),
        paths=PathSettings(var_dir=TEST_VAR),
    )


@contextmanager
def fresh_database() -> Iterator[DatabaseUrls]:
    """A new, empty database for this test session: on TEST_DATABASE_URL's server, or the embedded one.

    With TEST_DATABASE_URL (the application role) and TEST_DATABASE_OWNER_URL (the owner role) the
    database they name is emptied to `base` by the caller's migrations; nothing is created or dropped.
    """
    app_url, owner_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_DATABASE_OWNER_URL")
    if app_url and owner_url:
        yield DatabaseUrls(app_url=app_url, owner_url=owner_url)
        return
    server = embedded.start(TEST_VAR / "pg")
    name = f"parboard_test_{uuid.uuid4().hex[:12]}"
    db = embedded.ensure_database(server, name, fresh=True)
    try:
        yield DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
    finally:
        embedded.drop_database(server, name)


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, app: Litestar) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start within 20 s")
            time.sleep(0.02)
        return self

    @property
    def url(self) -> str:
        socket = self.server.servers[0].sockets[0]
        host, port = socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@asynccontextmanager
async def loopback_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client whose requests come from 127.0.0.1 (Litestar's test client says "testclient")."""
    async with AsyncTestClient(app=app):  # runs the app's lifespan
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield client
