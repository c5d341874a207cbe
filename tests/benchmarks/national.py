"""Benchmark: a national load of scores aggregated three ways: polars, SQL in PostgreSQL, pure Python.

Run with `.venv/bin/python -m tests.benchmarks.national` (`--help` for the knobs; `--provinces 3
--departments 10 --years 2 --criteria 30 --repeat 5 --national-repeat 2` for a quick try).

Method
------
1. Data, generated here from a seeded `random.Random` (the same rows on every run): 34 provinces ×
   40 departments × 5 years × 150 criteria = 1,020,000 score rows. The 150 criteria sit in 7 areas
   (codes "1.1" ... "7.21"), each with a maximum of 0.100 to 3.000 points (3 decimals) and a loss rate:
   a tenth of them never lose points, the others with a probability drawn in [0, 0.44), about 20 % of
   the rows on average; a losing row scores a random 0.000 ≤ achieved < max (3 decimals), the others
   the maximum. Every fourth department is in ranking group "commune", the others in "department".
   Kept in three forms: a list of row tuples (Decimal points), one polars frame (Decimal(12, 3) points,
   plus a `province` column) and a PostgreSQL table `bench_scores` (numeric(8, 3) points, loaded by
   binary COPY, then an index on (province, year) and VACUUM ANALYZE) in a fresh database of the
   benchmarks' embedded server (`var/bench/pg`, as `tenant_home`), dropped again at the end.
2. Workloads, each on the latest year:
     province dashboard  one province's ranking within its groups, heatmap (tenant × criterion lost),
                         the 10 most lost criteria, and area totals (every year). polars: filter the
                         national frame to the province, then `backend.domain.scoring.province`'s four
                         functions; SQL: four queries (WHERE province = $1 ..., RANK() OVER (PARTITION
                         BY grp ...), GROUP BY), all rows fetched; Python: filter the national list,
                         then dicts and Decimal sums. The province changes with every repetition.
     national heatmap    every tenant × criterion of the year (204,000 rows at full size), the same
                         three ways (SQL: a GROUP BY over the year, all rows fetched to Python).
     floor               what the method costs doing next to nothing: polars filters the national frame
                         to one province and takes `.height`; SQL a `SELECT 1` round trip; Python
                         filters the national list to one province.
3. Before any timing, the three methods must give identical results (every rank, every Decimal
   exactly; Float64 percentages and shares within 1e-9 relative) for three provinces and the national
   heatmap; the benchmark stops with an error otherwise. Those runs also warm the caches.
4. Each workload is then repeated N times (default 20 per province, 5 national), sequentially, one
   client; latency is wall time from the call until the result is in Python (SQL: rows fetched and
   decoded by asyncpg). p50 / p95 are nearest-rank percentiles; "per s" is repetitions over their
   total wall time.

Targets (printed PASS / MISSED, never asserted): a province dashboard in ≤ 50 ms at p95; the national
heatmap in ≤ 1 s at p95; polars at least 10× faster than pure Python (p50 over p50, per workload).
Results also go to `var/bench/national.json`. Other processes on the machine add noise.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

import asyncpg
import polars as pl

from backend.db import embedded
from backend.domain.scoring.province import POINTS, SCORE_SCHEMA, area_totals, heatmap, most_lost, province_rank
from backend.settings import PROJECT_ROOT
from tests.benchmarks.load import nearest_rank
from tests.benchmarks.seed import _connect_args
from tests.benchmarks.tenant_home import BENCH_VAR, _loop_factory, _version, host_info

DATABASE = "parboard_national"
FIRST_YEAR = 2021
AREAS = 7
NEVER_LOST_SHARE = 0.1  # of the criteria
MAX_LOSS_RATE = 0.44  # the others lose with a probability drawn uniformly below this
MOST_LOST_LIMIT = 10
TARGET_DASHBOARD_P95_MS = 50.0
TARGET_NATIONAL_P95_MS = 1000.0
TARGET_SPEEDUP = 10.0
FLOAT_TOLERANCE = 1e-9
MILLI = [Decimal(m).scaleb(-3) for m in range(3001)]  # 0.000 ... 3.000: every point value the data can hold
ZERO = Decimal("0.000")
THOUSANDTH = Decimal("0.001")

# A row: province, tenant, grp, year, area, criterion, achieved, max.
Row = tuple[str, str, str, int, str, str, Decimal, Decimal]
COLUMNS = ("province", "tenant", "grp", "year", "area", "criterion", "achieved", "max")
T = TypeVar("T")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.national",
        description="A national load of scores: polars vs SQL vs pure Python (see the module docstring).",
    )
    parser.add_argument("--provinces", type=int, default=34, help="provinces (default 34)")
    parser.add_argument("--departments", type=int, default=40, help="departments (tenants) per province (default 40)")
    parser.add_argument("--years", type=int, default=5, help=f"years from {FIRST_YEAR} (default 5)")
    parser.add_argument("--criteria", type=int, default=150, help=f"criteria in {AREAS} areas (default 150)")
    parser.add_argument("--repeat", type=int, default=20, help="repetitions per province workload (default 20)")
    parser.add_argument("--national-repeat", type=int, default=5, help="repetitions per national workload (default 5)")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed of the data")
    parser.add_argument("--work-mem", default="64MB", help="PostgreSQL work_mem of the benchmark's session")
    args = parser.parse_args(argv)
    if min(args.provinces, args.departments, args.years, args.repeat, args.national_repeat) < 1:
        parser.error("counts must be positive")
    if args.criteria < AREAS:
        parser.error(f"--criteria must be at least {AREAS} (one per area)")
    return args


# ------------------------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class Shape:
    provinces: int = 34
    departments: int = 40
    years: int = 5
    criteria: int = 150

    @property
    def rows(self) -> int:
        return self.provinces * self.departments * self.years * self.criteria

    @property
    def last_year(self) -> int:
        return FIRST_YEAR + self.years - 1


@dataclass(frozen=True)
class Criterion:
    area: str
    code: str
    max_milli: int
    loss_rate: float


def criteria_set(count: int, rng: random.Random) -> list[Criterion]:
    """`count` criteria spread over the 7 areas as evenly as they go (the first areas get one more)."""
    found = []
    for a in range(1, AREAS + 1):
        for i in range(1, count // AREAS + (1 if a <= count % AREAS else 0) + 1):
            loss = 0.0 if rng.random() < NEVER_LOST_SHARE else rng.uniform(0.0, MAX_LOSS_RATE)
            found.append(Criterion(str(a), f"{a}.{i}", rng.randint(100, 3000), loss))
    return found


def province_code(p: int) -> str:
    return f"p{p:02d}"


def generate(shape: Shape, seed: int) -> list[Row]:
    """Every score row, ordered by province, tenant, year, criterion."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    criteria = criteria_set(shape.criteria, rng)
    rows: list[Row] = []
    for p in range(1, shape.provinces + 1):
        province = province_code(p)
        for d in range(1, shape.departments + 1):
            tenant, grp = f"{province}-d{d:02d}", "commune" if d % 4 == 0 else "department"
            for year in range(FIRST_YEAR, FIRST_YEAR + shape.years):
                for c in criteria:
                    maximum = MILLI[c.max_milli]
                    achieved = MILLI[rng.randrange(c.max_milli)] if rng.random() < c.loss_rate else maximum
                    rows.append((province, tenant, grp, year, c.area, c.code, achieved, maximum))
    return rows


