"""One log format per run: structlog's events and the standard library's loggers (uvicorn, alembic, pgqueuer)
come out the same way, JSON lines off a terminal."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from backend.settings import PROJECT_ROOT

SCRIPT = """
import logging
from backend.logging import configure_logging, get_logger
configure_logging(json=True, level="INFO")
configure_logging(json=True, level="INFO")  # a second app in the same process: still one line per event
get_logger("parboard.test").info("structlog event", n=1)
logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8000")
logging.getLogger("alembic.runtime.migration").warning("Running upgrade %s", "0015 -> 0016")
logging.getLogger("pgqueuer").debug("below the level: not shown")
"""


def test_every_logger_of_a_run_writes_json_lines_once() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60, cwd=PROJECT_ROOT
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    events = [(line["level"], line["event"]) for line in lines]
    assert events == [
        ("info", "structlog event"),
        ("info", "Uvicorn running on http://127.0.0.1:8000"),
        ("warning", "Running upgrade 0015 -> 0016"),
    ]
    assert lines[1]["logger"] == "uvicorn.error"
    assert all("timestamp" in line for line in lines)


def test_configuring_keeps_handlers_that_are_not_ours() -> None:
    from backend.logging import configure_logging

    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    try:
        configure_logging(json=True, level="WARNING")
        assert other in logging.getLogger().handlers
        assert [h.get_name() for h in logging.getLogger().handlers].count("parboard") == 1
    finally:
        logging.getLogger().removeHandler(other)
