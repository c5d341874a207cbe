"""The application's engine and session factory (connected as the restricted role)."""

from __future__ import annotations

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
        echo=db.echo,
        connect_args={"server_settings": {"application_name": "parboard"}},
    )


def create_session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, sync_session_class=TenantSession, expire_on_commit=False)
