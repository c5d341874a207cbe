"""A tenant's members and invitations over the JSON API, for its tenant admin: listed with their roles, invited,
a role changed, locked and unlocked, an invitation cancelled; bad input on its field with nothing saved; refused
to everyone else, and another tenant's members nowhere to be found."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.auth_support import in_tenant_of
from tests.fixtures.csrf import Csrf
from tests.support import assert_refused_on_field, signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants")

ADMIN_API = "/api/v1/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/quan-tri"
OTHER_API = "/api/v1/t/ba-ria-vung-tau/so-noi-vu/quan-tri"
ADMIN = "khoa.tm@stnmt.brvt.example.vn"
FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"
OTHER_TENANT_ADMIN = "tung.ht@snv.brvt.example.vn"


async def _stnmt(owner_engine: AsyncEngine, sql: str) -> list[Any]:
    return await in_tenant_of(owner_engine, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong", sql)


async def _unit(owner_engine: AsyncEngine) -> str:
    return str((await _stnmt(owner_engine, "SELECT id FROM units ORDER BY position, name LIMIT 1"))[0].id)


def _by_email(members: list[dict[str, Any]], email: str) -> dict[str, Any]:
    return next(m for m in members if m["email"] == email)


async def test_the_admin_invites_changes_a_role_locks_and_cancels(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, ADMIN)
    members = (await client.get(f"{ADMIN_API}/thanh-vien")).json()
    lan = _by_email(members, FOCAL_POINT)
    assert (lan["name"], lan["active"], [r["role"] for r in lan["roles"]]) == ("Nguyễn Thị Lan", True, ["focal_point"])
    assert all("snv.brvt" not in m["email"] for m in members)  # another tenant's members are not here

    unit = await _unit(owner_engine)
    invited = await client.post(
        f"{ADMIN_API}/loi-moi",
        json={"email": " Moi.Nguoi@Example.VN ", "role": "staff", "unit_id": unit},
        headers=headers,
    )
    assert invited.status_code == 201, invited.text
    invitation = invited.json()
    assert (invitation["email"], invitation["role"], invitation["unit_id"]) == ("moi.nguoi@example.vn", "staff", unit)
    again = await client.post(
        f"{ADMIN_API}/loi-moi",
        json={"email": "moi.nguoi@example.vn", "role": "staff", "unit_id": unit},
        headers=headers,
    )
    assert (again.status_code, again.json()["field"]) == (422, "email")
    assert "Đã có lời mời" in again.json()["message"]
    assert [i["id"] for i in (await client.get(f"{ADMIN_API}/loi-moi")).json()] == [invitation["id"]]
    cancelled = await client.post(f"{ADMIN_API}/loi-moi/{invitation['id']}/huy", headers=headers)
    assert (cancelled.status_code, cancelled.json()) == (200, [])
    twice = await client.post(f"{ADMIN_API}/loi-moi/{invitation['id']}/huy", headers=headers)
    assert (twice.status_code, twice.json()["code"]) == (404, "not_found")

    membership = lan["roles"][0]["membership_id"]
    changed = await client.put(f"{ADMIN_API}/vai-tro/{membership}", json={"role": "viewer"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert [r["role"] for r in changed.json()["roles"]] == ["viewer"]
    no_unit = await client.put(f"{ADMIN_API}/vai-tro/{membership}", json={"role": "staff"}, headers=headers)
    assert (no_unit.status_code, no_unit.json()["field"]) == (422, "unit_id")
    assert no_unit.json()["message"] == "Vai trò này cần chọn một phòng, đơn vị."

    locked = await client.post(f"{ADMIN_API}/thanh-vien/{lan['user_id']}/khoa", headers=headers)
    assert locked.status_code == 200, locked.text
    assert locked.json()["active"] is False
    unlocked = await client.post(f"{ADMIN_API}/thanh-vien/{lan['user_id']}/mo-khoa", headers=headers)
    assert unlocked.json()["active"] is True
    signed_out = await client.post(f"{ADMIN_API}/thanh-vien/{lan['user_id']}/dang-xuat", headers=headers)
    assert signed_out.status_code == 200, signed_out.text

    me = _by_email(members, ADMIN)
    myself = await client.post(f"{ADMIN_API}/thanh-vien/{me['user_id']}/khoa", headers=headers)
    assert (myself.status_code, myself.json()["message"]) == (422, "Bạn không thể tự khoá tài khoản của mình.")
    unknown = await client.post(f"{ADMIN_API}/thanh-vien/{lan['user_id']}/xoa", headers=headers)
    assert unknown.status_code == 404
    rows = await _stnmt(
        owner_engine,
        "SELECT m.role, m.is_active FROM memberships m JOIN users u ON u.id = m.user_id "
        f"WHERE u.email = '{FOCAL_POINT}'",
    )
    assert [tuple(r) for r in rows] == [("viewer", True)]


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"email": "", "role": "viewer"}, 422, "email", "Nhập địa chỉ e-mail."),
        ({"email": "khong-phai-email", "role": "viewer"}, 422, "email", "Địa chỉ e-mail không hợp lệ."),
        ({"email": "a@b.vn", "role": "platform_admin"}, 422, "role", "Chọn một vai trò trong danh sách."),
        ({"email": "a@b.vn", "role": "staff"}, 422, "unit_id", "Vai trò này cần chọn một phòng, đơn vị."),
        ({"email": "a@b.vn", "role": "viewer", "unit_id": str(uuid.UUID(int=0))}, 422, "unit_id", "không thuộc"),
        ({"email": "a@b.vn", "role": "viewer", "unit_id": "khong-phai-uuid"}, 400, "unit_id", ""),
        ({"role": "viewer"}, 400, "email", ""),
        ({"email": "a@b.vn", "role": "viewer", "màu": "đỏ"}, 400, None, ""),
    ],
)
async def test_a_bad_invitation_is_refused_on_its_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
    owner_engine: AsyncEngine,
    body: dict[str, Any],
    status: int,
    field: str | None,
    message: str,
) -> None:
    headers = await signed_in_headers(client, csrf, ADMIN)
    response = await client.post(f"{ADMIN_API}/loi-moi", json=body, headers=headers)
    assert_refused_on_field(response, status, field, message)
    assert await _stnmt(owner_engine, "SELECT id FROM invitations") == []


async def test_only_the_tenant_admin_manages_and_another_tenant_s_members_are_not_found(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, ADMIN)
    lan = _by_email((await client.get(f"{ADMIN_API}/thanh-vien")).json(), FOCAL_POINT)
    membership = lan["roles"][0]["membership_id"]
    invitation = (
        await client.post(f"{ADMIN_API}/loi-moi", json={"email": "a@b.vn", "role": "viewer"}, headers=headers)
    ).json()

    headers = await signed_in_headers(client, csrf, FOCAL_POINT)
    for response in (
        await client.get(f"{ADMIN_API}/thanh-vien"),
        await client.get(f"{ADMIN_API}/loi-moi"),
        await client.post(f"{ADMIN_API}/loi-moi", json={"email": "b@b.vn", "role": "viewer"}, headers=headers),
        await client.post(f"{ADMIN_API}/loi-moi/{invitation['id']}/huy", headers=headers),
        await client.put(f"{ADMIN_API}/vai-tro/{membership}", json={"role": "focal_point"}, headers=headers),
        await client.post(f"{ADMIN_API}/thanh-vien/{lan['user_id']}/khoa", headers=headers),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
        assert "Nguyễn Thị Lan" not in response.text

    headers = await signed_in_headers(client, csrf, OTHER_TENANT_ADMIN)
    assert (await client.get(f"{ADMIN_API}/thanh-vien")).status_code == 403
    # through their own tenant, row-level security shows them none of this tenant's people or invitations
    for response in (
        await client.post(f"{OTHER_API}/loi-moi/{invitation['id']}/huy", headers=headers),
        await client.put(f"{OTHER_API}/vai-tro/{membership}", json={"role": "viewer"}, headers=headers),
        await client.post(f"{OTHER_API}/thanh-vien/{lan['user_id']}/khoa", headers=headers),
        await client.post(f"{OTHER_API}/thanh-vien/{lan['user_id']}/dang-xuat", headers=headers),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), response.text
    theirs = await client.get(f"{OTHER_API}/thanh-vien")
    assert theirs.status_code == 200, theirs.text  # their own tenant's members: they are its admin
    assert OTHER_TENANT_ADMIN in theirs.text
    assert "Nguyễn Thị Lan" not in theirs.text
    rows = await _stnmt(
        owner_engine,
        "SELECT m.role, m.is_active FROM memberships m JOIN users u ON u.id = m.user_id "
        f"WHERE u.email = '{FOCAL_POINT}'",
    )
    assert [tuple(r) for r in rows] == [("focal_point", True)]
    assert len(await _stnmt(owner_engine, "SELECT id FROM invitations WHERE revoked_at IS NULL")) == 1
