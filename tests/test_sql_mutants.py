"""Mutation testing of the checks that live in PostgreSQL, which mutmut cannot mutate: the tenant policy, the tenant
context (`app_tenant()`, `session_person()`, `live_session()`, `live_memberships()`), the tenant home's versions read
with the session (`session_home`), the move's version check and its session check (`board_move_as`), and the caches'
counters written at commit (`note_revision_bump`, `apply_revision_bumps`).

Each mutant is a small hand-made change of the database's own text, read back with `pg_get_functiondef` and
`pg_policies` (not from a migration: the same test holds wherever the functions' source lives), applied with
CREATE OR REPLACE / ALTER POLICY in a transaction of the owner that is rolled back. The guarding checks run in
that transaction; with no mutant every one of them holds, and each mutant must make at least the check named
for it fail.

The checks run on the owner's connection (the owner may replace the functions; the application's role may not,
and an uncommitted replacement is visible only to its own transaction). The owner is trusted by `app_tenant()`
with the tenant setting alone; so that the checks see what the application's role sees, every transaction first
drops the owner from that trusted list (`_AS_THE_APP`), baseline and mutants alike.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import driver_connection
from tests.support import session_cookie_for

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")  # the move needs the year's criteria set

FOCAL = "thao.ntp@sngv.hatinh.example.vn"  # Sở Ngoại vụ of Hà Tĩnh: tenant A
LEADER = "vinh.tq@sngv.hatinh.example.vn"  # another member of tenant A
OTHER = "thuong.tth@stnmt.hatinh.example.vn"  # Sở Tài nguyên và Môi trường of Hà Tĩnh: tenant B
TABLE = "board_columns"  # the policy mutants' table: rows in every tenant from the sync alone
YEAR = 2020
AREA = "1"


@dataclass(frozen=True)
class World:
    a: uuid.UUID
    b: uuid.UUID
    focal: uuid.UUID
    sessions: dict[str, str]  # e-mail -> the raw session cookie
    task: uuid.UUID
    version: int
    columns: list[uuid.UUID]  # tenant A's first two columns


Check = Callable[[Any, World], Awaitable[None]]


async def _context(db: Any, tenant: uuid.UUID | None, session: str) -> None:
    await db.execute(
        "SELECT set_config('app.tenant_id', $1, true), set_config('app.session', $2, true)",
        str(tenant) if tenant else "",
        session,
    )


async def _count(db: Any, where: str = "true", *args: Any) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {TABLE} WHERE {where}", *args))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _no_context_sees_no_row(db: Any, world: World) -> None:
    await _context(db, None, "")
    assert await _count(db) == 0


async def _a_member_sees_their_tenants_rows(db: Any, world: World) -> None:
    await _context(db, world.a, world.sessions[FOCAL])
    assert await _count(db, "tenant_id = $1", world.a) > 0


async def _a_member_sees_no_other_tenants_row(db: Any, world: World) -> None:
    await _context(db, world.a, world.sessions[FOCAL])
    assert await _count(db, "tenant_id <> $1", world.a) == 0


async def _a_member_asking_for_another_tenant_sees_nothing(db: Any, world: World) -> None:
    await _context(db, world.b, world.sessions[FOCAL])
    assert await _count(db) == 0


async def _the_tenant_without_a_session_sees_nothing(db: Any, world: World) -> None:
    await _context(db, world.a, "")
    assert await _count(db) == 0


async def _a_revoked_session_sees_nothing(db: Any, world: World) -> None:
    token = world.sessions[FOCAL]
    await db.execute("UPDATE user_sessions SET revoked_at = now() WHERE token_hash = $1", _hash(token))
    await _context(db, world.a, token)
    assert await _count(db) == 0


async def _an_expired_session_sees_nothing(db: Any, world: World) -> None:
    token = world.sessions[FOCAL]
    await db.execute(
        "UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", _hash(token)
    )
    await _context(db, world.a, token)
    assert await _count(db) == 0


async def _an_inactive_persons_session_sees_nothing(db: Any, world: World) -> None:
    await db.execute("UPDATE users SET is_active = false WHERE id = $1", world.focal)
    await _context(db, world.a, world.sessions[FOCAL])
    assert await _count(db) == 0


async def _a_member_whose_membership_ended_sees_nothing(db: Any, world: World) -> None:
    # another member of the tenant ends it, as an admin would (nobody may end their own: the statement's home
    # counter, written after it, would no longer find the writer a member)
    await _context(db, world.a, world.sessions[LEADER])
    ended = await db.execute(
        "UPDATE memberships SET is_active = false WHERE user_id = $1 AND tenant_id = $2", world.focal, world.a
    )
    assert ended != "UPDATE 0"
    await _context(db, world.a, world.sessions[FOCAL])
    assert await _count(db) == 0


async def _a_member_of_a_closed_tenant_sees_nothing(db: Any, world: World) -> None:
    await db.execute("UPDATE tenants SET is_active = false WHERE id = $1", world.a)
    await _context(db, world.a, world.sessions[FOCAL])
    assert await _count(db) == 0


async def _no_row_is_written_into_another_tenant(db: Any, world: World) -> None:
    await _context(db, world.a, world.sessions[FOCAL])
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await db.execute(
            f"INSERT INTO {TABLE} (id, tenant_id, code, name, position, is_done, needs_confirmation)"
            " VALUES ($1, $2, 'lot-vao', 'Lọt vào', 99, false, false)",
            uuid.uuid4(),
            world.b,
        )


_SESSION_HOME = (
    "SELECT * FROM session_home(session_token => $1, province_code => 'ha-tinh', tenant_code => 'so-ngoai-vu')"
)


async def _session_home_reads_a_members_revision(db: Any, world: World) -> None:
    await _context(db, world.a, world.sessions[FOCAL])
    revision = await db.fetchval("SELECT revision FROM home_revisions WHERE tenant_id = $1", world.a)
    await _context(db, None, "")
    home = await db.fetchrow(_SESSION_HOME, world.sessions[FOCAL])
    assert revision is not None
    assert (home["home_tenant"], home["home_readable"], home["home_revision"]) == (world.a, True, revision)


async def _session_home_tells_another_tenants_person_no(db: Any, world: World) -> None:
    home = await db.fetchrow(_SESSION_HOME, world.sessions[OTHER])
    assert (home["home_tenant"], home["home_readable"], home["home_revision"]) == (world.a, False, None)


async def _a_write_bumps_its_tenants_counters_at_commit(db: Any, world: World) -> None:
    """What the commit's deferred trigger writes (`apply_revision_bumps`, fired here by SET CONSTRAINTS): the
    home's counter becomes the writing transaction's id, the board's one more."""
    await _context(db, world.a, world.sessions[FOCAL])
    board = await db.fetchval("SELECT revision FROM board_revisions")
    assert (
        await db.execute("UPDATE units SET name = name WHERE id = (SELECT id FROM units ORDER BY id LIMIT 1)")
        == "UPDATE 1"
    )
    await db.execute("SET CONSTRAINTS ALL IMMEDIATE")
    try:
        assert await db.fetchval("SELECT revision FROM home_revisions") == await db.fetchval(
            "SELECT pg_current_xact_id()::text::bigint"
        )
        assert await db.fetchval("SELECT revision FROM board_revisions") == (board or 0) + 1
    finally:
        await db.execute("SET CONSTRAINTS ALL DEFERRED")


