"""A closed-loop HTTP load generator: C workers, each sending its next request when the last one ended.

Two clients speak to the server. `raw` is a minimal HTTP/1.1 keep-alive client on asyncio streams (one
connection per worker); `httpx` is `httpx.AsyncClient` with a pool as large as the concurrency. Both
time a request from the first byte written to the last byte of the body read. The raw client costs the
load generator a fraction of httpx's CPU, so it is the default: with httpx, the client's own core can
saturate before the server's does and the "floor" would then measure httpx.

Each request is a `Target`: a path, and the `Cookie` header to send with it (empty: none), so that one
scenario can speak for many signed-in people, each request with the session of the page's member. Both clients
keep what a browser keeps (`Browsers`): the cookies the server sets (the `csrftoken` bound to a session) are sent
back with that browser's next requests, so the server does not set them again on every answer as it would for a
client that drops them (a fix of the measurement: the app answers a browser so).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import CookieError, SimpleCookie
from typing import Literal, TypeVar

import httpx
import psutil

ClientKind = Literal["raw", "httpx"]
REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Target:
    path: str
    cookie: str = ""  # the Cookie header's value, e.g. "parboard_session=..."; empty: no header


class Browsers:
    """The cookies each browser was given, kept as a browser keeps them. A target's `cookie` names its browser (a
    signed-in person's session; empty: an anonymous one); what the server sets for it (`Set-Cookie`) goes back with
    that browser's later requests, and a cookie the server expires is dropped."""

    def __init__(self) -> None:
        self.kept: dict[str, dict[str, str]] = {}

    def cookie(self, target: Target) -> str:
        """The `Cookie` header's value for `target` (empty: none)."""
        kept = self.kept.get(target.cookie)
        if not kept:
            return target.cookie
        return "; ".join([*filter(None, [target.cookie]), *(f"{name}={value}" for name, value in kept.items())])

    def remember(self, target: Target, set_cookies: list[str]) -> None:
        """Keep the cookies of an answer's `Set-Cookie` headers for `target`'s browser."""
        for header in set_cookies:
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(header)
            except CookieError:
                continue
            kept = self.kept.setdefault(target.cookie, {})
            for name, morsel in parsed.items():
                if _expired(morsel["expires"], morsel["max-age"]):
                    kept.pop(name, None)
                else:
                    kept[name] = morsel.value


