"""The S3-compatible storage against a real S3 API over HTTP on 127.0.0.1 (moto's server): content
addressed, refused while streaming, multipart uploads for large blobs, nothing left behind on refusal."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import boto3
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer

from backend.domain.evidence import s3 as s3_module
from backend.domain.evidence.s3 import S3Storage
from backend.domain.evidence.storage import EmptyBlob, TooLarge
from backend.settings import Settings, StorageSettings
from tests.support import free_port, make_settings, sign_in
from tests.test_evidence import multipart


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


@pytest.fixture
def storage(endpoint: str, bucket: str) -> S3Storage:
    return S3Storage(endpoint=endpoint, bucket=bucket, region="us-east-1", access_key="test", secret_key="test")


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


async def _read(storage: S3Storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open(key)])


async def test_small_blob_is_stored_once_under_its_hash(storage: S3Storage, endpoint: str) -> None:
    data = "Kế hoạch số 640".encode() * 100
    first = await storage.put(_chunks(data))
    again = await storage.put(_chunks(data))
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert first.created
    assert not again.created
    assert await _read(storage, first.sha256) == data
    assert await storage.size(first.sha256) == len(data)
    assert [key async for key in storage.keys()] == [first.sha256]  # noqa: SIM118 - an async iterator
    await storage.delete(first.sha256)
    assert not await storage.exists(first.sha256)
    with pytest.raises(FileNotFoundError):
        await _read(storage, first.sha256)


async def test_large_blob_goes_through_a_multipart_upload(
    storage: S3Storage, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "PART_SIZE", 5 * 1024 * 1024)
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256 + 7)  # three parts, the last one short
    stored = await storage.put(_chunks(data))
    assert stored.size == len(data)
    assert await _read(storage, stored.sha256) == data
    assert _objects(endpoint, storage.bucket) == [stored.sha256]  # the temporary object is gone


async def test_refused_blobs_leave_nothing(storage: S3Storage, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "PART_SIZE", 5 * 1024 * 1024)
    with pytest.raises(TooLarge):
        await storage.put(_chunks(b"x" * (11 * 1024 * 1024)), max_bytes=10 * 1024 * 1024)
    with pytest.raises(EmptyBlob):
        await storage.put(_chunks(b""))

    async def broken() -> AsyncIterator[bytes]:
        yield b"y" * (6 * 1024 * 1024)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await storage.put(broken())
    assert _objects(endpoint, storage.bucket) == []


@pytest.fixture
def settings(endpoint: str, bucket: str) -> Settings:
    base = make_settings()
    storage = StorageSettings(
        backend="s3",
        max_upload_bytes=1024 * 1024,
        s3_endpoint=endpoint,
        s3_bucket=bucket,
        s3_access_key="test",
        s3_secret_key="test",
    )
    return replace(base, storage=storage)


@pytest.mark.usefixtures("demo_tenants")
async def test_the_app_uploads_to_and_downloads_from_s3(
    client: AsyncTestClient[Litestar], settings: Settings, endpoint: str, bucket: str
) -> None:
    await sign_in(client, "tuan.pa@sngv.hatinh.example.vn")
    path = "/t/ha-tinh/so-ngoai-vu/tai-lieu/2020/tieu-chi/1.2"
    page = await client.get(path)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token
    data = b"%PDF-1.7\n" + "Kế hoạch".encode() * 1000
    body, content_type = multipart([("Kế hoạch.pdf", data)])
    response = await client.post(
        path, content=body, headers={"content-type": content_type, "x-csrftoken": token.group(1), "HX-Request": "true"}
    )
    assert response.status_code == 201, response.text
    file_id = re.search(r"/tai-lieu/tep/([0-9a-f-]{36})", response.text)
    assert file_id
    download = await client.get(f"/t/ha-tinh/so-ngoai-vu/tai-lieu/tep/{file_id.group(1)}")
    assert download.status_code == 200
    assert download.content == data
    assert _objects(endpoint, bucket) == [hashlib.sha256(data).hexdigest()]


async def test_temporaries_left_by_a_killed_process_are_listed_and_removed(storage: S3Storage, endpoint: str) -> None:
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    copied, pending = f"tmp/{uuid.uuid4().hex}", f"tmp/{uuid.uuid4().hex}"
    client.put_object(Bucket=storage.bucket, Key=copied, Body=b"x" * 100)  # completed, never copied to its key
    upload = client.create_multipart_upload(Bucket=storage.bucket, Key=pending)["UploadId"]  # never completed
    found = [t async for t in storage.temporaries()]
    assert sorted(t.name for t in found) == sorted([copied, f"{pending}?uploadId={upload}"])
    assert next(t for t in found if t.name == copied).size == 100
    with pytest.raises(ValueError, match="not a temporary"):
        await storage.remove_temporary("a" * 64)
    for temporary in found:
        await storage.remove_temporary(temporary.name)
    assert [t async for t in storage.temporaries()] == []
    assert _objects(endpoint, storage.bucket) == []
