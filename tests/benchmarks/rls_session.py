"""Benchmark: what the checked tenant context (migration 0020) costs per statement, against the plain setting.

Run with `make bench-rls` (`.venv/bin/python -m tests.benchmarks.rls_session --help` for the knobs).

Method
------
A fresh database in the benchmarks' embedded PostgreSQL (`var/bench/pg`), migrated by Alembic, then seeded as
the superuser: `--tenants` tenants of one province with `--units` units each (the 600-row count reads one
tenant's units), a person with a membership in the first tenant and a live session of theirs (only the token's
SHA-256 stored, as the sign-in callback stores it). Then VACUUM ANALYZE.

Two ways, on one connection of the application's role, in the same run:
  checked   the policies as migration 0020 writes them, `tenant_id = (SELECT app_tenant())`; the transaction
            carries `app.tenant_id` and `app.session` (the member's raw cookie): `app_tenant()` hashes the
            token, finds the live session and the membership, once per statement (an InitPlan)
  plain     the policy of `units` set back, for the duration of the block, to what migrations 0011-0019 wrote,
            `tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)`; the transaction
            carries `app.tenant_id` only
Blocks of `--block` statements alternate (checked, plain, checked, ...) so that a change of the machine's load
hits both; each statement is timed by the client (one round trip over the Unix socket, prepared statement).
Statements: `SELECT count(*) FROM units` (600 rows of the tenant, among all tenants' rows) and
`SELECT * FROM units WHERE id = $1` (one row by primary key). p50 and p95 in ms, and the difference of the
medians: the cost of the check per statement.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
import uuid
from hashlib import sha256

import asyncpg

from backend.db import embedded, migrate
from backend.db.runtime import DatabaseUrls
from tests.benchmarks.tenant_home import BENCH_VAR

DATABASE = "parboard_bench_rls"
PLAIN = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
CHECKED = "(SELECT app_tenant())"
COUNT = "SELECT count(*) FROM units"
ONE = "SELECT * FROM units WHERE id = $1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--units", type=int, default=600, help="units per tenant (the count reads one tenant's)")
    parser.add_argument("--statements", type=int, default=3000, help="per statement and way")
    parser.add_argument("--block", type=int, default=250, help="statements per alternating block")
    return parser.parse_args(argv)


async def seed(superuser: asyncpg.Connection, tenants: int, units: int) -> tuple[uuid.UUID, uuid.UUID, str]:
    """The tenants and their units, a member of the first tenant and a live session of theirs."""
    province = uuid.uuid4()
    await superuser.execute(
        "INSERT INTO provinces (id, code, name, settings) VALUES ($1, 'bench', 'Bench', '{}')", province
    )
    ids = [uuid.uuid4() for _ in range(tenants)]
    await superuser.executemany(
        "INSERT INTO tenants (id, province_id, code, name, short_name, kind) VALUES ($1, $2, $3, $3, $3, 'department')",
        [(t, province, f"t{i}") for i, t in enumerate(ids)],
    )
    await superuser.execute(
        "INSERT INTO units (id, tenant_id, code, name, kind, position) "
        "SELECT gen_random_uuid(), t.id, 'u' || n, 'Đơn vị ' || n, 'phong', n "
        "FROM tenants t CROSS JOIN generate_series(1, $1) AS n",
        units,
    )
    person = uuid.uuid4()
    await superuser.execute(
        "INSERT INTO users (id, issuer, subject, email, full_name) VALUES ($1, 'https://idp', 'p', 'p@x.vn', 'P')",
        person,
    )
    await superuser.execute(
        "INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (gen_random_uuid(), $1, $2, 'viewer')",
        ids[0],
        person,
    )
    token = secrets.token_urlsafe(32)
    await superuser.execute(
        "INSERT INTO user_sessions (id, token_hash, user_id, province_id, expires_at, user_agent, ip_address) "
        "VALUES (gen_random_uuid(), $1, $2, $3, now() + interval '1 day', 'bench', '127.0.0.1')",
        sha256(token.encode()).hexdigest(),
        person,
        province,
    )
    await superuser.execute("VACUUM ANALYZE")
    return ids[0], person, token


async def block(app: asyncpg.Connection, tenant: uuid.UUID, token: str, unit: uuid.UUID, n: int) -> dict[str, list]:
    """`n` of each statement in one transaction bound to the tenant (with the session when `token`)."""
    times: dict[str, list[float]] = {"count": [], "one": []}
    async with app.transaction():
        await app.execute(
            "SELECT set_config('app.tenant_id', $1, true), set_config('app.session', $2, true)", str(tenant), token
        )
        count, one = await app.prepare(COUNT), await app.prepare(ONE)
        for _ in range(n):
            started = time.perf_counter()
            rows = await count.fetchval()
            times["count"].append(time.perf_counter() - started)
            started = time.perf_counter()
            row = await one.fetchrow(unit)
            times["one"].append(time.perf_counter() - started)
            if row is None or not rows:
                raise RuntimeError("the tenant's rows are not visible: the context is not what it should be")
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def run(args: argparse.Namespace, db: embedded.EmbeddedDatabase) -> None:
    superuser = await asyncpg.connect(host=db.socket_dir, user="postgres", database=db.database)
    owner = await asyncpg.connect(host=db.socket_dir, user=embedded.OWNER_ROLE, database=db.database)
    app = await asyncpg.connect(host=db.socket_dir, user=embedded.APP_ROLE, database=db.database)
    try:
        tenant, _, token = await seed(superuser, args.tenants, args.units)
        unit = await superuser.fetchval("SELECT id FROM units WHERE tenant_id = $1 ORDER BY code LIMIT 1", tenant)
        results: dict[str, dict[str, list[float]]] = {
            "checked": {"count": [], "one": []},
            "plain": {"count": [], "one": []},
        }
        await block(app, tenant, token, unit, 50)  # warm: plans, the function's cache
        for _ in range(max(1, args.statements // args.block)):
            for way in ("checked", "plain"):
                expression = CHECKED if way == "checked" else PLAIN
                await owner.execute(
                    f"ALTER POLICY tenant_isolation ON units USING (tenant_id = {expression}) "
                    f"WITH CHECK (tenant_id = {expression})"
                )
                times = await block(app, tenant, token if way == "checked" else "", unit, args.block)
                for statement, values in times.items():
                    results[way][statement].extend(values)
        await owner.execute(
            f"ALTER POLICY tenant_isolation ON units USING (tenant_id = {CHECKED}) WITH CHECK (tenant_id = {CHECKED})"
        )
        version = await superuser.fetchval("SHOW server_version")
    finally:
        for connection in (app, owner, superuser):
            await connection.close()
    load = os.getloadavg()
    print(f"PostgreSQL {version}, {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{args.tenants} tenants × {args.units} units; {len(results['checked']['count'])} statements per way\n")
    print("| statement | way | p50 ms | p95 ms |")
    print("|---|---|---:|---:|")
    labels = {"count": f"`count(*)` of the tenant's {args.units} units", "one": "one unit by primary key"}
    for statement in ("count", "one"):
        for way in ("plain", "checked"):
            values = results[way][statement]
            print(f"| {labels[statement]} | {way} | {_n(percentile(values, 0.5))} | {_n(percentile(values, 0.95))} |")
    for statement in ("count", "one"):
        extra = statistics.median(results["checked"][statement]) - statistics.median(results["plain"][statement])
        print(f"\nchecked − plain, {labels[statement]}: {_n(extra * 1000)} ms per statement (medians)")


def _n(value: float) -> str:
    return f"{value:.3f}".replace(".", ",")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    pg = embedded.start(BENCH_VAR / "pg")
    db = embedded.ensure_database(pg, DATABASE, fresh=True)
    try:
        migrate.upgrade(DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url, jobs_url=db.jobs_url))
        asyncio.run(run(args, db))
    finally:
        embedded.drop_database(pg, DATABASE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
