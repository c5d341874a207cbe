"""Server-side sessions in PostgreSQL: the cookie holds a random token, the table holds its SHA-256.

A session belongs to one person and one province (the identity provider that signed them in). Every
request with the cookie loads the session and the person's active memberships in that province's
tenants: roles anywhere else never apply. Idle and absolute timeouts, revocation, rotation on sign-in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.principal import Principal
from backend.db.engine import driver_connection
from backend.db.models import Role, UserSession
from backend.logging import get_logger
from backend.settings import Settings

log = get_logger("parboard.sessions")
COOKIE = "parboard_session"
# Writing last_seen_at on every request would turn every read into a write; a minute is precise enough.
TOUCH_EVERY = timedelta(seconds=60)

# The lookup runs on every request, so it talks to asyncpg directly (SQLAlchemy's statement layer cost more
# than the queries), in one statement outside any transaction: `session_principal` (backend/db/sql) reads the
# session and the person, binds the statement to that person and returns their memberships in the session's
# province, a row each (its tenant NULL for a person with none).
_PRINCIPAL = "SELECT * FROM session_principal(token => $1)"
# A GET of a tenant home reads, in the same statement, the versions its cache keys on (`session_home`,
# backend/domain/tenants/home_cache.py): a page kept is then served after this one round trip. The home's path is
# the tenant router's `/t/{province_code}/{tenant_code}/` with the codes `tenants sync` allows (tenants/config.py).
_PRINCIPAL_AT_HOME = "SELECT * FROM session_home(session_token => $1, province_code => $2, tenant_code => $3)"
HOME_PATH = re.compile(r"/t/([a-z0-9-]{1,63})/([a-z0-9-]{1,63})/?")
HOME_VERSIONS = "parboard_home_versions"  # the scope's key of a home request's `HomeVersions`
# The same clock as the idle check below (`now()`, not the database's), so "once a minute" holds.
_TOUCH = "UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HomeVersions:
    """What the tenant home's cache keys on, read with the session of a request for a home (`session_home`)."""

    tenant_id: uuid.UUID  # the active tenant of the URL's codes
    archived: bool
    readable: bool  # the database lets the session read the tenant (`app_tenant()`, as every tenant policy asks)
    config_revision: int | None  # `home_config_revision`
    revision: int | None  # the tenant's `home_revisions` (None: never written, or not readable)


@dataclass(frozen=True)
class NewSession:
    token: str
    session: UserSession


class SessionStore:
    """Creates, resolves and revokes sessions; `principal_for` is called once per request."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.idle = timedelta(minutes=settings.auth.session_idle_minutes)
        self.absolute = timedelta(hours=settings.auth.session_absolute_hours)

    async def principal_for(self, connection: ASGIConnection) -> Principal | None:  # type: ignore[type-arg]
        """The request's person; for a GET of a tenant home, the home's versions too, put in the scope under
        `HOME_VERSIONS` (none when no active tenant has the URL's codes)."""
        token = connection.cookies.get(COOKIE)
        if not token or len(token) > 128:
            return None
        home = HOME_PATH.fullmatch(connection.scope["path"]) if connection.scope.get("method") == "GET" else None
        if home is None:
            return await self.resolve(token)
        principal, versions = await self.resolve_at_home(token, home[1], home[2])
        if versions is not None:
            connection.scope[HOME_VERSIONS] = versions  # type: ignore[literal-required]
        return principal

    async def resolve(self, token: str) -> Principal | None:
        """The person behind a session token, or None when unknown, revoked, expired or disabled."""
        async with driver_connection(self.engine) as driver:
            rows = await driver.fetch(_PRINCIPAL, hash_token(token))
            return await self._principal(driver, rows)

    async def resolve_at_home(
        self, token: str, province_code: str, tenant_code: str
    ) -> tuple[Principal | None, HomeVersions | None]:
        """`resolve`, with the versions of the tenant home of these codes (None when no active tenant has them)."""
        async with driver_connection(self.engine) as driver:
            rows = await driver.fetch(_PRINCIPAL_AT_HOME, token, province_code, tenant_code)
            principal = await self._principal(driver, rows)
        if principal is None or rows[0]["home_tenant"] is None:
            return principal, None
        row = rows[0]
        versions = HomeVersions(
            tenant_id=row["home_tenant"],
            archived=row["home_archived"],
            readable=row["home_readable"],
            config_revision=row["home_config"],
            revision=row["home_revision"],
        )
        return principal, versions

    async def _principal(self, driver: Any, rows: list[Mapping[str, Any]]) -> Principal | None:
        """The principal of `session_principal`'s rows (None: no usable session); the session's last use noted
        once a minute."""
        if not rows:
            return None
        row = rows[0]
        if row["revoked_at"] is not None or not row["is_active"]:
            return None
        moment = now()
        if moment >= row["expires_at"] or moment - row["last_seen_at"] >= self.idle:
            return None
        roles: dict[uuid.UUID, set[Role]] = {}
        units: dict[uuid.UUID, set[uuid.UUID]] = {}
        for membership in rows:
            tenant_id, unit_id = membership["tenant_id"], membership["unit_id"]
            if tenant_id is None:
                continue
            roles.setdefault(tenant_id, set()).add(Role(membership["role"]))
            if unit_id is not None:
                units.setdefault(tenant_id, set()).add(unit_id)
        if moment - row["last_seen_at"] >= TOUCH_EVERY:
            await driver.execute(_TOUCH, moment, row["session_id"])
        return Principal(
            user_id=row["user_id"],
            display_name=row["full_name"] or row["email"],
            email=row["email"],
            roles={tenant: frozenset(r) for tenant, r in roles.items()},
            units={tenant: frozenset(u) for tenant, u in units.items()},
            is_platform_admin=row["is_platform_admin"],
            session_id=row["session_id"],
            province_id=row["province_id"],
        )

    async def create(
        self,
        db: AsyncSession,
        *,
        user_id: uuid.UUID,
        province_id: uuid.UUID,
        user_agent: str,
        ip_address: str,
    ) -> NewSession:
        token = secrets.token_urlsafe(32)
        session = UserSession(
            id=uuid.uuid4(),
            token_hash=hash_token(token),
            user_id=user_id,
            province_id=province_id,
            expires_at=now() + self.absolute,
            user_agent=user_agent[:512],
            ip_address=ip_address[:64],
        )
        db.add(session)
        await db.flush()
        return NewSession(token=token, session=session)

    @staticmethod
    async def revoke_token(db: AsyncSession, token: str, *, by: str) -> UserSession | None:
        """Revoke the session behind `token` (sign-out, or rotation at the next sign-in)."""
        result = await db.execute(
            update(UserSession)
            .where(UserSession.token_hash == hash_token(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=now(), revoked_by=by)
            .returning(UserSession)
        )
        return result.scalar_one_or_none()

    @staticmethod
    async def revoke_user(db: AsyncSession, user_id: uuid.UUID, *, by: str) -> int:
        """Revoke every live session of one person (an admin disabling a member)."""
        result = await db.execute(
            update(UserSession)
            .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=now(), revoked_by=by)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
