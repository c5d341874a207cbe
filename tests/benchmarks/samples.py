"""Where a sampled server spent each request: `python -m tests.benchmarks.samples <run.pyisession> <requests>`.

Reads the session that `--sample` of `tests.benchmarks.national_shape` writes (pyinstrument, the server's main
thread) and prints, per request of the pages (static files left out), the time in each function besides its
callees' waits. A sample whose innermost frame is asyncpg's awaiting of an answer is the wait on PostgreSQL
(pyinstrument gives the time the loop slept to the coroutine it resumes): it is counted apart, by the
application's function that made the statement. On a loaded machine the times include the server's moments off
the CPU, spread in proportion: compare shares within one run, not milliseconds across runs.
"""

from __future__ import annotations

import sys
from collections import Counter

from pyinstrument.session import Session

from backend.settings import PROJECT_ROOT

WAITS = {
    "__do_execute  asyncpg/prepared_stmt.py",
    "execute  asyncpg/connection.py",
    "_do_execute  asyncpg/connection.py",
}
APPLICATION = "handle  backend/web/middleware.py"
ROOT = f"{PROJECT_ROOT}/"


def _name(identifier: str) -> str:
    function, _, rest = identifier.partition("\x00")
    path = rest.partition("\x00")[0]
    return f"{function}  {path.split('site-packages/')[-1].removeprefix(ROOT)}"


def main(argv: list[str]) -> int:
    session, requests, shown = Session.load(argv[0]), int(argv[1]), int(argv[2]) if len(argv) > 2 else 60
    running = waiting = 0.0
    spent: Counter[str] = Counter()
    waits: Counter[str] = Counter()
    for stack, seconds in session.frame_records:
        names = [_name(frame) for frame in stack]
        if not any(n.startswith(APPLICATION) for n in names) or any("static" in n.lower() for n in names):
            continue
        if names[-1] in WAITS:
            waiting += seconds
            ours = [n for n in names if "asyncpg" not in n and "sqlalchemy" not in n]
            waits[ours[-1]] += seconds
            continue
        running += seconds
        spent.update(dict.fromkeys(names, seconds))
    print(f"per request: {1000 * running / requests:.2f} ms running, {1000 * waiting / requests:.2f} ms on PostgreSQL")
    for name, seconds in spent.most_common(shown):
        print(f"{1000 * seconds / requests:8.2f} ms {100 * seconds / running:5.1f} %  {name}")
    print("waits on PostgreSQL, by the function that made the statement:")
    for name, seconds in waits.most_common(12):
        print(f"{1000 * seconds / requests:8.2f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
