"""Benchmark: one large evidence upload (500 MB by default) streamed to the real app, with the server's memory.

Run with `make bench-upload` or `.venv/bin/python -m tests.benchmarks.upload` (`--help` for the knobs). Not
part of the test suite; like the other benchmarks it prints PASS or MISSED and never fails on its numbers.

Method
------
1. A fresh database of its own (`parboard_bench_upload`) in the benchmarks' embedded PostgreSQL
   (`var/bench/pg`), migrated, the demo tenants synced; a live session for a staff member of Sở Ngoại vụ.
2. The source: `--megabytes` of pseudo-random bytes in a temporary file under `var/bench/upload/`. The
   floor is a plain copy of that file (`shutil.copyfile`, then fsync, as the storage does), timed, then
   deleted: the most any upload path could do on this disk.
3. The server: the app under uvicorn (1 worker) in a child process, production settings, the per-file
   limit raised above the upload, local storage under `var/bench/upload/var/blobs`.
4. Each run posts one multipart request (the file, its first bytes changed per run so no run is
   deduplicated) with the CSRF header, read from the file in 1 MiB chunks while the request streams,
   and waits for the 201. The server's RSS is sampled every 20 ms (psutil, else /proc/<pid>/status);
   the growth is the peak during the run minus the RSS before it. Target: < 50 MB.
5. Clean-up: the blobs, the source and the database are removed at the end (at most ~2 × the size is
   on disk at any time).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx

from backend.db import embedded, migrate
from backend.db.runtime import DatabaseUrls
from backend.settings import PROJECT_ROOT, DatabaseSettings, PathSettings, StorageSettings
from tests.support import make_settings

BENCH_VAR = PROJECT_ROOT / "var" / "bench"
WORK = BENCH_VAR / "upload"
DATABASE = "parboard_bench_upload"
STAFF = "tuan.pa@sngv.hatinh.example.vn"
PATH = "/t/ha-tinh/so-ngoai-vu/tai-lieu/2020/tieu-chi/1.2"
TARGET_RSS_GROWTH_MB = 50.0
CHUNK = 1024 * 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.upload", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="(internal) the server child process")
    serve.add_argument("--fd", type=int, required=True)
    serve.add_argument("--app-url", required=True)
    serve.add_argument("--owner-url", required=True)
    serve.add_argument("--limit", type=int, required=True)
    parser.add_argument("--megabytes", type=int, default=500, help="size of the upload in MB (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="measured uploads (default 3)")
    args = parser.parse_args(argv)
    if args.command is None and not (1 <= args.megabytes <= 500 and 1 <= args.runs <= 20):
        parser.error("--megabytes must be in 1..500 (at most ~1 GB on disk at once), --runs in 1..20")
    return args


def _settings(limit: int):  # type: ignore[no-untyped-def]
    settings = make_settings(env="production")
    return replace(
        settings,
        db=DatabaseSettings(),
        paths=PathSettings(var_dir=WORK / "var"),
        storage=StorageSettings(max_upload_bytes=limit),
    )


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    from backend.asgi import create_app

    app = create_app(_settings(args.limit), DatabaseUrls(app_url=args.app_url, owner_url=args.owner_url))
    listener = socket.socket(fileno=args.fd)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", workers=1)
    uvicorn.Server(config).run(sockets=[listener])


def rss_bytes(pid: int) -> int:
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        status = Path(f"/proc/{pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found.group(1)) * 1024 if found else 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(0.02)


def make_source(path: Path, size: int) -> None:
    block = os.urandom(CHUNK)
    with path.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        written = 9
        while written < size:
            piece = block[: min(CHUNK, size - written)]
            handle.write(piece)
            written += len(piece)
            block = block[1:] + block[:1]  # not one repeated block


def floor_copy(source: Path) -> float:
    target = source.with_suffix(".copy")
    started = time.perf_counter()
    shutil.copyfile(source, target)
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def body(source: Path, boundary: str, run: int) -> tuple[Iterator[bytes], int]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="Hồ sơ lớn {run}.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    marker = f"%PDF-1.7\n%run {run} {uuid.uuid4().hex}\n".encode()  # a new blob each run: no dedup
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = source.stat().st_size

    def chunks() -> Iterator[bytes]:
        yield head + marker
        with source.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
        yield tail

    return chunks(), len(head) + len(marker) + size + len(tail)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == "serve":
        serve(args)
        return 0
    from sqlalchemy.ext.asyncio import create_async_engine

    from backend.asgi import create_app
    from backend.auth.sessions import COOKIE
    from backend.domain.tenants.config import load_directory
    from backend.domain.tenants.sync import sync_tenants
    from tests.support import session_cookie_for

    size = args.megabytes * 1000 * 1000
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    pg = embedded.start(BENCH_VAR / "pg")
    db = embedded.ensure_database(pg, DATABASE, fresh=True)
    urls = DatabaseUrls(app_url=db.app_url, owner_url=db.owner_url)
    process: subprocess.Popen[bytes] | None = None
    try:
        migrate.upgrade(urls)

        async def prepare() -> str:
            engine = create_async_engine(urls.owner_url)
            try:
                await sync_tenants(engine, load_directory(PROJECT_ROOT / "tenants"), demo_people=True)
            finally:
                await engine.dispose()
            return await session_cookie_for(create_app(_settings(size * 2), urls), STAFF)

        cookie = asyncio.run(prepare())
        source = WORK / "source.bin"
        make_source(source, size)
        floor_s = floor_copy(source)

        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        log = (BENCH_VAR / "upload-server.log").open("wb")
        command = [sys.executable, "-m", "tests.benchmarks.upload", "serve", "--fd", str(listener.fileno())]
        command += ["--app-url", urls.app_url, "--owner-url", urls.owner_url, "--limit", str(size * 2)]
        process = subprocess.Popen(command, pass_fds=(listener.fileno(),), stdout=log, stderr=subprocess.STDOUT)
        listener.close()
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=600) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the server did not start; see var/bench/upload-server.log")
                time.sleep(0.2)
            client.cookies.set(COOKIE, cookie)
            page = client.get(PATH)
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
            if page.status_code != 200 or token is None:
                raise RuntimeError(f"cannot read the upload page: {page.status_code}")
            # production cookies are Secure: over plain HTTP the client must be handed the CSRF cookie
            csrf_cookie = next(
                (h.split(";")[0] for h in page.headers.get_list("set-cookie") if h.startswith("csrftoken=")), ""
            )
            headers = {
                "x-csrftoken": token.group(1),
                "HX-Request": "true",
                "cookie": f"{COOKIE}={cookie}; {csrf_cookie}",
            }
            durations: list[float] = []
            growths: list[float] = []
            for run in range(args.runs):
                boundary = f"bench{uuid.uuid4().hex}"
                chunks, length = body(source, boundary, run)
                before = rss_bytes(process.pid)
                sampler = Sampler(process.pid)
                sampler.start()
                started = time.perf_counter()
                response = client.post(
                    PATH,
                    content=chunks,
                    headers={
                        **headers,
                        "content-type": f"multipart/form-data; boundary={boundary}",
                        "content-length": str(length),
                    },
                )
                durations.append(time.perf_counter() - started)
                sampler.stop.set()
                sampler.join()
                growths.append((max(sampler.peak, rss_bytes(process.pid)) - before) / 1e6)
                if response.status_code != 201:
                    raise RuntimeError(f"upload {run}: {response.status_code} {response.text[:300]}")
                print(f"run {run + 1}: {durations[-1]:.2f} s, RSS growth {growths[-1]:.1f} MB", flush=True)
        megabytes = size / 1e6
        p50 = statistics.median(durations)
        p95 = sorted(durations)[max(0, round(0.95 * len(durations)) - 1)]
        growth = max(growths)
        print(f"upload {args.megabytes} MB × {args.runs}: p50 {p50:.2f} s, p95 {p95:.2f} s")
        print(f"throughput      p50 {megabytes / p50:8.1f} MB/s")
        print(f"floor (copy)        {megabytes / floor_s:8.1f} MB/s  ({floor_s:.2f} s)")
        print(
            f"server RSS growth   {growth:8.1f} MB  target < {TARGET_RSS_GROWTH_MB:.0f} MB: "
            f"{'PASS' if growth < TARGET_RSS_GROWTH_MB else 'MISSED'}"
        )
        return 0
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(WORK, ignore_errors=True)
        embedded.drop_database(pg, DATABASE)


if __name__ == "__main__":
    sys.exit(main())