def national_frame(rows: list[Row]) -> pl.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in COLUMNS]
    schema = {"province": pl.String(), **SCORE_SCHEMA}
    names = ("province", "tenant", "group", "year", "area", "criterion", "achieved", "max")
    return pl.DataFrame(
        {name: pl.Series(name, values, dtype=schema[name]) for name, values in zip(names, columns, strict=True)}
    )


# ---------------------------------------------------------------------------------------------- polars


@dataclass(frozen=True)
class Dashboard:
    """One province's aggregates, each as a list of row tuples in its sort order."""

    rank: list[tuple[Any, ...]]
    heatmap: list[tuple[Any, ...]]
    most_lost: list[tuple[Any, ...]]
    areas: list[tuple[Any, ...]]


def polars_dashboard(national: pl.DataFrame, province: str, year: int) -> tuple[pl.DataFrame, ...]:
    scores = national.filter(pl.col("province") == province)
    return (
        province_rank(scores, year),
        heatmap(scores, year),
        most_lost(scores, year, MOST_LOST_LIMIT),
        area_totals(scores),
    )


def polars_floor(national: pl.DataFrame, province: str) -> int:
    return national.filter(pl.col("province") == province).height


# ------------------------------------------------------------------------------------------------- SQL

CREATE_TABLE = """
    CREATE TABLE bench_scores (
        province text, tenant text, grp text, year int, area text, criterion text,
        achieved numeric(8, 3), max numeric(8, 3)
    )
"""
CREATE_INDEX = "CREATE INDEX bench_scores_province_year ON bench_scores (province, year)"

