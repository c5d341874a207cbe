"""One rule everywhere: what the board hides from a unit's staff, no other route shows. A task of another unit
is 404 on its card, its evidence panel, its upload, its files' download, preview and delete, and none of its
titles appear on the periodic report page (draft or submitted)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.settings import Settings, StorageSettings
from tests.fixtures.csrf import csrf_token
from tests.support import make_settings, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

SNGV = "/t/ha-tinh/so-ngoai-vu"
BOARD = f"{SNGV}/ke-hoach/2020"
REPORT = f"{SNGV}/bao-cao/2021/nam"  # 2021's reports are on the plan after 2020's results
FOCAL = "thao.ntp@sngv.hatinh.example.vn"  # Văn phòng – Thanh tra Sở
LEADER = "vinh.tq@sngv.hatinh.example.vn"
STAFF = "tuan.pa@sngv.hatinh.example.vn"  # Phòng Hợp tác quốc tế
OTHER_TITLE = "Rà soát quy chế riêng của Văn phòng"
OWN_TITLE = "Cập nhật danh mục hợp tác quốc tế"
PDF_BYTES = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"
BIND_SNGV = (
    "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p ON p.id = t.province_id"
    " WHERE p.code = 'ha-tinh' AND t.code = 'so-ngoai-vu'), true)"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    base = make_settings()
    return replace(base, paths=replace(base.paths, var_dir=tmp_path), storage=StorageSettings())


async def _sql(engine: AsyncEngine, sql: str, **params: object) -> list[Any]:
    async with engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        found = await db.execute(text(sql), params)
        return list(found.all()) if found.returns_rows else []


def _pdf_upload(token: str) -> tuple[bytes, dict[str, str]]:
    boundary = f"----parboard{uuid.uuid4().hex}"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="Biên bản.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + PDF_BYTES
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"content-type": f"multipart/form-data; boundary={boundary}", "x-csrftoken": token}


async def _create(client: AsyncTestClient[Litestar], title: str, unit: str) -> None:
    token = await csrf_token(client, BOARD)
    data = {"kind": "fix", "area_code": "1", "title": title, "deadline_text": "Quý II/2020", "lead_unit_id": unit}
    created = await client.post(f"{BOARD}/them", data={**data, "_csrf_token": token}, follow_redirects=False)
    assert created.status_code in (302, 303), created.text


@pytest.fixture
async def tasks(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> dict[str, Any]:
    """Two overdue tasks, one of the office (with a file) and one of the staff member's unit; then the staff
    member is signed in."""
    units = {row.code: str(row.id) for row in await _sql(owner_engine, "SELECT code, id FROM units")}
    await sign_in(client, FOCAL)
    await _create(client, OTHER_TITLE, units["van-phong-thanh-tra"])
    await _create(client, OWN_TITLE, units["phong-hop-tac-quoc-te"])
    (other, own) = await _sql(owner_engine, "SELECT id, number FROM tasks ORDER BY number")
    body, headers = _pdf_upload(await csrf_token(client, BOARD))
    uploaded = await client.post(
        f"{SNGV}/tai-lieu/nhiem-vu/{other.id}", content=body, headers=headers, follow_redirects=False
    )
    assert uploaded.status_code in (201, 303), uploaded.text
    ((file_id,),) = await _sql(owner_engine, "SELECT id FROM evidence_files WHERE task_id = :t", t=other.id)
    await sign_in(client, STAFF)
    return {"other": other, "own": own, "file": file_id}


async def test_unit_staff_cannot_open_another_unit_s_card_or_its_evidence_panel(
    client: AsyncTestClient[Litestar], tasks: dict[str, Any]
) -> None:
    other, own = tasks["other"], tasks["own"]
    assert (await client.get(f"{BOARD}/the/{other.number}")).status_code == 404
    panel = await client.get(f"{SNGV}/tai-lieu/nhiem-vu/{other.id}")
    assert panel.status_code == 404
    assert "Biên bản.pdf" not in panel.text
    assert (await client.get(f"{SNGV}/tai-lieu/nhiem-vu/{own.id}")).status_code == 200


async def test_unit_staff_cannot_add_files_to_another_unit_s_task(
    client: AsyncTestClient[Litestar], tasks: dict[str, Any], owner_engine: AsyncEngine
) -> None:
    body, headers = _pdf_upload(await csrf_token(client, BOARD))
    refused = await client.post(
        f"{SNGV}/tai-lieu/nhiem-vu/{tasks['other'].id}", content=body, headers=headers, follow_redirects=False
    )
    assert refused.status_code == 404
    assert await _sql(owner_engine, "SELECT count(*) FROM evidence_files") == [(1,)]
    body, headers = _pdf_upload(await csrf_token(client, BOARD))
    allowed = await client.post(
        f"{SNGV}/tai-lieu/nhiem-vu/{tasks['own'].id}", content=body, headers=headers, follow_redirects=False
    )
    assert allowed.status_code in (201, 303), allowed.text


async def test_unit_staff_cannot_download_preview_or_delete_another_unit_s_task_file(
    client: AsyncTestClient[Litestar], tasks: dict[str, Any], owner_engine: AsyncEngine
) -> None:
    file = f"{SNGV}/tai-lieu/tep/{tasks['file']}"
    assert (await client.get(file)).status_code == 404
    assert (await client.get(f"{file}/xem")).status_code == 404
    deleted = await client.post(f"{file}/xoa", headers={"x-csrftoken": await csrf_token(client, BOARD)})
    assert deleted.status_code == 404
    assert await _sql(owner_engine, "SELECT count(*) FROM evidence_files WHERE deleted_at IS NULL") == [(1,)]
    await sign_in(client, FOCAL)
    assert (await client.get(file)).status_code == 200


async def test_the_report_page_shows_unit_staff_only_their_unit_s_tasks(
    client: AsyncTestClient[Litestar], tasks: dict[str, Any]
) -> None:
    page = await client.get(REPORT)
    assert page.status_code == 200, page.text
    assert OWN_TITLE in page.text
    assert OTHER_TITLE not in page.text
    assert "Văn phòng – Thanh tra Sở" not in page.text
    await sign_in(client, FOCAL)
    assert OTHER_TITLE in (await client.get(REPORT)).text


async def test_a_submitted_report_shows_unit_staff_only_their_unit_s_tasks(
    client: AsyncTestClient[Litestar], tasks: dict[str, Any]
) -> None:
    await sign_in(client, LEADER)
    submitted = await client.post(
        f"{REPORT}/nop", data={"_csrf_token": await csrf_token(client, BOARD)}, follow_redirects=False
    )
    assert submitted.status_code in (302, 303), submitted.text
    assert OTHER_TITLE in (await client.get(REPORT)).text  # the frozen snapshot, as sent
    await sign_in(client, STAFF)
    page = await client.get(REPORT)
    assert page.status_code == 200
    assert OWN_TITLE in page.text
    assert OTHER_TITLE not in page.text
