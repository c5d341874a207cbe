"""Benchmark: what the caches' counters cost `tenants sync` (issue 20): one national configuration synced into
databases at three schemas, in one run, their order turned round each round.

Run with `.venv/bin/python -m tests.benchmarks.sync_counters` (34 provinces, as `make bench-national-shape`;
`--provinces 3` for a quick try).

Method
------
1. Files: the configuration of `tests.benchmarks.national_shape` (`--provinces` × (1 Sở Nội vụ + `--departments`
   + `--communes`), the first with `--large-extra` more departments, two departments merged into a third in every
   province: archives and lineage).
2. For each schema, a fresh database in `var/bench/pg-sync-counters`, migrated to it; timed: the first
   `tenants sync` (files and lineage) and a re-sync that changes nothing, as `national_shape` times them.
     0033  before migration 0034: the board's counter alone, written by its statement trigger (migration 0009)
     0034  the home's, the configuration's and the board's counters written by every statement that touches them
     head  (0035) every statement notes its counters, written once per transaction at its commit
3. `--rounds` rounds; the load average is printed beside every sync (other processes on the machine add noise, to
   the wall time above all), and the CPU each sync cost: this process's (the sync's Python) and PostgreSQL's (its
   server's processes, read from /proc before the sync's connections close). Results also go to
   `var/bench/sync_counters.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from backend.db import embedded, migrate
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import sync_tenants
from tests.benchmarks.national_shape import BENCH_VAR, add_shape_arguments, write_files
from tests.benchmarks.tenant_home import _loop_factory, machine_info

SCHEMAS = ("0033", "0034", "head")
TICKS = os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(postmaster: int) -> float:
    """CPU seconds (user + system) of the server's processes alive now: the postmaster's children."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == postmaster:  # ppid; utime and stime are fields 14 and 15 of stat(5)
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_shape_arguments(parser)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--schemas", nargs="+", default=list(SCHEMAS), choices=SCHEMAS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="parboard-sync-counters-"))
    results: list[dict[str, Any]] = []
    try:
        tenants = write_files(folder, args)
        provinces = load_directory(folder)
        lineage = load_lineage(folder, provinces)
        print(f"{machine_info()}; tenants configured {tenants}")
        pg = embedded.start(BENCH_VAR / "pg-sync-counters")
        postmaster = pg.get_pid()
        assert postmaster is not None, "the embedded server runs"
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            for round_ in range(args.rounds):
                turn = round_ % len(args.schemas)
                for schema in args.schemas[turn:] + args.schemas[:turn]:
                    db = embedded.ensure_database(pg, f"parboard_bench_sync_{schema}", fresh=True)
                    urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
                    migrate.upgrade(urls, schema)

                    async def sync_twice(urls: DatabaseUrls = urls) -> dict[str, float]:
                        engine = create_engine(urls.owner_url)
                        timings = {"load_before": os.getloadavg()[0]}
                        try:
                            postgres, python = postgres_cpu_s(postmaster), time.process_time()
                            started = time.perf_counter()
                            await sync_tenants(engine, provinces, lineage=lineage)
                            timings["first_sync_s"] = time.perf_counter() - started
                            timings["first_sync_python_cpu_s"] = time.process_time() - python
                            timings["first_sync_postgres_cpu_s"] = postgres_cpu_s(postmaster) - postgres
                            started = time.perf_counter()
                            await sync_tenants(engine, provinces, lineage=lineage)
                            timings["no_change_sync_s"] = time.perf_counter() - started
                        finally:
                            await engine.dispose()
                        timings["load_after"] = os.getloadavg()[0]
                        return timings

                    timings = runner.run(sync_twice())
                    embedded.drop_database(pg, db.database)
                    results.append({"round": round_ + 1, "schema": schema, **timings})
                    print(
                        f"round {round_ + 1} schema {schema:>4}: first sync {timings['first_sync_s']:7.1f} s, "
                        f"(CPU: Python {timings['first_sync_python_cpu_s']:.1f} s, "
                        f"PostgreSQL {timings['first_sync_postgres_cpu_s']:.1f} s), "
                        f"re-sync {timings['no_change_sync_s']:5.1f} s "
                        f"(load average {timings['load_before']:.1f}–{timings['load_after']:.1f})",
                        flush=True,
                    )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    (BENCH_VAR / "sync_counters.json").write_text(
        json.dumps({"args": vars(args), "tenants": tenants, "results": results}, indent=2), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