async def _move(db: Any, world: World, email: str, expected: int, column: int) -> tuple[str, int | None]:
    await _context(db, world.a, world.sessions[email])
    row = await db.fetchrow(
        """
        SELECT outcome, placed FROM board_move_as(
          session_token => $1, tenant => $2, person => $3, board_year => $4, lock_key => $5, moving => $6,
          expected => $7, to_column => $8, to_area => $9, place => 'end', anchor => NULL, edits_any => true,
          edits_units => '{}', confirms => true, actor => $10
        )
        """,
        world.sessions[email], world.a, world.focal, YEAR, f"board:{world.a}", world.task, expected,
        world.columns[column], AREA, f"user:{world.focal}",
    )  # fmt: skip
    return row["outcome"], row["placed"]


async def _a_move_from_the_cards_version_applies(db: Any, world: World) -> None:
    assert await _move(db, world, FOCAL, world.version, 1) == ("moved", 0)
    moved = await db.fetchrow("SELECT version, column_id FROM tasks WHERE id = $1", world.task)
    assert (moved["version"], moved["column_id"]) == (world.version + 1, world.columns[1])


async def _a_second_move_from_the_same_version_is_refused(db: Any, world: World) -> None:
    assert await _move(db, world, FOCAL, world.version, 1) == ("moved", 0)
    assert await _move(db, world, FOCAL, world.version, 0) == ("changed", None)
    moved = await db.fetchrow("SELECT version, column_id FROM tasks WHERE id = $1", world.task)
    assert (moved["version"], moved["column_id"]) == (world.version + 1, world.columns[1])


