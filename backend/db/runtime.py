"""Which PostgreSQL to use: the one in DATABASE_URL, or the embedded one under var/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from backend.db import embedded
from backend.settings import Settings


@dataclass(frozen=True)
class DatabaseUrls:
    app_url: str
    owner_url: str
    # The background jobs' role (trusted by the tenant policies with the tenant alone); without one of its own
    # (DATABASE_URL given without DATABASE_JOBS_URL) the jobs connect as the owner, trusted the same way.
    jobs_url: str = ""

    @property
    def jobs(self) -> str:
        return self.jobs_url or self.owner_url

    @property
    def jobs_role(self) -> str:
        return make_url(self.jobs).username or ""

    @property
    def app_role(self) -> str:
        username = make_url(self.app_url).username
        if not username:
            raise ValueError("DATABASE_URL must name the application's role")
        return username


def resolve(settings: Settings, *, database: str = embedded.DEFAULT_DATABASE) -> DatabaseUrls:
    """Use DATABASE_URL/DATABASE_OWNER_URL when given; else start the embedded server and its database.

    The embedded server stops when this process exits (and no other process still uses it).
    """
    if settings.db.url:
        return DatabaseUrls(
            app_url=_asyncpg(settings.db.url),
            owner_url=_asyncpg(settings.db.owner_url),
            jobs_url=_asyncpg(settings.db.jobs_url) if settings.db.jobs_url else "",
        )
    server = embedded.start(Path(settings.paths.pgdata))
    db = embedded.ensure_database(server, database)
    return DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url, jobs_url=db.jobs_url)


def _asyncpg(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"only PostgreSQL is supported, got {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)