SQL_RANK = """
    SELECT tenant, grp, total, (RANK() OVER (PARTITION BY grp ORDER BY total DESC))::int AS rank,
           (count(*) OVER (PARTITION BY grp))::int AS of
    FROM (
        SELECT tenant, grp, sum(achieved) AS total FROM bench_scores
        WHERE province = $1 AND year = $2 GROUP BY tenant, grp
    ) AS totals
    ORDER BY grp COLLATE "C", rank, tenant COLLATE "C"
"""
SQL_HEATMAP_SELECT = """
    SELECT tenant, criterion, sum(max) - sum(achieved) AS lost, sum(max) AS max,
           CASE WHEN sum(max) > 0 THEN (sum(max) - sum(achieved))::float8 / sum(max)::float8 END AS share
    FROM bench_scores
"""
SQL_HEATMAP_ORDER = """ GROUP BY tenant, criterion ORDER BY tenant COLLATE "C", criterion COLLATE "C" """
SQL_PROVINCE_HEATMAP = SQL_HEATMAP_SELECT + " WHERE province = $1 AND year = $2" + SQL_HEATMAP_ORDER
SQL_NATIONAL_HEATMAP = SQL_HEATMAP_SELECT + " WHERE year = $1" + SQL_HEATMAP_ORDER
# lost_mean = lost_total / tenants scored, rounded half to even at 3 decimals (as polars and Python's
# Decimal do; PostgreSQL's round() rounds half away from zero): q, r = divmod(thousandths, n).
SQL_MOST_LOST = """
    SELECT criterion, tenants_losing, lost_total,
           ((q + CASE WHEN 2 * r > n OR (2 * r = n AND mod(q, 2) = 1) THEN 1 ELSE 0 END) / 1000)::numeric(12, 3)
             AS lost_mean
    FROM (
        SELECT criterion, (count(*) FILTER (WHERE lost > 0))::int AS tenants_losing, sum(lost) AS lost_total,
               div(sum(lost) * 1000, count(*)) AS q, mod(sum(lost) * 1000, count(*)) AS r, count(*) AS n
        FROM (
            SELECT tenant, criterion, sum(max) - sum(achieved) AS lost FROM bench_scores
            WHERE province = $1 AND year = $2 GROUP BY tenant, criterion
        ) AS cells
        GROUP BY criterion
    ) AS per_criterion
    WHERE tenants_losing > 0
    ORDER BY tenants_losing DESC, lost_total DESC, criterion COLLATE "C"
    LIMIT $3
"""
SQL_AREAS = """
    SELECT tenant, year, area, sum(achieved) AS achieved, sum(max) AS max, sum(max) - sum(achieved) AS lost,
           CASE WHEN sum(max) > 0 THEN sum(achieved)::float8 / sum(max)::float8 * 100 END AS percent
    FROM bench_scores WHERE province = $1
    GROUP BY tenant, year, area ORDER BY tenant COLLATE "C", year, area COLLATE "C"
"""


async def load_table(connection: asyncpg.Connection, rows: list[Row], setup: dict[str, float]) -> None:
    started = time.perf_counter()
    await connection.execute(CREATE_TABLE)
    await connection.copy_records_to_table("bench_scores", records=rows, columns=COLUMNS)
    setup["copy"] = time.perf_counter() - started
    started = time.perf_counter()
    await connection.execute(CREATE_INDEX)
    setup["index"] = time.perf_counter() - started
    started = time.perf_counter()
    await connection.execute("VACUUM (ANALYZE) bench_scores")
    setup["vacuum_analyze"] = time.perf_counter() - started


async def sql_dashboard(connection: asyncpg.Connection, province: str, year: int) -> tuple[list[asyncpg.Record], ...]:
    return (
        await connection.fetch(SQL_RANK, province, year),
        await connection.fetch(SQL_PROVINCE_HEATMAP, province, year),
        await connection.fetch(SQL_MOST_LOST, province, year, MOST_LOST_LIMIT),
        await connection.fetch(SQL_AREAS, province),
    )


