"""Row-level security: every tenant-owned table is isolated, fail-closed, through the app's own role."""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.asgi import create_app
from backend.auth.sessions import COOKIE
from backend.db.models import Base
from backend.db.rls import bind_tenant
from backend.db.runtime import DatabaseUrls
from backend.settings import DatabaseSettings
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


async def _as_tenant(connection: AsyncConnection, tenant_id: uuid.UUID | None) -> None:
    await connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id) if tenant_id else ""}
    )


@pytest.fixture
async def two_tenants(app_engine: AsyncEngine) -> tuple[uuid.UUID, uuid.UUID]:
    a = await _tenant_id(app_engine, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
    b = await _tenant_id(app_engine, "ha-tinh", "so-tai-nguyen-moi-truong")
    return a, b


async def test_every_table_with_tenant_id_has_enabled_and_forced_policy(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        rows = await connection.execute(
            text(
                """
                SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                       EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                               AND pg_get_expr(p.polqual, p.polrelid) LIKE '%app.tenant_id%') AS has_policy
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
                WHERE c.relkind IN ('r', 'p')
                """
            )
        )
        tables = {row.relname: (row.relrowsecurity, row.relforcerowsecurity, row.has_policy) for row in rows}
    modelled = {t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.columns}
    assert set(tables) == modelled
    unprotected = {name: flags for name, flags in tables.items() if flags != (True, True, True)}
    assert unprotected == {}, f"tables without ENABLEd + FORCEd tenant policy: {unprotected}"


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


@pytest.mark.parametrize("table", ["units", "unit_groups", "unit_group_members", "memberships", "audit_log"])
async def test_no_tenant_context_sees_zero_rows(app_engine: AsyncEngine, owner_engine: AsyncEngine, table: str) -> None:
    async with owner_engine.connect() as connection:
        # FORCE binds the owner too: prove rows exist by looking per tenant.
        tenant_ids = [row[0] for row in await connection.execute(text("SELECT id FROM tenants"))]
        total = 0
        for tenant_id in tenant_ids:
            await connection.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": str(tenant_id)})
            total += await connection.scalar(text(f"SELECT count(*) FROM {table}")) or 0
        await connection.rollback()
    assert total > 0
    async with app_engine.connect() as connection:
        assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0
        await _as_tenant(connection, None)
        assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0


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
    async with config.get_session() as session:
        await bind_tenant(session, tenant_id)
        before = (await session.execute(text("SELECT count(*) FROM units"))).scalar_one()
        await session.commit()
        after = (await session.execute(text("SELECT count(*) FROM units"))).scalar_one()
        setting = (await session.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar_one()
    assert before > 0
    assert after == before
    assert setting == str(tenant_id)
