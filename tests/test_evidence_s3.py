"""The storage on obstore against a real S3 API over HTTP on 127.0.0.1 (moto's server), the local disk and
memory: content addressed, refused while streaming, multipart uploads for large blobs, nothing left behind on
refusal, failure or cancellation."""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer
from obstore.store import MemoryStore

from backend.domain.evidence import storage as storage_module
from backend.domain.evidence.storage import EmptyBlob, LocalStorage, Storage, TooLarge, s3_store
from backend.settings import Settings, StorageSettings
from tests.factories import multipart
from tests.support import free_port, make_settings, sign_in


@pytest.fixture
def bucket() -> str:
    return f"parboard-{uuid.uuid4().hex[:12]}"  # moto's state is per process: one bucket per test


@pytest.fixture
def endpoint(bucket: str) -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=bucket)
    try:
        yield url
    finally:
        server.stop()


def _s3_settings(endpoint: str, bucket: str) -> StorageSettings:
    return StorageSettings(
        backend="s3",
        max_upload_bytes=1024 * 1024,
        s3_endpoint=endpoint,
        s3_bucket=bucket,
        s3_access_key="test",
        s3_secret_key="test",
    )


@pytest.fixture
def storage(endpoint: str, bucket: str) -> Storage:
    return Storage(s3_store(_s3_settings(endpoint, bucket)))


