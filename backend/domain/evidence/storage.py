"""Content-addressed blob storage for evidence files and submission packages, on obstore: one class over any
object store obstore speaks (the local filesystem under `var/` by default, an S3-compatible store for
deployments, memory for tests).

A blob's key is the SHA-256 of its bytes, hex. `put` streams the bytes into a temporary object (a multipart
upload under `tmp/`) while hashing and counting them, refuses them as soon as they pass `max_bytes` (before
the blob is whole), and only then renames them to their key: an interrupted or refused upload aborts its
multipart upload and leaves nothing behind, and the same bytes uploaded twice are stored once. A blob of one
part (under PART_SIZE) is held in memory and written straight to its key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import queue
import re
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
from obstore.store import LocalStore, S3Store

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from backend.settings import Settings, StorageSettings

CHUNK = 1024 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3 needs ≥ 5 MiB for every part but the last; one part is held in memory
PARTS_IN_FLIGHT = 2  # parts written at once: an upload holds a few parts in memory at most
_KEY = re.compile(r"[0-9a-f]{64}")
_TEMPORARY = re.compile(r"tmp/[0-9a-f]{32}")


class TooLarge(ValueError):
    """The stream passed the size limit; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class EmptyBlob(ValueError):
    """The stream had no bytes; nothing was stored."""


class _Abandoned(Exception):
    """Raised into a multipart upload's stream to make obstore abort it (our caller failed or was cancelled)."""


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


def _valid_key(sha256: str) -> str:
    if not _KEY.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 key: {sha256!r}")
    return sha256


class Storage:
    """Blobs in an obstore store: under `<sha256>`, or `ab/cd/<sha256>` with `fan_out` (the local layout, a
    few hundred entries per folder); temporary objects under `tmp/`."""

    def __init__(self, store: ObjectStore | None, *, fan_out: bool = False) -> None:
        self._store = store
        self.fan_out = fan_out

    @property
    def store(self) -> ObjectStore:
        assert self._store is not None
        return self._store

    def key_path(self, sha256: str) -> str:
        key = _valid_key(sha256)
        return f"{key[:2]}/{key[2:4]}/{key}" if self.fan_out else key

    def _temporary_path(self) -> str:
        return f"tmp/{uuid.uuid4().hex}"

    async def put(self, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None, head: bytes = b"") -> Stored:
        digest = hashlib.sha256()
        # Hashing in a thread of its own, a few chunks behind the stream (hashlib releases the GIL), while
        # obstore writes the parts beside it: a large stream goes at the speed of its hash.
        hasher = _Worker(digest.update)
        size = 0
        held: list[bytes] = []  # the first part, until the stream proves longer than one
        held_size = 0
        upload: _Upload | None = None
        try:
            async for chunk in _prefixed(head, chunks):
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(max_bytes)
                await hasher.feed(chunk)
                if upload is not None:
                    await upload.send(chunk)
                    continue
                held.append(chunk)
                held_size += len(chunk)
                if held_size >= PART_SIZE:
                    upload = _Upload(self.store, self._temporary_path())
                    for part in held:
                        await upload.send(part)
                    held, held_size = [], 0
            if size == 0:
                raise EmptyBlob("empty")
            await hasher.finish()
            key = digest.hexdigest()
            if upload is None:  # one part: straight to its key
                if await self._size(key) is not None:
                    return Stored(key, size, created=False)
                await obstore.put_async(self.store, self.key_path(key), b"".join(held), use_multipart=False)
                await self._written(key)
                return Stored(key, size, created=True)
            await upload.finish()
        except BaseException:
            hasher.abandon()
            if upload is not None:
                await upload.abort()
            raise
        renamed = False
        try:
            if await self._size(key) is not None:
                return Stored(key, size, created=False)
            await obstore.rename_async(self.store, upload.path, self.key_path(key))
            renamed = True
            await self._written(key)
            return Stored(key, size, created=True)
        finally:
            if not renamed:
                with contextlib.suppress(FileNotFoundError):
                    await obstore.delete_async(self.store, upload.path)

    async def _written(self, sha256: str) -> None:
        """A new blob is in place (the local storage makes it durable)."""

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks (FileNotFoundError if absent)."""
        result = await obstore.get_async(self.store, self.key_path(sha256))
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield chunk

    async def _size(self, sha256: str) -> int | None:
        try:
            meta = await obstore.head_async(self.store, self.key_path(sha256))
        except FileNotFoundError:
            return None
        return meta["size"]

    async def exists(self, sha256: str) -> bool:
        return await self._size(sha256) is not None

    async def size(self, sha256: str) -> int | None:
        return await self._size(sha256)

    async def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, self.key_path(sha256))

    async def keys(self) -> AsyncIterator[str]:
        """Every stored key (for `parboard evidence check`)."""
        async for batch in obstore.list(self.store, chunk_size=1000):
            for meta in batch:
                path = meta["path"]
                key = path.rsplit("/", 1)[-1]
                if _KEY.fullmatch(key) and path == self.key_path(key):
                    yield key

    async def temporaries(self) -> AsyncIterator[Temporary]:
        """Every temporary object (for `parboard evidence check`: old ones were left by a killed process). On
        S3, a multipart upload a killed process never completed nor aborted is not an object: the bucket's
        rule aborting incomplete multipart uploads removes it (docs/operations.md)."""
        async for batch in obstore.list(self.store, prefix="tmp", chunk_size=1000):
            for meta in batch:
                yield Temporary(meta["path"], meta["size"], meta["last_modified"])

    async def remove_temporary(self, name: str) -> None:
        if not _TEMPORARY.fullmatch(name):
            raise ValueError(f"not a temporary object of this storage: {name}")
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, name)


class LocalStorage(Storage):
    """Blobs under `root/ab/cd/<sha256>`, written through `root/tmp/` and renamed into place (atomic), then
    synced to disk."""

    def __init__(self, root: Path) -> None:
        super().__init__(None, fan_out=True)
        self.root = root
        self.tmp = root / "tmp"

    @property
    def store(self) -> ObjectStore:
        """Made on first use, with its folder (obstore needs the folder; a refused restore leaves none)."""
        if self._store is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._store = LocalStore(self.root)
        return self._store

    def path(self, sha256: str) -> Path:
        return self.root / self.key_path(sha256)

    def _temporary_path(self) -> str:
        return f"tmp/{uuid.uuid4().hex}.part"

    async def _written(self, sha256: str) -> None:
        await asyncio.to_thread(_sync, self.path(sha256))

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        """Read by ranges of CHUNK: obstore's stream of a local file comes in small pieces, four times slower."""
        reader = await obstore.open_reader_async(self.store, self.key_path(sha256), buffer_size=CHUNK)
        while chunk := await reader.read(CHUNK):
            yield chunk.to_bytes()

    async def temporaries(self) -> AsyncIterator[Temporary]:
        """The files in `root/tmp/`, read from the disk: obstore writes a part under way beside its object
        (`<name>#<part>`) and does not list it."""
        for path in sorted(self.tmp.glob("*.part*")):
            try:
                status = path.stat()
            except FileNotFoundError:  # finished meanwhile
                continue
            yield Temporary(str(path), status.st_size, datetime.fromtimestamp(status.st_mtime, UTC))

    async def remove_temporary(self, name: str) -> None:
        path = Path(name)
        if path.parent != self.tmp or not re.fullmatch(r"[0-9a-f]{32}\.part(#\d+)?", path.name):
            raise ValueError(f"not a temporary file of this storage: {name}")
        await asyncio.to_thread(path.unlink, missing_ok=True)


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


