"""Set-based seeding of a large, realistic-shaped dataset for the benchmarks.

Every row is produced by `INSERT ... SELECT ... FROM generate_series(...)` on the superuser's
connections (which bypass row-level security: acceptable for seeding, never for the app). Identifiers
are derived from row numbers (`md5('tenant-42')::uuid`), so related rows are generated without joins
and a rerun produces the same ids, spread over the key space like uuid4. Users and memberships are
inserted in the order of their primary key, so each tenant's memberships end up scattered over the
table, as they would after years of use, rather than packed together as a bulk load would leave them.

Sessions: one signed-in member per tenant (the head of its first unit), each with a live server-side
session of their province, as the sign-in callback creates it: a random token (kept here, for the load
client's cookie) and only its SHA-256 in `user_sessions`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass

import asyncpg

from backend.auth.sessions import COOKIE, hash_token
from backend.db.embedded import EmbeddedDatabase

ISSUER = "https://sso.bench.example.gov.vn/realms/parboard"
PROVINCE_SETTINGS = {
    "identity_provider": {"issuer": ISSUER, "client_id": "parboard", "agency_claim": "agency"},
    "report_deadlines": [
        {"period": "quy-1", "due": "10/03"},
        {"period": "6-thang", "due": "10/06"},
        {"period": "quy-3", "due": "10/09"},
        {"period": "nam", "due": "10/12"},
    ],
}


@dataclass(frozen=True)
class Shape:
    """How much data: `provinces × tenants_per_province` tenants, each with `units` × `users_per_unit` people."""

    provinces: int = 20
    tenants_per_province: int = 100
    units: int = 20
    users_per_unit: int = 10

    @property
    def tenants(self) -> int:
        return self.provinces * self.tenants_per_province

    @property
    def users(self) -> int:
        return self.tenants * self.units * self.users_per_unit


def province_code(p: int) -> str:
    return f"bench-p{p:02d}"


def tenant_code(t: int) -> str:
    return f"so-{t:04d}"


def session_member(t: int, shape: Shape) -> int:
    """The number of tenant t's member who holds its seeded session: the head of its first unit."""
    return (t - 1) * shape.units * shape.users_per_unit


def tenant_paths(shape: Shape) -> list[str]:
    """The URL of every tenant's home page, tenants numbered 1..N and spread over the provinces in blocks."""
    return [
        f"/t/{province_code((t - 1) // shape.tenants_per_province + 1)}/{tenant_code(t)}/"
        for t in range(1, shape.tenants + 1)
    ]


