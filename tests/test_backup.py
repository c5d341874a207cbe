"""`parboard backup` and `parboard restore`: a filled instance (scores, board, evidence, a built submission
package) backed up and restored into a fresh database and storage shows the same pages, passes `evidence
check`, its package verifies; a restore refuses a database that has tenants and a tampered backup."""

from __future__ import annotations

import asyncio
import difflib
import io
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.backup import BackupError, embedded_bin
from backend.backup import backup as backup_to
from backend.backup import restore as restore_from
from backend.db import migrate
from backend.db.engine import create_engine, create_session_maker
from backend.db.runtime import DatabaseUrls
from backend.domain.evidence.check import check_storage
from backend.domain.evidence.storage import LocalStorage, Storage, s3_store
from backend.domain.submissions.verify import check_archive, check_recorded
from backend.settings import PROJECT_ROOT, Settings, StorageSettings
from tests.factories import (
    ASSESS,
    BOARD,
    CRITERION,
    FOCAL,
    PAGE,
    STAFF,
    add_evidence,
    approve_2020,
    build_all,
    create_task,
    post,
    tenant_id,
)
from tests.factories import upload_evidence as upload
from tests.fixtures.submissions import _empty_queue  # noqa: F401 - the fixture
from tests.samples import PDF_BYTES
from tests.support import PARBOARD, free_port, fresh_database, make_settings, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

PAGES = [BOARD, CRITERION, ASSESS, PAGE]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = make_settings()
    return replace(base, paths=replace(base.paths, var_dir=tmp_path / "source"))


def _superuser(url: str) -> str:
    """The embedded server's superuser on the same database (what `parboard backup` uses when embedded)."""
    return make_url(url).set(drivername="postgresql", username="postgres").render_as_string(hide_password=False)


@pytest.fixture
def empty_database() -> Iterator[DatabaseUrls]:
    """A second database, created empty: no migrations, the restore brings the schema."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs the embedded server (a second database and its superuser)")
    with fresh_database() as urls:
        yield urls


def _normalised(page: str) -> str:
    """A page without what differs from one request to the next: CSRF tokens and the session's nonce."""
    page = re.sub(r'(name="_csrf_token" value=")[^"]+', r"\1", page)
    page = re.sub(r'(name="csrf-token" content=")[^"]+', r"\1", page)
    page = re.sub(r'("x-csrftoken": ")[^"]+', r"\1", page)
    return re.sub(r'nonce="[^"]+"', 'nonce=""', page)


