"""Benchmark: `tenants sync` of a national configuration with its lineage (issue 20, item 5, in part).

Run with `.venv/bin/python -m tests.benchmarks.lineage_sync` (`--provinces 3` for a quick try).

Method
------
1. Files, generated here (the same on every run): `--provinces` (34) province folders, each with one Sở Nội vụ,
   `--departments` (20) departments and `--communes` (98) communes and wards, every tenant with 4 units (one
   office), ≈ 4,000 tenants at full size, no demo people; and a `lineage.yaml` merging, in every province, two
   departments into a third (2 edges a province). Written as YAML under a temporary folder.
2. A fresh database in the benchmarks' embedded server (`var/bench/pg`, as `tenant_home`), migrated.
3. Timed, one after the other: loading and validating the files (`load_directory` + `load_lineage`), the first
   sync (everything created, the lineage applied), and a second sync that changes nothing.

The rest of item 5 (the ~100,000 people, the tenant home's p95 against the static floor, one province's results page
and tenant list at ~130 tenants) is `tests.benchmarks.national_shape`, on this configuration. Other processes on the
machine add noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

from backend.db import embedded, migrate
from backend.db.engine import create_engine
from backend.db.runtime import DatabaseUrls
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT

BENCH_VAR = PROJECT_ROOT / "var" / "bench"
DATABASE = "parboard_bench_lineage"
UNITS = [
    {"code": "van-phong", "name": "Văn phòng", "kind": "office"},
    {"code": "thanh-tra", "name": "Thanh tra", "kind": "inspectorate"},
    {"code": "phong-mot", "name": "Phòng Một", "kind": "phong"},
    {"code": "trung-tam", "name": "Trung tâm", "kind": "public_service"},
]


def write_config(root: Path, provinces: int, departments: int, communes: int) -> int:
    """The national configuration under `root`; returns the number of tenants."""
    events = []
    tenants_total = 0
    for p in range(1, provinces + 1):
        code = f"tinh-{p:02d}"
        tenants = [{"code": "so-noi-vu", "name": "Sở Nội vụ", "kind": "home_affairs", "ranking_group": "so-ban-nganh"}]
        tenants += [
            {"code": f"so-{d:02d}", "name": f"Sở số {d}", "kind": "department", "ranking_group": "so-ban-nganh"}
            for d in range(1, departments + 1)
        ]
        tenants += [
            {"code": f"xa-{c:03d}", "name": f"UBND xã số {c}", "kind": "commune", "ranking_group": "xa-phuong"}
            for c in range(1, communes + 1)
        ]
        for tenant in tenants:
            tenant["units"] = UNITS
        data = {
            "province": {
                "code": code,
                "name": f"Tỉnh số {p}",
                "identity_provider": {"issuer": f"https://sso.{code}.example.gov.vn/realms/parboard", "client_id": "x"},
                "ranking_groups": [
                    {"code": "so-ban-nganh", "name": "Sở, ban, ngành"},
                    {"code": "xa-phuong", "name": "Xã, phường, đặc khu"},
                ],
            },
            "tenants": tenants,
        }
        (root / code).mkdir()
        (root / code / "province.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        tenants_total += len(tenants)
        if departments >= 3:
            events.append(
                {
                    "kind": "merge",
                    "date": "01/07/2025",
                    "from": [f"{code}/so-01", f"{code}/so-02"],
                    "to": f"{code}/so-03",
                }
            )
    (root / "lineage.yaml").write_text(yaml.safe_dump({"events": events}, allow_unicode=True), encoding="utf-8")
    return tenants_total


async def run(urls: DatabaseUrls, root: Path) -> dict[str, float | str]:
    timings: dict[str, float | str] = {}
    started = time.perf_counter()
    provinces = load_directory(root)
    lineage = load_lineage(root, provinces)
    timings["load_and_validate_s"] = time.perf_counter() - started
    engine = create_engine(urls.owner_url)
    try:
        started = time.perf_counter()
        first = await sync_tenants(engine, provinces, lineage=lineage)
        timings["first_sync_s"] = time.perf_counter() - started
        timings["first_sync"] = first.summary()
        started = time.perf_counter()
        again = await sync_tenants(engine, provinces, lineage=lineage)
        timings["no_change_sync_s"] = time.perf_counter() - started
        timings["no_change_sync"] = again.summary()
    finally:
        await engine.dispose()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", type=int, default=34)
    parser.add_argument("--departments", type=int, default=20)
    parser.add_argument("--communes", type=int, default=98)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        tenants = write_config(root, args.provinces, args.departments, args.communes)
        pg = embedded.start(BENCH_VAR / "pg")
        db = embedded.ensure_database(pg, DATABASE, fresh=True)
        urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
        migrate.upgrade(urls)
        timings = asyncio.run(run(urls, root))
        embedded.drop_database(pg, DATABASE)
    result = {
        "provinces": args.provinces,
        "tenants": tenants,
        "units": tenants * len(UNITS),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        **timings,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    BENCH_VAR.mkdir(parents=True, exist_ok=True)
    (BENCH_VAR / "lineage_sync.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
