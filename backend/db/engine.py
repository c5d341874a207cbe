"""The application's engine and session factory (connected as the restricted role)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from backend.db.rls import TenantSession
from backend.settings import DatabaseSettings


def create_engine(url: str, db: DatabaseSettings | None = None) -> AsyncEngine:
    db = db or DatabaseSettings()
    return create_async_engine(
        url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        # No ping on every checkout (three round trips per request): connections are recycled
        # hourly, and a connection that died anyway fails its request, not the pool.
        pool_recycle=3600,
        # The connection given back last is the next one out: under a light load a few connections serve
        # everything, with their PostgreSQL backends' plan and function caches warm (each connection of a
        # FIFO pool would plan each statement afresh its first five times, and compile each PL/pgSQL function).
        pool_use_lifo=True,
        echo=db.echo,
        connect_args={"server_settings": {"application_name": "parboard"}},
    )


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, sync_session_class=TenantSession, expire_on_commit=False)


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled connection's asyncpg connection, used directly and outside any transaction: each statement is a
    transaction of its own. For the few hot statements whose database function binds its own tenant and person
    (`session_principal`, `board_move_as`): one round trip each, no BEGIN nor COMMIT."""
    async with engine.connect() as connection:
        yield (await connection.get_raw_connection()).driver_connection
