"""The database checks who is asking (migration 0020), connected as the application's own role.

Column rights: the role cannot make anyone a platform admin nor bring a revoked session back. The cross-tenant
functions (`board_move_as`, `board_cells_as`) act in a tenant only for a live session of a person with a
membership there (or a province-level right over it): a tenant id and a person id are not enough.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import driver_connection
from backend.db.models import Base
from tests.auth_support import tenant_id
from tests.factories import FOCAL, REVIEWER
from tests.isolation_support import TENANT_TABLES, Rows, role_may, where_key
from tests.support import session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants")

OTHER_PROVINCES_REVIEWER = "tri.hm@snv.brvt.example.vn"


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as connection:
        return await connection.scalar(text(sql), params)


async def _person(engine: AsyncEngine, email: str) -> uuid.UUID:
    found = await _scalar(engine, "SELECT id FROM users WHERE email = :e", e=email)
    assert found is not None
    return uuid.UUID(str(found))


async def _session_person(engine: AsyncEngine, token: str, tenant: uuid.UUID) -> uuid.UUID | None:
    async with driver_connection(engine) as driver:
        value = await driver.fetchval("SELECT session_person($1, $2)", token, tenant)
    return uuid.UUID(str(value)) if value is not None else None


# -- column rights ---------------------------------------------------------------------------------------------


async def _revoke_and_expire(owner_engine: AsyncEngine, *, revoked: str, expired: str) -> None:
    """Revoke the session of the cookie `revoked` and let the one of `expired` run out."""
    digest = "encode(sha256(convert_to(:t, 'UTF8')), 'hex')"
    async with owner_engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE user_sessions SET revoked_at = now() WHERE token_hash = {digest}"), {"t": revoked}
        )
        await connection.execute(
            text(f"UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = {digest}"),
            {"t": expired},
        )


async def test_the_app_role_cannot_make_anyone_a_platform_admin(app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as connection:
        with pytest.raises(DBAPIError, match="permission denied"):
            await connection.execute(text("UPDATE users SET is_platform_admin = true"))
    async with app_engine.connect() as connection:
        with pytest.raises(DBAPIError, match="platform rights are granted by the owner only"):
            await connection.execute(
                text(
                    "INSERT INTO users (id, issuer, subject, email, full_name, is_platform_admin) "
                    "VALUES (gen_random_uuid(), 'https://idp.example', 'sneaky', 'x@example.vn', 'X', true)"
                )
            )
    async with app_engine.begin() as connection:  # what it needs still works: a person's name and e-mail
        changed = await connection.execute(text("UPDATE users SET full_name = full_name, email = email"))
        assert changed.rowcount > 0


async def test_a_revoked_session_stays_revoked_and_its_identity_is_fixed(
    app: Litestar, app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    token = await session_cookie_for(app, FOCAL)
    async with app_engine.begin() as connection:
        await connection.execute(text("UPDATE user_sessions SET revoked_at = now(), revoked_by = 'test'"))
    for statement in (
        "UPDATE user_sessions SET revoked_at = NULL",
        "UPDATE user_sessions SET revoked_at = now() + interval '1 day'",
    ):
        async with app_engine.connect() as connection:
            with pytest.raises(DBAPIError, match="a revoked session stays revoked"):
                await connection.execute(text(statement))
    for statement in (
        "UPDATE user_sessions SET expires_at = now() + interval '1 year'",
        "UPDATE user_sessions SET user_id = user_id",
        "UPDATE user_sessions SET token_hash = token_hash",
    ):
        async with app_engine.connect() as connection:
            with pytest.raises(DBAPIError, match="permission denied"):
                await connection.execute(text(statement))
    assert await _scalar(owner_engine, "SELECT count(*) FROM user_sessions WHERE revoked_at IS NULL") == 0
    assert await _session_person(app_engine, token, await tenant_id(app_engine, "ha-tinh", "so-ngoai-vu")) is None


async def test_no_column_keeps_an_id_token(owner_engine: AsyncEngine) -> None:
    columns = await _scalar(
        owner_engine,
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name LIKE '%id_token%'",
    )
    assert columns == 0


# -- whose session may act in which tenant ---------------------------------------------------------------------


async def test_a_members_live_session_acts_in_its_tenant_only(app: Litestar, app_engine: AsyncEngine) -> None:
    token = await session_cookie_for(app, FOCAL)
    person = await _person(app_engine, FOCAL)
    own = await tenant_id(app_engine, "ha-tinh", "so-ngoai-vu")
    assert await _session_person(app_engine, token, own) == person
    for province, tenant in (("ha-tinh", "so-tai-nguyen-moi-truong"), ("ba-ria-vung-tau", "so-tai-nguyen-moi-truong")):
        assert await _session_person(app_engine, token, await tenant_id(app_engine, province, tenant)) is None
    assert await _session_person(app_engine, "not-a-token", own) is None
    assert await _session_person(app_engine, "", own) is None


async def test_a_revoked_or_expired_session_or_a_disabled_person_acts_nowhere(
    app: Litestar, app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    own = await tenant_id(app_engine, "ha-tinh", "so-ngoai-vu")
    revoked, expired, disabled = [await session_cookie_for(app, FOCAL) for _ in range(3)]
    for token in (revoked, expired, disabled):
        assert await _session_person(app_engine, token, own) is not None
    await _revoke_and_expire(owner_engine, revoked=revoked, expired=expired)
    assert await _session_person(app_engine, revoked, own) is None
    assert await _session_person(app_engine, expired, own) is None
    assert await _session_person(app_engine, disabled, own) is not None
    async with owner_engine.begin() as connection:
        await connection.execute(text("UPDATE users SET is_active = false WHERE email = :e"), {"e": FOCAL})
    assert await _session_person(app_engine, disabled, own) is None


async def test_a_province_reviewer_reaches_the_provinces_departments_and_no_other_province(
    app: Litestar, app_engine: AsyncEngine
) -> None:
    token = await session_cookie_for(app, REVIEWER)
    person = await _person(app_engine, REVIEWER)
    for department in ("so-ngoai-vu", "so-tai-nguyen-moi-truong", "so-noi-vu"):
        assert await _session_person(app_engine, token, await tenant_id(app_engine, "ha-tinh", department)) == person
    elsewhere = await tenant_id(app_engine, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
    assert await _session_person(app_engine, token, elsewhere) is None
    other = await session_cookie_for(app, OTHER_PROVINCES_REVIEWER)
    assert await _session_person(app_engine, other, await tenant_id(app_engine, "ha-tinh", "so-ngoai-vu")) is None
    # a reviewer of another appraising agency of the province (Sở Tư pháp): a criterion may be assigned to it
    agency = await session_cookie_for(app, "binh.pt@stp.hatinh.example.vn")
    sngv = await tenant_id(app_engine, "ha-tinh", "so-ngoai-vu")
    assert await _session_person(app_engine, agency, sngv) == await _person(app_engine, "binh.pt@stp.hatinh.example.vn")


MOVE = """
SELECT outcome FROM board_move_as(
  session_token => $1, tenant => $2, person => $3, board_year => 2020, lock_key => $4, moving => $5, expected => 1,
  to_column => $5, to_area => '1', place => 'end', anchor => NULL, edits_any => true, edits_units => '{}',
  confirms => true, actor => 'x'
)
"""
CELLS = """
SELECT * FROM board_cells_as(
  session_token => $1, tenant => $2, person => $3, board_year => 2020, c0 => $4, a0 => '1', c1 => $4, a1 => '2'
)
"""


async def test_the_cross_tenant_functions_refuse_another_tenants_id_without_a_members_session(
    app: Litestar, app_engine: AsyncEngine
) -> None:
    token = await session_cookie_for(app, FOCAL)
    person = await _person(app_engine, FOCAL)
    own = await tenant_id(app_engine, "ha-tinh", "so-ngoai-vu")
    other = await tenant_id(app_engine, "ha-tinh", "so-tai-nguyen-moi-truong")
    other_member = uuid.UUID(
        str(
            await _scalar(
                app_engine,
                "SELECT u.id FROM users u WHERE u.email = 'thuong.tth@stnmt.hatinh.example.vn'",
            )
        )
    )
    nothing = uuid.uuid4()

    def calls(session_token: str, tenant: uuid.UUID, who: uuid.UUID) -> list[tuple[str, tuple[Any, ...]]]:
        return [
            (MOVE, (session_token, tenant, who, f"board:{tenant}", nothing)),
            (CELLS, (session_token, tenant, who, nothing)),
        ]

    async with driver_connection(app_engine) as driver:
        refused = [
            *calls(token, other, person),  # another tenant, own session
            *calls(token, other, other_member),  # another tenant, acting as one of its members
            *calls(token, own, other_member),  # own tenant, someone else as the actor
            *calls("", other, other_member),  # no session at all
            *calls("forged", own, person),
        ]
        for statement, arguments in refused:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await driver.fetch(statement, *arguments)
        # the member's own session in its own tenant: answered, not refused (this database has no criteria set:
        # there is no board to move a card on, and no card in the cells)
        move, cells = calls(token, own, person)
        assert await driver.fetchval(move[0], *move[1]) == "no-criteria"
        [row] = await driver.fetch(cells[0], *cells[1])
        assert (row["id"], row["lane_codes"]) == (None, None)


# -- every tenant-owned table, as the app's role, with another tenant's id ------------------------------------


@pytest.mark.parametrize("name", TENANT_TABLES)
async def test_another_tenants_id_without_a_members_session_reads_nothing_and_writes_nothing(
    app: Litestar, app_engine: AsyncEngine, owner_engine: AsyncEngine, name: str
) -> None:
    """A row of tenant B made as the owner; the app's role sets B's id with no session, with a live session of a
    member of A only, with a revoked and with an expired session of a member of B: it sees none of B's rows and
    every insert, update and delete of B's is refused."""
    b = await tenant_id(app_engine, "ha-tinh", "so-tai-nguyen-moi-truong")
    table = Base.metadata.tables[name]
    async with owner_engine.begin() as owner:
        rows = Rows(owner)
        row_b = await rows.row(table, b)
        new_b = await rows.values(table, b)
    where_b, key_b = where_key(table, row_b)
    member_of_a = await session_cookie_for(app, "lan.nt@stnmt.brvt.example.vn")
    revoked, expired = [await session_cookie_for(app, "thuong.tth@stnmt.hatinh.example.vn") for _ in range(2)]
    await _revoke_and_expire(owner_engine, revoked=revoked, expired=expired)
    may = {p: await role_may(app_engine, name, p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE")}

    async def bound(connection: Any, token: str) -> None:
        await connection.execute(
            text("SELECT set_config('app.tenant_id', :t, true), set_config('app.session', :s, true)"),
            {"t": str(b), "s": token},
        )

    for token in ("", member_of_a, revoked, expired, "forged"):
        if may["SELECT"]:
            async with app_engine.connect() as connection:
                await bound(connection, token)
                assert await connection.scalar(text(f"SELECT count(*) FROM {name}")) == 0
        for privileges, statement in (
            (("UPDATE", "SELECT"), f"UPDATE {name} SET tenant_id = tenant_id WHERE {where_b}"),
            (("DELETE", "SELECT"), f"DELETE FROM {name} WHERE {where_b}"),
        ):
            async with app_engine.connect() as connection:
                await bound(connection, token)
                if all(may[p] for p in privileges):
                    # no row of B's is touched; a board table's statement trigger (its tenant's board revision,
                    # under the same policy) refuses the whole statement instead
                    try:
                        touched = (await connection.execute(text(statement), key_b)).rowcount
                    except DBAPIError as exc:
                        touched = 0 if "row-level security" in str(exc) else -1
                    assert touched == 0, statement
                else:
                    with pytest.raises(DBAPIError, match="permission denied"):
                        await connection.execute(text(statement), key_b)
        async with app_engine.connect() as connection:
            await bound(connection, token)
            with pytest.raises(DBAPIError, match="row-level security" if may["INSERT"] else "permission denied"):
                await connection.execute(insert(table).values(**new_b))

    async with owner_engine.connect() as connection:  # B's row is untouched
        await connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(b)})
        kept = (await connection.execute(text(f"SELECT * FROM {name} WHERE {where_b}"), key_b)).one()
    assert dict(kept._mapping) == row_b