def seed_statements(shape: Shape) -> list[str]:
    """The SQL that fills an empty, migrated database (no bind parameters: only our constants and ints)."""
    per_province, units, per_unit = shape.tenants_per_province, shape.units, shape.users_per_unit
    per_tenant = units * per_unit
    settings = json.dumps(PROVINCE_SETTINGS).replace("'", "''")
    return [
        f"""
        INSERT INTO provinces (id, code, name, settings)
        SELECT md5('province-' || p)::uuid, 'bench-p' || lpad(p::text, 2, '0'), 'Tỉnh Thử nghiệm ' || p,
               '{settings}'::jsonb
        FROM generate_series(1, {shape.provinces}) AS p
        """,
        f"""
        INSERT INTO ranking_groups (id, province_id, code, name)
        SELECT md5('ranking-group-' || p)::uuid, md5('province-' || p)::uuid, 'so-ban-nganh', 'Sở, ban, ngành'
        FROM generate_series(1, {shape.provinces}) AS p
        """,
        f"""
        INSERT INTO tenants (id, province_id, code, name, short_name, kind, ranking_group_id)
        SELECT md5('tenant-' || t)::uuid, md5('province-' || p)::uuid, 'so-' || lpad(t::text, 4, '0'),
               'Sở Thử nghiệm số ' || t, 'STN' || t,
               CASE WHEN (t - 1) % {per_province} = 0 THEN 'home_affairs' ELSE 'department' END,
               md5('ranking-group-' || p)::uuid
        FROM generate_series(1, {shape.tenants}) AS t, LATERAL (SELECT (t - 1) / {per_province} + 1 AS p) AS x
        """,
        f"""
        INSERT INTO units (id, tenant_id, code, name, kind, position)
        SELECT md5('unit-' || t || '-' || u)::uuid, md5('tenant-' || t)::uuid, 'phong-' || lpad(u::text, 2, '0'),
               CASE u WHEN 1 THEN 'Văn phòng Sở' WHEN 2 THEN 'Thanh tra Sở' ELSE 'Phòng Chuyên môn số ' || u END,
               CASE u WHEN 1 THEN 'office' WHEN 2 THEN 'inspectorate'
                      ELSE CASE WHEN u > {units} - 3 THEN 'public_service' ELSE 'phong' END END,
               u
        FROM generate_series(1, {shape.tenants}) AS t, generate_series(1, {units}) AS u
        """,
        # 2 unit groups in odd tenants, 3 in even ones: everyone; the first half; the second half.
        f"""
        INSERT INTO unit_groups (id, tenant_id, code, name)
        SELECT md5('unit-group-' || t || '-' || g)::uuid, md5('tenant-' || t)::uuid, 'nhom-' || g,
               CASE g WHEN 1 THEN 'Các phòng, đơn vị thuộc Sở' WHEN 2 THEN 'Phòng tham mưu'
                      ELSE 'Đơn vị sự nghiệp và chi cục' END
        FROM generate_series(1, {shape.tenants}) AS t, generate_series(1, 2 + t % 2) AS g
        """,
        f"""
        INSERT INTO unit_group_members (tenant_id, unit_group_id, unit_id)
        SELECT md5('tenant-' || t)::uuid, md5('unit-group-' || t || '-' || g)::uuid, md5('unit-' || t || '-' || u)::uuid
        FROM generate_series(1, {shape.tenants}) AS t, generate_series(1, 2 + t % 2) AS g,
             generate_series(1, {units}) AS u
        WHERE g = 1 OR (g = 2 AND u <= {units} / 2) OR (g = 3 AND u > {units} / 2)
        """,
        # person n belongs to tenant n / per_tenant + 1, unit (n / per_unit) % units + 1; the first of each
        # unit heads it, the rest are staff.
        f"""
        INSERT INTO users (id, issuer, subject, email, full_name)
        SELECT md5('user-' || n)::uuid, '{ISSUER}', 'user-' || n, 'user' || n || '@bench.example.gov.vn',
               'Nguyễn Văn Thử ' || n
        FROM generate_series(0, {shape.users - 1}) AS n
        ORDER BY 1
        """,
        f"""
        INSERT INTO memberships (id, tenant_id, user_id, role, unit_id)
        SELECT md5('membership-' || n)::uuid, md5('tenant-' || (n / {per_tenant} + 1))::uuid,
               md5('user-' || n)::uuid, CASE WHEN n % {per_unit} = 0 THEN 'unit_head' ELSE 'staff' END,
               md5('unit-' || (n / {per_tenant} + 1) || '-' || ((n / {per_unit}) % {units} + 1))::uuid
        FROM generate_series(0, {shape.users - 1}) AS n
        ORDER BY 1
        """,
    ]


COUNTED_TABLES = (
    "provinces",
    "tenants",
    "units",
    "unit_groups",
    "unit_group_members",
    "users",
    "memberships",
    "user_sessions",
)

# Every foreign key of the seeded tables, as (child, child columns, parent, parent columns).
FOREIGN_KEYS = (
    ("ranking_groups", "province_id", "provinces", "id"),
    ("tenants", "province_id", "provinces", "id"),
    ("tenants", "ranking_group_id", "ranking_groups", "id"),
    ("units", "tenant_id", "tenants", "id"),
    ("unit_groups", "tenant_id", "tenants", "id"),
    ("unit_group_members", "tenant_id", "tenants", "id"),
    ("unit_group_members", "tenant_id, unit_group_id", "unit_groups", "tenant_id, id"),
    ("unit_group_members", "tenant_id, unit_id", "units", "tenant_id, id"),
    ("memberships", "tenant_id", "tenants", "id"),
    ("memberships", "user_id", "users", "id"),
    ("memberships", "tenant_id, unit_id", "units", "tenant_id, id"),
    ("user_sessions", "user_id", "users", "id"),
    ("user_sessions", "province_id", "provinces", "id"),
)

SESSIONS_STATEMENT = """
    INSERT INTO user_sessions (id, token_hash, user_id, province_id, created_at, last_seen_at, expires_at,
                               user_agent, ip_address)
    SELECT md5('session-' || t)::uuid, token_hash, md5('user-' || member)::uuid,
           md5('province-' || ((t - 1) / $4 + 1))::uuid, now(), now(), now() + interval '12 hours',
           'parboard-bench', '127.0.0.1'
    FROM unnest($1::int[], $2::int[], $3::text[]) AS s(t, member, token_hash)
"""


def _connect_args(db: EmbeddedDatabase) -> dict[str, str]:
    return {"host": db.socket_dir, "user": "postgres", "database": db.database}