async def sql_national_heatmap(connection: asyncpg.Connection, year: int) -> list[asyncpg.Record]:
    return list(await connection.fetch(SQL_NATIONAL_HEATMAP, year))


async def sql_floor(connection: asyncpg.Connection) -> int:
    return int(await connection.fetchval("SELECT 1"))


async def server_facts(connection: asyncpg.Connection) -> dict[str, str | int]:
    facts: dict[str, str | int] = {
        name: str(await connection.fetchval(f"SHOW {name}"))
        for name in ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit")
    }
    facts["table_bytes"] = int(await connection.fetchval("SELECT pg_total_relation_size('bench_scores')"))
    return facts


# ---------------------------------------------------------------------------------------------- Python


def _share(lost: Decimal, maximum: Decimal) -> float | None:
    return float(lost) / float(maximum) if maximum > 0 else None


def python_cells(rows: Sequence[Row], year: int) -> dict[tuple[str, str], list[Decimal]]:
    """(tenant, criterion) → [achieved, max] summed over the year's rows."""
    cells: dict[tuple[str, str], list[Decimal]] = {}
    for row in rows:
        if row[3] == year:
            cell = cells.get((row[1], row[5]))
            if cell is None:
                cells[row[1], row[5]] = [row[6], row[7]]
            else:
                cell[0] += row[6]
                cell[1] += row[7]
    return cells


def python_heatmap(rows: Sequence[Row], year: int) -> list[tuple[Any, ...]]:
    return [
        (tenant, criterion, m - a, m, _share(m - a, m))
        for (tenant, criterion), (a, m) in sorted(python_cells(rows, year).items())
    ]


def python_rank(rows: Sequence[Row], year: int) -> list[tuple[Any, ...]]:
    totals: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        if row[3] == year:
            key = (row[1], row[2])
            totals[key] = totals.get(key, ZERO) + row[6]
    groups: dict[str, list[tuple[Decimal, str]]] = {}
    for (tenant, grp), total in totals.items():
        groups.setdefault(grp, []).append((total, tenant))
    ranked: list[tuple[Any, ...]] = []
    for grp in sorted(groups):
        entries = sorted(groups[grp], key=lambda entry: (-entry[0], entry[1]))
        rank, previous = 0, None
        for position, (total, tenant) in enumerate(entries, start=1):
            if total != previous:
                rank, previous = position, total
            ranked.append((tenant, grp, total, rank, len(entries)))
    return ranked


def python_most_lost(cells: dict[tuple[str, str], list[Decimal]], limit: int) -> list[tuple[Any, ...]]:
    per_criterion: dict[str, list[Any]] = {}  # criterion → [tenants losing, lost total, tenants]
    for (_, criterion), (a, m) in cells.items():
        lost = m - a
        entry = per_criterion.setdefault(criterion, [0, ZERO, 0])
        entry[0] += lost > 0
        entry[1] += lost
        entry[2] += 1
    found = [
        (criterion, losing, total, (total / n).quantize(THOUSANDTH, rounding=ROUND_HALF_EVEN))
        for criterion, (losing, total, n) in per_criterion.items()
        if losing > 0
    ]
    found.sort(key=lambda entry: (-entry[1], -entry[2], entry[0]))
    return found[:limit]


def python_areas(rows: Sequence[Row]) -> list[tuple[Any, ...]]:
    areas: dict[tuple[str, int, str], list[Decimal]] = {}
    for row in rows:
        key = (row[1], row[3], row[4])
        area = areas.get(key)
        if area is None:
            areas[key] = [row[6], row[7]]
        else:
            area[0] += row[6]
            area[1] += row[7]
    return [
        (tenant, year, code, a, m, m - a, float(a) / float(m) * 100 if m > 0 else None)
        for (tenant, year, code), (a, m) in sorted(areas.items())
    ]


def python_dashboard(rows: list[Row], province: str, year: int) -> tuple[list[tuple[Any, ...]], ...]:
    mine = [row for row in rows if row[0] == province]
    return (
        python_rank(mine, year),
        python_heatmap(mine, year),
        python_most_lost(python_cells(mine, year), MOST_LOST_LIMIT),
        python_areas(mine),
    )