async def _prefixed(head: bytes, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in chunks:
        yield chunk


class _Upload:
    """A multipart upload of `path` by obstore, fed chunk by chunk from the caller's task through a short queue.
    The caller keeps reading its own stream (and so sees its own errors and cancellation); `abort` makes the
    stream obstore reads raise, on which obstore aborts the multipart upload."""

    def __init__(self, store: ObjectStore, path: str) -> None:
        self.path = path
        # Whole parts cross to obstore (each crossing is a hop between its threads and the event loop).
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(maxsize=1)
        self._part: list[bytes] = []
        self._part_size = 0
        self._task = asyncio.ensure_future(self._run(store))

    async def _run(self, store: ObjectStore) -> None:
        await obstore.put_async(store, self.path, self._stream(), chunk_size=PART_SIZE, max_concurrency=PARTS_IN_FLIGHT)

    async def _stream(self) -> AsyncIterator[bytes]:
        while (item := await self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    async def send(self, chunk: bytes) -> None:
        self._part.append(chunk)
        self._part_size += len(chunk)
        if self._part_size >= PART_SIZE:
            await self._hand_over(b"".join(self._part))
            self._part, self._part_size = [], 0

    async def _hand_over(self, item: bytes | None) -> None:
        if self._task.done():  # obstore stopped reading: its error
            self._task.result()
            raise RuntimeError(f"the upload of {self.path} ended early")
        if not self._queue.full():
            self._queue.put_nowait(item)
            return
        queued = asyncio.ensure_future(self._queue.put(item))
        try:
            await asyncio.wait({queued, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not queued.done():
                queued.cancel()
        if not queued.done() or queued.cancelled():
            self._task.result()
            raise RuntimeError(f"the upload of {self.path} ended early")

    async def finish(self) -> None:
        if self._part:
            await self._hand_over(b"".join(self._part))
            self._part, self._part_size = [], 0
        await self._hand_over(None)
        await self._task

    async def abort(self) -> None:
        """Abandon the upload and wait until obstore has aborted it (even when our task is being cancelled)."""
        self._part, self._part_size = [], 0
        if not self._task.done():
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(_Abandoned())
            await asyncio.wait({self._task})
        if not self._task.cancelled():
            self._task.exception()  # retrieved: the caller raises its own error


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
        chunk's work)."""
        if not self._thread.is_alive():
            return
        self._stopped = True
        self._queue.put(None)
        self._thread.join()


def s3_store(config: StorageSettings) -> S3Store:
    return S3Store(
        config.s3_bucket,
        endpoint=config.s3_endpoint.rstrip("/"),
        region=config.s3_region,
        access_key_id=config.s3_access_key,
        secret_access_key=config.s3_secret_key,
        virtual_hosted_style_request=False,
        client_options={
            "allow_http": config.s3_endpoint.startswith("http://"),
            "connect_timeout": timedelta(seconds=10),
            "read_timeout": timedelta(seconds=120),  # per read: a long download is not cut
            "timeout": timedelta(hours=2),
        },
    )


_S3_STORES: dict[StorageSettings, Storage] = {}


def storage_from_settings(settings: Settings) -> Storage:
    """The configured storage (local under `var/blobs` unless PARBOARD_STORAGE=s3). One S3 storage per
    configuration in a process: it keeps its connections between requests."""
    if settings.storage.backend == "local":
        return LocalStorage(settings.paths.var_dir / "blobs")
    storage = _S3_STORES.get(settings.storage)
    if storage is None:
        storage = _S3_STORES[settings.storage] = Storage(s3_store(settings.storage))
    return storage