async def _run(db: EmbeddedDatabase, statements: list[str]) -> None:
    """Run `statements` in one transaction, with foreign-key triggers off (checked once at the end)."""
    connection = await asyncpg.connect(**_connect_args(db))
    try:
        # Row-by-row foreign-key checks would triple the load time; `check_integrity` proves the same
        # thing with one anti-join per key afterwards.
        await connection.execute("SET session_replication_role = replica; SET work_mem = '256MB'")
        async with connection.transaction():
            for statement in statements:
                await connection.execute(statement)
    finally:
        await connection.close()


@dataclass(frozen=True)
class Seeded:
    timings: dict[str, float]  # seconds per phase
    cookies: list[str]  # cookies[t - 1]: the Cookie header of tenant t's signed-in member


async def seed(db: EmbeddedDatabase, shape: Shape) -> Seeded:
    """Fill an empty, migrated database; the seconds spent per phase, and the sessions' cookies.

    The small tables go first in one transaction; users and memberships (which dominate) then load
    concurrently on two connections, so both cores work. Then the sessions, then every foreign key is
    verified and the database is VACUUM ANALYZEd: fresh statistics, and no autovacuum waking up during
    the measurement.
    """
    timings: dict[str, float] = {}
    statements = seed_statements(shape)
    started = time.perf_counter()
    await _run(db, statements[:-2])
    timings["structure"] = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(_run(db, [statements[-2]]), _run(db, [statements[-1]]))
    timings["users_and_memberships"] = time.perf_counter() - started
    connection = await asyncpg.connect(**_connect_args(db))
    try:
        started = time.perf_counter()
        tokens = await seed_sessions(connection, shape)
        timings["sessions"] = time.perf_counter() - started
        started = time.perf_counter()
        await check_integrity(connection)
        timings["integrity_check"] = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE)")
        timings["vacuum_analyze"] = time.perf_counter() - started
    finally:
        await connection.close()
    return Seeded(timings=timings, cookies=[f"{COOKIE}={token}" for token in tokens])


async def seed_sessions(connection: asyncpg.Connection, shape: Shape) -> list[str]:
    """One live session per tenant, for a member of it; the tokens, in tenant order.

    Fails unless each session's person is an active member of a tenant of the session's province (so
    the app will find their roles), and of exactly the tenant whose cookie it is meant to be."""
    tenants = list(range(1, shape.tenants + 1))
    tokens = [secrets.token_urlsafe(32) for _ in tenants]
    members = [session_member(t, shape) for t in tenants]
    await connection.execute(
        SESSIONS_STATEMENT, tenants, members, [hash_token(token) for token in tokens], shape.tenants_per_province
    )
    matching = await connection.fetchval(
        f"""
        SELECT count(*) FROM generate_series(1, {shape.tenants}) AS g(n)
        JOIN user_sessions s ON s.id = md5('session-' || g.n)::uuid
        JOIN memberships m ON m.user_id = s.user_id AND m.is_active AND m.tenant_id = md5('tenant-' || g.n)::uuid
        JOIN tenants t ON t.id = m.tenant_id AND t.is_active AND t.province_id = s.province_id
        """
    )
    if matching != shape.tenants:
        raise RuntimeError(f"seeded sessions: {matching} of {shape.tenants} belong to a member of their tenant")
    return tokens


async def check_integrity(connection: asyncpg.Connection) -> None:
    """Fail unless every foreign key holds: what the disabled triggers would have checked row by row."""
    for child, columns, parent, keys in FOREIGN_KEYS:
        on = " AND ".join(
            f"p.{key} = c.{column}" for column, key in zip(columns.split(", "), keys.split(", "), strict=True)
        )
        nulls = " OR ".join(f"c.{column} IS NULL" for column in columns.split(", "))
        orphans = await connection.fetchval(
            f"SELECT count(*) FROM {child} AS c "
            f"WHERE NOT ({nulls}) AND NOT EXISTS (SELECT FROM {parent} AS p WHERE {on})"
        )
        if orphans:
            raise RuntimeError(f"seeding broke {child}({columns}) -> {parent}: {orphans} orphan rows")


async def describe(db: EmbeddedDatabase) -> tuple[dict[str, int], str, int]:
    """Row counts per table, the server's version and the database's size in bytes."""
    connection = await asyncpg.connect(**_connect_args(db))
    try:
        counts = {table: int(await connection.fetchval(f"SELECT count(*) FROM {table}")) for table in COUNTED_TABLES}
        version = str(await connection.fetchval("SHOW server_version"))
        size = int(await connection.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await connection.close()
    return counts, version, size


async def reset_session_clocks(db: EmbeddedDatabase) -> None:
    """Every seeded session seen just now: the app will not write last_seen_at for the next minute."""
    connection = await asyncpg.connect(**_connect_args(db))
    try:
        await connection.execute("UPDATE user_sessions SET last_seen_at = now()")
    finally:
        await connection.close()
