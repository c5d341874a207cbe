"""Evidence files through the app: streaming uploads checked from their content, all or nothing, names kept
in Vietnamese and neutralised, downloads behind the tenant wall, the storage check command."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
import unicodedata
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.sessions import COOKIE
from backend.db.engine import create_session_maker
from backend.db.rls import bind_tenant, remember_session
from backend.domain.evidence.services import MAX_FILES, evidence_counts
from backend.domain.evidence.sniff import DOCX, ODS, ODT, PDF, XLSX, ZIP
from backend.domain.evidence.storage import LocalStorage, Stored
from backend.settings import Settings, StorageSettings
from tests.factories import (
    CRITERION,
    FOCAL,
    SNGV,
    STAFF,
    VIEWER,
    evidence_rows,
    evidence_token,
    multipart,
    upload_evidence,
    upload_one_pdf,
)
from tests.html_support import squash
from tests.samples import (
    DOCX_BYTES,
    HTML_BYTES,
    ODS_BYTES,
    ODT_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    SVG_BYTES,
    TEXT_BYTES,
    XLSX_BYTES,
    ZIP_BYTES,
)
from tests.support import HTMX, LiveServer, make_settings, session_cookie_for, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

STNMT = "/t/ha-tinh/so-tai-nguyen-moi-truong"
OTHER = "duc.hv@stnmt.hatinh.example.vn"
LIMIT = 64 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = make_settings()
    return replace(
        base,
        paths=replace(base.paths, var_dir=tmp_path),
        storage=StorageSettings(max_upload_bytes=LIMIT),
    )


def _blobs(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.paths.var_dir / "blobs")


def _stored_files(settings: Settings) -> list[Path]:
    root = settings.paths.var_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def _audit(owner_engine: AsyncEngine, action: str) -> int:
    async with owner_engine.connect() as connection, connection.begin():
        tenant = await connection.scalar(text("SELECT id FROM tenants WHERE code = 'so-ngoai-vu'"))
        await connection.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        return int(await connection.scalar(text("SELECT count(*) FROM audit_log WHERE action = :a"), {"a": action}))


# -- through the app ------------------------------------------------------------------------------------


async def test_upload_two_files_keeps_the_vietnamese_name(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    nfd = unicodedata.normalize("NFD", "Kế hoạch số 640.pdf")
    response = await upload_evidence(
        client,
        [(nfd, PDF_BYTES), ("Biên bản.docx", DOCX_BYTES)],
        {"description": "Kế hoạch CCHC năm 2020", "document": "Số 640/KH-STNMT ngày 24/02/2023"},
    )
    assert response.status_code == 201, response.text
    assert "Kế hoạch số 640.pdf" in response.text
    assert "2 KB · Số 640/KH-STNMT ngày 24/02/2023" in squash(response.text)  # a size as people read it (2.025 byte)
    # the form starts empty again: the next files are other documents
    assert re.search(r'name="document" maxlength="200" placeholder="[^"]*" value=""', squash(response.text))
    assert re.search(r'name="description" maxlength="2000" value=""', squash(response.text))
    rows = await evidence_rows(owner_engine)
    assert sorted(r["filename"] for r in rows) == ["Biên bản.docx", "Kế hoạch số 640.pdf"]
    pdf = next(r for r in rows if r["content_type"] == PDF)
    assert pdf["document_number"] == "640/KH-STNMT"
    assert str(pdf["document_date"]) == "2023-02-24"
    assert pdf["criterion_code"] == "1.2"
    assert pdf["year"] == 2020
    assert pdf["size"] == len(PDF_BYTES)
    assert await _audit(owner_engine, "evidence.upload") == 2

    download = await client.get(f"{SNGV}/tai-lieu/tep/{pdf['id']}")
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('Kế hoạch số 640.pdf', safe='')}" in disposition
    assert 'filename="Ke hoach so 640.pdf"' in disposition
    assert download.headers["x-content-type-options"] == "nosniff"  # the app's security headers

    preview = await client.get(f"{SNGV}/tai-lieu/tep/{pdf['id']}/xem")
    assert preview.status_code == 200
    assert preview.headers["content-type"].startswith(PDF)
    assert preview.headers["content-disposition"].startswith("inline;")
    # one policy only (the pages' `object-src 'none'` would blank the PDF viewer): nothing loads, no framing
    assert preview.headers.get_list("content-security-policy") == [
        "default-src 'none'; object-src 'self'; frame-ancestors 'self'"
    ]
    docx = next(r for r in rows if r["content_type"] == DOCX)
    not_shown = await client.get(f"{SNGV}/tai-lieu/tep/{docx['id']}/xem")
    assert not_shown.headers["content-disposition"].startswith("attachment;")

    panel = await client.get(CRITERION)
    assert "Kế hoạch số 640.pdf" in panel.text
    assert "24/02/2023" in panel.text


async def test_same_bytes_twice_are_stored_once(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    assert (await upload_evidence(client, [("a.pdf", PDF_BYTES)])).status_code == 201
    assert (
        await upload_evidence(client, [("b.pdf", PDF_BYTES)], path=f"{SNGV}/tai-lieu/2020/tieu-chi/1.3")
    ).status_code == 201
    assert len(await evidence_rows(owner_engine)) == 2
    assert len(_stored_files(settings)) == 1


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("rong.pdf", b"")], "rỗng"),
        ([("gia.docx", PDF_BYTES)], "có đuôi .docx nhưng nội dung là PDF"),
        ([("gia.pdf", DOCX_BYTES)], "có đuôi .pdf nhưng nội dung là Word"),
        ([("virus.pdf", b"MZ\x90\x00" + b"\x00" * 500)], "không phải định dạng được nhận"),
        ([("ok.png", PNG_BYTES), ("rong.pdf", b"")], "Không tệp nào được lưu"),
        ([("trang.pdf", HTML_BYTES)], "“trang.pdf” không phải định dạng được nhận"),
        ([("anh.png", SVG_BYTES)], "“anh.png” không phải định dạng được nhận"),
        ([("ghi-chu.docx", TEXT_BYTES)], "“ghi-chu.docx” không phải định dạng được nhận"),
        ([("ok.pdf", PDF_BYTES), ("trang.pdf", HTML_BYTES)], "Không tệp nào được lưu"),
    ],
)
async def test_bad_files_are_refused_and_nothing_is_kept(
    client: AsyncTestClient[Litestar],
    owner_engine: AsyncEngine,
    settings: Settings,
    files: list[tuple[str, bytes]],
    message: str,
) -> None:
    await sign_in(client, STAFF)
    response = await upload_evidence(client, files)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert 'class="field-error"' in response.text
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []


async def test_over_size_is_refused_while_streaming(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    too_big = [("nho.png", PNG_BYTES), ("lon.pdf", b"%PDF-1.7\n" + b"x" * (LIMIT + 1))]
    response = await upload_evidence(client, too_big)
    assert response.status_code == 422  # what htmx swaps into the row
    assert "“lon.pdf” lớn hơn 64 KB" in response.text
    plain = await upload_evidence(client, too_big, htmx=False)
    assert plain.status_code == 413
    assert "“lon.pdf” lớn hơn" in plain.text
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []


async def test_bad_document_date_is_answered_next_to_the_field(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    response = await upload_evidence(client, [("a.pdf", PDF_BYTES)], {"document": "Số 1/KH ngày 31/02/2023"})
    assert response.status_code == 422
    assert "không có thật" in response.text
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []


async def test_path_traversal_names_are_stored_harmlessly(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    response = await upload_evidence(client, [("../../../etc/passwd.pdf", PDF_BYTES), ("..\\..\\CON.png", PNG_BYTES)])
    assert response.status_code == 201, response.text
    assert sorted(r["filename"] for r in await evidence_rows(owner_engine)) == ["_CON.png", "passwd.pdf"]
    assert all(p.is_relative_to(settings.paths.var_dir / "blobs") for p in _stored_files(settings))


async def test_a_document_number_in_the_name_is_kept(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    response = await upload_evidence(client, [("Quyết định số 640/QĐ-UBND.pdf", PDF_BYTES)])
    assert response.status_code == 201, response.text
    assert [r["filename"] for r in await evidence_rows(owner_engine)] == ["Quyết định số 640∕QĐ-UBND.pdf"]
    assert "Quyết định số 640∕QĐ-UBND.pdf" in response.text


async def test_ten_thousand_parts_are_refused_at_the_twenty_first(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[int] = []
    put = LocalStorage.put

    async def counted(self: LocalStorage, chunks: AsyncIterable[bytes], **options: Any) -> Stored:
        stored.append(1)
        return await put(self, chunks, **options)

    monkeypatch.setattr(LocalStorage, "put", counted)
    await sign_in(client, STAFF)
    files = [(f"{i}.pdf", b"%PDF-1.7\n%" + str(i).encode()) for i in range(10_000)]
    response = await upload_evidence(client, files, htmx=False)
    assert response.status_code == 413
    assert f"tối đa {MAX_FILES} tệp" in response.text
    assert len(stored) == MAX_FILES  # the rest was never read into storage
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []


async def test_twenty_files_are_accepted_and_twenty_one_are_refused_whole(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    files = [(f"{i}.pdf", b"%PDF-1.7\n%" + str(i).encode()) for i in range(MAX_FILES + 1)]
    assert MAX_FILES == 20
    too_many = await upload_evidence(client, files, htmx=False)
    assert too_many.status_code == 413, too_many.text
    assert "Mỗi lần tải lên tối đa 20 tệp." in too_many.text
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []

    enough = await upload_evidence(client, files[:MAX_FILES])
    assert enough.status_code == 201, enough.text
    assert len(await evidence_rows(owner_engine)) == MAX_FILES
    assert len(_stored_files(settings)) == MAX_FILES


async def test_upload_without_csrf_token_is_refused(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    await evidence_token(client)
    body, content_type = multipart([("a.pdf", PDF_BYTES)])
    response = await client.post(CRITERION, content=body, headers={"content-type": content_type})
    assert response.status_code == 403
    forged = await client.post(CRITERION, content=body, headers={"content-type": content_type, "x-csrftoken": "x" * 80})
    assert forged.status_code == 403
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []


async def test_an_upload_with_the_csrf_token_of_another_session_is_refused(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    theirs = await evidence_token(client)
    await sign_in(client, STAFF)
    client.cookies.set("csrftoken", theirs)
    body, content_type = multipart([("a.pdf", PDF_BYTES)], csrf=theirs)
    assert (await client.post(CRITERION, content=body, headers={"content-type": content_type})).status_code == 403
    body, content_type = multipart([("a.pdf", PDF_BYTES)])
    headers = {"content-type": content_type, "x-csrftoken": theirs}
    assert (await client.post(CRITERION, content=body, headers=headers)).status_code == 403
    assert await evidence_rows(owner_engine) == []
    assert (await upload_evidence(client, [("a.pdf", PDF_BYTES)])).status_code == 201  # with the session's own token


async def test_plain_form_post_works_without_javascript(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    token = await evidence_token(client)
    body, content_type = multipart([("a.pdf", PDF_BYTES)], {"description": "x"}, csrf=token)
    response = await client.post(
        CRITERION, content=body, headers={"content-type": content_type}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == CRITERION
    assert len(await evidence_rows(owner_engine)) == 1


async def test_viewer_cannot_upload_and_other_tenant_cannot_download(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    assert (await upload_evidence(client, [("a.pdf", PDF_BYTES)])).status_code == 201
    file_id = (await evidence_rows(owner_engine))[0]["id"]
    await sign_in(client, VIEWER)
    assert (await client.get(f"{SNGV}/tai-lieu/tep/{file_id}")).status_code == 200
    assert (await upload_evidence(client, [("b.pdf", PDF_BYTES + b"1")])).status_code == 403
    await sign_in(client, OTHER)
    assert (await client.get(f"{SNGV}/tai-lieu/tep/{file_id}")).status_code == 403
    # in its own tenant's URL the row is invisible under row-level security
    assert (await client.get(f"{STNMT}/tai-lieu/tep/{file_id}")).status_code == 404
    assert (await client.get(f"{STNMT}/tai-lieu/tep/{file_id}/xem")).status_code == 404
    assert len(await evidence_rows(owner_engine)) == 1


async def test_soft_delete_by_the_uploader_or_focal_point(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    assert (await upload_evidence(client, [("a.pdf", PDF_BYTES), ("b.png", PNG_BYTES)])).status_code == 201
    first = next(r["id"] for r in await evidence_rows(owner_engine) if r["filename"] == "a.pdf")
    second = next(r["id"] for r in await evidence_rows(owner_engine) if r["filename"] == "b.png")
    await sign_in(client, VIEWER)
    token = await evidence_token(client)
    response = await client.post(f"{SNGV}/tai-lieu/tep/{first}/xoa", data={"_csrf_token": token})
    assert response.status_code == 403
    await sign_in(client, STAFF)
    token = await evidence_token(client)
    response = await client.post(f"{SNGV}/tai-lieu/tep/{first}/xoa", data={"_csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    assert "a.pdf" not in response.text
    assert "b.png" in response.text
    assert (await client.get(f"{SNGV}/tai-lieu/tep/{first}")).status_code == 404
    await sign_in(client, FOCAL)
    token = await evidence_token(client)
    response = await client.post(f"{SNGV}/tai-lieu/tep/{second}/xoa", data={"_csrf_token": token}, headers=HTMX)
    assert response.status_code == 200
    rows = await evidence_rows(owner_engine)
    assert all(r["deleted_at"] is not None for r in rows)
    assert await _audit(owner_engine, "evidence.delete") == 2


async def test_interrupted_upload_leaves_nothing(app: Litestar, owner_engine: AsyncEngine, settings: Settings) -> None:
    cookie = await session_cookie_for(app, STAFF)
    with LiveServer(app) as server:
        host, port = server.url.removeprefix("http://").split(":")
        token, csrf_cookie = await asyncio.to_thread(_fetch_token, host, int(port), cookie)

        def post(files: list[tuple[str, bytes]], *, cut: bool) -> bytes:
            body, content_type = multipart(files)
            head = (
                f"POST {CRITERION} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nX-CSRFToken: {token}\r\nHX-Request: true\r\n"
                f"Cookie: {COOKIE}={cookie}; csrftoken={csrf_cookie}\r\nConnection: close\r\n\r\n"
            ).encode()
            with socket.create_connection((host, int(port))) as raw:
                if cut:  # the first file whole, the second half-way, then the connection is gone
                    raw.sendall(head + body[: len(body) * 2 // 3])
                    _wait_for(lambda: len(_stored_files(settings)) > len(kept))  # the server is storing them
                    return b""
                raw.sendall(head + body)
                answer = b""
                while chunk := raw.recv(65536):
                    answer += chunk
                return answer

        whole = await asyncio.to_thread(post, [("truoc.png", PNG_BYTES)], cut=False)
        assert whole.startswith(b"HTTP/1.1 201"), whole[:300]
        kept = _stored_files(settings)
        assert len(kept) == 1
        await asyncio.to_thread(post, [("a.pdf", PDF_BYTES), ("b.pdf", b"%PDF-1.7\n" + b"y" * (LIMIT - 100))], cut=True)
        # the server notices the client went away asynchronously: until it has finished with the request
        await asyncio.to_thread(_wait_for, lambda: not server.server.server_state.tasks)
    assert _stored_files(settings) == kept  # no blob, no temporary file
    assert [r["filename"] for r in await evidence_rows(owner_engine)] == ["truoc.png"]


def _wait_for(condition: Callable[[], bool], seconds: float = 20) -> None:
    """Until `condition` holds (from a thread of the test); bounded."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {seconds} s"
        time.sleep(0.01)