def python_floor(rows: list[Row], province: str) -> int:
    return len([row for row in rows if row[0] == province])


# ---------------------------------------------------------------------------------------------- checks


class Mismatch(Exception):
    """Two methods disagree: the benchmark would compare different work."""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, float)
            and isinstance(b, float)
            and math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
        )
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return isinstance(a, Decimal) and isinstance(b, Decimal) and a == b
    return bool(a == b) and type(a) is type(b)


def compare(what: str, expected: Sequence[Sequence[Any]], actual: Sequence[Sequence[Any]], label: str) -> None:
    """Fail unless `actual` has the same rows as `expected` in the same order."""
    if len(expected) != len(actual):
        raise Mismatch(f"{what}: polars gives {len(expected)} rows, {label} {len(actual)}")
    for number, (mine, theirs) in enumerate(zip(expected, actual, strict=True)):
        if len(mine) != len(theirs) or not all(_same(a, b) for a, b in zip(mine, theirs, strict=True)):
            raise Mismatch(f"{what}, row {number}: polars {tuple(mine)!r}, {label} {tuple(theirs)!r}")


DASHBOARD_PARTS = ("rank", "heatmap", "most lost", "area totals")


async def check(
    national: pl.DataFrame, rows: list[Row], connection: asyncpg.Connection, shape: Shape
) -> dict[str, int]:
    """Fail unless polars, SQL and Python agree on three provinces' dashboards and the national heatmap;
    how many rows each part has (first province checked)."""
    year = shape.last_year
    sizes: dict[str, int] = {}
    for p in sorted({1, (shape.provinces + 1) // 2, shape.provinces}):
        province = province_code(p)
        frames = polars_dashboard(national, province, year)
        if frames[0].height != shape.departments:
            raise Mismatch(f"{province}: polars ranks {frames[0].height} tenants, not {shape.departments}")
        expected = [frame.rows() for frame in frames]
        from_sql = [[tuple(record) for record in part] for part in await sql_dashboard(connection, province, year)]
        from_python = python_dashboard(rows, province, year)
        for part, mine, theirs, own in zip(DASHBOARD_PARTS, expected, from_sql, from_python, strict=True):
            compare(f"{province} {part}", mine, theirs, "SQL")
            compare(f"{province} {part}", mine, own, "Python")
            sizes.setdefault(part, len(mine))
    expected_national = heatmap(national, year).rows()
    if len(expected_national) != shape.provinces * shape.departments * shape.criteria:
        raise Mismatch(f"national heatmap: {len(expected_national)} rows, not one per tenant × criterion")
    national_sql = [tuple(record) for record in await sql_national_heatmap(connection, year)]
    compare("national heatmap", expected_national, national_sql, "SQL")
    compare("national heatmap", expected_national, python_heatmap(rows, year), "Python")
    sizes["national heatmap"] = len(expected_national)
    if national.schema["achieved"] != POINTS:
        raise Mismatch(f"the national frame's points are {national.schema['achieved']}, not {POINTS}")
    return sizes


# ---------------------------------------------------------------------------------------------- timing


@dataclass
class Measured:
    method: str
    workload: str
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    def percentile(self, q: float) -> float:
        return nearest_rank(self.latencies_ms, q)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.wall_s if self.wall_s else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "method": self.method,
            "workload": self.workload,
            "repetitions": len(self.latencies_ms),
            "p50_ms": round(self.percentile(50), 3),
            "p95_ms": round(self.percentile(95), 3),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 3),
            "per_s": round(self.per_second, 2),
        }


def time_sync(method: str, workload: str, repeat: int, call: Callable[[int], object]) -> Measured:
    """Call `call(i)` for i in 0..repeat-1, each timed."""
    result = Measured(method, workload)
    gc.collect()
    started = time.perf_counter()
    for i in range(repeat):
        begun = time.perf_counter()
        call(i)
        result.latencies_ms.append((time.perf_counter() - begun) * 1000)
    result.wall_s = time.perf_counter() - started
    return result


def time_async(
    runner: asyncio.Runner, method: str, workload: str, repeat: int, call: Callable[[int], Awaitable[T]]
) -> Measured:
    async def series() -> Measured:
        result = Measured(method, workload)
        gc.collect()
        started = time.perf_counter()
        for i in range(repeat):
            begun = time.perf_counter()
            await call(i)
            result.latencies_ms.append((time.perf_counter() - begun) * 1000)
        result.wall_s = time.perf_counter() - started
        return result

    return runner.run(series())


