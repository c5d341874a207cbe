"""Row-level security: the policy every tenant-owned table carries, and the per-transaction context.

The context is set with `set_config(..., true)` (transaction-local: `SET LOCAL` cannot take bind parameters,
and a session-level `SET` would leak through the connection pool): `app.tenant_id`, `app.user_id` and
`app.session`, the raw session cookie of the person the request acts for. Every tenant policy compares with
`app_tenant()` (migration 0020), which answers the requested tenant only when `app.session` is a live session
of a person with a membership there (or a province-level right over it), or when the caller is the owner or
the jobs' role; else NULL. An unset or unchecked context matches no row: isolation fails closed.

Crossing into another tenant has one door, `acting_in` (one tenant of the home's province, for a person holding
the right in the home tenant); reading the whole province has one, `reading_province` (`app.province_id`: the
`province_reading` policies of migration 0028 show every tenant of the province to a SELECT, once the database
checked the session's province-level right, once per statement); reading a predecessor's archive
(tenants/lineage.yaml) has one, `reading_archive`. The tenant dependency binds a request's own tenant; owner and
jobs code (sync, imports, the queue) bind with `bind_tenant` as trusted roles. `tests/test_layout.py` holds every
other module to these doors.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import Uuid, bindparam, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from backend.auth.permissions import Permission
from backend.db.models import Tenant

TENANT_SETTING = "app.tenant_id"
USER_SETTING = "app.user_id"
SESSION_SETTING = "app.session"
PROVINCE_SETTING = "app.province_id"
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
    f"set_config('{SESSION_SETTING}', :session, true), set_config('{PROVINCE_SETTING}', :province, true)"
)


def enable_tenant_rls_sql(table: str) -> list[str]:
    """The statements migrations 0001-0019 ran for a new tenant-owned table (frozen; 0020 rewrote the policies).
    A table of a later migration takes `checked_tenant_rls_sql`."""
    return _tenant_rls_sql(table, TENANT_OF_STATEMENT)


def checked_tenant_rls_sql(table: str) -> list[str]:
    """The statements a migration after 0020 runs for a new tenant-owned table."""
    return _tenant_rls_sql(table, CHECKED_TENANT)


def _tenant_rls_sql(table: str, tenant: str) -> list[str]:
    """Row-level security forced on `table`, its rows those whose tenant_id is `tenant` (an SQL expression)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant})",
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
    province = session.info.get("province_id")
    return {
        "tenant": str(tenant) if tenant else "",
        "user": str(user) if user else "",
        "session": token or "",
        "province": str(province) if province else "",
    }


# On every Session, not only TenantSession: Advanced Alchemy's plugin gives the app's AsyncSession a plain
# sessionmaker of its own as `sync_session_class`, so a listener on the subclass would only ever fire for the
# sessions `create_session_maker` makes, and a request's tenant would be lost after its first commit. A session
# that was never bound (no `info`) is left alone.
@event.listens_for(Session, "after_begin")
def _apply_context(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    context = _context(session)
    if context["tenant"] or context["user"] or context["session"] or context["province"]:
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


class Person(Protocol):
    """Who crosses: a request's principal (`backend.auth.principal.Principal`)."""

    @property
    def user_id(self) -> uuid.UUID | None: ...

    def can(self, permission: Permission, tenant_id: uuid.UUID) -> bool: ...


class CrossingRefused(PermissionDeniedException):
    """A crossing the person may not make: another province's tenant, or no right for it in the home tenant."""


def _check_right(home: Tenant, person: Person, right: Permission) -> None:
    if not person.can(right, home.id):
        raise CrossingRefused("Bạn không có quyền xem hoặc thao tác trên các đơn vị khác của tỉnh.")


@asynccontextmanager
async def acting_in(
    db: AsyncSession, home: Tenant, target: Tenant, person: Person, right: Permission
) -> AsyncIterator[None]:
    """The one door into another tenant: `db` bound to `target` for the block, then back to `home` (always).

    Refused (`CrossingRefused`, 403) unless `target` is in `home`'s province and `person` holds `right` in
    `home`; the database checks again (`session_person` of migration 0020) on every statement.
    """
    if target.province_id != home.province_id:
        raise CrossingRefused("Đơn vị này không thuộc tỉnh của bạn.")
    _check_right(home, person, right)
    if target.id == home.id:
        yield
        return
    await bind_tenant(db, target.id, person.user_id)
    try:
        yield
    finally:
        await bind_tenant(db, home.id, person.user_id)


@asynccontextmanager
async def reading_province(db: AsyncSession, home: Tenant, person: Person, right: Permission) -> AsyncIterator[None]:
    """Every tenant of `home`'s province readable (SELECT only) in the block, in one statement per query.

    Refused (`CrossingRefused`) unless `person` holds `right` in `home`; the database checks the session's
    province-level right once per statement (`province_scope`, migration 0028) and shows nothing otherwise.
    Writes still go through `acting_in`, one tenant at a time. The queries name the tenants they want.
    """
    _check_right(home, person, right)
    db.info["province_id"] = home.province_id
    try:
        if db.in_transaction():
            await db.execute(_SET_CONTEXT, _context(db.sync_session))
        yield
    finally:
        db.info["province_id"] = None
        if db.in_transaction():
            await db.execute(_SET_CONTEXT, _context(db.sync_session))


# Whether `archive` precedes `home` in the lineage, however many steps back (as `session_person` of 0024 reads it).
_PRECEDES = text(
    """
    WITH RECURSIVE earlier(id, depth) AS (
        SELECT predecessor_id, 1 FROM tenant_lineage WHERE successor_id = :home
        UNION
        SELECT l.predecessor_id, earlier.depth + 1 FROM tenant_lineage l JOIN earlier ON l.successor_id = earlier.id
         WHERE earlier.depth < 32
    )
    SELECT EXISTS (SELECT 1 FROM earlier WHERE id = :archive)
    """
).bindparams(bindparam("home", type_=Uuid), bindparam("archive", type_=Uuid))


@asynccontextmanager
async def reading_archive(
    db: AsyncSession, home: Tenant, archive: uuid.UUID, person: Person, right: Permission
) -> AsyncIterator[None]:
    """The door into a predecessor's archive: `db` bound to `archive` for the block, then back to `home`.

    Refused (`CrossingRefused`) unless `archive` precedes `home` in the lineage (one statement) and `person` holds
    `right` in `home`; the database checks the person's membership of a successor again on every statement
    (migration 0024). The archive is read-only: its tenant's rows are never written through this door.
    """
    _check_right(home, person, right)
    if not await db.scalar(_PRECEDES, {"home": home.id, "archive": archive}):
        raise CrossingRefused("Đơn vị này không phải là đơn vị tiền thân của đơn vị bạn.")
    await bind_tenant(db, archive, person.user_id)
    try:
        yield
    finally:
        await bind_tenant(db, home.id, person.user_id)
