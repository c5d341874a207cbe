"""Row-level security: the policy every tenant-owned table carries, and the per-transaction context.

Policies read `app.tenant_id` set with `set_config(..., true)` (transaction-local: `SET LOCAL` cannot take
bind parameters, and a session-level `SET` would leak through the connection pool). An unset or empty
setting matches no row: isolation fails closed.
"""

from __future__ import annotations

import uuid

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"
CURRENT_TENANT = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
CURRENT_USER = f"NULLIF(current_setting('{USER_SETTING}', true), '')::uuid"
# what a policy compares with: a scalar subquery is an InitPlan, read once per statement instead of once per row
# (a 600-row count under the policy: 1,17 → 0,52 ms)
TENANT_OF_STATEMENT = f"(SELECT {CURRENT_TENANT})"

_SET_CONTEXT = text(f"SELECT set_config('{TENANT_SETTING}', :tenant, true), set_config('{USER_SETTING}', :user, true)")


def enable_tenant_rls_sql(table: str) -> list[str]:
    """The statements a migration runs for a new tenant-owned table."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT_OF_STATEMENT}) "
        f"WITH CHECK (tenant_id = {TENANT_OF_STATEMENT})",
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
    return {"tenant": str(tenant) if tenant else "", "user": str(user) if user else ""}


# On every Session, not only TenantSession: Advanced Alchemy's plugin gives the app's AsyncSession a plain
# sessionmaker of its own as `sync_session_class`, so a listener on the subclass would only ever fire for the
# sessions `create_session_maker` makes, and a request's tenant would be lost after its first commit. A session
# that was never bound (no `info`) is left alone.
@event.listens_for(Session, "after_begin")
def _apply_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    context = _context(session)
    if context["tenant"] or context["user"]:
        connection.execute(_SET_CONTEXT, context)


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
