"""The counters the caches key on (`home_revisions`, `board_revisions`, `home_config_revision`,
`directory_revision`) never make two transactions wait for each other (issue 20): a transaction takes none of their
locks before its commit, and there takes them in one order (`apply_revision_bumps`, migration 0035).

Each race runs two real connections as the application's role, with one live session of Hà Tĩnh's province admin
(whose right reaches every tenant of the province, as a Sở Nội vụ's action does): each writes its first row, both
meet at a barrier, each writes its second row, both commit. The rows themselves are distinct, so only the counters
could make them wait: with migration 0034's statement triggers every race here ended in a deadlock (40P01), and
the units' race still did with the home's counter deferred and the board's left per statement.
`lock_timeout` bounds any wait, so a regression fails in seconds instead of hanging.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import driver_connection
from tests.support import session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants")

ADMIN = "nghia.tv@snv.hatinh.example.vn"  # Hà Tĩnh's province admin (Sở Nội vụ)
A, B = "so-ngoai-vu", "so-tai-nguyen-moi-truong"
ARCHIVES = ("so-tu-phap", "phuong-thanh-sen")  # archived for the races that write into an archive
WAIT = "3s"  # lock_timeout: far above a commit's wait, far below a hang
HOME_ONLY, HOME_AND_BOARD = "memberships", "units"  # the board shows units; the home both


@dataclass(frozen=True)
class Write:
    tenant: str
    table: str
    row: int  # which of the tenant's rows (by id): each connection writes its own


async def _tenants(db: Any) -> dict[str, uuid.UUID]:
    rows = await db.fetch(
        "SELECT t.code, t.id FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = 'ha-tinh'"
    )
    return {code: tenant_id for code, tenant_id in rows}


async def _write(db: Any, tenants: dict[str, uuid.UUID], session: str, write: Write) -> None:
    """One statement as the tenant, with the admin's session; it must have written its row."""
    await db.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.session', $2, true)",
        str(tenants[write.tenant]),
        session,
    )
    column = "role" if write.table == HOME_ONLY else "name"
    status = await db.execute(
        f"UPDATE {write.table} SET {column} = {column} WHERE id = "
        f"(SELECT id FROM {write.table} WHERE tenant_id = $1 ORDER BY id OFFSET $2 LIMIT 1)",
        tenants[write.tenant],
        write.row,
    )
    assert status == "UPDATE 1", (write, status)


async def _race(app_engine: AsyncEngine, app: Litestar, first: list[Write], second: list[Write]) -> None:
    """Both transactions write their first row, meet, write their second and commit; neither may fail."""
    session = await session_cookie_for(app, ADMIN)
    barrier = asyncio.Barrier(2)

    async def run(db: Any, writes: list[Write]) -> None:
        tenants = await _tenants(db)
        async with db.transaction():
            await db.execute(f"SET LOCAL lock_timeout = '{WAIT}'")
            await _write(db, tenants, session, writes[0])
            await barrier.wait()
            await _write(db, tenants, session, writes[1])

    async with driver_connection(app_engine) as one, driver_connection(app_engine) as two:
        outcomes = await asyncio.gather(run(one, first), run(two, second), return_exceptions=True)
    failures = [repr(outcome) for outcome in outcomes if isinstance(outcome, BaseException)]
    assert failures == []