async def _a_move_from_a_version_not_reached_yet_is_refused(db: Any, world: World) -> None:
    assert await _move(db, world, FOCAL, world.version + 1, 1) == ("changed", None)


async def _another_members_session_cannot_move_as_this_one(db: Any, world: World) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no live session of this person"):
        await _move(db, world, LEADER, world.version, 1)


async def _a_strangers_session_cannot_move_as_this_one(db: Any, world: World) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="no live session of this person"):
        await _move(db, world, OTHER, world.version, 1)


CHECKS: dict[str, Check] = {
    check.__name__.strip("_"): check
    for check in (
        _no_context_sees_no_row,
        _a_member_sees_their_tenants_rows,
        _a_member_sees_no_other_tenants_row,
        _a_member_asking_for_another_tenant_sees_nothing,
        _the_tenant_without_a_session_sees_nothing,
        _a_revoked_session_sees_nothing,
        _an_expired_session_sees_nothing,
        _an_inactive_persons_session_sees_nothing,
        _a_member_whose_membership_ended_sees_nothing,
        _a_member_of_a_closed_tenant_sees_nothing,
        _no_row_is_written_into_another_tenant,
        _session_home_reads_a_members_revision,
        _session_home_tells_another_tenants_person_no,
        _a_move_from_the_cards_version_applies,
        _a_second_move_from_the_same_version_is_refused,
        _a_move_from_a_version_not_reached_yet_is_refused,
        _another_members_session_cannot_move_as_this_one,
        _a_strangers_session_cannot_move_as_this_one,
        _a_write_bumps_its_tenants_counters_at_commit,
    )
}


@dataclass(frozen=True)
class Mutant:
    name: str
    target: str  # a function's name; POLICY: the USING of TABLE's tenant policy; WITH_CHECK: its WITH CHECK
    before: str  # found exactly once in the target's text and replaced by `after` (POLICY: "" appends `after`)
    after: str
    caught_by: str  # the check that must fail (others may fail too)


