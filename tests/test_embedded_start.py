"""The embedded PostgreSQL started by several processes at once from a clean state, as pytest-xdist's
workers do on a fresh clone: no data directory yet, and (as root) no system user yet."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from backend.settings import PROJECT_ROOT
from tests.support import TEST_VAR

STARTERS = 3

# Each starter waits for the go file, then runs one step; all of them are released in the same instant.
STARTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from backend.db import embedded
    work, step, arg = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    (work / f"ready-{sys.argv[4]}").touch()
    deadline = time.monotonic() + 60
    while not (work / "go").exists():
        if time.monotonic() > deadline:
            sys.exit("no go within 60 s")
        time.sleep(0.005)
    if step == "start":
        server = embedded.start(Path(arg))
        print(embedded.ensure_database(server, "race_" + sys.argv[4]).owner_url)
    else:
        embedded.ensure_system_user(arg)
        print("user ok")
    """
)


def run_at_once(work: Path, step: str, arg: str) -> list[subprocess.CompletedProcess[str]]:
    """Run `STARTERS` processes of `step` released together; their results once all have exited."""
    work.mkdir(parents=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, str(work), step, arg, str(n)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(STARTERS)
    ]
    deadline = time.monotonic() + 60
    while len(list(work.glob("ready-*"))) < STARTERS:
        assert time.monotonic() < deadline, "starters did not get ready within 60 s"
        assert all(process.poll() is None for process in processes), "a starter died before the start"
        time.sleep(0.01)
    (work / "go").touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def test_starters_at_once_on_a_missing_data_directory_share_one_server() -> None:
    work = TEST_VAR / f"race-{uuid.uuid4().hex[:8]}"
    pgdata = work / "pg"
    try:
        results = run_at_once(work, "start", str(pgdata))
        assert [r.returncode for r in results] == [0] * STARTERS, [r.stderr[-2000:] for r in results]
        assert (pgdata / "PG_VERSION").exists()
        # one server: every starter got a database on the same socket
        sockets = {r.stdout.strip().rsplit("host=", 1)[1] for r in results}
        assert len(sockets) == 1
        # the last starter to exit stopped it
        assert not (pgdata / "postmaster.pid").exists()
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a system user needs root (as on CI)")
def test_starters_at_once_without_the_system_user_create_it_once() -> None:
    name = f"pbrace{uuid.uuid4().hex[:8]}"
    work = TEST_VAR / f"race-{name}"
    try:
        results = run_at_once(work, "user", name)
        assert [r.returncode for r in results] == [0] * STARTERS, [r.stderr[-2000:] for r in results]
        assert pwd.getpwnam(name).pw_name == name
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False, timeout=60)
        shutil.rmtree(work, ignore_errors=True)