async def _pages(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    shown = {}
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        shown[path] = _normalised(response.text)
    return shown


async def _restore_refused(target: Path, database_url: str, storage: Path, match: str) -> None:
    """`restore_from` refuses the backup at `target` with `match` and creates no storage folder."""
    with pytest.raises(BackupError, match=match):
        await restore_from(
            target, database_url=_superuser(database_url), storage=LocalStorage(storage), bin_dir=embedded_bin()
        )
    assert not await asyncio.to_thread(storage.exists)


@pytest.mark.usefixtures("criteria")
async def test_a_restore_reproduces_the_instance_and_refuses_a_filled_database_or_a_tampered_backup(
    client: AsyncTestClient[Litestar],
    jobs_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    database: DatabaseUrls,
    empty_database: DatabaseUrls,
    settings: Settings,
    tmp_path: Path,
) -> None:
    source = LocalStorage(settings.paths.var_dir / "blobs")
    # fill: a self-assessment approved (its scores saved), a board task, an uploaded evidence file, a package
    await approve_2020(client)
    await sign_in(client, STAFF)
    assert (await upload(client, [("Kế hoạch CCHC.pdf", PDF_BYTES)])).status_code == 201
    await sign_in(client, FOCAL)
    assert (await create_task(client, criterion_code="1.2", title="Ban hành kế hoạch CCHC")).status_code in (302, 303)
    assert (await post(client, PAGE)).status_code in (302, 303)
    sngv = await tenant_id(owner_engine)
    assert await build_all(jobs_engine, source, sngv) == ["submitted"]
    await _pages(client)  # the flash message of the last action is shown once, here
    before = await _pages(client)
    assert "Ban hành kế hoạch CCHC" in before[BOARD]
    assert "Kế hoạch CCHC.pdf" in before[CRITERION]

    # back up: a non-empty directory is refused
    target = tmp_path / "backup"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(BackupError, match="không trống"):
        await backup_to(
            tmp_path / "full", database_url=_superuser(database.owner_url), storage=source, bin_dir=embedded_bin()
        )
    summary = await backup_to(
        target, database_url=_superuser(database.owner_url), storage=source, bin_dir=embedded_bin()
    )
    manifest = json.loads((target / "manifest.json").read_text())
    keys = sorted([key async for key in source.keys()])  # noqa: SIM118 - an async iterator, not a dict
    assert [b["sha256"] for b in manifest["blobs"]] == keys
    assert len(keys) == summary.blobs == 2  # the evidence file and the package
    assert manifest["revision"] == summary.revision
    assert summary.revision

    # restore into a fresh database and a fresh storage folder
    restored_settings = replace(settings, paths=replace(settings.paths, var_dir=tmp_path / "restored"))
    restored = LocalStorage(restored_settings.paths.var_dir / "blobs")
    await restore_from(
        target, database_url=_superuser(empty_database.owner_url), storage=restored, bin_dir=embedded_bin()
    )
    assert sorted([key async for key in restored.keys()])  # noqa: SIM118 - an async iterator == keys

    restored_owner = create_engine(empty_database.owner_url)
    try:
        async with restored_owner.connect() as db:
            owned_by_app = await db.scalar(
                text(
                    "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE r.rolname = 'parboard_app' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                )
            )
            forced = await db.scalar(text("SELECT count(*) FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"))
        async with owner_engine.connect() as db:
            forced_before = await db.scalar(
                text("SELECT count(*) FROM pg_class WHERE relrowsecurity AND relforcerowsecurity")
            )
        assert owned_by_app == 0
        assert forced == forced_before
        assert forced

        # the same pages, through the app on the restored database and storage
        app = create_app(restored_settings, empty_database)
        async with AsyncTestClient(app=app) as other:
            await sign_in(other, FOCAL)
            after = await _pages(other)
            for path in PAGES:
                assert after[path] == before[path], "\n".join(
                    difflib.unified_diff(before[path].splitlines(), after[path].splitlines(), lineterm="", n=1)
                )

        # `parboard evidence check` is clean
        report = await check_storage(restored_owner, restored)
        assert report.clean, report
        assert report.rows == 1
        assert report.blobs == 2

        # the package verifies: the archive itself, and against the submission recorded in the restored database
        async with restored_owner.begin() as db:
            await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(sngv)})
            package = await db.scalar(text("SELECT package_sha256 FROM submissions"))
        assert package in keys
        data = b"".join([chunk async for chunk in restored.open(package)])
        verified = check_archive(io.BytesIO(data))
        restored_app = create_engine(empty_database.jobs)  # as `parboard verify` connects
        try:
            async with create_session_maker(restored_app)() as session, session.begin():
                await check_recorded(session, verified)
        finally:
            await restored_app.dispose()
        assert verified.ok, verified.problems
        assert verified.recorded.startswith("Khớp gói đã ghi nhận")
    finally:
        await restored_owner.dispose()

    # a second restore into the now-filled database is refused, nothing changed
    with pytest.raises(BackupError, match=r"đã có [0-9]+ đơn vị"):
        await restore_from(
            target, database_url=_superuser(empty_database.owner_url), storage=restored, bin_dir=embedded_bin()
        )

    # a tampered blob is refused before anything is restored
    blob = target / "blobs" / keys[0][:2] / keys[0]
    blob.write_bytes(blob.read_bytes() + b"!")
    await _restore_refused(target, database.owner_url, tmp_path / "x", f"tệp lưu trữ {keys[0]} không khớp SHA-256")

    # a manifest naming a path instead of a hash is refused, nothing read outside the backup
    blob.write_bytes(blob.read_bytes()[:-1])
    manifest["blobs"].append({"sha256": "../../../etc/passwd", "size": 1})
    (target / "manifest.json").write_text(json.dumps(manifest))
    await _restore_refused(target, database.owner_url, tmp_path / "x", "khoá tệp lưu trữ không hợp lệ")