async def _counters(db: Any, table: str, tenants: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The tenants' rows of a counter (row-level security: each read as its tenant)."""
    found = {}
    for tenant in tenants:
        async with db.transaction():
            await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
            revision = await db.fetchval(f"SELECT revision FROM {table}")
        if revision is not None:
            found[tenant] = revision
    return found


async def _archive(owner_engine: AsyncEngine, *codes: str) -> None:
    async with driver_connection(owner_engine) as db:
        await db.execute(
            "UPDATE tenants SET archived_on = DATE '2025-03-01' WHERE code = ANY ($1::text[])"
            " AND province_id = (SELECT id FROM provinces WHERE code = 'ha-tinh')",
            list(codes),
        )


@pytest.mark.parametrize("table", [HOME_ONLY, HOME_AND_BOARD])
async def test_two_tenants_written_in_opposite_orders_both_commit(
    app_engine: AsyncEngine, app: Litestar, table: str
) -> None:
    """A province-level action writing A then B beside one writing B then A: the tenants' home rows (and their
    board rows, for a table the board shows) were a cycle."""
    await _race(
        app_engine,
        app,
        [Write(A, table, 0), Write(B, table, 0)],
        [Write(B, table, 1), Write(A, table, 1)],
    )


@pytest.mark.parametrize("table", [HOME_ONLY, HOME_AND_BOARD])
async def test_a_tenant_and_the_configuration_in_opposite_orders_both_commit(
    app_engine: AsyncEngine, app: Litestar, owner_engine: AsyncEngine, table: str
) -> None:
    """A write into an archive bumps every home (the configuration's one row): A then an archive, beside another
    archive then A, was a cycle between A's home row and the configuration's row."""
    await _archive(owner_engine, *ARCHIVES)
    await _race(
        app_engine,
        app,
        [Write(A, table, 0), Write(ARCHIVES[0], table, 0)],
        [Write(ARCHIVES[1], table, 0), Write(A, table, 1)],
    )


async def test_the_sync_and_a_department_in_opposite_orders_both_commit(
    app_engine: AsyncEngine, app: Litestar, owner_engine: AsyncEngine
) -> None:
    """`tenants sync`, as the owner, writes the configuration (a tenant's row) then a department's units; the
    department, meanwhile, writes its units then into an archive (a carried-over task's note)."""
    await _archive(owner_engine, ARCHIVES[0])
    session = await session_cookie_for(app, ADMIN)
    barrier = asyncio.Barrier(2)

    async def department(db: Any) -> None:
        tenants = await _tenants(db)
        async with db.transaction():
            await db.execute(f"SET LOCAL lock_timeout = '{WAIT}'")
            await _write(db, tenants, session, Write(A, HOME_AND_BOARD, 0))
            await barrier.wait()
            await _write(db, tenants, session, Write(ARCHIVES[0], HOME_AND_BOARD, 0))

    async def sync(db: Any) -> None:
        tenants = await _tenants(db)
        async with db.transaction():
            await db.execute(f"SET LOCAL lock_timeout = '{WAIT}'")
            await db.execute("UPDATE tenants SET name = name WHERE id = $1", tenants[B])
            await barrier.wait()
            await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenants[A]))
            status = await db.execute(
                "UPDATE units SET name = name WHERE id = (SELECT id FROM units ORDER BY id OFFSET 1 LIMIT 1)"
            )
            assert status == "UPDATE 1"

    async with driver_connection(app_engine) as one, driver_connection(owner_engine) as two:
        outcomes = await asyncio.gather(department(one), sync(two), return_exceptions=True)
    assert [repr(o) for o in outcomes if isinstance(o, BaseException)] == []


async def test_a_configuration_writer_does_not_wait_for_another_ones_open_transaction(
    owner_engine: AsyncEngine,
) -> None:
    """The configuration's one row is taken at commit only: a long transaction that wrote the configuration (a
    whole `tenants sync`) does not hold every other configuration writer until it ends."""
    async with driver_connection(owner_engine) as long, driver_connection(owner_engine) as short:
        tenants = await _tenants(long)
        transaction = long.transaction()
        await transaction.start()
        try:
            await long.execute("UPDATE tenants SET name = name WHERE id = $1", tenants[A])
            async with short.transaction():
                await short.execute("SET LOCAL lock_timeout = '1s'")
                await short.execute("UPDATE tenants SET name = name WHERE id = $1", tenants[B])
            before = await short.fetchval("SELECT revision FROM home_config_revision")
        finally:
            await transaction.commit()
        assert await short.fetchval("SELECT revision FROM home_config_revision") != before