def _fetch_token(host: str, port: int, cookie: str) -> tuple[str, str]:
    with socket.create_connection((host, port)) as raw:
        raw.sendall(
            f"GET {CRITERION} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: {COOKIE}={cookie}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := raw.recv(65536):
            data += chunk
    text_ = data.decode("utf-8", "replace")
    token = re.search(r'name="csrf-token" content="([^"]+)"', text_)
    csrf_cookie = re.search(r"csrftoken=([^;]+);", text_)
    assert token, text_[:500]
    assert csrf_cookie, text_[:500]
    return token.group(1), csrf_cookie.group(1)


async def test_a_failing_disk_write_stores_nothing_and_says_so(tmp_path: Path) -> None:
    """obstore writes the parts off the event loop: a write the disk refuses (here the process's file size
    limit, a real EFBIG) surfaces in `put`, which leaves no temporary file and no blob behind."""
    import resource

    from obstore.exceptions import BaseError

    storage = LocalStorage(tmp_path / "blobs")
    chunk = bytes(range(256)) * 4096  # 1 MiB

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield chunk

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (3 * len(chunk), hard))
    try:
        with pytest.raises(BaseError, match="File too large"):
            await storage.put(chunks())
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
    stored = await storage.put(chunks())  # and the storage is usable again
    assert stored.size == 8 * len(chunk)


