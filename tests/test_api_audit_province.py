"""The audit log and the province admin's page over the JSON API: the log read newest first by cursor, as the page
shows it (names, Vietnamese labels, values the Vietnamese way), for those who read it; the province's tenants with
their counts and a tenant's first admin invited, in the province's Sở Nội vụ only, never another province's."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.auth_support import in_tenant, tenant_id
from tests.fixtures.csrf import Csrf
from tests.support import sign_in, signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants")

STNMT_API = "/api/v1/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
SNV_API = "/api/v1/t/ba-ria-vung-tau/so-noi-vu"
ADMIN = "khoa.tm@stnmt.brvt.example.vn"  # the Sở Tài nguyên và Môi trường's tenant admin
FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"
PROVINCE_ADMIN = "loc.dv@snv.brvt.example.vn"  # Bà Rịa - Vũng Tàu's province admin, in its Sở Nội vụ
SNV_TENANT_ADMIN = "tung.ht@snv.brvt.example.vn"
HA_TINH_PROVINCE_ADMIN = "nghia.tv@snv.hatinh.example.vn"


async def _walk(client: AsyncTestClient[Litestar], url: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = await client.get(url, params=params)
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= limit
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_the_audit_log_is_read_newest_first_by_cursor_as_the_page_shows_it(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, ADMIN)
    for email in ("mot@example.vn", "hai@example.vn", "ba@example.vn"):
        invited = await client.post(
            f"{STNMT_API}/quan-tri/loi-moi", json={"email": email, "role": "viewer"}, headers=headers
        )
        assert invited.status_code == 201, invited.text

    entries = await _walk(client, f"{STNMT_API}/quan-tri/nhat-ky", limit=2)
    stored = await in_tenant(
        owner_engine,
        await tenant_id(owner_engine, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong"),
        "SELECT id FROM audit_log ORDER BY id DESC",
    )
    assert [e["id"] for e in entries] == [row.id for row in stored]  # every entry once, newest first
    newest = entries[0]
    assert (newest["action"], newest["action_label"]) == ("invite", "Mời thành viên")
    assert (newest["entity"], newest["entity_label"]) == ("invitation", "Lời mời")
    assert newest["actor"] == "Trần Minh Khoa"  # by name, not "user:<id>"
    assert {"field": "E-mail", "before": "–", "after": "ba@example.vn"} in newest["changes"]
    assert {"field": "Vai trò", "before": "–", "after": "Người xem"} in newest["changes"]

    for bad in ({"cursor": "không-phải-con-trỏ"}, {"limit": 0}, {"limit": 201}):
        refused = await client.get(f"{STNMT_API}/quan-tri/nhat-ky", params=bad)
        assert (refused.status_code, refused.json()["field"]) == (400, next(iter(bad))), refused.text


async def test_the_province_admin_reads_the_home_affairs_log_and_a_viewer_reads_none(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
) -> None:
    headers = await signed_in_headers(client, csrf, PROVINCE_ADMIN)
    invited = await client.post(
        f"{SNV_API}/quan-tri/tinh/moi",
        json={"tenant_code": "so-tai-nguyen-moi-truong", "email": "giamdoc@stnmt.vn"},
        headers=headers,
    )
    assert invited.status_code == 201, invited.text
    log = await client.get(f"{SNV_API}/quan-tri/nhat-ky")
    assert log.status_code == 200, log.text
    assert log.json()["items"][0]["entity_label"] == "Lời mời cấp tỉnh"
    assert (await client.get(f"{STNMT_API}/quan-tri/nhat-ky")).status_code == 403  # not a member there

    await sign_in(client, FOCAL_POINT)  # a focal point reads its own tenant's log, as on the page
    assert (await client.get(f"{STNMT_API}/quan-tri/nhat-ky")).status_code == 200


async def test_the_province_admin_lists_the_province_s_tenants_with_their_counts(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    listed = await client.get(f"{SNV_API}/quan-tri/tinh/don-vi")
    assert listed.status_code == 200, listed.text
    tenants = {t["code"]: t for t in listed.json()}
    assert "so-ngoai-vu" not in tenants  # Hà Tĩnh's
    stnmt = tenants["so-tai-nguyen-moi-truong"]
    [counts] = await in_tenant(
        owner_engine,
        await tenant_id(owner_engine, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong"),
        "SELECT (SELECT count(*) FROM units) AS units,"
        " (SELECT count(DISTINCT user_id) FROM memberships WHERE is_active) AS members,"
        " (SELECT count(*) FROM memberships WHERE role = 'tenant_admin' AND is_active) AS admins",
    )
    assert (stnmt["name"], stnmt["active"]) == ("Sở Tài nguyên và Môi trường", True)
    assert (stnmt["units"], stnmt["members"], stnmt["admins"]) == (counts.units, counts.members, counts.admins)
    assert min(counts.units, counts.members, counts.admins) > 0


async def test_a_province_admin_invites_a_tenant_admin_with_the_page_s_checks(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
) -> None:
    headers = await signed_in_headers(client, csrf, PROVINCE_ADMIN)
    url = f"{SNV_API}/quan-tri/tinh/moi"
    for body, field in (
        ({"tenant_code": "so-ngoai-vu", "email": "a@b.vn"}, "tenant_code"),  # another province's tenant
        ({"tenant_code": "so-tai-nguyen-moi-truong", "email": "không phải e-mail"}, "email"),
    ):
        refused = await client.post(url, json=body, headers=headers)
        assert (refused.status_code, refused.json()["field"]) == (422, field), refused.text
    missing = await client.post(url, json={"email": "a@b.vn"}, headers=headers)
    assert (missing.status_code, missing.json()["field"]) == (400, "tenant_code")

    invited = await client.post(
        url, json={"tenant_code": "so-tai-nguyen-moi-truong", "email": "GiamDoc@STNMT.vn"}, headers=headers
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["tenant"] == "so-tai-nguyen-moi-truong"
    assert (body["invitation"]["email"], body["invitation"]["role"]) == ("giamdoc@stnmt.vn", "tenant_admin")

    await sign_in(client, ADMIN)  # the tenant's own admin sees the invitation
    invitations = (await client.get(f"{STNMT_API}/quan-tri/loi-moi")).json()
    assert body["invitation"]["id"] in [i["id"] for i in invitations]


async def test_the_province_operations_are_the_home_affairs_province_admin_s_only(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
) -> None:
    await sign_in(client, SNV_TENANT_ADMIN)  # the Sở Nội vụ's tenant admin is no province admin
    refused = await client.get(f"{SNV_API}/quan-tri/tinh/don-vi")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    headers = await signed_in_headers(client, csrf, HA_TINH_PROVINCE_ADMIN)  # another province's admin
    assert (await client.get(f"{SNV_API}/quan-tri/tinh/don-vi")).status_code in (403, 404)
    other = await client.post(
        f"{SNV_API}/quan-tri/tinh/moi",
        json={"tenant_code": "so-tai-nguyen-moi-truong", "email": "x@y.vn"},
        headers=headers,
    )
    assert other.status_code in (403, 404)
    own = {t["code"] for t in (await client.get("/api/v1/t/ha-tinh/so-noi-vu/quan-tri/tinh/don-vi")).json()}
    assert "so-ngoai-vu" in own  # the admin's own province, in its own Sở Nội vụ