async def test_a_transaction_queues_one_commit_for_all_its_counters(owner_engine: AsyncEngine) -> None:
    """However many statements and tenants it writes, a transaction queues one row of `revision_bumps`, takes no
    counter's lock before its commit, and there writes each noted counter once: the home's to its own id, the
    board's one more."""
    async with driver_connection(owner_engine) as db, driver_connection(owner_engine) as other:
        tenants = await _tenants(db)
        ids = [tenants[A], tenants[B]]
        boards_before = await _counters(db, "board_revisions", ids)
        async with db.transaction():
            for _ in range(3):
                for tenant in ids:
                    await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
                    await db.execute("UPDATE units SET name = name")
                    await db.execute("UPDATE memberships SET role = role")
            xact = await db.fetchval("SELECT pg_current_xact_id()::text::bigint")
            assert await db.fetchval("SELECT count(*) FROM revision_bumps") == 1
            # nothing held: another connection writes both tenants' counters meanwhile, without waiting
            async with other.transaction():
                await other.execute("SET LOCAL lock_timeout = '1s'")
                for tenant in ids:
                    await other.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant))
                    assert await other.execute("UPDATE home_revisions SET revision = revision") == "UPDATE 1"
                    assert await other.execute("UPDATE board_revisions SET revision = revision") == "UPDATE 1"
        assert await db.fetchval("SELECT count(*) FROM revision_bumps") == 0
        assert await _counters(db, "home_revisions", ids) == dict.fromkeys(ids, xact)
        assert await _counters(db, "board_revisions", ids) == {t: boards_before.get(t, 0) + 1 for t in ids}
        # the transaction's own settings are cleared at its commit
        assert await db.fetchval("SELECT coalesce(current_setting('parboard.home_bumps', true), '')") == ""


async def test_a_savepoint_rolled_back_takes_its_notes_with_it(owner_engine: AsyncEngine) -> None:
    """A statement undone by a savepoint's rollback leaves no counter bumped at commit, and a later write still
    queues its own."""
    async with driver_connection(owner_engine) as db:
        tenants = await _tenants(db)
        ids = [tenants[A], tenants[B]]
        before = await _counters(db, "home_revisions", ids)
        async with db.transaction():
            await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenants[A]))
            savepoint = db.transaction()
            await savepoint.start()
            await db.execute("UPDATE units SET name = name")
            await savepoint.rollback()
            await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenants[B]))
            await db.execute("UPDATE units SET name = name")
            xact = await db.fetchval("SELECT pg_current_xact_id()::text::bigint")
        after = await _counters(db, "home_revisions", ids)
    assert after == before | {tenants[B]: xact}


async def test_a_renamed_person_bumps_the_directory_once_at_commit(owner_engine: AsyncEngine) -> None:
    """The names every board shows (`directory_revision`, one row): noted by the rename, written at its commit, one
    more for the transaction however many people it renamed; the row is not held meanwhile."""
    async with driver_connection(owner_engine) as db, driver_connection(owner_engine) as other:
        await db.execute("INSERT INTO directory_revision (id, revision) VALUES (1, 0) ON CONFLICT DO NOTHING")
        before = await db.fetchval("SELECT revision FROM directory_revision")
        async with db.transaction():
            renamed = await db.execute(
                "UPDATE users SET full_name = full_name || ' (mới)' WHERE email LIKE '%@sngv.hatinh.example.vn'"
            )
            assert renamed.startswith("UPDATE ")
            assert int(renamed.split()[1]) > 1
            async with other.transaction():
                await other.execute("SET LOCAL lock_timeout = '1s'")
                await other.execute("UPDATE directory_revision SET revision = revision")
            assert await other.fetchval("SELECT revision FROM directory_revision") == before
        assert await db.fetchval("SELECT revision FROM directory_revision") == before + 1


async def test_a_write_after_the_counters_were_written_is_counted_again(owner_engine: AsyncEngine) -> None:
    """SET CONSTRAINTS ALL IMMEDIATE writes the counters before the commit; the notes start over, so the same
    tenant written again is noted and written again at the commit (the board's counter: two more)."""
    async with driver_connection(owner_engine) as db:
        tenants = await _tenants(db)
        before = (await _counters(db, "board_revisions", [tenants[A]])).get(tenants[A], 0)
        async with db.transaction():
            await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenants[A]))
            await db.execute("UPDATE units SET name = name")
            await db.execute("SET CONSTRAINTS ALL IMMEDIATE")
            await db.execute("SET CONSTRAINTS ALL DEFERRED")
            await db.execute("UPDATE units SET name = name")
        assert await _counters(db, "board_revisions", [tenants[A]]) == {tenants[A]: before + 2}