async def test_check_command_reports_drift_and_orphans(
    client: AsyncTestClient[Litestar],
    owner_engine: AsyncEngine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backend import cli

    await sign_in(client, STAFF)
    assert (await upload_evidence(client, [("a.pdf", PDF_BYTES), ("b.png", PNG_BYTES)])).status_code == 201
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("backend.db.runtime.resolve", lambda _settings, **_: _urls(owner_engine))

    clean = await asyncio.to_thread(CliRunner().invoke, cli.main, ["evidence", "check"])
    assert clean.exit_code == 0, clean.output
    assert "2 tệp kiểm chứng, 2 tệp lưu trữ: 0 lệch, 0 mồ côi" in clean.output

    storage = _blobs(settings)
    rows = await evidence_rows(owner_engine)
    png = next(r for r in rows if r["filename"] == "b.png")
    storage.path(str(png["sha256"])).unlink()

    async def orphan() -> AsyncIterator[bytes]:
        yield b"%PDF-1.7 orphan"

    stray = await storage.put(orphan())
    drifted = await asyncio.to_thread(CliRunner().invoke, cli.main, ["evidence", "check"])
    assert drifted.exit_code == 1, drifted.output
    assert f"lệch: so-ngoai-vu {png['id']} “b.png”" in drifted.output
    assert "thiếu tệp" in drifted.output
    assert f"mồ côi: {stray.sha256}" in drifted.output


async def test_check_command_reports_and_removes_temporary_files_a_killed_process_left(
    owner_engine: AsyncEngine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backend import cli

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("backend.db.runtime.resolve", lambda _settings, **_: _urls(owner_engine))
    storage = _blobs(settings)
    storage.tmp.mkdir(parents=True)
    left = storage.tmp / f"{uuid.uuid4().hex}.part"  # a package build killed mid-way (SIGKILL, power loss)
    left.write_bytes(b"PK\x03\x04" + b"x" * 1000)
    yesterday = time.time() - 24 * 3600
    os.utime(left, (yesterday, yesterday))
    writing = storage.tmp / f"{uuid.uuid4().hex}.part"  # an upload under way right now
    writing.write_bytes(b"%PDF")

    reported = await asyncio.to_thread(CliRunner().invoke, cli.main, ["evidence", "check"])
    assert reported.exit_code == 1, reported.output
    assert f"tệp tạm bỏ dở: {left} (1004 byte, từ " in reported.output
    assert str(writing) not in reported.output
    assert "0 lệch, 0 mồ côi, 1 tệp tạm bỏ dở" in reported.output
    assert left.exists()

    removed = await asyncio.to_thread(CliRunner().invoke, cli.main, ["evidence", "check", "--remove-stale"])
    assert removed.exit_code == 0, removed.output
    assert f"đã xoá tệp tạm bỏ dở: {left}" in removed.output
    assert not left.exists()
    assert writing.exists()
    younger = await asyncio.to_thread(CliRunner().invoke, cli.main, ["evidence", "check", "--stale-hours", "0"])
    assert younger.exit_code == 1
    assert f"tệp tạm bỏ dở: {writing}" in younger.output


def _urls(owner_engine: AsyncEngine):  # type: ignore[no-untyped-def]
    from backend.db.runtime import DatabaseUrls

    url = owner_engine.url.render_as_string(hide_password=False)
    return DatabaseUrls(app_url=url, owner_url=url)


BIND_SNGV = (
    "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p ON p.id = t.province_id"
    " WHERE p.code = 'ha-tinh' AND t.code = 'so-ngoai-vu'), true)"
)


async def _sql(engine: AsyncEngine, sql: str, **params: object) -> list[Any]:
    async with engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        found = await db.execute(text(sql), params)
        return list(found.all()) if found.returns_rows else []


@pytest.mark.usefixtures("criteria")
async def test_task_card_files_and_board_counts(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    token = await evidence_token(client)
    created = await client.post(
        f"{SNGV}/ke-hoach/2020/them",
        data={"kind": "fix", "area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"}
        | {"_csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code in (302, 303), created.text
    ((task_id, number),) = await _sql(owner_engine, "SELECT id, number FROM tasks")
    card = await client.get(f"{SNGV}/ke-hoach/2020/the/{number}")
    assert f"/tai-lieu/nhiem-vu/{task_id}" in card.text
    path = f"{SNGV}/tai-lieu/nhiem-vu/{task_id}"
    response = await upload_evidence(client, [("Báo cáo.pdf", PDF_BYTES), ("Ảnh.png", PNG_BYTES)], path=path)
    assert response.status_code == 201, response.text
    assert "Báo cáo.pdf" in (await client.get(path, headers=HTMX)).text
    rows = await evidence_rows(owner_engine)
    assert {r["task_id"] for r in rows} == {task_id}
    assert {r["year"] for r in rows} == {2020}

    async with create_session_maker(app_engine)() as db:
        remember_session(db, client.cookies.get(COOKIE))  # the signed-in person's session, as a request's
        await bind_tenant(db, await _tenant_id(owner_engine))
        assert await evidence_counts(db, [task_id, uuid.uuid4()]) == {task_id: 2}
        assert await evidence_counts(db, []) == {}
    assert (await client.get(f"{SNGV}/tai-lieu/nhiem-vu/{uuid.uuid4()}")).status_code == 404


@pytest.mark.usefixtures("criteria")
async def test_submitted_year_is_locked(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    await sign_in(client, FOCAL)
    assert (await upload_evidence(client, [("a.pdf", PDF_BYTES)])).status_code == 201
    token = await evidence_token(client)
    started = await client.post(f"{SNGV}/tu-danh-gia/2020/bat-dau", data={"_csrf_token": token}, follow_redirects=False)
    assert started.status_code in (302, 303), started.text
    await _sql(
        owner_engine,
        "INSERT INTO submissions (id, tenant_id, assessment_id, year, version, status, progress_done, progress_total,"
        " error) SELECT gen_random_uuid(), tenant_id, id, year, 1, 'submitted', 0, 0, '' FROM assessments",
    )
    refused = await upload_evidence(client, [("b.pdf", PDF_BYTES + b"b")])
    assert refused.status_code == 422
    assert "đã nộp" in refused.text
    (file_id,) = (r["id"] for r in await evidence_rows(owner_engine))
    token = await evidence_token(client)
    kept = await client.post(f"{SNGV}/tai-lieu/tep/{file_id}/xoa", data={"_csrf_token": token}, headers=HTMX)
    assert kept.status_code == 422
    assert "đã nộp" in kept.text
    rows = await evidence_rows(owner_engine)
    assert len(rows) == 1
    assert rows[0]["deleted_at"] is None


async def _tenant_id(owner_engine: AsyncEngine) -> uuid.UUID:
    async with owner_engine.connect() as connection:
        found = await connection.scalar(text("SELECT id FROM tenants WHERE code = 'so-ngoai-vu'"))
    assert isinstance(found, uuid.UUID)
    return found


async def test_answer_to_an_evidence_request_takes_files_until_answered(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    (request_id,) = (
        row[0]
        for row in await _sql(
            owner_engine,
            "INSERT INTO evidence_requests (id, tenant_id, year, criterion_code, round, message, status, answer)"
            " VALUES (gen_random_uuid(), current_setting('app.tenant_id')::uuid, 2020, '1.2', 1,"
            " 'Bổ sung kế hoạch', 'open', '') RETURNING id",
        )
    )
    await sign_in(client, STAFF)
    path = f"{SNGV}/tai-lieu/yeu-cau/{request_id}"
    response = await upload_evidence(client, [("Giải trình.pdf", PDF_BYTES)], path=path)
    assert response.status_code == 201, response.text
    # the answer form's hint sends the department to "Tệp kèm giải trình": this panel
    assert '<h4 class="evidence-title">Tệp kèm giải trình (1)</h4>' in squash(response.text)
    (row,) = await evidence_rows(owner_engine)
    assert row["request_id"] == request_id
    assert row["criterion_code"] == "1.2"
    await _sql(owner_engine, "UPDATE evidence_requests SET status = 'answered'")
    late = await upload_evidence(client, [("Muộn.pdf", PDF_BYTES + b"late")], path=path)
    assert late.status_code == 422
    assert "đã được giải trình" in late.text
    assert len(await evidence_rows(owner_engine)) == 1
    await sign_in(client, OTHER)
    assert (await client.get(f"{STNMT}/tai-lieu/yeu-cau/{request_id}")).status_code == 404


@pytest.mark.usefixtures("criteria")
async def test_criterion_rows_load_their_evidence_panel(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, STAFF)
    area = await client.get(f"{SNGV}/tu-danh-gia/2020/linh-vuc/1")
    assert area.status_code == 200, area.text
    assert f'hx-get="{SNGV}/tai-lieu/2020/tieu-chi/1.2"' in area.text
    assert f'href="{SNGV}/tai-lieu/2020/tieu-chi/1.2"' in area.text  # without JavaScript: the panel as a page
    panel = await client.get(CRITERION, headers=HTMX)
    assert panel.text.lstrip().startswith('<section class="evidence-panel"')
    assert 'type="file" multiple' in squash(panel.text)
    assert 'enctype="multipart/form-data"' in squash(panel.text)


async def test_every_accepted_kind_is_kept_with_its_sniffed_type(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    files = [
        ("Bảng điểm.xlsx", XLSX_BYTES),
        ("Văn bản.odt", ODT_BYTES),
        ("Bảng.ods", ODS_BYTES),
        ("Hồ sơ.zip", ZIP_BYTES),
        ("Ảnh chụp.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 50),
        ("scan", PDF_BYTES),  # no extension: the right one is added
    ]
    response = await upload_evidence(client, files)
    assert response.status_code == 201, response.text
    kinds = {r["filename"]: r["content_type"] for r in await evidence_rows(owner_engine)}
    assert kinds == {
        "Bảng điểm.xlsx": XLSX,
        "Văn bản.odt": ODT,
        "Bảng.ods": ODS,
        "Hồ sơ.zip": ZIP,
        "Ảnh chụp.JPG": "image/jpeg",
        "scan.pdf": PDF,
    }


async def test_malformed_requests_get_a_clear_answer(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await sign_in(client, STAFF)
    token = await evidence_token(client)
    plain = await client.post(CRITERION, data={"_csrf_token": token, "files": "x"})
    assert plain.status_code == 415
    assert "multipart/form-data" in plain.text
    body, content_type = multipart([("a.pdf", PDF_BYTES)])
    broken = await client.post(
        CRITERION,
        content=body[: len(body) - 30],  # the closing boundary is missing
        headers={"content-type": content_type, "x-csrftoken": token},
    )
    assert broken.status_code == 400
    assert "không đúng định dạng" in broken.text
    long_name = await upload_evidence(client, [("a" * 10_000 + ".pdf", PDF_BYTES)], htmx=False)
    assert long_name.status_code == 413
    assert "không quá dài" in long_name.text
    nothing = await upload_evidence(client, [])
    assert nothing.status_code == 422
    assert "Hãy chọn ít nhất một tệp" in nothing.text
    assert await evidence_rows(owner_engine) == []
    assert _stored_files(settings) == []


async def test_a_nul_in_the_upload_fields_is_refused_and_other_control_characters_are_dropped(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    with_nul = await upload_evidence(client, [("Kế hoạch.pdf", PDF_BYTES)], {"description": "Kế hoạch\x00 CCHC"})
    assert with_nul.status_code == 422
    assert 'id="ev-2020-1-2-description-error">Dữ liệu gửi lên có ký tự không lưu được' in squash(with_nul.text)
    assert await evidence_rows(owner_engine) == []
    _, row = await upload_one_pdf(
        client,
        owner_engine,
        {"description": "Kế hoạch CCHC\x1b năm 2020", "document": "Số 640/KH-STNMT\x07 ngày 24/02/2023"},
    )
    assert row["description"] == "Kế hoạch CCHC năm 2020"
    assert row["document_number"] == "640/KH-STNMT"
