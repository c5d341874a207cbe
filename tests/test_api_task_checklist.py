"""A remedy task's checklist and comments over the JSON API: the card page's rules (who ticks, who comments), bad
input refused on its field with nothing saved, and another tenant's task nowhere to be found."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import COMMUNE_FOCAL, FOCAL, STAFF, VIEWER, sngv_rows
from tests.fixtures.csrf import Csrf
from tests.support import assert_refused_on_field, signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

TASKS = "/api/v1/t/ha-tinh/so-ngoai-vu/ke-hoach/2020/nhiem-vu"
COMMUNE_TASKS = "/api/v1/t/ha-tinh/phuong-thanh-sen/ke-hoach/2020/nhiem-vu"


async def _task(client: AsyncTestClient[Litestar], headers: dict[str, str], **fields: Any) -> None:
    body = {"area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"} | fields
    response = await client.post(TASKS, json=body, headers=headers)
    assert response.status_code == 201, response.text


async def test_checklist_items_are_added_ticked_and_unticked(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await _task(client, headers)
    assert (await client.get(f"{TASKS}/1/viec-can-lam")).json() == []
    first = await client.post(f"{TASKS}/1/viec-can-lam", json={"text": "  Dự thảo  "}, headers=headers)
    assert first.status_code == 201, first.text
    items = (await client.post(f"{TASKS}/1/viec-can-lam", json={"text": "Trình ký"}, headers=headers)).json()
    assert [(i["position"], i["text"], i["done"]) for i in items] == [(0, "Dự thảo", False), (1, "Trình ký", False)]

    item = items[0]["id"]
    ticked = await client.put(f"{TASKS}/1/viec-can-lam/{item}", json={"done": True}, headers=headers)
    assert ticked.status_code == 200, ticked.text
    assert [i["done"] for i in ticked.json()] == [True, False]
    again = await client.put(f"{TASKS}/1/viec-can-lam/{item}", json={"done": True}, headers=headers)
    assert [i["done"] for i in again.json()] == [True, False]  # a tick is a state, not a toggle: a retry is harmless
    unticked = await client.put(f"{TASKS}/1/viec-can-lam/{item}", json={"done": False}, headers=headers)
    assert [i["done"] for i in unticked.json()] == [False, False]
    rows = await sngv_rows(owner_engine, "SELECT text, done FROM task_checklist_items ORDER BY position")
    assert [tuple(r) for r in rows] == [("Dự thảo", False), ("Trình ký", False)]

    missing = await client.put(f"{TASKS}/1/viec-can-lam/{uuid.uuid4()}", json={"done": True}, headers=headers)
    assert (missing.status_code, missing.json()["message"]) == (404, "Không tìm thấy việc cần làm.")


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"text": "   "}, 422, "text", "Nhập nội dung việc cần làm."),
        ({"text": "x" * 501}, 422, "text", "Tối đa 500 ký tự."),
        ({"text": None}, 400, "text", ""),
        ({}, 400, "text", ""),
        ({"text": "a", "màu": "đỏ"}, 400, None, ""),
    ],
)
async def test_a_bad_checklist_item_is_refused_on_its_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
    owner_engine: AsyncEngine,
    body: dict[str, Any],
    status: int,
    field: str | None,
    message: str,
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await _task(client, headers)
    response = await client.post(f"{TASKS}/1/viec-can-lam", json=body, headers=headers)
    assert_refused_on_field(response, status, field, message)
    assert await sngv_rows(owner_engine, "SELECT id FROM task_checklist_items") == []


async def test_comments_are_posted_by_whoever_sees_the_task(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await _task(client, headers)
    posted = await client.post(f"{TASKS}/1/trao-doi", json={"body": "Đề nghị phòng\r\nkhẩn trương "}, headers=headers)
    assert posted.status_code == 201, posted.text
    comment = posted.json()
    assert (comment["body"], comment["author_name"]) == ("Đề nghị phòng\nkhẩn trương", "Nguyễn Thị Phương Thảo")

    headers = await signed_in_headers(client, csrf, VIEWER)  # a viewer may not edit the card, but may comment on it
    assert (await client.post(f"{TASKS}/1/trao-doi", json={"body": "Đã rõ"}, headers=headers)).status_code == 201
    listed = (await client.get(f"{TASKS}/1/trao-doi")).json()
    assert [c["body"] for c in listed] == ["Đề nghị phòng\nkhẩn trương", "Đã rõ"]

    for body, status, field in (({"body": " \n "}, 422, "body"), ({"body": 5}, 400, "body"), ({}, 400, "body")):
        refused = await client.post(f"{TASKS}/1/trao-doi", json=body, headers=headers)
        assert (refused.status_code, refused.json()["field"]) == (status, field), refused.text
        assert not refused.json()["message"].isascii()
    assert len(await sngv_rows(owner_engine, "SELECT id FROM task_comments")) == 2


async def test_who_may_touch_a_checklist_and_another_tenant_s_task_is_not_found(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    units = {r.code: str(r.id) for r in await sngv_rows(owner_engine, "SELECT code, id FROM units")}
    await _task(client, headers, lead_unit_id=units["phong-hop-tac-quoc-te"])
    await _task(client, headers, lead_unit_id=units["van-phong-thanh-tra"])
    item = (await client.post(f"{TASKS}/1/viec-can-lam", json={"text": "Dự thảo"}, headers=headers)).json()[0]["id"]

    headers = await signed_in_headers(client, csrf, VIEWER)
    assert len((await client.get(f"{TASKS}/1/viec-can-lam")).json()) == 1
    refused = await client.post(f"{TASKS}/1/viec-can-lam", json={"text": "Không được"}, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    tick = await client.put(f"{TASKS}/1/viec-can-lam/{item}", json={"done": True}, headers=headers)
    assert tick.status_code == 403

    headers = await signed_in_headers(
        client, csrf, STAFF
    )  # their unit's task: theirs to tick; the other unit's is hidden
    assert (await client.put(f"{TASKS}/1/viec-can-lam/{item}", json={"done": True}, headers=headers)).status_code == 200
    hidden = await client.post(f"{TASKS}/2/viec-can-lam", json={"text": "Không thấy"}, headers=headers)
    assert hidden.status_code == 404
    assert (await client.post(f"{TASKS}/2/trao-doi", json={"body": "x"}, headers=headers)).status_code == 404

    headers = await signed_in_headers(client, csrf, COMMUNE_FOCAL)
    for response in (
        await client.get(f"{COMMUNE_TASKS}/1/viec-can-lam"),
        await client.get(f"{COMMUNE_TASKS}/1/trao-doi"),
        await client.post(f"{COMMUNE_TASKS}/1/viec-can-lam", json={"text": "x"}, headers=headers),
        await client.put(f"{COMMUNE_TASKS}/1/viec-can-lam/{item}", json={"done": False}, headers=headers),
        await client.post(f"{COMMUNE_TASKS}/1/trao-doi", json={"body": "x"}, headers=headers),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert (await client.get(f"{TASKS}/1/viec-can-lam")).status_code == 403
    rows = await sngv_rows(owner_engine, "SELECT text, done FROM task_checklist_items")
    assert [tuple(r) for r in rows] == [("Dự thảo", True)]
    assert await sngv_rows(owner_engine, "SELECT id FROM task_comments") == []
