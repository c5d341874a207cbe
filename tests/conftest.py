"""Fixtures on real PostgreSQL: schema built by the Alembic migrations, the app on its restricted role.

One app per test worker serves every test whose `settings` are the default ones (`make_app(settings)` builds
another for a test that needs it), and the demo provinces are synced once per worker: between tests the
database goes back to empty, or to the demo's rows, by `tests.fixtures.database.DatabaseState`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.db import migrate
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.remedies import board_reading, cards
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT, Settings
from tests.fixtures.criteria import criteria  # noqa: F401 - shared fixtures
from tests.fixtures.csrf import csrf  # noqa: F401
from tests.fixtures.database import EMPTY, DatabaseState, superuser_dsn
from tests.fixtures.submissions import package, storage  # noqa: F401
from tests.support import fresh_database, make_settings

DEMO_TENANTS = PROJECT_ROOT / "tenants"
DEMO = "demo"
DEMO_CRITERIA = "demo_criteria"


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


@pytest.fixture(scope="session")
async def database_state(database: DatabaseUrls, owner_engine: AsyncEngine) -> AsyncIterator[DatabaseState]:
    dsn = superuser_dsn(database)
    superuser = await asyncpg.connect(dsn) if dsn else None
    state = DatabaseState(owner_engine, superuser)
    await state.prepare()
    yield state
    if superuser is not None:
        await superuser.close()


async def load_tenants(owner_engine: AsyncEngine, directory: Path = DEMO_TENANTS, *, demo_people: bool = True) -> None:
    """The demo provinces as their files declare them, without tenants/lineage.yaml: every tenant is live, so
    a test works on seed 004's Sở TN&MT of Bà Rịa – Vũng Tàu as it was before the 2025 merger. The lineage
    (archives, successors) is applied by tests/test_lineage.py, as `make run` applies it."""
    await sync_tenants(owner_engine, load_directory(directory), demo_people=demo_people)


@pytest.fixture(autouse=True)
def _database_as_the_test_asks(request: pytest.FixtureRequest) -> None:
    """Every test that uses the database starts on empty tables, or on the demo's rows when it asks for
    `demo_tenants` (and the demo's criteria with the shared `criteria` fixture), whatever the test before did."""
    if "database" in request.fixturenames:
        request.getfixturevalue("_database_reset")


@pytest.fixture
async def _database_reset(
    request: pytest.FixtureRequest, database_state: DatabaseState, owner_engine: AsyncEngine
) -> AsyncIterator[None]:
    async def demo() -> None:
        await load_tenants(owner_engine)

    async def demo_criteria() -> None:
        await demo()
        await import_criteria(owner_engine, load_all(DEMO_TENANTS))

    if DEMO_CRITERIA in request.fixturenames:
        await database_state.become(DEMO_CRITERIA, demo_criteria)
    elif "demo_tenants" in request.fixturenames:
        await database_state.become(DEMO, demo)
    else:
        await database_state.become(EMPTY)
    # The per-process board and card caches are keyed by tenant ids and revisions, which a snapshot restores.
    board_reading._boards.clear()
    cards._cache.clear()
    try:
        yield
    finally:
        database_state.touched()


@pytest.fixture
def demo_tenants(database: DatabaseUrls) -> None:
    """The demo provinces, tenants and people, as `load_tenants` syncs them (put in place before the test by
    `_database_as_the_test_asks`, from the worker's snapshot)."""


@pytest.fixture
def demo_criteria(database: DatabaseUrls, demo_tenants: None) -> None:
    """The demo's criteria sets besides its tenants (the shared `criteria` fixture asks for it)."""


@pytest.fixture
def settings() -> Settings:
    return make_settings()


def _disposing(app: Litestar) -> Litestar:
    """Each test client (and live server) runs the app on an event loop of its own, and asyncpg's connections
    belong to the loop that opened them: the app starts on an empty pool and closes its connections on the way
    out."""
    engine: AsyncEngine = app.state["engine"]

    async def forget() -> None:
        await engine.dispose(close=False)

    async def dispose() -> None:
        await engine.dispose()

    app.on_startup.insert(0, forget)
    app.on_shutdown.append(dispose)
    return app


@pytest.fixture(scope="session")
def shared_app(database: DatabaseUrls) -> Litestar:
    """The app with the default test settings, built once per worker."""
    return _disposing(create_app(make_settings(), database))


@pytest.fixture
def make_app(database: DatabaseUrls) -> Callable[[Settings], Litestar]:
    """`make_app(settings)`: an app of its own for a test that needs other settings than the default ones."""
    return lambda settings: _disposing(create_app(settings, database))


@pytest.fixture
def own_app(settings: Settings, make_app: Callable[[Settings], Litestar]) -> Litestar:
    """An app of the test's own, for a test that changes it (registers a route): the shared one stays as built."""
    return make_app(settings)


@pytest.fixture
def app(settings: Settings, shared_app: Litestar, make_app: Callable[[Settings], Litestar]) -> Iterator[Litestar]:
    """The app for `settings`: the worker's shared one when they are the defaults."""
    if settings != make_settings():
        yield make_app(settings)
        return
    routes, state = len(shared_app.routes), dict(shared_app.state)
    yield shared_app
    # keys the app adds on its own as it serves are fine; a value a test replaced is not
    replaced = any(shared_app.state.get(key) is not value for key, value in state.items())
    changed = "a route" if len(shared_app.routes) != routes else "its state" if replaced else ""
    assert not changed, f"a test changed {changed} of the shared app: ask for `own_app`"


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client