POLICY = "policy"
WITH_CHECK = "policy-with-check"
MUTANTS = [
    Mutant("policy: OR true", POLICY, "", " OR true", "no_context_sees_no_row"),
    Mutant("policy: = becomes <>", POLICY, "tenant_id = ", "tenant_id <> ", "a_member_sees_their_tenants_rows"),
    Mutant(
        "policy: open when no tenant is checked",
        POLICY,
        "",
        " OR (SELECT app_tenant()) IS NULL",
        "no_context_sees_no_row",
    ),
    Mutant(
        "policy: the setting alone, unchecked",
        POLICY,
        "SELECT app_tenant() AS app_tenant",
        "SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid",
        "the_tenant_without_a_session_sees_nothing",
    ),
    Mutant("policy: WITH CHECK (true)", WITH_CHECK, "", "true", "no_row_is_written_into_another_tenant"),
    Mutant(
        "app_tenant: fails open",
        "app_tenant",
        "RETURN NULL;\nEND",
        "RETURN requested;\nEND",
        "the_tenant_without_a_session_sees_nothing",
    ),
    Mutant(
        "app_tenant: the session's check inverted",
        "app_tenant",
        "IS NOT NULL THEN",
        "IS NULL THEN",
        "a_member_sees_their_tenants_rows",
    ),
    Mutant(
        "app_tenant: every role trusted with the setting alone",
        "app_tenant",
        "IF current_user IN (",
        "IF current_user = current_user OR current_user IN (",
        "the_tenant_without_a_session_sees_nothing",
    ),
    Mutant(
        "app_tenant: asks again while the session is checked",
        "app_tenant",
        " OR current_setting('app.checking_session', true) = 'on'",
        "",
        "a_member_sees_their_tenants_rows",
    ),
    Mutant(
        "live_session: a revoked session lives",
        "live_session",
        "s.revoked_at IS NULL AND ",
        "",
        "a_revoked_session_sees_nothing",
    ),
    Mutant(
        "live_session: an expired session lives",
        "live_session",
        "s.expires_at > now() AND ",
        "",
        "an_expired_session_sees_nothing",
    ),
    Mutant(
        "live_session: an inactive person's session lives",
        "live_session",
        "s.expires_at > now() AND u.is_active",
        "s.expires_at > now()",
        "an_inactive_persons_session_sees_nothing",
    ),
    Mutant(
        "session_person: a membership anywhere will do",
        "session_person",
        "m.tenant_id = tenant",
        "m.tenant_id = m.tenant_id",
        "a_member_asking_for_another_tenant_sees_nothing",
    ),
    Mutant(
        "live_memberships: an ended membership counts",
        "live_memberships",
        "m.is_active AND ",
        "",
        "a_member_whose_membership_ended_sees_nothing",
    ),
    Mutant(
        "live_memberships: a closed tenant's membership counts",
        "live_memberships",
        "t.is_active AND ",
        "",
        "a_member_of_a_closed_tenant_sees_nothing",
    ),
    Mutant(
        "live_memberships: every role holds a province right",
        "live_memberships",
        "m.role = 'province_reviewer' OR (",
        "true OR (",
        "a_member_asking_for_another_tenant_sees_nothing",
    ),
    Mutant(
        "session_home: readable whatever the policy says",
        "session_home",
        "readable := FOUND OR app_tenant() IS NOT NULL;",
        "readable := true;",
        "session_home_tells_another_tenants_person_no",
    ),
    Mutant(
        "session_home: the revision read without the session",
        "session_home",
        "set_config('app.session', session_token, true)",
        "set_config('app.session', '', true)",
        "session_home_reads_a_members_revision",
    ),
    Mutant(
        "board_move_as: <> becomes =",
        "board_move_as",
        "card.version <> expected",
        "card.version = expected",
        "a_move_from_the_cards_version_applies",
    ),
    Mutant(
        "board_move_as: the version check dropped",
        "board_move_as",
        "card.version <> expected",
        "false",
        "a_second_move_from_the_same_version_is_refused",
    ),
    Mutant(
        "board_move_as: <> becomes <",
        "board_move_as",
        "card.version <> expected",
        "card.version < expected",
        "a_second_move_from_the_same_version_is_refused",
    ),
    Mutant(
        "board_move_as: <> becomes >",
        "board_move_as",
        "card.version <> expected",
        "card.version > expected",
        "a_move_from_a_version_not_reached_yet_is_refused",
    ),
    Mutant(
        "board_move_as: the version does not grow",
        "board_move_as",
        "tasks.version + CASE WHEN shuffled.moved THEN 1 ELSE 0 END",
        "tasks.version",
        "a_second_move_from_the_same_version_is_refused",
    ),
    Mutant(
        "board_move_as: any live member may act as anyone",
        "board_move_as",
        "IS DISTINCT FROM person THEN",
        "IS NULL THEN",
        "another_members_session_cannot_move_as_this_one",
    ),
    Mutant(
        "board_move_as: the session's check dropped",
        "board_move_as",
        "IF session_person(session_token, tenant) IS DISTINCT FROM person THEN",
        "IF false THEN",
        "a_strangers_session_cannot_move_as_this_one",
    ),
    Mutant(
        "note_revision_bump: the commit's bumps never queued",
        "note_revision_bump",
        "IF coalesce(current_setting('parboard.bumps_queued', true), '') <> 'on' THEN",
        "IF false THEN",
        "a_write_bumps_its_tenants_counters_at_commit",
    ),
    Mutant(
        "bump_home_revision: the tenant noted for its board",
        "bump_home_revision",
        "'parboard.home_bumps'",
        "'parboard.board_bumps'",
        "a_write_bumps_its_tenants_counters_at_commit",
    ),
    Mutant(
        "apply_revision_bumps: the home's counter left as it was",
        "apply_revision_bumps",
        "ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision;",
        "ON CONFLICT (tenant_id) DO NOTHING;",
        "a_write_bumps_its_tenants_counters_at_commit",
    ),
    Mutant(
        "apply_revision_bumps: the board's counter does not grow",
        "apply_revision_bumps",
        "revision = r.revision + 1",
        "revision = r.revision",
        "a_write_bumps_its_tenants_counters_at_commit",
    ),
]