async def test_a_members_session_sees_its_tenants_rows_through_the_policies(
    app: Litestar, app_engine: AsyncEngine
) -> None:
    b = await tenant_id(app_engine, "ha-tinh", "so-tai-nguyen-moi-truong")
    token = await session_cookie_for(app, "thuong.tth@stnmt.hatinh.example.vn")
    async with app_engine.connect() as connection:
        await connection.execute(
            text("SELECT set_config('app.tenant_id', :t, true), set_config('app.session', :s, true)"),
            {"t": str(b), "s": token},
        )
        assert (await connection.scalar(text("SELECT count(*) FROM units")) or 0) > 0
        assert {row[0] for row in await connection.execute(text("SELECT DISTINCT tenant_id FROM memberships"))} == {b}


async def test_the_jobs_role_is_trusted_with_the_tenant_alone_and_the_app_role_cannot_become_it(
    app_engine: AsyncEngine, jobs_engine: AsyncEngine
) -> None:
    b = await tenant_id(app_engine, "ha-tinh", "so-tai-nguyen-moi-truong")
    async with jobs_engine.connect() as connection:
        assert await connection.scalar(text("SELECT current_user")) == "parboard_jobs"
        await connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(b)})
        assert (await connection.scalar(text("SELECT count(*) FROM units")) or 0) > 0
        with pytest.raises(DBAPIError, match="permission denied"):
            await connection.execute(text("SELECT count(*) FROM user_sessions"))
    async with app_engine.connect() as connection:
        with pytest.raises(DBAPIError, match="permission denied"):
            await connection.execute(text("SET ROLE parboard_jobs"))


async def test_a_platform_admin_made_by_the_owner_reaches_every_tenant(
    app: Litestar, app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    token = await session_cookie_for(app, FOCAL)
    elsewhere = await tenant_id(app_engine, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
    assert await _session_person(app_engine, token, elsewhere) is None
    async with owner_engine.begin() as connection:
        await connection.execute(text("UPDATE users SET is_platform_admin = true WHERE email = :e"), {"e": FOCAL})
    assert await _session_person(app_engine, token, elsewhere) == await _person(app_engine, FOCAL)
