"""Tenants and units over the JSON API: a person lists the tenants they have a role in, reads one with its units,
and another tenant is refused without showing any of it."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

FOCAL = "thao.ntp@sngv.hatinh.example.vn"


async def test_a_person_lists_their_tenants_and_reads_one_with_its_units(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    listed = await client.get("/api/v1/t")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [(t["province"], t["code"], t["roles"]) for t in body["items"]] == [
        ("ha-tinh", "so-ngoai-vu", ["focal_point"])
    ]
    assert body["next_cursor"] is None
    one = await client.get(body["items"][0]["path"])
    assert one.status_code == 200, one.text
    detail = one.json()
    assert detail["tenant"]["name"] == "Sở Ngoại vụ"
    assert detail["units"]
    assert {"id", "code", "name", "kind"} == set(detail["units"][0])


async def test_a_page_of_tenants_is_bounded_and_a_bad_cursor_refused(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    first = (await client.get("/api/v1/t", params={"limit": 1})).json()
    assert len(first["items"]) == 1
    bad = await client.get("/api/v1/t", params={"cursor": "không-phải"})
    assert (bad.status_code, bad.json()["field"]) == (400, "cursor")
    too_many = await client.get("/api/v1/t", params={"limit": 1000})
    assert (too_many.status_code, too_many.json()["field"]) == (400, "limit")


async def test_another_tenant_is_refused_and_shows_nothing(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    other = await client.get("/api/v1/t/ha-tinh/phuong-thanh-sen")
    assert other.status_code == 403
    assert "Thành Sen" not in other.text
    unknown = await client.get("/api/v1/t/ha-tinh/khong-co")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


async def test_without_a_session_the_list_answers_401(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/api/v1/t")
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
