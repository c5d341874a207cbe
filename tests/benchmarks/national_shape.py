"""Benchmark: the national shape at scale (issue 20, item 5): sync, then pages, against a static floor.

Run with `make bench-national-shape` (`.venv/bin/python -m tests.benchmarks.national_shape --provinces 3
--people-per-tenant 5 --requests 200` for a quick try).

Method
------
1. Files: the national configuration of `tests.benchmarks.lineage_sync` (`--provinces` (34) × (1 Sở Nội vụ +
   `--departments` (20) + `--communes` (98)), two departments merged into a third in every province), with the
   first province ("the large one") given `--large-extra` (10) more departments, so it has ~130 tenants; and
   Hà Tĩnh's 2020 criteria sets (departments, communes) copied to that province, so its results page has a year
   to show (no scores: the page lists its tenants without results).
2. A fresh database in `var/bench/pg`, migrated; timed: the first `tenants sync` and a re-sync that changes
   nothing.
3. People, set-based SQL on the superuser's connection: `--people-per-tenant` (25: ≈ 100,000 at full size) users
   and memberships per live tenant, spread over its units; one person in the large province's Sở Nội vụ as
   province admin; a live session for the head of each department of the large province and for the admin.
   Then VACUUM ANALYZE.
4. The real app under uvicorn (one worker, `tenant_home.ServerProcess`), server and PostgreSQL pinned to one
   core and the client to the other, as `make bench`. Before timing, each page must answer 200 and name what
   it shows. Scenarios, `--concurrency` (32) clients in a closed loop, `--warmup` + `--requests` each:
     floor             GET /static/css/app.css
     tenant home       GET /t/tinh-01/so-NN/ for a live department of the large province drawn at random, with
                       its head's cookie (28 of its 30: the two merged departments are archives, whose home is
                       another page, built on every request and never kept)
     province results  GET /t/tinh-01/so-noi-vu/tinh/ket-qua/2020, as the province admin
     tenant list       GET /t/tinh-01/so-noi-vu/quan-tri/tinh/, as the province admin
   Target (printed, never asserted): tenant home p95 within 3× the floor's p95. The client keeps the cookies a
   browser keeps (`load.Browsers`: the `csrftoken` the server binds to each session), so answers set none again.
   Beside the latencies: the CPU a request cost the server and PostgreSQL (CPU time over requests), the steadier
   measure on a shared machine.

Other processes on the machine add noise; the load average is printed before and after. Results also go to
`var/bench/national_shape.json`.

Where the server's time goes: `--sample var/bench/home.txt --home-only --concurrency 1` runs the server under
pyinstrument (a sampling profiler, a development dependency) and writes its call tree there and its session beside
it (`home.pyisession`); `python -m tests.benchmarks.samples var/bench/home.pyisession <requests>` splits it per
request into running and waiting on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import yaml

from backend.auth.sessions import COOKIE, hash_token
from backend.db import embedded, migrate
from backend.db.embedded import EmbeddedDatabase
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT
from tests.benchmarks.lineage_sync import UNITS, write_config
from tests.benchmarks.load import CpuMeter, ScenarioResult, Target, measure
from tests.benchmarks.tenant_home import (
    FLOOR_PATH,
    TARGET_RATIO,
    ServerProcess,
    _loop_factory,
    machine_info,
    pin_processes,
    print_table,
)

BENCH_VAR = PROJECT_ROOT / "var" / "bench"
DATABASE = "parboard_bench_national_shape"
LARGE = "tinh-01"
CRITERIA_YEAR = 2020
CRITERIA_SOURCE = PROJECT_ROOT / "tenants" / "ha-tinh" / "criteria" / str(CRITERIA_YEAR)


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """The configuration's size, as `write_files` reads it."""
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--communes", type=int, default=98)
    parser.add_argument("--large-extra", type=int, default=10, help="more departments in the first province")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_shape_arguments(parser)
    parser.add_argument("--people-per-tenant", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--profile", type=Path, help="write the server's cProfile stats of the whole run here")
    parser.add_argument("--sample", type=Path, help="write the server's pyinstrument call tree of the run here")
    parser.add_argument("--home-only", action="store_true", help="time the floor and the tenant home only")
    return parser.parse_args(argv)


def write_files(root: Path, args: argparse.Namespace) -> int:
    """The configuration, the large province's extra departments and its criteria; the number of tenants."""
    tenants = write_config(root, args.provinces, args.departments, args.communes)
    path = root / LARGE / "province.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    first = args.departments + 1
    data["tenants"] += [
        {"code": f"so-{d:02d}", "name": f"Sở số {d}", "kind": "department", "ranking_group": "so-ban-nganh"}
        | {"units": UNITS}
        for d in range(first, first + args.large_extra)
    ]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    target = root / LARGE / "criteria" / str(CRITERIA_YEAR)
    target.mkdir(parents=True)
    for group in ("so-ban-nganh", "xa-phuong"):
        text = (CRITERIA_SOURCE / f"{group}.yaml").read_text(encoding="utf-8")
        (target / f"{group}.yaml").write_text(text.replace("province: ha-tinh", f"province: {LARGE}"), "utf-8")
    return tenants + int(args.large_extra)


PEOPLE_STATEMENTS = [
    # person n of each live tenant, in the tenant's unit n % 4 (by position); the first of each unit heads it
    """
    CREATE TEMP TABLE bench_people AS
    SELECT t.id AS tenant_id, t.code AS tenant_code, p.code AS province_code, n,
           md5('user-' || t.id || '-' || n)::uuid AS user_id,
           (SELECT u.id FROM units u WHERE u.tenant_id = t.id ORDER BY u.position, u.code
            OFFSET n % {units} LIMIT 1) AS unit_id
    FROM tenants t JOIN provinces p ON p.id = t.province_id, generate_series(0, {people} - 1) AS n
    WHERE t.is_active
    """,
    """
    INSERT INTO users (id, issuer, subject, email, full_name)
    SELECT user_id, 'https://sso.' || province_code || '.example.gov.vn/realms/parboard', 'user-' || user_id,
           'u' || n || '.' || tenant_code || '.' || province_code || '@bench.example.gov.vn', 'Nguyễn Văn Thử ' || n
    FROM bench_people ORDER BY 1
    """,
    """
    INSERT INTO memberships (id, tenant_id, user_id, role, unit_id)
    SELECT md5('membership-' || user_id)::uuid, tenant_id, user_id,
           CASE WHEN n < {units} THEN 'unit_head' ELSE 'staff' END, unit_id
    FROM bench_people ORDER BY 1
    """,
]

SESSION_STATEMENT = """
    INSERT INTO user_sessions (id, token_hash, user_id, province_id, created_at, last_seen_at, expires_at,
                               user_agent, ip_address)
    SELECT gen_random_uuid(), $1, $2, t.province_id, now(), now(), now() + interval '12 hours',
           'parboard-bench', '127.0.0.1'
    FROM tenants t WHERE t.id = $3
"""


def _connect_args(db: EmbeddedDatabase) -> dict[str, str]:
    return {"host": db.socket_dir, "user": "postgres", "database": db.database}


async def _session(connection: asyncpg.Connection, user_id: Any, tenant_id: Any) -> str:
    token = secrets.token_urlsafe(32)
    await connection.execute(SESSION_STATEMENT, hash_token(token), user_id, tenant_id)
    return f"{COOKIE}={token}"


async def seed_people(db: EmbeddedDatabase, people: int) -> tuple[dict[str, str], str, dict[str, int]]:
    """People and memberships; the cookie of each large-province department's head (by tenant code), the province
    admin's cookie, and row counts."""
    units = len(UNITS)
    connection = await asyncpg.connect(**_connect_args(db))
    try:
        async with connection.transaction():
            for statement in PEOPLE_STATEMENTS:
                await connection.execute(statement.format(units=units, people=people))
            heads = await connection.fetch(
                "SELECT tenant_id, tenant_code, user_id FROM bench_people "
                "WHERE province_code = $1 AND n = 0 AND tenant_code LIKE 'so-%' AND tenant_code <> 'so-noi-vu' "
                "AND tenant_id IN (SELECT id FROM tenants WHERE kind = 'department' AND archived_on IS NULL)",
                LARGE,
            )
            cookies = {
                row["tenant_code"]: await _session(connection, row["user_id"], row["tenant_id"]) for row in heads
            }
            snv = await connection.fetchrow(
                "SELECT t.id, t.province_id FROM tenants t JOIN provinces p ON p.id = t.province_id "
                "WHERE p.code = $1 AND t.code = 'so-noi-vu'",
                LARGE,
            )
            admin = await connection.fetchval(
                "INSERT INTO users (id, issuer, subject, email, full_name) "
                "VALUES (gen_random_uuid(), $1, 'province-admin', 'admin@bench.example.gov.vn', 'Quản trị tỉnh') "
                "RETURNING id",
                f"https://sso.{LARGE}.example.gov.vn/realms/parboard",
            )
            unit = await connection.fetchval(
                "SELECT id FROM units WHERE tenant_id = $1 ORDER BY position LIMIT 1", snv["id"]
            )
            await connection.execute(
                "INSERT INTO memberships (id, tenant_id, user_id, role, unit_id) "
                "VALUES (gen_random_uuid(), $1, $2, 'province_admin', $3)",
                snv["id"],
                admin,
                unit,
            )
            admin_cookie = await _session(connection, admin, snv["id"])
        await connection.execute("VACUUM (ANALYZE)")
        counts = {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
            for table in ("provinces", "tenants", "units", "users", "memberships", "user_sessions")
        }
        counts["large_province_tenants"] = int(
            await connection.fetchval(
                "SELECT count(*) FROM tenants t JOIN provinces p ON p.id = t.province_id "
                "WHERE p.code = $1 AND t.is_active",
                LARGE,
            )
        )
    finally:
        await connection.close()
    return cookies, admin_cookie, counts


def check_page(base_url: str, path: str, cookie: str, expected: str) -> int:
    """Fail unless `cookie` opens `path` (200) and the page contains `expected`; its size in bytes."""
    response = httpx.get(f"{base_url}{path}", headers={"Cookie": cookie}, timeout=30.0)
    if response.status_code != 200 or expected not in response.text:
        raise RuntimeError(f"GET {path}: HTTP {response.status_code}, {expected!r} expected:\n{response.text[:1500]}")
    return len(response.content)


async def reset_session_clocks(db: EmbeddedDatabase) -> None:
    connection = await asyncpg.connect(**_connect_args(db))
    try:
        await connection.execute("UPDATE user_sessions SET last_seen_at = now()")
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    timings: dict[str, float] = {}
    results: list[ScenarioResult] = []
    loads: list[float] = [os.getloadavg()[0]]
    rng = random.Random(args.seed)  # noqa: S311 - picks tenants, not secrets
    folder = Path(tempfile.mkdtemp(prefix="parboard-national-"))
    try:
        tenants = write_files(folder, args)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            pg = embedded.start(BENCH_VAR / "pg")
            db = embedded.ensure_database(pg, DATABASE, fresh=True)
            urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
            migrate.upgrade(urls)
            provinces = load_directory(folder)
            lineage = load_lineage(folder, provinces)

            async def sync_twice() -> None:
                engine = create_engine(urls.owner_url)
                try:
                    started = time.perf_counter()
                    await sync_tenants(engine, provinces, lineage=lineage)
                    timings["first_sync_s"] = time.perf_counter() - started
                    loads.append(os.getloadavg()[0])
                    started = time.perf_counter()
                    await sync_tenants(engine, provinces, lineage=lineage)
                    timings["no_change_sync_s"] = time.perf_counter() - started
                    await import_criteria(engine, load_all(folder))
                finally:
                    await engine.dispose()

            runner.run(sync_twice())
            started = time.perf_counter()
            cookies, admin_cookie, counts = runner.run(seed_people(db, args.people_per_tenant))
            timings["people_and_sessions_s"] = time.perf_counter() - started
            print(f"tenants configured {tenants}; " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
            print(", ".join(f"{k} {v:.1f}" for k, v in timings.items()))

            departments = sorted(cookies)
            snv = f"/t/{LARGE}/so-noi-vu"
            results_path, list_path = f"{snv}/tinh/ket-qua/{CRITERIA_YEAR}", f"{snv}/quan-tri/tinh/"
            log = BENCH_VAR / "national_shape_server.log"
            with ServerProcess(urls, log, args.profile, args.sample) as server:
                pinning = pin_processes(server.pid, pg.get_pid(), enabled=not args.no_pin)
                print(f"Server  {server.base_url} (pid {server.pid}); pinning: {pinning}")
                sizes = {
                    "tenant home": check_page(
                        server.base_url, f"/t/{LARGE}/{departments[0]}/", cookies[departments[0]], "Sở số"
                    ),
                    "province results": check_page(server.base_url, results_path, admin_cookie, "Sở số"),
                    "tenant list": check_page(server.base_url, list_path, admin_cookie, "UBND xã số"),
                }
                print("page sizes (uncompressed, httpx): " + ", ".join(f"{k} {v:,} B" for k, v in sizes.items()))

                def home() -> Target:
                    code = rng.choice(departments)
                    return Target(f"/t/{LARGE}/{code}/", cookies[code])

                scenarios = [
                    ("floor", FLOOR_PATH, lambda: Target(FLOOR_PATH)),
                    ("tenant home", f"/t/{LARGE}/<random of {len(departments)} departments>/", home),
                    ("province results", results_path, lambda: Target(results_path, admin_cookie)),
                    ("tenant list", list_path, lambda: Target(list_path, admin_cookie)),
                ]
                if args.home_only:
                    scenarios = scenarios[:2]
                meter = CpuMeter(server.pid, pg.get_pid())
                for name, label, next_target in scenarios:
                    runner.run(reset_session_clocks(db))
                    loads.append(os.getloadavg()[0])
                    results.append(
                        runner.run(
                            measure(
                                name,
                                server.base_url,
                                next_target,
                                path_label=label,
                                client="raw",
                                concurrency=args.concurrency,
                                warmup=args.warmup,
                                total=args.requests,
                                max_seconds=args.max_seconds,
                                meter=meter,
                            )
                        )
                    )
            embedded.drop_database(pg, DATABASE)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    loads.append(os.getloadavg()[0])
    print_table(results)  # the table's name column is 13 wide: "province results" runs into "raw"
    for r in results:
        summary = r.summary()
        cpu = summary["cpu_ms_per_request"]
        print(
            f"  {r.name}: {summary['mean_response_bytes']:,} B on the wire per answer (gzip/br accepted); CPU per "
            f"request {cpu['server']:.3f} ms server + {cpu['postgres']:.3f} ms PostgreSQL"  # type: ignore[index]
        )
    by_name = {r.name: r for r in results}
    ratio = by_name["tenant home"].percentile(95) / by_name["floor"].percentile(95)
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"\ntenant home p95 / floor p95 = {ratio:.2f}× (target within {TARGET_RATIO:.0f}×): {verdict}")
    print(f"load average (1 min) during the run: {', '.join(f'{x:.2f}' for x in loads)}")
    report = {
        "machine": machine,
        "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "tenants_configured": tenants,
        "rows": counts,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "page_bytes_uncompressed": sizes,
        "scenarios": [r.summary() for r in results],
        "tenant_home_over_floor_p95": round(ratio, 3),
        "verdict": verdict,
        "load_average_1min": [round(x, 2) for x in loads],
    }
    (BENCH_VAR / "national_shape.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