def _objects(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    listing = client.list_objects_v2(Bucket=bucket)
    uploads = client.list_multipart_uploads(Bucket=bucket)
    return [o["Key"] for o in listing.get("Contents", [])] + [u["Key"] for u in uploads.get("Uploads", [])]


async def _chunks(data: bytes, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(storage: Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open(key)])


@pytest.fixture(params=["s3", "local", "memory"])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """The same contract on each store obstore gives us."""
    if request.param == "s3":
        return Storage(s3_store(_s3_settings(request.getfixturevalue("endpoint"), request.getfixturevalue("bucket"))))
    if request.param == "local":
        return LocalStorage(tmp_path / "blobs")
    return Storage(MemoryStore())


async def _left(storage: Storage) -> list[str]:
    """Every object the store holds, and on the local disk every file (obstore's parts under way included)."""
    if isinstance(storage, LocalStorage):
        return sorted(str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file())
    return sorted([meta["path"] async for batch in storage_module.obstore.list(storage.store) for meta in batch])


async def test_small_blob_is_stored_once_under_its_hash(any_storage: Storage) -> None:
    storage = any_storage
    data = "Kế hoạch số 640".encode() * 100
    first = await storage.put(_chunks(data))
    again = await storage.put(_chunks(data))
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.created
    assert not again.created
    assert await _read(storage, first.sha256) == data
    assert await storage.size(first.sha256) == len(data)
    assert [key async for key in storage.keys()] == [first.sha256]  # noqa: SIM118 - an async iterator
    assert await _left(storage) == [storage.key_path(first.sha256)]
    await storage.delete(first.sha256)
    await storage.delete(first.sha256)  # gone already: no error
    assert not await storage.exists(first.sha256)
    assert await storage.size(first.sha256) is None
    with pytest.raises(FileNotFoundError):
        await _read(storage, first.sha256)
    with pytest.raises(ValueError, match="not a SHA-256 key"):
        await storage.exists("../etc/passwd")


async def test_large_blob_goes_through_a_multipart_upload(
    any_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = any_storage
    monkeypatch.setattr(storage_module, "PART_SIZE", 5 * 1024 * 1024)
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256 + 7)  # three parts, the last one short
    stored = await storage.put(_chunks(data), head=b"%PDF")
    assert stored.sha256 == hashlib.sha256(b"%PDF" + data).hexdigest()
    assert stored.size == len(data) + 4
    assert await _read(storage, stored.sha256) == b"%PDF" + data
    assert await _left(storage) == [storage.key_path(stored.sha256)]  # the temporary object is gone
    again = await storage.put(_chunks(b"%PDF" + data))
    assert not again.created
    assert await _left(storage) == [storage.key_path(stored.sha256)]


async def test_refused_failed_or_cancelled_blobs_leave_nothing(
    any_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = any_storage
    monkeypatch.setattr(storage_module, "PART_SIZE", 5 * 1024 * 1024)
    with pytest.raises(TooLarge):
        await storage.put(_chunks(b"x" * (11 * 1024 * 1024)), max_bytes=10 * 1024 * 1024)
    with pytest.raises(TooLarge):  # refused within the first part, before anything is written
        await storage.put(_chunks(b"x" * 2000), max_bytes=1000)
    with pytest.raises(EmptyBlob):
        await storage.put(_chunks(b""))

    async def broken() -> AsyncIterator[bytes]:
        yield b"y" * (6 * 1024 * 1024)
        yield b"y" * (6 * 1024 * 1024)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put(broken())

    parts_sent = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"z" * (6 * 1024 * 1024)
        yield b"z" * (6 * 1024 * 1024)
        parts_sent.set()
        await asyncio.Event().wait()  # a client that stops sending; the server shuts down
        yield b""

    upload = asyncio.create_task(storage.put(stalled()))
    await parts_sent.wait()
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert await _left(storage) == []
    assert [t async for t in storage.temporaries()] == []


async def test_large_blob_on_s3_leaves_no_multipart_upload(
    storage: Storage, endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen through the S3 API itself (boto3): no object under tmp/, no multipart upload left open."""
    monkeypatch.setattr(storage_module, "PART_SIZE", 5 * 1024 * 1024)
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256 + 7)
    stored = await storage.put(_chunks(data))

    async def broken() -> AsyncIterator[bytes]:
        yield b"y" * (11 * 1024 * 1024)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put(broken())
    assert _objects(endpoint, bucket) == [stored.sha256]


@pytest.fixture
def settings(endpoint: str, bucket: str) -> Settings:
    return replace(make_settings(), storage=_s3_settings(endpoint, bucket))


@pytest.mark.usefixtures("demo_tenants")
async def test_the_app_uploads_to_and_downloads_from_s3(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], endpoint: str, bucket: str
) -> None:
    await sign_in(client, "tuan.pa@sngv.hatinh.example.vn")
    path = "/t/ha-tinh/so-ngoai-vu/tai-lieu/2020/tieu-chi/1.2"
    token = await csrf(path)
    data = b"%PDF-1.7\n" + "Kế hoạch".encode() * 1000
    body, content_type = multipart([("Kế hoạch.pdf", data)])
    response = await client.post(
        path, content=body, headers={"content-type": content_type, "x-csrftoken": token, "HX-Request": "true"}
    )
    assert response.status_code == 201, response.text
    file_id = re.search(r"/tai-lieu/tep/([0-9a-f-]{36})", response.text)
    assert file_id
    download = await client.get(f"/t/ha-tinh/so-ngoai-vu/tai-lieu/tep/{file_id.group(1)}")
    assert download.status_code == 200
    assert download.content == data
    assert _objects(endpoint, bucket) == [hashlib.sha256(data).hexdigest()]


async def test_temporaries_left_by_a_killed_process_are_listed_and_removed(
    storage: Storage, endpoint: str, bucket: str
) -> None:
    """A completed temporary object never renamed to its key is listed and removed. (A multipart upload never
    completed is not an object: the bucket's rule aborting incomplete uploads removes it, docs/operations.md.)"""
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    copied = f"tmp/{uuid.uuid4().hex}"
    client.put_object(Bucket=bucket, Key=copied, Body=b"x" * 100)  # completed, never renamed to its key
    found = [t async for t in storage.temporaries()]
    assert [(t.name, t.size) for t in found] == [(copied, 100)]
    with pytest.raises(ValueError, match="not a temporary"):
        await storage.remove_temporary("a" * 64)
    for temporary in found:
        await storage.remove_temporary(temporary.name)
    assert [t async for t in storage.temporaries()] == []
    assert _objects(endpoint, bucket) == []
