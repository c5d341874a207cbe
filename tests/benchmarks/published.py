"""Benchmark: published results (index of the applicable maximum, rank per group) at the 2025 shape, three ways.

Run with `.venv/bin/python -m tests.benchmarks.published` (`--provinces 3 --tenants 20 --repeat 5` for a quick try).

Method
------
1. Data from a seeded `random.Random`, as `tests.benchmarks.national` makes it: 34 provinces × 130 tenants ×
   5 years × 100 criteria in 7 areas = 2,210,000 score rows. Each province's tenants are in three ranking
   groups: 25 departments, 100 communes, 5 central agencies (the 2025 shape: ~4,400 tenants). Kept as a list
   of row tuples (Decimal points), one polars frame (Decimal(12, 3)) and the PostgreSQL table `bench_scores`
   (`national.load_table`: binary COPY, an index on (province, year), VACUUM ANALYZE).
2. Workloads, on the latest year:
     province results   one province's published results: per tenant the sum achieved and the maximum, the
                        index rounded once half-up to 2 places (exact integers), the rank by index within its
                        group (ties share) and the group's size. polars: the province's rows of the year from
                        the frame split once by (province, year), the counterpart of the table's index, then
                        `backend.domain.scoring.index.published_results` ("province, scan": filtering the whole
                        national frame instead, as before); SQL: one GROUP BY with
                        the index in integer arithmetic and RANK() OVER (PARTITION BY grp); Python: dicts of
                        Decimal sums, then sorting. The province changes with every repetition.
     national results   the same for every province at once (ranks within each province's groups).
3. Before any timing the three methods must agree on every tenant's group, index and rank (three provinces and
   the nation); the run stops otherwise.
4. Each workload is repeated (default 20 per province, 5 national), sequentially; p50 / p95 are nearest-rank.
   The floor of each engine is measured first in the same run (polars: the results of a one-row frame; SQL:
   `SELECT 1`): on a shared machine the figures only mean something beside it.

Targets (printed, never asserted): one province's results ≤ 50 ms at p95; the national results ≤ 1 s at p95;
polars ahead of SQL and of pure Python (p50). Results also go to `var/bench/published.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import polars as pl

from backend.db import embedded
from backend.domain.scoring.index import published_results
from backend.settings import PROJECT_ROOT
from tests.benchmarks.national import (
    FIRST_YEAR,
    MILLI,
    Measured,
    Mismatch,
    Row,
    criteria_set,
    exit_with,
    load_table,
    machine_info,
    national_frame,
    print_table,
    province_code,
    time_async,
    time_sync,
)
from tests.benchmarks.seed import _connect_args
from tests.benchmarks.tenant_home import BENCH_VAR, _loop_factory

DATABASE = "parboard_published"
PLACES = 2
GROUPS = (("department", 25), ("commune", 100), ("central", 5))  # per province, 130 tenants
TARGET_PROVINCE_P95_MS = 50.0
TARGET_NATIONAL_P95_MS = 1000.0
Result = tuple[str, str, int, int | None]  # tenant, group, index in hundredths, rank


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--tenants", type=int, default=130, help="tenants per province, split 25:100:5")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--criteria", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--national-repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261205)
    return parser.parse_args(argv)


def generate(args: argparse.Namespace) -> list[Row]:
    rng = random.Random(args.seed)  # noqa: S311 - synthetic data, not secrets
    criteria = criteria_set(args.criteria, rng)
    total = sum(n for _, n in GROUPS)
    groups = [name for name, n in GROUPS for _ in range(max(1, n * args.tenants // total))][: args.tenants]
    rows: list[Row] = []
    for p in range(1, args.provinces + 1):
        province = province_code(p)
        for t, group in enumerate(groups, start=1):
            tenant = f"{province}-t{t:03d}"
            for year in range(FIRST_YEAR, FIRST_YEAR + args.years):
                for c in criteria:
                    maximum = MILLI[c.max_milli]
                    achieved = MILLI[rng.randrange(c.max_milli)] if rng.random() < c.loss_rate else maximum
                    rows.append((province, tenant, group, year, c.area, c.code, achieved, maximum))
    return rows


# --- the three methods; each returns (tenant, group, index in hundredths, rank) sorted by tenant


def polars_results(frame: pl.DataFrame, year: int) -> list[Result]:
    done = published_results(frame, year, places=PLACES)
    return sorted((r["tenant"], r["group"], int(r["index"] * 100), r["rank"]) for r in done.iter_rows(named=True))


def polars_province(national: pl.DataFrame, province: str, year: int) -> pl.DataFrame:
    """Scanning the national frame for the province first (2,2 million rows compared per call)."""
    return published_results(national.filter(pl.col("province") == province), year, places=PLACES)


Partitions = dict[tuple[object, ...], pl.DataFrame]


def partitioned(national: pl.DataFrame) -> Partitions:
    """The national frame split once by (province, year): polars' counterpart of the table's index on them."""
    return national.partition_by("province", "year", as_dict=True)


def polars_partition(parts: Partitions, province: str, year: int) -> pl.DataFrame:
    return published_results(parts[province, year], year, places=PLACES)


FLOOR_FRAME = pl.DataFrame(
    {"tenant": ["t"], "group": ["g"], "year": [2025], "area": ["1"], "criterion": ["1.1"]}
).with_columns(pl.lit(Decimal("1.5"), dtype=pl.Decimal(12, 3)).alias(name) for name in ("achieved", "max"))


SQL_RESULTS = """
    SELECT tenant, grp, units,
           (RANK() OVER (PARTITION BY province, grp ORDER BY units DESC))::int AS rank,
           (count(*) OVER (PARTITION BY province, grp))::int AS of
    FROM (
        SELECT province, tenant, grp, sum(achieved) AS components, sum(max) AS max,
               (2 * (sum(achieved) * 1000)::bigint * 100 * 100 + (sum(max) * 1000)::bigint)
                 / (2 * (sum(max) * 1000)::bigint) AS units
        FROM bench_scores WHERE year = $1 {where}
        GROUP BY province, tenant, grp
    ) AS totals
