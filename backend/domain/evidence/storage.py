"""Content-addressed blob storage for evidence files and submission packages: one small interface, the
local filesystem under `var/` by default (an S3-compatible object store for deployments).

A blob's key is the SHA-256 of its bytes, hex. `put` streams the bytes into a temporary object while
hashing and counting them, refuses them as soon as they pass `max_bytes` (before the file is whole), and
only then moves them under their key: an interrupted or refused upload leaves nothing behind, and the
same bytes uploaded twice are stored once.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import queue
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from backend.settings import Settings

CHUNK = 1024 * 1024
WRITEBACK = 32 * 1024 * 1024


class TooLarge(ValueError):
    """The stream passed the size limit; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class EmptyBlob(ValueError):
    """The stream had no bytes; nothing was stored."""


@dataclass(frozen=True)
class Temporary:
    """A blob being written (an upload, a package build), or left behind by a process that was killed."""

    name: str  # as `parboard evidence check` prints it, and as `remove_temporary` takes it
    size: int
    modified: datetime


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    created: bool  # False: the same bytes were already stored


class Storage(Protocol):
    async def put(self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None, head: bytes = b"") -> Stored: ...

    def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks (FileNotFoundError if absent)."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def size(self, sha256: str) -> int | None: ...

    async def delete(self, sha256: str) -> None: ...

    def keys(self) -> AsyncIterator[str]:
        """Every stored key (for `parboard evidence check`)."""
        ...

    def temporaries(self) -> AsyncIterator[Temporary]:
        """Every temporary object (for `parboard evidence check`: old ones were left by a killed process)."""
        ...

    async def remove_temporary(self, name: str) -> None: ...


def _valid_key(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a SHA-256 key: {sha256!r}")
    return sha256


class LocalStorage:
    """Blobs under `root/ab/cd/<sha256>`, written through `root/tmp/` and renamed into place (atomic)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    def path(self, sha256: str) -> Path:
        key = _valid_key(sha256)
        return self.root / key[:2] / key[2:4] / key

    async def put(self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None, head: bytes = b"") -> Stored:
        self.tmp.mkdir(parents=True, exist_ok=True)
        temporary = self.tmp / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        handle = await asyncio.to_thread(open, temporary, "wb")
        # Hashing and writing each in a thread of its own, a few chunks behind the stream: hashlib and file
        # writes release the GIL, so a large stream goes at the speed of its hash (one stream, one core)
        # while the writes, and the disk's writeback, run beside it instead of in turn.
        hasher = _Worker(digest.update)
        writer = _Worker(_Writer(handle))
        try:
            if head:
                size += len(head)
                await hasher.feed(head)
                await writer.feed(head)
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(max_bytes)
                await hasher.feed(chunk)
                await writer.feed(chunk)
            if size == 0:
                raise EmptyBlob("empty")
            await writer.finish()
            await hasher.finish()
            await asyncio.to_thread(_flush_and_sync, handle)
        except BaseException:
            hasher.abandon()
            writer.abandon()
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
        handle.close()
        key = digest.hexdigest()
        target = self.path(key)
        if target.exists():
            temporary.unlink(missing_ok=True)
            return Stored(key, size, created=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, target)
        return Stored(key, size, created=True)

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self.path(sha256), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    async def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    async def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    async def keys(self) -> AsyncIterator[str]:
        for path in sorted(self.root.glob("??/??/*")):
            if len(path.name) == 64:
                yield path.name

    async def temporaries(self) -> AsyncIterator[Temporary]:
        for path in sorted(self.tmp.glob("*.part")):
            try:
                status = path.stat()
            except FileNotFoundError:  # finished meanwhile
                continue
            yield Temporary(str(path), status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))

    async def remove_temporary(self, name: str) -> None:
        path = Path(name)
        if path.parent != self.tmp or path.suffix != ".part":
            raise ValueError(f"not a temporary file of this storage: {name}")
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _flush_and_sync(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


class _Worker:
    """A thread applying `apply` to each chunk fed to it, in order, up to `depth` chunks behind the feeder
    (the feeder waits, without holding the event loop, when it is that far ahead)."""

    def __init__(self, apply: Callable[[bytes], object], depth: int = 4) -> None:
        self._apply = apply
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="storage-put", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None and not self._stopped:
                try:
                    self._apply(chunk)
                except BaseException as exc:  # raised in the feeder by its next call
                    self._error = exc

    async def feed(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        try:
            self._queue.put_nowait(chunk)
        except queue.Full:
            await asyncio.to_thread(self._queue.put, chunk)

    async def finish(self) -> None:
        """Every chunk fed has been applied; raises what `apply` raised."""
        await asyncio.to_thread(self._queue.put, None)
        await asyncio.to_thread(self._thread.join)
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop without applying the chunks still queued; returns once the thread is done (at most one
        chunk's work), so the file can be closed under it."""
        if not self._thread.is_alive():
            return
        self._stopped = True
        self._queue.put(None)
        self._thread.join()


class _Writer:
    """Writes chunks to a file, and every WRITEBACK bytes advises the kernel that the bytes behind are not
    needed again (`POSIX_FADV_DONTNEED`): Linux starts writing them back at once and drops them from the
    page cache once clean. A 2 GB package then goes to disk while it is being built, the final fsync
    waits for the last stretch only, and the build does not push the evidence out of the cache."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._written = 0
        self._advised = 0

    def __call__(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._written += len(chunk)
        if self._written - self._advised >= WRITEBACK and hasattr(os, "posix_fadvise"):
            self._handle.flush()
            start = max(0, self._advised - WRITEBACK)  # the stretch before too: its pages are clean by now
            os.posix_fadvise(self._handle.fileno(), start, self._written - start, os.POSIX_FADV_DONTNEED)
            self._advised = self._written


def storage_from_settings(settings: Settings) -> Storage:
    """The configured storage (local under `var/blobs` unless PARBOARD_STORAGE=s3)."""
    if settings.storage.backend == "local":
        return LocalStorage(settings.paths.var_dir / "blobs")
    from backend.domain.evidence.s3 import S3Storage

    config = settings.storage
    return S3Storage(
        endpoint=config.s3_endpoint,
        bucket=config.s3_bucket,
        region=config.s3_region,
        access_key=config.s3_access_key,
        secret_key=config.s3_secret_key,
    )