# ---------------------------------------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    return {
        **host_info(),
        "polars": pl.__version__,
        "polars_threads": pl.thread_pool_size(),
        "asyncpg": _version("asyncpg"),
    }


def print_machine(machine: dict[str, Any], shape: Shape, setup: dict[str, float], sizes: dict[str, int]) -> None:
    pg = machine["postgresql"]
    print("Machine")
    print(f"  nproc {machine['nproc']} (usable {machine['usable_cpus']}), {machine['cpu_model']}")
    print(f"  RAM {machine['ram_gib']} GiB, {machine['os']}")
    print(
        f"  {machine['python']}, polars {machine['polars']} ({machine['polars_threads']} threads), "
        f"asyncpg {machine['asyncpg']}"
    )
    print(
        f"  PostgreSQL {pg['server_version']} (embedded, var/bench/pg): shared_buffers {pg['shared_buffers']}, "
        f"work_mem {pg['work_mem']}, max_parallel_workers_per_gather {pg['max_parallel_workers_per_gather']}, "
        f"jit {pg['jit']}"
    )
    print(f"  load average before: {machine['load_average_before']}")
    print("Data")
    print(
        f"  {shape.provinces} provinces × {shape.departments} departments × {shape.years} years × "
        f"{shape.criteria} criteria = {shape.rows:,} score rows; table bench_scores {pg['table_bytes'] / 1024**2:.0f} "
        f"MiB with its index"
    )
    print("  rows per result: " + ", ".join(f"{part} {count:,}" for part, count in sizes.items()))
    print(
        f"  setup: generate {setup['generate']:.1f} s, polars frame {setup['frame']:.1f} s, postgres start "
        f"{setup['start_postgres']:.1f} s, COPY {setup['copy']:.1f} s, index {setup['index']:.1f} s, "
        f"VACUUM ANALYZE {setup['vacuum_analyze']:.1f} s, cross-check {setup['check']:.1f} s"
    )


def print_table(results: list[Measured]) -> None:
    header = f"{'method':<8}{'workload':<21}{'n':>4}{'p50 ms':>11}{'p95 ms':>11}{'per s':>10}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.method:<8}{r.workload:<21}{len(r.latencies_ms):>4}{r.percentile(50):>11.2f}"
            f"{r.percentile(95):>11.2f}{r.per_second:>10.2f}"
        )


def verdicts(results: list[Measured]) -> list[dict[str, Any]]:
    by_key = {(r.method, r.workload): r for r in results}
    found: list[dict[str, Any]] = []
    for workload, limit in (
        ("province dashboard", TARGET_DASHBOARD_P95_MS),
        ("national heatmap", TARGET_NATIONAL_P95_MS),
    ):
        for method in ("polars", "sql", "python"):
            p95 = by_key[method, workload].percentile(95)
            found.append(
                {
                    "target": f"{workload} p95 ≤ {limit:.0f} ms",
                    "method": method,
                    "measured": round(p95, 3),
                    "verdict": "PASS" if p95 <= limit else "MISSED",
                }
            )
    for workload in ("province dashboard", "national heatmap"):
        polars, python = by_key["polars", workload], by_key["python", workload]
        ratio = python.percentile(50) / polars.percentile(50)
        found.append(
            {
                "target": f"{workload}: polars ≥ {TARGET_SPEEDUP:.0f}× faster than Python (p50 / p50)",
                "method": "polars",
                "measured": round(ratio, 2),
                "p95_ratio": round(python.percentile(95) / polars.percentile(95), 2),
                "verdict": "PASS" if ratio >= TARGET_SPEEDUP else "MISSED",
            }
        )
    return found


def print_verdicts(found: list[dict[str, Any]]) -> None:
    print("\nTargets (never asserted)")
    for v in found:
        if "p95_ratio" in v:
            detail = f"{v['measured']:.1f}× (at p95 {v['p95_ratio']:.1f}×)"
        else:
            detail = f"{v['method']:<7}{v['measured']:>10.2f} ms"
        print(f"  {v['target']:<66}{detail:<24}{v['verdict']}")