def _expired(expires: str, max_age: str) -> bool:
    if max_age.strip().lstrip("-").isdigit():
        return int(max_age) <= 0
    if not expires:
        return False
    try:
        return email.utils.parsedate_to_datetime(expires) <= datetime.now(UTC)
    except (TypeError, ValueError):
        return False


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 as this client understands it."""


IDLE_REUSE_S = 4.0  # a keep-alive connection idle longer is not reused (uvicorn closes them after 5 s)


# What Chromium sends: page sizes are counted as they cross the wire (brotli), and the server pays for compressing.
ACCEPT_ENCODING = "gzip, deflate, br"


class RawConnection:
    """One keep-alive HTTP/1.1 connection; reconnects after an error or `Connection: close`."""

    def __init__(self, host: str, port: int, browsers: Browsers | None = None) -> None:
        self.host = host
        self.port = port
        self.browsers = browsers or Browsers()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0  # time.monotonic() of the last request

    async def get(self, target: Target) -> tuple[int, int]:
        """GET the target: the status and the body's length in bytes."""
        try:
            return await self._get(target)
        except BaseException:
            self._drop()  # never reuse a connection left in the middle of a response
            raise

    async def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The connection's streams, opened again when closed or idle too long."""
        if time.monotonic() - self.used > IDLE_REUSE_S:
            self._drop()  # as a browser would, not a connection the server may be closing right now
        self.used = time.monotonic()
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def _get(self, target: Target) -> tuple[int, int]:
        reader, writer = await self._streams()
        sent = self.browsers.cookie(target)
        cookie = f"Cookie: {sent}\r\n" if sent else ""
        writer.write(
            f"GET {target.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUser-Agent: parboard-bench\r\n"
            f"Accept: */*\r\nAccept-Encoding: {ACCEPT_ENCODING}\r\n{cookie}\r\n".encode("ascii")
        )
        status, found = await read_head(reader)
        self.browsers.remember(target, [value for name, value in found if name == "set-cookie"])
        headers = {name: value.lower() for name, value in found}
        if "content-length" in headers:
            size = int(headers["content-length"])
            await reader.readexactly(size)
        elif headers.get("transfer-encoding") == "chunked":
            size = await read_chunked(reader)
        else:
            size = len(await reader.read())
            headers["connection"] = "close"
        if headers.get("connection") == "close":
            self._drop()
        return status, size

    def _drop(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    """An answer's status and headers (names in lower case), read up to its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {status_line!r}")
    found = []
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            found.append((name.strip().lower(), value.strip()))
    return int(parts[1]), found


async def read_chunked(reader: asyncio.StreamReader, into: list[bytes] | None = None) -> int:
    """A chunked body's size; its chunks are appended to `into` when given."""
    size = 0
    for _ in range(1_000_000):  # bounded: no page of ours has a million chunks
        length = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(length + 2)
        if into is not None:
            into.append(chunk[:-2])
        size += length
        if length == 0:
            return size
    raise ProtocolError("too many chunks")


def nearest_rank(values: list[float], q: float) -> float:
    """The q-th percentile of `values` by nearest rank (NaN for none)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class ScenarioResult:
    name: str
    path: str
    client: ClientKind
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    bytes_received: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + sum(self.errors.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, q: float) -> float:
        """The q-th percentile of successful requests' latency (nearest rank), in milliseconds."""
        return nearest_rank(self.latencies_ms, q)

    @property
    def throughput(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def cpu_share(self, seconds: float) -> float:
        """CPU seconds as a percentage of one core over the measured wall time."""
        return 100 * seconds / self.wall_s if self.wall_s else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "path": self.path,
            "client": self.client,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.error_count,
            "error_kinds": dict(self.errors),
            "p50_ms": round(self.percentile(50), 3),
            "p95_ms": round(self.percentile(95), 3),
            "p99_ms": round(self.percentile(99), 3),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 3),
            "requests_per_s": round(self.throughput, 1),
            "wall_s": round(self.wall_s, 3),
            "mean_response_bytes": round(self.bytes_received / len(self.latencies_ms)) if self.latencies_ms else 0,
            "cpu_percent_of_one_core": {
                "client": round(self.cpu_share(self.client_cpu_s), 1),
                "server": round(self.cpu_share(self.server_cpu_s), 1),
                "postgres": round(self.cpu_share(self.db_cpu_s), 1),
            },
            # the steadier measure on a shared machine: CPU a request costs, whatever share of a core it got
            "cpu_ms_per_request": {
                "server": round(1000 * self.server_cpu_s / self.requests, 3) if self.requests else 0,
                "postgres": round(1000 * self.db_cpu_s / self.requests, 3) if self.requests else 0,
            },
        }


Measured = TypeVar("Measured", bound=ScenarioResult)


class CpuMeter:
    """CPU seconds used by the server process and by every PostgreSQL process, between two readings."""

    def __init__(self, server_pid: int | Sequence[int], postmaster_pid: int | None) -> None:
        pids = [server_pid] if isinstance(server_pid, int) else list(server_pid)
        self.servers = [psutil.Process(pid) for pid in pids]
        self.postmaster = psutil.Process(postmaster_pid) if postmaster_pid else None

    def _db_times(self) -> dict[int, float]:
        if self.postmaster is None:
            return {}
        times = {}
        for process in [self.postmaster, *self.postmaster.children()]:
            with contextlib.suppress(psutil.Error):
                cpu = process.cpu_times()
                times[process.pid] = cpu.user + cpu.system
        return times

    def read(self) -> tuple[float, float, dict[int, float]]:
        server = sum(cpu.user + cpu.system for cpu in (process.cpu_times() for process in self.servers))
        return time.process_time(), server, self._db_times()

    @staticmethod
    def delta(
        before: tuple[float, float, dict[int, float]], after: tuple[float, float, dict[int, float]]
    ) -> tuple[float, float, float]:
        db = sum(seconds - before[2].get(pid, 0.0) for pid, seconds in after[2].items())
        return after[0] - before[0], after[1] - before[1], db


Sender = Callable[[Target], Awaitable[tuple[int, int]]]


@dataclass
class Budget:
    """How many requests the workers of a run may still send, and until when (shared by the workers)."""

    total: int
    deadline: float  # time.monotonic()
    issued: int = 0

    def left(self) -> bool:
        return self.issued < self.total and time.monotonic() < self.deadline


