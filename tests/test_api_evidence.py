"""Evidence over the JSON API for signed-in people, as on the pages: files for a remedy task and for an inspector's
evidence request, with the same limits and all-or-nothing rule, and deleting a file (its uploader or the focal point,
while the year is not submitted)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import FOCAL, SNGV, STAFF, VIEWER, evidence_rows, multipart, sngv_rows
from tests.samples import HTML_BYTES, PDF_BYTES, PNG_BYTES
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

EVIDENCE_API = f"/api/v1{SNGV}/tai-lieu"
Csrf = Callable[..., Awaitable[str]]


async def _upload(client: AsyncTestClient[Litestar], csrf: Csrf, path: str, files: list[tuple[str, bytes]]) -> Any:
    body, content_type = multipart(files)
    headers = {"content-type": content_type, "x-csrftoken": await csrf()}
    return await client.post(f"{EVIDENCE_API}/{path}", content=body, headers=headers)


async def _live(owner_engine: AsyncEngine) -> list[dict[str, object]]:
    return [row for row in await evidence_rows(owner_engine) if row["deleted_at"] is None]


@pytest.mark.usefixtures("criteria")
async def test_a_remedy_task_takes_files_all_or_none_and_their_uploader_deletes_one(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    body = {"area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"}
    created = await client.post(
        f"/api/v1{SNGV}/ke-hoach/2020/nhiem-vu/", json=body, headers={"x-csrftoken": await csrf()}
    )
    assert created.status_code == 201, created.text
    [task] = await sngv_rows(owner_engine, "SELECT id FROM tasks")

    refused = await _upload(client, csrf, f"nhiem-vu/{task.id}", [("a.pdf", PDF_BYTES), ("trang.pdf", HTML_BYTES)])
    assert (refused.status_code, refused.json()["field"]) == (422, "files"), refused.text
    assert await _live(owner_engine) == []
    stored = await _upload(client, csrf, f"nhiem-vu/{task.id}", [("Báo cáo.pdf", PDF_BYTES), ("Ảnh.png", PNG_BYTES)])
    assert stored.status_code == 201, stored.text
    files = stored.json()["files"]
    assert {(f["filename"], f["task_id"]) for f in files} == {("Báo cáo.pdf", str(task.id)), ("Ảnh.png", str(task.id))}
    unknown = await _upload(client, csrf, "nhiem-vu/00000000-0000-0000-0000-000000000000", [("a.pdf", PDF_BYTES)])
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")

    await sign_in(client, VIEWER)
    headers = {"x-csrftoken": await csrf()}
    assert (await client.delete(f"{EVIDENCE_API}/tep/{files[0]['id']}", headers=headers)).status_code == 403
    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await csrf()}
    deleted = await client.delete(f"{EVIDENCE_API}/tep/{files[0]['id']}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"{EVIDENCE_API}/tep/{files[0]['id']}")).status_code == 404
    again = await client.delete(f"{EVIDENCE_API}/tep/{files[0]['id']}", headers=headers)
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    assert [row["filename"] for row in await _live(owner_engine)] == [files[1]["filename"]]
    listed = await client.get(f"{EVIDENCE_API}/nhiem-vu/{task.id}")
    assert [f["filename"] for f in listed.json()["files"]] == [files[1]["filename"]]


async def test_a_file_someone_else_uploaded_is_deleted_only_by_the_focal_point(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    stored = await _upload(client, csrf, "2020/tieu-chi/1.2", [("a.pdf", PDF_BYTES)])
    assert stored.status_code == 201, stored.text
    file_id = stored.json()["files"][0]["id"]
    await sign_in(client, STAFF)
    refused = await client.delete(f"{EVIDENCE_API}/tep/{file_id}", headers={"x-csrftoken": await csrf()})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid")
    assert refused.json()["message"] == "Chỉ người tải lên hoặc đầu mối CCHC được xoá tệp này."
    assert len(await _live(owner_engine)) == 1


async def test_an_evidence_request_takes_files_until_it_is_answered(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    [asked] = await sngv_rows(
        owner_engine,
        "INSERT INTO evidence_requests (id, tenant_id, year, criterion_code, round, message, status, answer)"
        " VALUES (gen_random_uuid(), current_setting('app.tenant_id')::uuid, 2020, '1.2', 1,"
        " 'Bổ sung kế hoạch', 'open', '') RETURNING id",
    )
    await sign_in(client, STAFF)
    stored = await _upload(client, csrf, f"yeu-cau/{asked.id}", [("Giải trình.pdf", PDF_BYTES)])
    assert stored.status_code == 201, stored.text
    assert (stored.json()["year"], stored.json()["files"][0]["criterion"]) == (2020, "1.2")
    [row] = await _live(owner_engine)
    assert row["request_id"] == asked.id
    listed = await client.get(f"{EVIDENCE_API}/yeu-cau/{asked.id}")
    assert (listed.status_code, [f["filename"] for f in listed.json()["files"]]) == (200, ["Giải trình.pdf"])
    await sngv_rows(owner_engine, "UPDATE evidence_requests SET status = 'answered' RETURNING id")
    late = await _upload(client, csrf, f"yeu-cau/{asked.id}", [("Muộn.pdf", PDF_BYTES + b"late")])
    assert (late.status_code, late.json()["field"]) == (409, "files"), late.text
    assert "đã được giải trình" in late.json()["message"]
    assert len(await _live(owner_engine)) == 1