def _parboard(*args: str, urls: DatabaseUrls, var_dir: Path) -> subprocess.CompletedProcess[str]:
    """The installed `parboard` on a database given by DATABASE_URL, pg_dump/pg_restore as its superuser."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARBOARD_", "DATABASE_"))}
    env |= {
        "PARBOARD_ENV": "test",
        "PARBOARD_SECRET_KEY": "t" * 40,
        "PARBOARD_LOG_JSON": "0",
        "PARBOARD_VAR_DIR": str(var_dir),
        "DATABASE_URL": urls.app_url,
        "DATABASE_OWNER_URL": urls.owner_url,
        "PARBOARD_BACKUP_DATABASE_URL": _superuser(urls.owner_url),
    }
    return subprocess.run(
        [str(PARBOARD), *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300, check=False
    )


async def test_the_commands_back_up_and_restore_with_vietnamese_messages(
    owner_engine: AsyncEngine, database: DatabaseUrls, empty_database: DatabaseUrls, tmp_path: Path
) -> None:
    source = LocalStorage(tmp_path / "source" / "blobs")
    await add_evidence(owner_engine, source, await tenant_id(owner_engine), [("1.2", "Kế hoạch.pdf", PDF_BYTES)])
    target = tmp_path / "backup"

    made = await asyncio.to_thread(_parboard, "backup", str(target), urls=database, var_dir=tmp_path / "source")
    assert made.returncode == 0, made.stderr
    assert f"sao lưu xong vào {target}: 1 tệp lưu trữ ({len(PDF_BYTES)} byte)" in made.stdout
    again = await asyncio.to_thread(_parboard, "backup", str(target), urls=database, var_dir=tmp_path / "source")
    assert again.returncode == 1
    assert "không trống; hãy chọn một thư mục mới" in again.stderr

    into = tmp_path / "restored"
    restored = await asyncio.to_thread(_parboard, "restore", str(target), urls=empty_database, var_dir=into)
    assert restored.returncode == 0, restored.stderr
    assert "khôi phục xong" in restored.stdout
    check = await asyncio.to_thread(_parboard, "evidence", "check", urls=empty_database, var_dir=into)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "đã kiểm tra 1 tệp kiểm chứng, 1 tệp lưu trữ: 0 lệch, 0 mồ côi" in check.stdout

    refused = await asyncio.to_thread(_parboard, "restore", str(target), urls=empty_database, var_dir=into)
    assert refused.returncode == 1
    assert "đơn vị; chỉ khôi phục vào một cơ sở dữ liệu trống" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _bucket(endpoint: str) -> Storage:
    name = f"parboard-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    ).create_bucket(Bucket=name)
    config = StorageSettings(backend="s3", s3_endpoint=endpoint, s3_bucket=name, s3_access_key="t", s3_secret_key="t")
    return Storage(s3_store(config))


async def test_blobs_in_an_object_store_are_backed_up_and_restored_into_another_bucket(
    owner_engine: AsyncEngine, database: DatabaseUrls, empty_database: DatabaseUrls, s3_endpoint: str, tmp_path: Path
) -> None:
    source, restored = _bucket(s3_endpoint), _bucket(s3_endpoint)
    files = [("1.2", "Kế hoạch.pdf", PDF_BYTES), ("1.3", "Báo cáo.txt", "Báo cáo CCHC năm 2020.\n".encode())]
    await add_evidence(owner_engine, source, await tenant_id(owner_engine), files)  # type: ignore[arg-type]
    target = tmp_path / "backup"
    made = await backup_to(target, database_url=_superuser(database.owner_url), storage=source, bin_dir=embedded_bin())
    assert made.blobs == 2
    await restore_from(
        target, database_url=_superuser(empty_database.owner_url), storage=restored, bin_dir=embedded_bin()
    )
    keys = sorted([key async for key in source.keys()])  # noqa: SIM118 - an async iterator
    assert sorted([key async for key in restored.keys()]) == keys  # noqa: SIM118 - an async iterator
    for key in keys:
        assert b"".join([c async for c in restored.open(key)]) == b"".join([c async for c in source.open(key)])
    restored_owner = create_engine(empty_database.owner_url)
    try:
        report = await check_storage(restored_owner, restored)
    finally:
        await restored_owner.dispose()
    assert report.clean, report
    assert (report.rows, report.blobs) == (2, 2)


async def test_a_migrated_database_without_tenants_is_refused_too(
    database: DatabaseUrls, empty_database: DatabaseUrls, tmp_path: Path
) -> None:
    target = tmp_path / "backup"
    await backup_to(
        target,
        database_url=_superuser(database.owner_url),
        storage=LocalStorage(tmp_path / "a"),
        bin_dir=embedded_bin(),
    )
    await asyncio.to_thread(migrate.upgrade, empty_database, "head")  # what an operator must not do first
    await _restore_refused(
        target,
        empty_database.owner_url,
        tmp_path / "b",
        r"đã có [0-9]+ bảng; chỉ khôi phục vào một cơ sở dữ liệu trống",
    )