async def _function(db: Any, name: str) -> str:
    """The function's CREATE OR REPLACE statement as the database holds it (`name` must be unambiguous)."""
    return str(await db.fetchval("SELECT pg_get_functiondef($1::regproc)", name))


def _replace_once(source: str, before: str, after: str, what: str) -> str:
    assert source.count(before) == 1, f"{what}: {before!r} is not found exactly once; the mutant no longer applies"
    return source.replace(before, after)


async def _as_the_app(db: Any) -> None:
    """`app_tenant()` without the owner among the roles it trusts with the tenant setting alone."""
    owner = await db.fetchval("SELECT current_user")
    await db.execute(_replace_once(await _function(db, "app_tenant"), f"'{owner}'", "''", "the owner's trust"))


async def _apply(db: Any, mutant: Mutant) -> None:
    if mutant.target in (POLICY, WITH_CHECK):
        using, with_check = await db.fetchrow(
            "SELECT qual, with_check FROM pg_policies WHERE schemaname = 'public' AND tablename = $1"
            " AND policyname = 'tenant_isolation'",
            TABLE,
        )
        if mutant.target == WITH_CHECK:
            with_check = mutant.after
        elif mutant.before:
            using = _replace_once(using, mutant.before, mutant.after, mutant.name)
        else:
            using = f"{using}{mutant.after}"
        await db.execute(f"ALTER POLICY tenant_isolation ON {TABLE} USING ({using}) WITH CHECK ({with_check})")
        return
    source = await _function(db, mutant.target)
    await db.execute(_replace_once(source, mutant.before, mutant.after, mutant.name))


async def _failing(db: Any, world: World, mutant: Mutant | None) -> dict[str, str]:
    """The checks that fail, each in a savepoint of one transaction that is rolled back: with `mutant` applied."""
    failed: dict[str, str] = {}
    transaction = db.transaction()
    await transaction.start()
    try:
        await _as_the_app(db)
        if mutant is not None:
            await _apply(db, mutant)
        for name, check in CHECKS.items():
            savepoint = db.transaction()
            await savepoint.start()
            try:
                await check(db, world)
            except (AssertionError, asyncpg.PostgresError, pytest.fail.Exception) as exc:
                failed[name] = f"{type(exc).__name__}: {exc}"[:200]
            finally:
                await savepoint.rollback()
    finally:
        await transaction.rollback()
    return failed


async def _world(db: Any, app: Litestar) -> World:
    tenants = {
        code: tenant_id
        for code, tenant_id in await db.fetch(
            "SELECT t.code, t.id FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = 'ha-tinh'"
        )
    }
    a, b = tenants["so-ngoai-vu"], tenants["so-tai-nguyen-moi-truong"]
    focal = await db.fetchval("SELECT id FROM users WHERE email = $1", FOCAL)
    sessions = {email: await session_cookie_for(app, email) for email in (FOCAL, LEADER, OTHER)}
    async with db.transaction():
        await db.execute("SELECT set_config('app.tenant_id', $1, true)", str(a))  # the owner: trusted with it
        columns = [row["id"] for row in await db.fetch("SELECT id FROM board_columns ORDER BY position LIMIT 2")]
        task = uuid.uuid4()
        await db.execute(
            "INSERT INTO tasks (id, tenant_id, number, year, kind, area_code, deficiency, title, deadline_text,"
            " due_series, expected_output, notes, labels, column_id, position, version, search_text)"
            " VALUES ($1, $2, 1, $3, 'fix', $4, '', 'Ban hành kế hoạch', '', '{}', '', '', '{}', $5, 0, 3, '')",
            task,
            a,
            YEAR,
            AREA,
            columns[0],
        )
    return World(a=a, b=b, focal=focal, sessions=sessions, task=task, version=3, columns=columns)


async def test_each_hand_made_mutant_of_the_sql_checks_is_caught(owner_engine: AsyncEngine, app: Litestar) -> None:
    async with driver_connection(owner_engine) as db:
        world = await _world(db, app)
        assert await _failing(db, world, None) == {}, "a check fails with no mutant"
        survivors = {}
        for mutant in MUTANTS:
            failed = await _failing(db, world, mutant)
            if mutant.caught_by not in failed:
                survivors[mutant.name] = f"{mutant.caught_by} held; failed: {sorted(failed)}"
        # nothing a mutant did outlives its transaction: the baseline still holds
        assert await _failing(db, world, None) == {}
    assert survivors == {}