# ------------------------------------------------------------------------------------------------ main


def measure_all(
    runner: asyncio.Runner,
    connection: asyncpg.Connection,
    national: pl.DataFrame,
    rows: list[Row],
    shape: Shape,
    args: argparse.Namespace,
) -> list[Measured]:
    year, repeat, national_repeat = shape.last_year, args.repeat, args.national_repeat

    def province(i: int) -> str:  # a different province each time, round the country
        return province_code(i % shape.provinces + 1)

    return [
        time_sync("polars", "floor: filter", repeat, lambda i: polars_floor(national, province(i))),
        time_sync("polars", "province dashboard", repeat, lambda i: polars_dashboard(national, province(i), year)),
        time_sync("polars", "national heatmap", national_repeat, lambda i: heatmap(national, year)),
        time_async(runner, "sql", "floor: SELECT 1", repeat, lambda i: sql_floor(connection)),
        time_async(runner, "sql", "province dashboard", repeat, lambda i: sql_dashboard(connection, province(i), year)),
        time_async(
            runner, "sql", "national heatmap", national_repeat, lambda i: sql_national_heatmap(connection, year)
        ),
        time_sync("python", "floor: filter", repeat, lambda i: python_floor(rows, province(i))),
        time_sync("python", "province dashboard", repeat, lambda i: python_dashboard(rows, province(i), year)),
        time_sync("python", "national heatmap", national_repeat, lambda i: python_heatmap(rows, year)),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    shape = Shape(args.provinces, args.departments, args.years, args.criteria)
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    setup: dict[str, float] = {}
    begun = time.perf_counter()

    started = time.perf_counter()
    rows = generate(shape, args.seed)
    setup["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    national = national_frame(rows)
    setup["frame"] = time.perf_counter() - started
    print(f"Generated {len(rows):,} rows ({setup['generate']:.1f} s; polars frame {setup['frame']:.1f} s)", flush=True)

    started = time.perf_counter()
    pg = embedded.start(BENCH_VAR / "pg")
    try:
        db = embedded.ensure_database(pg, DATABASE, fresh=True)
        setup["start_postgres"] = time.perf_counter() - started
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            connection: asyncpg.Connection = runner.run(
                asyncpg.connect(**_connect_args(db), server_settings={"work_mem": args.work_mem})
            )
            try:
                runner.run(load_table(connection, rows, setup))
                print(f"Loaded bench_scores (COPY {setup['copy']:.1f} s)", flush=True)
                machine["postgresql"] = runner.run(server_facts(connection))
                started = time.perf_counter()
                sizes = runner.run(check(national, rows, connection, shape))
                setup["check"] = time.perf_counter() - started
                print("Cross-check: polars, SQL and Python give identical results\n", flush=True)
                print_machine(machine, shape, setup, sizes)
                print(
                    f"Timing  year {shape.last_year}; {args.repeat} repetitions per province workload (a different "
                    f"province each), {args.national_repeat} per national one; sequential, one client\n"
                )
                results = measure_all(runner, connection, national, rows, shape, args)
            finally:
                runner.run(connection.close())
        embedded.drop_database(pg, DATABASE)
    finally:
        pg.cleanup()  # stops the embedded server unless another process still uses it

    print_table(results)
    found = verdicts(results)
    print_verdicts(found)
    machine["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    total = time.perf_counter() - begun
    print(f"\nload average after: {machine['load_average_after']}; whole run {total:.0f} s")

    output = BENCH_VAR / "national.json"
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "data": {"shape": asdict(shape), "rows": shape.rows, "seed": args.seed, "rows_per_result": sizes},
        "setup_seconds": {phase: round(seconds, 3) for phase, seconds in setup.items()},
        "parameters": {"repeat": args.repeat, "national_repeat": args.national_repeat, "work_mem": args.work_mem},
        "results": [r.summary() for r in results],
        "targets": found,
        "whole_run_seconds": round(total, 1),
    }
    output.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"results: {output.relative_to(PROJECT_ROOT)}")
    return 0


def exit_with(main: Callable[[], int]) -> None:
    """Run a benchmark's `main` and exit with its code, or with 2 and the reason when the methods disagree."""
    try:
        sys.exit(main())
    except Mismatch as error:
        print(f"\nFAILED: the methods disagree, nothing was timed: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    exit_with(main)
