"""The remedy plan's files over the JSON API, with the page's services and checks: the Word plan and the Excel table
downloaded; an existing plan's table previewed row by row (nothing saved) and imported, every task or none."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import docx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.assessments.xlsx import NOT_XLSX
from tests.factories import FOCAL, LEADER, SNGV, STAFF, VIEWER, plan_workbook, sngv_rows
from tests.fixtures.csrf import Csrf
from tests.support import sign_in, signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

PLAN_API = f"/api/v1{SNGV}/ke-hoach/2020"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def _send(client: AsyncTestClient[Litestar], path: str, content: bytes, headers: dict[str, str]) -> Any:
    return await client.post(
        f"{PLAN_API}/{path}", files={"tep": ("ke-hoach-2020.xlsx", content, XLSX_TYPE)}, headers=headers
    )


async def _tasks(engine: AsyncEngine) -> list[Any]:
    return await sngv_rows(engine, "SELECT number, title FROM tasks ORDER BY number")


async def test_a_plan_table_is_previewed_and_imported_whole_or_not_at_all(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    wrong = plan_workbook()  # its second task's deadline is 31/02/2020
    preview = await _send(client, "nhap/xem-truoc", wrong, headers)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["file_name"], body["importable"], body["problems"]) == ("ke-hoach-2020.xlsx", False, [])
    assert [row["ok"] for row in body["rows"]] == [True, False, True]
    assert (body["rows"][1]["deadline"], body["rows"][1]["due"]) == ("31/02/2020", None)
    assert body["rows"][1]["deadline_error"]
    refused = await _send(client, "nhap", wrong, headers)
    assert (refused.status_code, refused.json()["field"]) == (422, "tep")
    assert "Không nhập nhiệm vụ nào: 1 dòng có lỗi" in refused.json()["message"]
    assert await _tasks(owner_engine) == []

    right = plan_workbook(bad_deadline="31/03/2020")
    preview = await _send(client, "nhap/xem-truoc", right, headers)
    assert preview.json()["importable"] is True
    assert preview.json()["rows"][0]["lead_unit"] == "Văn phòng – Thanh tra Sở"
    assert await _tasks(owner_engine) == []  # a preview saves nothing
    imported = await _send(client, "nhap", right, headers)
    assert imported.status_code == 201, imported.text
    numbers = imported.json()["tasks"]
    assert len(numbers) == 3
    assert [row.number for row in await _tasks(owner_engine)] == numbers
    [audit] = await sngv_rows(owner_engine, "SELECT after FROM audit_log WHERE action = 'plan.import'")
    assert (audit.after["file"], audit.after["tasks"]) == ("ke-hoach-2020.xlsx", 3)


@pytest.mark.parametrize("content", [b"", b"not a workbook at all"], ids=["empty", "not-xlsx"])
async def test_a_file_that_is_not_a_plan_table_is_refused_on_tep(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine, content: bytes
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    for path in ("nhap/xem-truoc", "nhap"):
        refused = await _send(client, path, content, headers)
        assert (refused.status_code, refused.json()["field"]) == (422, "tep"), refused.text
        assert NOT_XLSX in refused.json()["message"]
    missing = await client.post(f"{PLAN_API}/nhap", files={"khac": ("a.xlsx", b"x", XLSX_TYPE)}, headers=headers)
    assert missing.status_code == 400
    assert await _tasks(owner_engine) == []


async def test_the_plan_downloads_as_word_and_excel_for_anyone_who_sees_the_board(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    assert (await _send(client, "nhap", plan_workbook(bad_deadline="31/03/2020"), headers)).status_code == 201
    await sign_in(client, VIEWER)
    word = await client.get(f"{PLAN_API}/xuat/ke-hoach.docx")
    assert (word.status_code, word.headers["content-type"]) == (200, DOCX_TYPE)
    text = "\n".join(p.text for p in docx.Document(BytesIO(word.content)).paragraphs)
    text += "\n".join(cell.text for table in docx.Document(BytesIO(word.content)).tables for cell in table._cells)
    assert "Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại" in text
    table = await client.get(f"{PLAN_API}/xuat/ke-hoach.xlsx")
    assert (table.status_code, table.headers["content-type"]) == (200, XLSX_TYPE)
    cells = [str(c) for row in load_workbook(BytesIO(table.content)).active.iter_rows(values_only=True) for c in row]
    assert "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC" in cells
    assert 'filename="ke-hoach-khac-phuc-so-ngoai-vu-2020.xlsx"' in table.headers["content-disposition"]
    missing = await client.get(f"/api/v1{SNGV}/ke-hoach/1999/xuat/ke-hoach.xlsx")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_only_people_who_edit_every_task_may_import(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    right = plan_workbook(bad_deadline="31/03/2020")
    for email in (STAFF, VIEWER):
        headers = await signed_in_headers(client, csrf, email)
        for path in ("nhap/xem-truoc", "nhap"):
            refused = await _send(client, path, right, headers)
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert await _tasks(owner_engine) == []
    headers = await signed_in_headers(client, csrf, LEADER)
    assert (await _send(client, "nhap", right, headers)).status_code == 201
