"""Alembic environment: migrations run as the owner role, asynchronously, over asyncpg."""

from __future__ import annotations

import asyncio

from alembic import context
from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import register_entities
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from backend.db.functions import entities
from backend.db.models import Base
from backend.db.runtime import resolve
from backend.settings import get_settings

config = context.config
target_metadata = Base.metadata

if "owner_url" not in config.attributes:
    # Run from the `alembic` command line: resolve the database as the CLI does.
    urls = resolve(get_settings())
    config.attributes["owner_url"] = urls.owner_url
    config.attributes["app_role"] = urls.app_role
    config.attributes["jobs_role"] = urls.jobs_role

# The SQL functions' and triggers' sources (backend/db/sql), for `alembic revision --autogenerate` to compare with
# the database; the migrations it writes carry their bodies literally.
register_entities(
    entities(str(make_url(config.attributes["owner_url"]).username), config.attributes.get("jobs_role")),
    entity_types=[PGFunction, PGTrigger],
)

# Two processes migrating one database at once (two `make run`, two replicas starting) take turns: the
# second waits for the first's transaction, then finds the database at head and does nothing.
MIGRATION_LOCK = 7_346_110_512  # an arbitrary key for pg_advisory_xact_lock, parboard's alone


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(config.attributes["owner_url"])
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run against a database")
asyncio.run(_run_async())
