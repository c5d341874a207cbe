"""Fixtures on real PostgreSQL: schema built by the Alembic migrations, the app on its restricted role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.db import migrate
from backend.db.engine import create_engine
from backend.db.models import Base
from backend.db.runtime import DatabaseUrls
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT, Settings
from tests.fixtures.criteria import criteria  # noqa: F401 - shared fixtures
from tests.fixtures.csrf import csrf  # noqa: F401
from tests.support import fresh_database, make_settings

DEMO_TENANTS = PROJECT_ROOT / "tenants"


@pytest.fixture(scope="session")
def database() -> Iterator[DatabaseUrls]:
    with fresh_database() as urls:
        migrate.downgrade(urls, "base")
        migrate.upgrade(urls, "head")
        yield urls


@pytest.fixture(scope="session")
async def owner_engine(database: DatabaseUrls) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.owner_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app_engine(database: DatabaseUrls) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.app_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def jobs_engine(database: DatabaseUrls) -> AsyncIterator[AsyncEngine]:
    """The background jobs' role: the tenant policies trust it with `app.tenant_id` alone. For a test that sets
    up or inspects a tenant's rows with `bind_tenant` and no person's session (the app's role sees nothing so)."""
    engine = create_engine(database.jobs)
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest, owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """Every test that touched the database leaves it empty for the next one."""
    yield
    if "database" not in request.fixturenames:
        return
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    # A live server may still be answering a request the test's browser gave up on: its reads and this TRUNCATE
    # can deadlock, and PostgreSQL then cancels one of them. The TRUNCATE goes again once the request is done.
    for attempt in range(5):
        try:
            async with owner_engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "40P01" or attempt == 4:
                raise


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings, database: DatabaseUrls) -> Litestar:
    return create_app(settings, database)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


async def load_tenants(owner_engine: AsyncEngine, directory: Path = DEMO_TENANTS, *, demo_people: bool = True) -> None:
    """The demo provinces as their files declare them, without tenants/lineage.yaml: every tenant is live, so
    a test works on seed 004's Sở TN&MT of Bà Rịa – Vũng Tàu as it was before the 2025 merger. The lineage
    (archives, successors) is applied by tests/test_lineage.py, as `make run` applies it."""
    await sync_tenants(owner_engine, load_directory(directory), demo_people=demo_people)


@pytest.fixture
async def demo_tenants(owner_engine: AsyncEngine) -> None:
    await load_tenants(owner_engine)
