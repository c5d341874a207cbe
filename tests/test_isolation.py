"""Row-level security: every tenant-owned table is isolated, fail-closed, through the app's own role."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.asgi import create_app
from backend.auth.sessions import COOKIE
from backend.db.models import Base
from backend.db.rls import bind_tenant, remember_session
from backend.db.runtime import DatabaseUrls
from backend.settings import DatabaseSettings
from tests.isolation_support import (
    TENANT_TABLES,
    Rows,
    role_may,
    where_key,
)
from tests.support import make_settings, session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants")


async def _tenant_id(engine: AsyncEngine, province: str, tenant: str) -> uuid.UUID:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text(
                "SELECT t.id FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = :p AND t.code = :t"
            ),
            {"p": province, "t": tenant},
        )
    assert value is not None
    return uuid.UUID(str(value))


# A live session of a member of each tenant of `two_tenants`: since migration 0020 the tenant policies accept
# `app.tenant_id` from the app's role only together with such a session (`app.session`, the raw cookie).
MEMBERS = {
    ("ba-ria-vung-tau", "so-tai-nguyen-moi-truong"): "lan.nt@stnmt.brvt.example.vn",
    ("ha-tinh", "so-tai-nguyen-moi-truong"): "thuong.tth@stnmt.hatinh.example.vn",
}
_SESSIONS: dict[uuid.UUID, str] = {}


async def _as_tenant(connection: AsyncConnection, tenant_id: uuid.UUID | None) -> None:
    """Bind the transaction to `tenant_id` as the app's requests do: the tenant and a member's session."""
    await connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true), set_config('app.session', :s, true)"),
        {"t": str(tenant_id) if tenant_id else "", "s": _SESSIONS.get(tenant_id, "") if tenant_id else ""},
    )


@pytest.fixture
async def two_tenants(app_engine: AsyncEngine, app: Litestar) -> tuple[uuid.UUID, uuid.UUID]:
    _SESSIONS.clear()
    found = []
    for (province, tenant), email in MEMBERS.items():
        tenant_id = await _tenant_id(app_engine, province, tenant)
        _SESSIONS[tenant_id] = await session_cookie_for(app, email)
        found.append(tenant_id)
    a, b = found
    return a, b


async def test_every_table_with_tenant_id_has_enabled_and_forced_policy(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        rows = await connection.execute(
            text(
                """
                SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                WHERE c.relkind IN ('r', 'p')
                """
            )
        )
        tables = {row.relname: (row.relrowsecurity, row.relforcerowsecurity) for row in rows}
    assert set(tables) == set(TENANT_TABLES)
    unprotected = {name: flags for name, flags in tables.items() if flags != (True, True)}
    assert unprotected == {}, f"tables without ENABLEd + FORCEd row-level security: {unprotected}"


# Each policy exactly as PostgreSQL reads it back: an added `OR true`, a dropped WITH CHECK, a RESTRICTIVE or
# FOR SELECT policy instead of ALL, or one more permissive policy fails the comparison.
TENANT_OF_STATEMENT_AS_STORED = "(tenant_id = ( SELECT app_tenant() AS app_tenant))"  # rls.CHECKED_TENANT
TENANT_ISOLATION = ("tenant_isolation", "PERMISSIVE", "{public}", "ALL", TENANT_OF_STATEMENT_AS_STORED)
# Reading only (SELECT), the province's tenants once the database checked the session's right (migration 0028).
PROVINCE_OF_STATEMENT_AS_STORED = "(tenant_id = ANY (( SELECT app_province_tenants() AS app_province_tenants)::uuid[]))"
PROVINCE_READING = ("province_reading", "PERMISSIVE", "{public}", "SELECT", None)
OWN_EMAIL = "(lower((email)::text) = lower(NULLIF(current_setting('app.user_email'::text, true), ''::text)))"
OTHER_POLICIES = {  # a person's own rows across tenants, read (and accepted) without a tenant context
    "memberships": {
        ("own_memberships", "PERMISSIVE", "{public}", "SELECT", None): (
            "(user_id = (NULLIF(current_setting('app.user_id'::text, true), ''::text))::uuid)"
        ),
    },
    "invitations": {
        ("own_invitations_read", "PERMISSIVE", "{public}", "SELECT", None): OWN_EMAIL,
        ("own_invitations_accept", "PERMISSIVE", "{public}", "UPDATE", OWN_EMAIL): OWN_EMAIL,
    },
    # a task carried over, read by whoever may read the archive it came from (migration 0037)
    "carried_tasks": {
        ("predecessor_reading", "PERMISSIVE", "{public}", "SELECT", None): (
            "(predecessor_id = ( SELECT app_tenant() AS app_tenant))"
        ),
    },
}
# `tenants sync` reads these across tenants, as the owner only, with app.sync_reads on (migration 0027)
SYNC_READS_TABLES = ("units", "unit_groups", "unit_group_members", "board_columns")
SYNC_READS = "(current_setting('app.sync_reads'::text, true) = 'on'::text)"


CHECKING = "(current_setting('app.checking_session'::text, true) = 'on'::text)"


def _owner_policies(owner: str) -> dict[str, dict[tuple[str, str, str, str, str | None], str]]:
    """Policies for the owner alone: its SECURITY DEFINER functions find an API token by its hash while they check
    who is asking (migration 0025), before any tenant is known."""
    return {"api_tokens": {("token_lookup", "PERMISSIVE", f"{{{owner}}}", "ALL", CHECKING): CHECKING}}


async def test_every_tenant_table_has_exactly_its_policies_with_their_exact_expressions(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as connection:
        owner = await connection.scalar(text("SELECT current_user"))
        rows = (
            await connection.execute(
                text(
                    "SELECT tablename, policyname, permissive, roles::text AS roles, cmd, qual, with_check "
                    "FROM pg_policies WHERE schemaname = 'public'"
                )
            )
        ).all()
        owner = await connection.scalar(text("SELECT current_user"))
    sync_reads = {("sync_reads", "PERMISSIVE", f"{{{owner}}}", "SELECT", None): SYNC_READS}
    found: dict[str, dict[tuple[str, str, str, str, str | None], str]] = {}
    for row in rows:
        key = (row.policyname, row.permissive, row.roles, row.cmd, row.with_check)
        found.setdefault(row.tablename, {})[key] = row.qual
    expected = {
        table: {TENANT_ISOLATION: TENANT_OF_STATEMENT_AS_STORED, PROVINCE_READING: PROVINCE_OF_STATEMENT_AS_STORED}
        | OTHER_POLICIES.get(table, {})
        | _owner_policies(str(owner)).get(table, {})
        | (sync_reads if table in SYNC_READS_TABLES else {})
        for table in TENANT_TABLES
    }
    assert found == expected


async def test_app_role_is_restricted_and_owns_nothing(app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as connection:
        role = (
            await connection.execute(
                text(
                    "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
        owned = await connection.scalar(
            text("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = current_user")
        )
        schema_owner = await connection.scalar(
            text("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
        )
    assert (role.rolsuper, role.rolbypassrls, role.rolcreaterole, role.rolcreatedb) == (
        False,
        False,
        False,
        False,
    )
    assert owned == 0
    assert schema_owner != role.rolname


async def test_app_role_cannot_write_tenants_or_rewrite_the_audit_log(
    app_engine: AsyncEngine, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two_tenants
    for statement in (
        "UPDATE tenants SET name = 'x'",
        "DELETE FROM provinces",
        "UPDATE audit_log SET actor = 'x'",
        "DELETE FROM audit_log",
        "CREATE TABLE sneaky (id int)",
    ):
        async with app_engine.connect() as connection:
            await _as_tenant(connection, a)
            with pytest.raises(DBAPIError, match="permission denied"):
                await connection.execute(text(statement))


# -- isolation as behaviour, for every tenant-owned table of the metadata ------------------------------------
#
# A row of each tenant is made as the owner (row-level security binds the owner too: FORCE) with every NOT
# NULL column filled from its type, a CHECK's `IN (...)` list or the row it references (made first, for the same
# tenant); then the app's role, without a tenant and as tenant A, must neither see nor change tenant B's row.


@pytest.mark.parametrize("name", TENANT_TABLES)
async def test_no_tenant_context_sees_zero_rows_and_tenant_a_cannot_reach_tenant_bs(
    app_engine: AsyncEngine, owner_engine: AsyncEngine, two_tenants: tuple[uuid.UUID, uuid.UUID], name: str
) -> None:
    a, b = two_tenants
    table = Base.metadata.tables[name]
    async with owner_engine.begin() as owner:
        rows = Rows(owner)
        row_a, row_b = await rows.row(table, a), await rows.row(table, b)
        refused_row = await rows.values(table, b)  # a new row of B's, for A to try to insert
    where_b, key_b = where_key(table, row_b)
    where_a, key_a = where_key(table, row_a)

    if await role_may(app_engine, name, "SELECT"):
        async with app_engine.connect() as connection:
            assert await connection.scalar(text(f"SELECT count(*) FROM {name}")) == 0
            await _as_tenant(connection, None)
            assert await connection.scalar(text(f"SELECT count(*) FROM {name}")) == 0
            await _as_tenant(connection, a)
            assert await connection.scalar(text(f"SELECT count(*) FROM {name} WHERE {where_a}"), key_a) == 1
            assert await connection.scalar(text(f"SELECT count(*) FROM {name} WHERE {where_b}"), key_b) == 0
            seen = {row[0] for row in await connection.execute(text(f"SELECT DISTINCT tenant_id FROM {name}"))}
            assert seen == {a}

    statements = [
        (("UPDATE", "SELECT"), f"UPDATE {name} SET tenant_id = tenant_id WHERE {where_b}", key_b),
        (("DELETE", "SELECT"), f"DELETE FROM {name} WHERE {where_b}", key_b),
    ]
    for privileges, statement, params in statements:
        async with app_engine.connect() as connection:
            await _as_tenant(connection, a)
            if await role_may(app_engine, name, *privileges):
                assert (await connection.execute(text(statement), params)).rowcount == 0, statement
                await connection.commit()
            else:
                with pytest.raises(DBAPIError, match="permission denied"):
                    await connection.execute(text(statement), params)

    if await role_may(app_engine, name, "UPDATE", "SELECT"):  # A's own row cannot be handed to B
        async with app_engine.connect() as connection:
            await _as_tenant(connection, a)
            with pytest.raises(DBAPIError, match="row-level security"):
                await connection.execute(text(f"UPDATE {name} SET tenant_id = :b WHERE {where_a}"), {"b": b, **key_a})

    async with app_engine.connect() as connection:
        await _as_tenant(connection, a)
        refusal = "row-level security" if await role_may(app_engine, name, "INSERT") else "permission denied"
        with pytest.raises(DBAPIError, match=refusal):
            await connection.execute(insert(table).values(**refused_row))

    async with owner_engine.begin() as owner:
        await _as_tenant(owner, b)
        kept = (await owner.execute(text(f"SELECT * FROM {name} WHERE {where_b}"), key_b)).one()
        assert dict(kept._mapping) == row_b
        assert await owner.scalar(text(f"SELECT count(*) FROM {name} WHERE tenant_id = :b"), {"b": b}) >= 1
        assert await owner.scalar(text(f"SELECT count(*) FROM {name} WHERE {where_a}"), key_a) == 0


PROVINCE_ADMIN = "nghia.tv@snv.hatinh.example.vn"  # Hà Tĩnh's Sở Nội vụ


async def _province_id(engine: AsyncEngine, code: str) -> str:
    async with engine.connect() as connection:
        return str(await connection.scalar(text("SELECT id FROM provinces WHERE code = :c"), {"c": code}))


@pytest.mark.parametrize("name", TENANT_TABLES)
async def test_a_province_read_shows_its_province_to_its_admin_only_and_writes_nothing(
    app: Litestar,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    two_tenants: tuple[uuid.UUID, uuid.UUID],
    name: str,
) -> None:
    """`reading_province`'s setting: the Hà Tĩnh admin's session sees a Hà Tĩnh tenant's row, never another
    province's, nor anything when it names another province; a department's member sees nothing through it; and it
    deletes nothing, its own province's rows included."""
    other, home = two_tenants  # Bà Rịa – Vũng Tàu's, Hà Tĩnh's
    if not await role_may(app_engine, name, "SELECT"):
        pytest.skip("the application's role cannot read the table")
    table = Base.metadata.tables[name]
    async with owner_engine.begin() as owner:
        rows = Rows(owner)
        where_home, key_home = where_key(table, await rows.row(table, home))
        where_other, key_other = where_key(table, await rows.row(table, other))
    admin = await session_cookie_for(app, PROVINCE_ADMIN)
    ha_tinh, ba_ria = await _province_id(app_engine, "ha-tinh"), await _province_id(app_engine, "ba-ria-vung-tau")

    async def seen(session: str, province: str, where: str, key: dict[str, Any]) -> int:
        async with app_engine.connect() as connection:
            await connection.execute(
                text("SELECT set_config('app.province_id', :p, true), set_config('app.session', :s, true)"),
                {"p": province, "s": session},
            )
            return int(await connection.scalar(text(f"SELECT count(*) FROM {name} WHERE {where}"), key) or 0)

    assert await seen(admin, ha_tinh, where_home, key_home) == 1
    assert await seen(admin, ha_tinh, where_other, key_other) == 0
    assert await seen(admin, ba_ria, where_other, key_other) == 0
    assert await seen(_SESSIONS[home], ha_tinh, where_home, key_home) == 0
    assert await seen("", ha_tinh, where_home, key_home) == 0
    if await role_may(app_engine, name, "DELETE", "SELECT"):
        async with app_engine.connect() as connection:
            await connection.execute(
                text("SELECT set_config('app.province_id', :p, true), set_config('app.session', :s, true)"),
                {"p": ha_tinh, "s": admin},
            )
            assert (await connection.execute(text(f"DELETE FROM {name} WHERE {where_home}"), key_home)).rowcount == 0