async def turns(budget: Budget, think_s: float, pauses: random.Random) -> AsyncIterator[None]:
    """A worker's turns, one per request it may send: at once in a closed loop; with `think_s`, a person at a
    working pace (a random start within `think_s`, then an exponential pause of mean `think_s` after each
    answer, drawn from `pauses`)."""
    if think_s:
        await asyncio.sleep(pauses.uniform(0, think_s))
    first = True
    while budget.left():
        if think_s and not first:
            await asyncio.sleep(pauses.expovariate(1 / think_s))
            if not budget.left():
                break
        first = False
        budget.issued += 1
        yield


async def run_load(
    base_url: str,
    next_target: Callable[[], Target],
    *,
    client: ClientKind,
    concurrency: int,
    total: int,
    max_seconds: float,
    result: ScenarioResult | None,
    think_s: float = 0.0,
    pace: random.Random | None = None,
) -> None:
    """Send `total` GETs from `concurrency` workers (no new one after `max_seconds`), recorded into `result`.

    With `think_s`, each worker is a person at a working pace rather than a closed loop: it starts at a random
    moment within `think_s` and pauses a random time (exponential, mean `think_s`, drawn from `pace`) after
    each answer before its next request."""
    budget = Budget(total, time.monotonic() + max_seconds)
    pauses = pace or random.Random(0)  # noqa: S311 - pauses, not secrets
    browsers = Browsers()

    async def worker(send: Sender) -> None:
        async for _ in turns(budget, think_s, pauses):
            target = next_target()
            started = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    status, size = await send(target)
            except (
                OSError,
                TimeoutError,
                ValueError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ProtocolError,
                httpx.HTTPError,
            ) as exc:
                if result is not None:
                    result.errors[type(exc).__name__] += 1
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            if result is None:
                continue
            if status == 200:
                result.latencies_ms.append(elapsed_ms)
                result.bytes_received += size
            else:
                result.errors[f"HTTP {status}"] += 1

    if client == "raw":
        url = httpx.URL(base_url)
        connections = [RawConnection(url.host, url.port or 80, browsers) for _ in range(concurrency)]
        try:
            await asyncio.gather(*(worker(connection.get) for connection in connections))
        finally:
            for connection in connections:
                await connection.close()
        return

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_S) as http:

        async def httpx_send(target: Target) -> tuple[int, int]:
            # A header, not the client's one cookie jar: one jar would mix the browsers of the many people sent.
            sent = browsers.cookie(target)
            response = await http.get(target.path, headers={"Cookie": sent} if sent else None)
            browsers.remember(target, response.headers.get_list("set-cookie"))
            return response.status_code, len(response.content)

        await asyncio.gather(*(worker(httpx_send) for _ in range(concurrency)))


async def measure(
    name: str,
    base_url: str,
    next_target: Callable[[], Target],
    *,
    path_label: str,
    client: ClientKind,
    concurrency: int,
    warmup: int,
    total: int,
    max_seconds: float,
    meter: CpuMeter,
    think_s: float = 0.0,
    pace: random.Random | None = None,
) -> ScenarioResult:
    """Warm up (unrecorded), then measure one scenario (`think_s`: see `run_load`)."""
    await run_load(
        base_url,
        next_target,
        client=client,
        concurrency=concurrency,
        total=warmup,
        max_seconds=max_seconds,
        result=None,
    )
    result = ScenarioResult(name=name, path=path_label, client=client, concurrency=concurrency)
    return await metered(
        result,
        meter,
        run_load(
            base_url,
            next_target,
            client=client,
            concurrency=concurrency,
            total=total,
            max_seconds=max_seconds,
            result=result,
            think_s=think_s,
            pace=pace,
        ),
    )


async def metered(result: Measured, meter: CpuMeter, run: Awaitable[None]) -> Measured:
    """`result` (which `run` fills) with the wall time and the CPU time of client, server and database that
    `run` took."""
    before = meter.read()
    started = time.perf_counter()
    await run
    result.wall_s = time.perf_counter() - started
    result.client_cpu_s, result.server_cpu_s, result.db_cpu_s = CpuMeter.delta(before, meter.read())
    return result


def pin(pid: int, cpus: set[int], *, with_children: bool = False) -> bool:
    """Restrict `pid` (and its current children) to `cpus`; False when the OS refuses."""
    try:
        process = psutil.Process(pid)
        targets = [process, *process.children(recursive=True)] if with_children else [process]
        for target in targets:
            target.cpu_affinity(sorted(cpus))
    except (psutil.Error, OSError):
        return False
    return True


def available_cpus() -> set[int]:
    return set(os.sched_getaffinity(0))
