"""Remedy tasks over the JSON API: the board's rules (who sees, creates, edits and moves which task), the board's
filters, cursor pages that walk every task once, stale versions answered with the fresh task, bad input on its
field with nothing saved, and another tenant's tasks nowhere to be found."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import COMMUNE_FOCAL, FOCAL, LEADER, STAFF, VIEWER, sngv_rows, sngv_units
from tests.fixtures.csrf import Csrf
from tests.support import signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

TASKS = "/api/v1/t/ha-tinh/so-ngoai-vu/ke-hoach/2020/nhiem-vu"
COMMUNE_TASKS = "/api/v1/t/ha-tinh/phuong-thanh-sen/ke-hoach/2020/nhiem-vu"


async def _create(client: AsyncTestClient[Litestar], headers: dict[str, str], **fields: Any) -> Any:
    body = {"area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"} | fields
    return await client.post(TASKS, json=body, headers=headers)


def _edit(version: int, title: str, deadline: str = "Quý II/2020") -> dict[str, Any]:
    return {"version": version, "area_code": "1", "title": title, "deadline_text": deadline}


def _to(column: str, version: int) -> dict[str, Any]:
    return {"version": version, "column": column}


async def test_a_task_is_created_edited_and_moved_with_versions(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    units = await sngv_units(owner_engine)
    created = await _create(
        client,
        headers,
        criterion_code="1.2",
        points_lost="0,08",
        points_max="1.5",
        lead_unit_id=units["van-phong-thanh-tra"],
        labels=["quý", "kế hoạch"],
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["number"], task["version"], task["column"], task["due_date"]) == (1, 1, "chua-thuc-hien", "2020-06-30")
    assert (task["points_lost"], task["points_max"], task["labels"]) == ("0.080", "1.500", ["kế hoạch", "quý"])

    edited = await client.patch(
        f"{TASKS}/1",
        json={"version": 1, "area_code": "1", "title": "Sửa", "deadline_text": "30/06/2020"},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["version"]) == ("Sửa", 2)
    stale = await client.patch(
        f"{TASKS}/1",
        json={"version": 1, "area_code": "1", "title": "Cũ", "deadline_text": "Quý II/2020"},
        headers=headers,
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert (stale.json()["current"]["title"], stale.json()["current"]["version"]) == ("Sửa", 2)

    moved = await client.post(f"{TASKS}/1/di-chuyen", json={"version": 2, "column": "dang-thuc-hien"}, headers=headers)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["column"], moved.json()["version"]) == ("dang-thuc-hien", 3)
    stale_move = await client.post(
        f"{TASKS}/1/di-chuyen", json={"version": 2, "column": "chua-thuc-hien"}, headers=headers
    )
    assert stale_move.status_code == 409
    assert (stale_move.json()["current"]["column"], stale_move.json()["current"]["version"]) == ("dang-thuc-hien", 3)
    rows = await sngv_rows(
        owner_engine, "SELECT t.title, t.version, c.code FROM tasks t JOIN board_columns c ON c.id = t.column_id"
    )
    assert [tuple(r) for r in rows] == [("Sửa", 3, "dang-thuc-hien")]


@pytest.mark.parametrize(
    ("fields", "status", "field", "message"),
    [
        ({"title": ""}, 422, "title", "Nhập giải pháp"),
        ({"deadline_text": "31/02/2020"}, 422, "deadline_text", "không phải là một ngày có thật"),
        ({"area_code": "42"}, 422, "area_code", "không có trong bộ chỉ số"),
        ({"criterion_code": "2.5"}, 422, "criterion_code", "không thuộc lĩnh vực 1"),
        ({"points_lost": "abc"}, 422, "points_lost", "phải là một số"),
        ({"points_lost": "0,0001"}, 422, "points_lost", "3 chữ số thập phân"),
        ({"lead_unit_id": str(uuid.uuid4())}, 422, "lead_unit_id", "Chọn một phòng"),
        ({"lead_unit_id": "không-phải-uuid"}, 400, "lead_unit_id", "Giá trị của «lead_unit_id» không hợp lệ."),
        ({"coordinating_unit_ids": [str(uuid.uuid4())]}, 422, "coordinating_unit_ids", "không hợp lệ"),
        ({"assignee_ids": [str(uuid.uuid4())]}, 422, "assignee_ids", "thành viên"),
        ({"kind": "other"}, 422, "kind", "Chọn loại"),
        ({"title": None}, 400, "title", ""),
        ({"màu": "đỏ"}, 400, None, ""),
    ],
)
async def test_bad_task_input_is_refused_on_its_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
    owner_engine: AsyncEngine,
    fields: dict[str, Any],
    status: int,
    field: str | None,
    message: str,
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    response = await _create(client, headers, **fields)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["field"] == field
    assert message in error["message"]
    assert not error["message"].isascii()
    assert await sngv_rows(owner_engine, "SELECT id FROM tasks") == []


async def test_a_cursor_walk_sees_every_task_once_and_filters_narrow_it(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    units = await sngv_units(owner_engine)
    for i in range(7):
        lead = units["phong-hop-tac-quoc-te"] if i % 2 else units["van-phong-thanh-tra"]
        response = await _create(client, headers, title=f"Việc số {i}", lead_unit_id=lead, labels=[f"nhan-{i % 3}"])
        assert response.status_code == 201, response.text
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        body = (await client.get(TASKS, params=params)).json()
        seen += [task["number"] for task in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert (seen, pages) == ([1, 2, 3, 4, 5, 6, 7], 3)

    by_unit = (await client.get(TASKS, params={"don-vi": units["phong-hop-tac-quoc-te"]})).json()
    assert [t["number"] for t in by_unit["items"]] == [2, 4, 6]
    by_label = (await client.get(TASKS, params={"nhan": "nhan-0", "limit": 1})).json()
    assert [t["number"] for t in by_label["items"]] == [1]
    rest = (await client.get(TASKS, params={"nhan": "nhan-0", "limit": 5, "cursor": by_label["next_cursor"]})).json()
    assert ([t["number"] for t in rest["items"]], rest["next_cursor"]) == ([4, 7], None)
    by_words = (await client.get(TASKS, params={"q": "viec so 5"})).json()  # without diacritics, as on the board
    assert [t["number"] for t in by_words["items"]] == [6]
    bad = await client.get(TASKS, params={"don-vi": "phòng"})
    assert (bad.status_code, bad.json()["field"]) == (400, "don-vi")


async def test_unit_staff_see_edit_and_move_only_their_unit_s_tasks(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    units = await sngv_units(owner_engine)
    headers = await signed_in_headers(client, csrf, FOCAL)
    await _create(client, headers, title="Của phòng Hợp tác quốc tế", lead_unit_id=units["phong-hop-tac-quoc-te"])
    await _create(client, headers, title="Của Văn phòng", lead_unit_id=units["van-phong-thanh-tra"])

    headers = await signed_in_headers(client, csrf, STAFF)
    listed = (await client.get(TASKS)).json()
    assert [t["title"] for t in listed["items"]] == ["Của phòng Hợp tác quốc tế"]
    hidden = await client.get(f"{TASKS}/2")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    assert (
        await client.post(f"{TASKS}/2/di-chuyen", json={"version": 1, "column": "dang-thuc-hien"}, headers=headers)
    ).status_code == 404
    other_unit = await _create(client, headers, title="Không phải của tôi", lead_unit_id=units["van-phong-thanh-tra"])
    assert (other_unit.status_code, other_unit.json()["field"]) == (422, "lead_unit_id")
    own = await client.post(f"{TASKS}/1/di-chuyen", json={"version": 1, "column": "dang-thuc-hien"}, headers=headers)
    assert own.status_code == 200, own.text
    confirm = await client.post(f"{TASKS}/1/di-chuyen", json={"version": 2, "column": "hoan-thanh"}, headers=headers)
    assert confirm.status_code == 403
    assert "Chỉ đầu mối CCHC hoặc lãnh đạo" in confirm.json()["message"]

    headers = await signed_in_headers(client, csrf, VIEWER)
    assert len((await client.get(TASKS)).json()["items"]) == 2
    refused = await _create(client, headers, title="Người xem không thêm được")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")

    headers = await signed_in_headers(client, csrf, LEADER)
    done = await client.post(f"{TASKS}/1/di-chuyen", json={"version": 2, "column": "hoan-thanh"}, headers=headers)
    assert done.status_code == 200, done.text


async def test_another_tenant_s_tasks_are_not_found_and_its_board_is_refused(
    client: AsyncTestClient[Litestar], csrf: Csrf
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    created = (await _create(client, headers)).json()
    headers = await signed_in_headers(client, csrf, COMMUNE_FOCAL)
    # the commune's own board knows no KP-1: row-level security shows it none of the department's tasks
    mine = await client.get(f"{COMMUNE_TASKS}/1")
    assert (mine.status_code, mine.json()["code"]) == (404, "not_found")
    assert (await client.get(COMMUNE_TASKS)).json() == {"items": [], "next_cursor": None}
    moved = await client.post(
        f"{COMMUNE_TASKS}/1/di-chuyen", json={"version": 1, "column": "dang-thuc-hien"}, headers=headers
    )
    assert moved.status_code == 404
    edited = await client.patch(
        f"{COMMUNE_TASKS}/1",
        json={"version": 1, "area_code": "1", "title": "x", "deadline_text": "Quý II/2020"},
        headers=headers,
    )
    assert edited.status_code == 404
    theirs = await client.get(f"{TASKS}/1")
    assert theirs.status_code == 403
    assert created["title"] not in theirs.text


async def test_a_move_s_bad_input_is_refused_on_its_field(client: AsyncTestClient[Litestar], csrf: Csrf) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await _create(client, headers)
    for body, field in (
        ({"version": 1, "column": "khong-co"}, "column"),
        ({"version": 1, "column": "dang-thuc-hien", "place": "giua"}, "place"),
        ({"version": 1, "column": "dang-thuc-hien", "place": "before"}, "anchor"),
        ({"version": 1, "column": "dang-thuc-hien", "place": "before", "anchor": 99}, "anchor"),
        ({"column": "dang-thuc-hien"}, "version"),
    ):
        response = await client.post(f"{TASKS}/1/di-chuyen", json=body, headers=headers)
        assert response.status_code in (400, 422), response.text
        assert response.json()["field"] == field