async def test_tenant_a_cannot_read_update_or_delete_tenant_b_rows(
    app_engine: AsyncEngine, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two_tenants
    async with app_engine.connect() as connection:
        await _as_tenant(connection, b)
        b_unit = await connection.scalar(text("SELECT id FROM units ORDER BY code LIMIT 1"))
        assert b_unit is not None
        await connection.rollback()

        await _as_tenant(connection, a)
        tenants_seen = {row[0] for row in await connection.execute(text("SELECT DISTINCT tenant_id FROM units"))}
        assert tenants_seen == {a}
        assert await connection.scalar(text("SELECT count(*) FROM units WHERE id = :u"), {"u": b_unit}) == 0
        updated = await connection.execute(text("UPDATE units SET name = 'hijacked' WHERE id = :u"), {"u": b_unit})
        assert updated.rowcount == 0
        deleted = await connection.execute(text("DELETE FROM memberships WHERE tenant_id = :b"), {"b": b})
        assert deleted.rowcount == 0
        await connection.commit()

    async with app_engine.connect() as connection:
        await _as_tenant(connection, b)
        name = await connection.scalar(text("SELECT name FROM units WHERE id = :u"), {"u": b_unit})
        members = await connection.scalar(text("SELECT count(*) FROM memberships"))
    assert name != "hijacked"
    assert members
    assert members > 0


async def test_tenant_a_cannot_insert_or_move_rows_into_tenant_b(
    app_engine: AsyncEngine, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two_tenants
    async with app_engine.connect() as connection:
        await _as_tenant(connection, a)
        with pytest.raises(DBAPIError, match="row-level security"):
            await connection.execute(
                text(
                    "INSERT INTO units (id, tenant_id, code, name, kind, position, created_at, updated_at) "
                    "VALUES (gen_random_uuid(), :b, 'x', 'x', 'phong', 0, now(), now())"
                ),
                {"b": b},
            )
    async with app_engine.connect() as connection:
        await _as_tenant(connection, a)
        with pytest.raises(DBAPIError, match="row-level security"):
            await connection.execute(text("UPDATE units SET tenant_id = :b"), {"b": b})


async def test_a_memberships_row_cannot_point_at_another_tenants_unit(
    app_engine: AsyncEngine, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, b = two_tenants
    async with app_engine.connect() as connection:
        await _as_tenant(connection, b)
        b_unit = await connection.scalar(text("SELECT id FROM units LIMIT 1"))
        await connection.rollback()
        await _as_tenant(connection, a)
        user = await connection.scalar(text("SELECT user_id FROM memberships LIMIT 1"))
        with pytest.raises(DBAPIError, match="foreign key"):
            await connection.execute(
                text(
                    "INSERT INTO memberships (id, tenant_id, user_id, role, unit_id, is_active, created_at, "
                    "updated_at) VALUES (gen_random_uuid(), :a, :user, 'staff', :unit, true, now(), now())"
                ),
                {"a": a, "user": user, "unit": b_unit},
            )


async def test_tenant_context_is_transaction_local(
    app_engine: AsyncEngine, two_tenants: tuple[uuid.UUID, uuid.UUID]
) -> None:
    a, _ = two_tenants
    async with app_engine.connect() as connection:
        await _as_tenant(connection, a)
        assert (await connection.scalar(text("SELECT count(*) FROM units")) or 0) > 0
        await connection.commit()
        assert await connection.scalar(text("SELECT count(*) FROM units")) == 0
        assert await connection.scalar(text("SELECT current_setting('app.tenant_id', true)")) in ("", None)


async def test_pooled_connection_reused_after_a_request_carries_no_tenant_context(
    database: DatabaseUrls,
) -> None:
    # A pool of exactly one connection: the request's connection is the one inspected afterwards.
    settings = replace(make_settings(), db=DatabaseSettings(pool_size=1, max_overflow=0))
    app = create_app(settings, database)
    token = await session_cookie_for(app, "lan.nt@stnmt.brvt.example.vn")  # on its own connection
    async with AsyncTestClient(app=app):  # the lifespan only: requests go through httpx, on this event loop
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.cookies.set(COOKIE, token)
            response = await client.get("/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/")
            assert response.status_code == 200  # signed in, and the request bound the tenant
            assert "Văn phòng Đăng ký đất đai" in response.text
        sqlalchemy = app.plugins.get(SQLAlchemyPlugin).config[0]
        engine: AsyncEngine = app.state[sqlalchemy.engine_app_state_key]
        assert engine is app.state["sessions"].engine  # the session lookup used this pool too
        assert engine.pool.checkedin() == 1
        async with engine.connect() as connection:
            assert engine.pool.checkedout() == 1
            tenant = await connection.scalar(text("SELECT current_setting('app.tenant_id', true)"))
            user = await connection.scalar(text("SELECT current_setting('app.user_id', true)"))
            units = await connection.scalar(text("SELECT count(*) FROM units"))
    assert tenant in ("", None)
    assert user in ("", None)
    assert units == 0


async def test_the_apps_sessions_keep_their_tenant_after_a_commit(app: Litestar, owner_engine: AsyncEngine) -> None:
    """The session the app's plugin makes (not only `create_session_maker`'s) re-applies the bound tenant at the
    start of every transaction: a request that commits half-way still sees, and only sees, its own rows."""
    plugin = app.plugins.get(SQLAlchemyPlugin)
    [config] = plugin.config
    async with owner_engine.connect() as connection:
        tenant_id = (await connection.execute(text("SELECT id FROM tenants WHERE code = 'so-ngoai-vu'"))).scalar_one()
    token = await session_cookie_for(app, "thao.ntp@sngv.hatinh.example.vn")  # a member of Sở Ngoại vụ
    async with config.get_session() as session:
        remember_session(session, token)
        await bind_tenant(session, tenant_id)
        before = (await session.execute(text("SELECT count(*) FROM units"))).scalar_one()
        await session.commit()
        after = (await session.execute(text("SELECT count(*) FROM units"))).scalar_one()
        setting = (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar_one()
    assert before > 0
    assert after == before
    assert setting == str(tenant_id)
