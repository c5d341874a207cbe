"""Row-level security: the policy every tenant-owned table carries, and the per-transaction context.

The context is set with `set_config(..., true)` (transaction-local: `SET LOCAL` cannot take bind parameters,
and a session-level `SET` would leak through the connection pool): `app.tenant_id`, `app.user_id` and
`app.session`, the raw session cookie of the person the request acts for. Every tenant policy compares with
`app_tenant()` (migration 0020), which answers the requested tenant only when `app.session` is a live session
of a person with a membership there (or a province-level right over it), or when the caller is the owner or
the jobs' role; else NULL. An unset or unchecked context matches no row: isolation fails closed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"
SESSION_SETTING = "app.session"
CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
CURRENT_USER = f"NULLIF(current_setting('{USER_SETTING}', true), '')::uuid"
# What the policies of migrations 0001-0019 compared with (frozen: those migrations import it, so changing it
# would rewrite their history): the setting alone, as a scalar subquery, an InitPlan read once per statement.
TENANT_OF_STATEMENT = f"(SELECT {CURRENT_TENANT})"
# What every tenant policy compares with since migration 0020: the tenant checked against the session, once per
# statement too. The one place new tables take it from (`checked_tenant_rls_sql`).
CHECKED_TENANT = "(SELECT app_tenant())"

_SET_CONTEXT = text(
    f"SELECT set_config('{TENANT_SETTING}', :tenant, true), set_config('{USER_SETTING}', :user, true), "
    f"set_config('{SESSION_SETTING}', :session, true)"
)


def enable_tenant_rls_sql(table: str) -> list[str]:
    """The statements migrations 0001-0019 ran for a new tenant-owned table (frozen; 0020 rewrote the policies).
    A table of a later migration takes `checked_tenant_rls_sql`."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT_OF_STATEMENT}) "
        f"WITH CHECK (tenant_id = {TENANT_OF_STATEMENT})",
    ]


def checked_tenant_rls_sql(table: str) -> list[str]:
    """The statements a migration after 0020 runs for a new tenant-owned table."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {CHECKED_TENANT}) "
        f"WITH CHECK (tenant_id = {CHECKED_TENANT})",
    ]


def disable_tenant_rls_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


class TenantSession(Session):
    """A session that carries its tenant (and user) in `info` and applies it to each transaction."""


def _context(session: Session) -> dict[str, str]:
    tenant = session.info.get("tenant_id")
    user = session.info.get("user_id")
    token = session.info.get("session_token")
    return {"tenant": str(tenant) if tenant else "", "user": str(user) if user else "", "session": token or ""}


# On every Session, not only TenantSession: Advanced Alchemy's plugin gives the app's AsyncSession a plain
# sessionmaker of its own as `sync_session_class`, so a listener on the subclass would only ever fire for the
# sessions `create_session_maker` makes, and a request's tenant would be lost after its first commit. A session
# that was never bound (no `info`) is left alone.
@event.listens_for(Session, "after_begin")
def _apply_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    context = _context(session)
    if context["tenant"] or context["user"] or context["session"]:
        connection.execute(_SET_CONTEXT, context)


def remember_session(session: AsyncSession, token: str | None) -> None:
    """The session cookie the later transactions of `session` present to the tenant policies (set once per
    request, by the tenant dependency; `bind_tenant` and `remember_context` keep it)."""
    session.info["session_token"] = token or None


def remember_context(session: AsyncSession, tenant_id: uuid.UUID | None, user_id: uuid.UUID | None = None) -> None:
    """Scope the later transactions of `session` to one tenant (and user); for a caller whose own statement
    already set the current transaction's context (see `backend.domain.tenants.deps`)."""
    session.info["tenant_id"] = tenant_id
    session.info["user_id"] = user_id


async def bind_tenant(session: AsyncSession, tenant_id: uuid.UUID | None, user_id: uuid.UUID | None = None) -> None:
    """Scope `session` to one tenant (and user) for the rest of its life, this transaction included."""
    remember_context(session, tenant_id, user_id)
    if session.in_transaction():
        await session.execute(_SET_CONTEXT, _context(session.sync_session))
