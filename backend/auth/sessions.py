"""Server-side sessions in PostgreSQL: the cookie holds a random token, the table holds its SHA-256.

A session belongs to one person and one province (the identity provider that signed them in). Every
request with the cookie loads the session and the person's active memberships in that province's
tenants: roles anywhere else never apply. Idle and absolute timeouts, revocation, rotation on sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
# The same clock as the idle check below (`now()`, not the database's), so "once a minute" holds.
_TOUCH = "UPDATE user_sessions SET last_seen_at = $1 WHERE id = $2"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


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
        token = connection.cookies.get(COOKIE)
        if token and len(token) <= 128:
            return await self.resolve(token)
        return None

    async def resolve(self, token: str) -> Principal | None:
        """The person behind a session token, or None when unknown, revoked, expired or disabled."""
        async with driver_connection(self.engine) as driver:
            rows = await driver.fetch(_PRINCIPAL, hash_token(token))
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
