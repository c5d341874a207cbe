"""The benchmark's server process: the real app, served by uvicorn (1 worker) on a socket it inherits.

The parent opens the listening socket on 127.0.0.1 (port 0: the kernel picks a free one) and passes its
file descriptor, so there is no race for the port and the parent knows it before this process starts.
Run by `tests.benchmarks.tenant_home`, not by hand.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import signal
import socket
from dataclasses import replace
from pathlib import Path
from types import FrameType

import uvicorn

from backend.asgi import create_app
from backend.db.runtime import DatabaseUrls
from backend.settings import PROJECT_ROOT, DatabaseSettings, PathSettings
from tests.support import make_settings

BENCH_VAR = PROJECT_ROOT / "var" / "bench"


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    parser.add_argument("--control-fd", type=int, help="a second inherited socket of this process's own")
    parser.add_argument("--app-url", required=True)
    parser.add_argument("--owner-url", required=True)
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the whole run here")
    parser.add_argument("--sample", type=Path, help="write pyinstrument's call tree of the whole run here (text)")
    args = parser.parse_args(argv)

    # The tests' settings in production mode (its headers and cookies), with the production defaults
    # for the database pool instead of the tests' smaller one. Requests sign in with seeded sessions.
    # PARBOARD_HOME_CACHE=0 turns the tenant home's cache off, as in production, to measure without it.
    settings = make_settings(env="production", home_cache=os.environ.get("PARBOARD_HOME_CACHE", "1") != "0")
    settings = replace(settings, db=DatabaseSettings(), paths=PathSettings(var_dir=BENCH_VAR))
    app = create_app(settings, DatabaseUrls(app_url=args.app_url, owner_url=args.owner_url))
    listeners = [socket.socket(fileno=args.fd)]
    if args.control_fd is not None:  # one of several workers: the benchmark reads each one's timings here
        listeners.append(socket.socket(fileno=args.control_fd))
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", loop="auto", http="auto", workers=1)
    server = uvicorn.Server(config)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler it found: this one, so
    # the process ends with 0 (and after writing its profile) rather than killed by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if args.sample is not None:
        _sampled(server, listeners, args.sample)
        return
    if args.profile is None:
        server.run(sockets=listeners)
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run(sockets=listeners)
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)


def _sampled(server: uvicorn.Server, listeners: list[socket.socket], path: Path) -> None:
    """The run under pyinstrument, a sampling profiler: unlike cProfile it neither slows each call nor counts a
    coroutine's every resumption, so its times are wall time where the server spent it (waiting on PostgreSQL is
    the event loop's own time)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        server.run(sockets=listeners)
    finally:
        profiler.stop()
        path.write_text(profiler.output_text(unicode=True, show_all=False, short_mode=False), encoding="utf-8")
        profiler.last_session.save(str(path.with_suffix(".pyisession")))  # `pyinstrument --load` renders it again


if __name__ == "__main__":
    main()
