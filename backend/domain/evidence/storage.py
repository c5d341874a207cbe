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
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from backend.settings import Settings

CHUNK = 1024 * 1024


class TooLarge(ValueError):
    """The stream passed the size limit; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class EmptyBlob(ValueError):
    """The stream had no bytes; nothing was stored."""


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
        try:
            if head:
                digest.update(head)
                size += len(head)
                await asyncio.to_thread(handle.write, head)
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(max_bytes)
                # hashing and writing side by side: hashlib releases the GIL on large buffers, so the two
                # threads overlap and a package streams at the speed of the slower one, not of the sum
                await asyncio.gather(asyncio.to_thread(digest.update, chunk), asyncio.to_thread(handle.write, chunk))
            if size == 0:
                raise EmptyBlob("empty")
            await asyncio.to_thread(_flush_and_sync, handle)
        except BaseException:
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


def _flush_and_sync(handle) -> None:  # type: ignore[no-untyped-def]
    handle.flush()
    os.fsync(handle.fileno())


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
