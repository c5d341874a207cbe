"""Benchmark: the submission package of 1,500 evidence files totalling 2 GB, built by the real job.

Run with `make bench-package` or `.venv/bin/python -m tests.benchmarks.package` (`--help` for the knobs).
Not part of the test suite; like the other benchmarks it prints PASS or MISSED and never fails on them.

Method
------
1. A fresh database of its own (`parboard_bench_package`) in the benchmarks' embedded PostgreSQL
   (`var/bench/pg`), migrated, the demo tenants synced and the criteria imported; Sở Ngoại vụ's 2020
   self-assessment approved; `--files` evidence rows whose blobs (pseudo-random bytes, sizes spread from
   0,2× to 1,8× the mean, `--megabytes` in all) are written into a LocalStorage under
   `var/bench/package/blobs`. Then one submission (status building, its job enqueued) through the service.
2. The floor: a plain copy of the same bytes on the same disk: every blob read in 1 MiB chunks and
   appended to one file, then fsync (what the storage does for the package), timed. It runs twice, before
   and after the build (this virtual machine's disk and CPU speeds drift by tens of percent within
   minutes), and the build is compared with the faster of the two.
3. The build: `build_package` (the job's own function, with its progress commits) in a child process on
   the application's role; its peak memory is the child's VmHWM (the whole process: interpreter, imports,
   SQLAlchemy, the zip writer and its buffers). Targets: peak < 200 MB, throughput ≥ half the copy's.
4. The package is checked: its size, the recorded hash against a re-hash of the stored file.
5. Clean-up: the blobs, the package, the copy and the database are removed.

What bounds the build: the package's SHA-256 (the issue asks for it to be recorded; it is also the key of the
content-addressed blob), one stream that cannot be split across cores. On a CPU without SHA extensions it runs
at ~200–340 MB/s on one core; the run measures it alone ("trần", 512 MB in memory) beside the copy. The build
hashes in a thread of its own, writes in another (`LocalStorage.put`) and reads and CRCs in a third (the zip
writer), each a few chunks behind the one before, so the hash never waits for the disk.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from backend.db import embedded, migrate
from backend.db.runtime import DatabaseUrls
from backend.settings import PROJECT_ROOT

BENCH_VAR = PROJECT_ROOT / "var" / "bench"
WORK = BENCH_VAR / "package"
DATABASE = "parboard_bench_package"
TARGET_PEAK_MB = 200.0
TARGET_RATIO = 0.5
CHUNK = 1024 * 1024
CODES = ["1.2", "1.5", "1.7", "2.5", "2.6.1", "4.1.5", "5.10", "6.2.1", "7.1.5", "7.1.8"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.package", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    build = sub.add_parser("build", help="(internal) the child process that builds the package")
    build.add_argument("--app-url", required=True)
    build.add_argument("--tenant", required=True)
    build.add_argument("--submission", required=True)
    parser.add_argument("--files", type=int, default=1500, help="evidence files (default 1500)")
    parser.add_argument("--megabytes", type=int, default=2000, help="their total size in MB (default 2000)")
    args = parser.parse_args(argv)
    if args.command is None and not (1 <= args.files <= 5000 and 1 <= args.megabytes <= 4000):
        parser.error("--files must be in 1..5000, --megabytes in 1..4000")
    return args


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """Build the package exactly as the worker does, and report time and peak memory as JSON."""
    from backend.db.engine import create_engine
    from backend.domain.evidence.storage import LocalStorage
    from backend.domain.submissions.services import build_package

    async def run() -> dict[str, object]:
        engine = create_engine(args.app_url)
        try:
            before = vm_hwm_mb()
            started = time.perf_counter()
            reports: list[float] = []

            async def progressed(done: int) -> None:
                reports.append(time.perf_counter() - started)

            status = await build_package(
                engine,
                LocalStorage(WORK / "blobs"),
                uuid.UUID(args.tenant),
                uuid.UUID(args.submission),
                templates_dir=PROJECT_ROOT / "templates",
                on_progress=progressed,
            )
            seconds = time.perf_counter() - started
            return {
                "status": status,
                "seconds": seconds,
                "hwm_before": before,
                "first_progress": reports[0] if reports else seconds,
                "last_progress": reports[-1] if reports else seconds,
            }
        finally:
            await engine.dispose()

    result = asyncio.run(run())
    result["hwm_mb"] = vm_hwm_mb()
    print(json.dumps(result))


def make_blobs(count: int, total: int) -> list[tuple[str, int]]:
    """`count` blobs of pseudo-random bytes adding up to `total`, stored as LocalStorage lays them out."""
    from backend.domain.evidence.storage import LocalStorage

    storage = LocalStorage(WORK / "blobs")
    spread = random.Random(2026)  # noqa: S311 - file sizes, not secrets
    weights = [spread.uniform(0.2, 1.8) for _ in range(count)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    block = os.urandom(4 * CHUNK)  # rotated per file so no two files share their bytes
    blobs = []
    for index, size in enumerate(sizes):
        prefix = index.to_bytes(8, "big")
        digest = hashlib.sha256()
        temporary = storage.tmp / f"{index}.part"
        storage.tmp.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as handle:
            written = 0
            offset = (index * 7919) % len(block)
            while written < size:
                piece = (prefix + block[offset:] + block[:offset])[: min(len(block), size - written)]
                handle.write(piece)
                digest.update(piece)
                written += len(piece)
        key = digest.hexdigest()
        target = storage.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, target)
        blobs.append((key, size))
    return blobs


def sha256_rate(megabytes: int = 512) -> float:
    """MB/s of SHA-256 alone on this CPU, over `megabytes` already in memory: the package's own hash is one
    stream that cannot be split, so no build can outrun it (what bounds the throughput target)."""
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    rounds = megabytes * 1000 * 1000 // CHUNK
    started = time.perf_counter()
    for _ in range(rounds):
        digest.update(block)
    return rounds * CHUNK / (time.perf_counter() - started) / 1e6


def floor_copy(blobs: list[tuple[str, int]]) -> float:
    """Seconds to copy the same bytes into one file on the same disk, fsynced."""
    from backend.domain.evidence.storage import LocalStorage

    storage = LocalStorage(WORK / "blobs")
    target = WORK / "copy.bin"
    started = time.perf_counter()
    with target.open("wb") as out:
        for key, _ in blobs:
            with storage.path(key).open("rb") as source:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


async def prepare(urls: DatabaseUrls, blobs: list[tuple[str, int]]) -> tuple[uuid.UUID, uuid.UUID]:
    """Tenants, criteria, an approved 2020 assessment, the evidence rows, and one submission (building)."""
    from sqlalchemy import select

    from backend.db.engine import create_engine, create_session_maker
    from backend.db.models import Assessment, CriteriaSet, EvidenceFile, Province, Tenant
    from backend.db.rls import bind_tenant
    from backend.domain.criteria.importer import import_criteria, load_all
    from backend.domain.submissions import services
    from backend.domain.tenants.config import load_directory
    from backend.domain.tenants.sync import sync_tenants

    engine = create_engine(urls.owner_url)
    try:
        await sync_tenants(engine, load_directory(PROJECT_ROOT / "tenants"), demo_people=True)
        await import_criteria(engine, load_all(PROJECT_ROOT / "tenants"))
        sessions = create_session_maker(engine)
        async with sessions() as db, db.begin():
            tenant = (await db.scalars(select(Tenant).where(Tenant.code == "so-ngoai-vu"))).one()
            province = await db.get(Province, tenant.province_id)
            assert province is not None
            criteria_set = (
                await db.scalars(
                    select(CriteriaSet).where(CriteriaSet.province_id == province.id, CriteriaSet.year == 2020)
                )
            ).first()
            assert criteria_set is not None
        async with sessions() as db:
            await bind_tenant(db, tenant.id)
            async with db.begin():
                db.add(
                    Assessment(
                        id=uuid.uuid4(),
                        tenant_id=tenant.id,
                        criteria_set_id=criteria_set.id,
                        year=2020,
                        status="approved",
                        approved_at=datetime.now(UTC),
                    )
                )
                for index, (key, size) in enumerate(blobs):
                    db.add(
                        EvidenceFile(
                            id=uuid.uuid4(),
                            tenant_id=tenant.id,
                            year=2020,
                            criterion_code=CODES[index % len(CODES)],
                            sha256=key,
                            size=size,
                            content_type="application/pdf",
                            filename=f"Tài liệu kiểm chứng số {index + 1}.pdf",
                        )
                    )
                await db.flush()
                submission = await services.submit(db, tenant, province, 2020, None)
            return tenant.id, submission.id
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "build":
        child(args)
        return
    total = args.megabytes * 1000 * 1000
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    pg = embedded.start(BENCH_VAR / "pg")
    db = embedded.ensure_database(pg, DATABASE, fresh=True)
    urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url, jobs_url=db.jobs_url)
    try:
        migrate.upgrade(urls)
        print(f"Tạo {args.files} tệp, tổng {args.megabytes} MB dưới {WORK} …", flush=True)
        blobs = make_blobs(args.files, total)
        os.sync()  # the blobs on disk before either measurement: neither pays for the other's writeback
        tenant, submission = asyncio.run(prepare(urls, blobs))
        floor_before = floor_copy(blobs)
        os.sync()
        hash_rate = sha256_rate()
        command = [sys.executable, "-m", "tests.benchmarks.package", "build", "--app-url", urls.jobs]  # as the worker
        command += ["--tenant", str(tenant), "--submission", str(submission)]
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_ROOT)
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            raise SystemExit("the build process failed")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        package = _check_package(urls, tenant, submission)
        os.sync()
        floor_after = floor_copy(blobs)
        floor_s = min(floor_before, floor_after)
        build_s = float(result["seconds"])
        copy_rate, build_rate = total / floor_s / 1e6, total / build_s / 1e6
        ratio = build_rate / copy_rate
        peak = float(result["hwm_mb"])
        print(f"Gói: {args.files} tệp, {total / 1e9:.2f} GB dữ liệu, ZIP {package / 1e9:.3f} GB ({result['status']})")
        print(
            f"Sao chép thường (cùng đĩa, fsync): {floor_s:.1f} s = {copy_rate:.0f} MB/s (lần nhanh hơn của hai: "
            f"trước {total / floor_before / 1e6:.0f}, sau {total / floor_after / 1e6:.0f} MB/s)"
        )
        print(f"Đóng gói (job thật, tiến độ ghi DB): {build_s:.1f} s = {build_rate:.0f} MB/s = {ratio:.2f}× bản sao")
        print(
            f"Trần: SHA-256 của gói (một luồng, trong bộ nhớ) {hash_rate:.0f} MB/s = "
            f"{hash_rate / copy_rate:.2f}× bản sao; đóng gói đạt {build_rate / hash_rate:.0%} mức trần"
        )
        print(f"Bộ nhớ đỉnh khi đóng gói (VmHWM): {peak:.1f} MB (sau khi nạp mã: {result['hwm_before']:.1f} MB)")
        print(
            f"  trong đó: nạp dữ liệu, XLSX, manifest {result['first_progress']:.1f} s; ghi ZIP đến tệp cuối "
            f"{result['last_progress'] - result['first_progress']:.1f} s; fsync và ghi nhận "
            f"{build_s - result['last_progress']:.1f} s"
        )
        print(f"  bộ nhớ < {TARGET_PEAK_MB:.0f} MB: {'PASS' if peak < TARGET_PEAK_MB else 'MISSED'}")
        print(f"  tốc độ ≥ {TARGET_RATIO:.1f}× bản sao: {'PASS' if ratio >= TARGET_RATIO else 'MISSED'}")
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
        embedded.drop_database(pg, DATABASE)


def _check_package(urls: DatabaseUrls, tenant: uuid.UUID, submission: uuid.UUID) -> int:
    """The recorded hash matches the stored ZIP; returns its size."""
    from sqlalchemy import select

    from backend.db.engine import create_engine, create_session_maker
    from backend.db.models import Submission
    from backend.db.rls import bind_tenant
    from backend.domain.evidence.storage import LocalStorage

    async def recorded() -> Submission:
        engine = create_engine(urls.jobs)
        try:
            async with create_session_maker(engine)() as db:
                await bind_tenant(db, tenant)
                async with db.begin():
                    return (await db.scalars(select(Submission).where(Submission.id == submission))).one()
        finally:
            await engine.dispose()

    row = asyncio.run(recorded())
    assert row.status == "submitted", row.error
    assert row.package_sha256
    path = LocalStorage(WORK / "blobs").path(row.package_sha256)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    assert digest.hexdigest() == row.package_sha256
    assert path.stat().st_size == row.package_size
    return int(row.package_size or 0)


if __name__ == "__main__":
    main()
