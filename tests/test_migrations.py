"""The schema comes from Alembic, round-trips, and agrees with the models."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import migrate
from backend.db.models import Base
from backend.db.runtime import DatabaseUrls
from tests.support import fresh_database


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        )
        return {row[0] for row in rows}


async def _diff(engine: AsyncEngine) -> list[object]:
    """What autogenerate would write: the tables against the models and, once migrations/env.py has registered
    them, the SQL functions against their sources (alembic-utils; `include_schemas` as env.py leaves it)."""
    opts = {"compare_type": True, "include_schemas": False}
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts=opts), Base.metadata)
        )


async def test_upgrade_downgrade_upgrade_on_an_empty_database_matches_the_models() -> None:
    from backend.db.engine import create_engine

    with fresh_database() as urls:
        engine = create_engine(urls.owner_url)
        try:
            await asyncio.to_thread(migrate.upgrade, urls)
            assert await _tables(engine) == {t.name for t in Base.metadata.sorted_tables}
            await asyncio.to_thread(migrate.downgrade, urls, "base")
            assert await _tables(engine) == set()
            await asyncio.to_thread(migrate.upgrade, urls)
            assert await _diff(engine) == []
        finally:
            await engine.dispose()


async def test_session_database_is_at_head(database: DatabaseUrls, owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        current = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    assert current == migrate.head_revision()