"""
SQL_PROVINCE = SQL_RESULTS.format(where="AND province = $2")
SQL_NATIONAL = SQL_RESULTS.format(where="")


def python_results(rows: Sequence[Row], year: int, province: str | None) -> list[Result]:
    sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for p, tenant, group, y, _area, _code, achieved, maximum in rows:
        if y == year and (province is None or p == province):
            cell = sums[p, tenant, group]
            cell[0] += achieved
            cell[1] += maximum
    units: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for (p, tenant, group), (achieved, maximum) in sums.items():
        total, top = int(achieved * 1000), int(maximum * 1000)
        units[p, group].append(((2 * total * 100 * 10**PLACES + top) // (2 * top), tenant))
    found: list[Result] = []
    for (_, group), members in units.items():
        members.sort(reverse=True)
        rank = 0
        for position, (value, tenant) in enumerate(members, start=1):
            if position == 1 or value != members[position - 2][0]:
                rank = position
            found.append((tenant, group, value, rank))
    return sorted(found)


async def sql_results(connection: asyncpg.Connection, year: int, province: str | None) -> list[Result]:
    records = (
        await connection.fetch(SQL_PROVINCE, year, province)
        if province is not None
        else await connection.fetch(SQL_NATIONAL, year)
    )
    return sorted((r["tenant"], r["grp"], int(r["units"]), r["rank"]) for r in records)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    year = FIRST_YEAR + args.years - 1
    setup: dict[str, float] = {}
    started = time.perf_counter()
    rows = generate(args)
    national = national_frame(rows)
    # ranks are within a province's group: the national frame's group names both
    grouped = national.with_columns((pl.col("province") + "/" + pl.col("group")).alias("group"))
    setup["generate"] = time.perf_counter() - started
    print(f"Generated {len(rows):,} rows ({setup['generate']:.1f} s)", flush=True)
    begun = time.perf_counter()
    parts = partitioned(national)
    setup["polars_partition"] = time.perf_counter() - begun

    def province(i: int) -> str:
        return province_code(i % args.provinces + 1)

    pg = embedded.start(BENCH_VAR / "pg")
    try:
        db = embedded.ensure_database(pg, DATABASE, fresh=True)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            connection: asyncpg.Connection = runner.run(asyncpg.connect(**_connect_args(db)))
            try:
                runner.run(load_table(connection, rows, setup))
                for p in (province(0), province(1), province(2)):
                    expected = python_results(rows, year, p)
                    if polars_results(national.filter(pl.col("province") == p), year) != expected:
                        raise Mismatch(f"polars ≠ Python for {p}")
                    if polars_results(parts[p, year], year) != expected:
                        raise Mismatch(f"polars (partition) ≠ Python for {p}")
                    if runner.run(sql_results(connection, year, p)) != expected:
                        raise Mismatch(f"SQL ≠ Python for {p}")
                everywhere = python_results(rows, year, None)
                as_groups = [(t, g.split("/", 1)[1], u, r) for t, g, u, r in polars_results(grouped, year)]
                if sorted(as_groups) != everywhere or runner.run(sql_results(connection, year, None)) != everywhere:
                    raise Mismatch("the national results differ")
                print("Cross-check: polars, SQL and Python give identical indices and ranks\n", flush=True)
                # the floor of each engine on this machine now: its cheapest call, measured in the same run
                results: list[Measured] = [
                    time_sync(
                        "polars",
                        "floor (one row)",
                        args.repeat,
                        lambda i: published_results(FLOOR_FRAME, 2025, places=PLACES),
                    ),
                    time_async(
                        runner, "sql", "floor (SELECT 1)", args.repeat, lambda i: connection.fetchval("SELECT 1")
                    ),
                    time_sync(
                        "polars",
                        "province results",
                        args.repeat,
                        lambda i: polars_partition(parts, province(i), year),
                    ),
                    time_sync(
                        "polars",
                        "province, scan",
                        args.repeat,
                        lambda i: polars_province(national, province(i), year),
                    ),
                    time_sync(
                        "polars",
                        "national results",
                        args.national_repeat,
                        lambda i: published_results(grouped, year, places=PLACES),
                    ),
                    time_async(
                        runner,
                        "sql",
                        "province results",
                        args.repeat,
                        lambda i: sql_results(connection, year, province(i)),
                    ),
                    time_async(
                        runner,
                        "sql",
                        "national results",
                        args.national_repeat,
                        lambda i: sql_results(connection, year, None),
                    ),
                    time_sync(
                        "python", "province results", args.repeat, lambda i: python_results(rows, year, province(i))
                    ),
                    time_sync(
                        "python", "national results", args.national_repeat, lambda i: python_results(rows, year, None)
                    ),
                ]
            finally:
                runner.run(connection.close())
        embedded.drop_database(pg, DATABASE)
    finally:
        pg.cleanup()

    print_table(results)
    by = {(r.method, r.workload): r for r in results}
    targets: list[dict[str, Any]] = []
    for workload, limit in (("province results", TARGET_PROVINCE_P95_MS), ("national results", TARGET_NATIONAL_P95_MS)):
        p95 = by["polars", workload].percentile(95)
        targets.append(
            {
                "target": f"polars {workload} p95 ≤ {limit:.0f} ms",
                "measured": round(p95, 2),
                "verdict": "PASS" if p95 <= limit else "MISSED",
            }
        )
        for other in ("sql", "python"):
            ratio = by[other, workload].percentile(50) / by["polars", workload].percentile(50)
            targets.append(
                {
                    "target": f"{workload}: polars ahead of {other} (p50 ratio)",
                    "measured": round(ratio, 2),
                    "verdict": "PASS" if ratio > 1 else "MISSED",
                }
            )
    print("\nTargets (never asserted)")
    for t in targets:
        print(f"  {t['target']:<52}{t['measured']:>10}  {t['verdict']}")
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "shape": {k: getattr(args, k) for k in ("provinces", "tenants", "years", "criteria")},
        "rows": len(rows),
        "setup_seconds": {k: round(v, 2) for k, v in setup.items()},
        "results": [r.summary() for r in results],
        "targets": targets,
    }
    output = BENCH_VAR / "published.json"
    output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"results: {output.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    exit_with(main)
