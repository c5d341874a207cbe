"""Who may open a tenant's pages: nobody without sign-in (not even in development, not even from loopback),
a member of the tenant, and no member of another tenant of the province or of another province."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth.sessions import COOKIE
from backend.db.runtime import DatabaseUrls
from backend.settings import AuthSettings
from tests.html_support import squash
from tests.support import make_settings, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

HOME = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/"
SAME_PROVINCE = "/t/ba-ria-vung-tau/so-noi-vu/"
OTHER_PROVINCE = "/t/ha-tinh/so-tai-nguyen-moi-truong/"
FOCAL_POINT = "lan.nt@stnmt.brvt.example.vn"  # Nguyễn Thị Lan, Đầu mối CCHC of BRVT's Sở TN&MT
HA_TINH_FOCAL_POINT = "thuong.tth@stnmt.hatinh.example.vn"  # Trần Thị Hoài Thương, of Hà Tĩnh's Sở TN&MT
DEV_BANNER = "Chế độ phát triển"
# What each other tenant's page would show if it leaked: its units and its people.
SAME_PROVINCE_SECRETS = ("Sở Nội vụ", "Phòng Cải cách hành chính", "Huỳnh Thanh Tùng", "Mai Thị Thanh Tâm")
OTHER_PROVINCE_SECRETS = (
    "Tỉnh Hà Tĩnh",
    "Chi cục Bảo vệ môi trường",
    "Phòng Tài nguyên nước và Khoáng sản",
    "Trần Thị Hoài Thương",
)


def assert_sign_in_page(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert "Cần đăng nhập" in response.text
    assert '<a class="btn btn-primary" href="/dang-nhap">Đăng nhập</a>' in squash(response.text)
    assert "Sở Tài nguyên và Môi trường" not in response.text
    assert "Văn phòng Sở" not in response.text


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


# --- without sign-in ------------------------------------------------------------------------------


async def test_the_tenant_home_asks_for_sign_in(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(HOME)
    assert_sign_in_page(response)
    assert DEV_BANNER not in response.text


async def test_an_unknown_or_malformed_session_cookie_is_anonymous(client: AsyncTestClient[Litestar]) -> None:
    for value in ("khong-phai-phien-that", "x" * 129, ""):
        client.cookies.set(COOKIE, value)
        assert_sign_in_page(await client.get(HOME))


async def test_development_mode_from_loopback_still_asks_for_sign_in(database: DatabaseUrls) -> None:
    """The foundation's shortcut (development + loopback = a guest who sees every tenant) is gone."""
    app = create_app(make_settings(env="development", auth=AuthSettings(dev_idp_url="http://127.0.0.1:8001")), database)
    async with AsyncTestClient(app=app):  # runs the lifespan
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as loopback:
            response = await loopback.get(HOME)
            landing = await loopback.get("/")
    assert_sign_in_page(response)
    assert DEV_BANNER in response.text  # development mode says so, and opens nothing for it
    assert landing.status_code == 200
    assert f'href="{HOME}"' not in landing.text
    assert "Khách (chế độ phát triển)" not in landing.text


async def test_the_landing_page_offers_each_province_s_sign_in_and_no_tenant(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    body = main_of(response.text)
    for province in ("ba-ria-vung-tau", "ha-tinh"):
        assert f'href="/auth/{province}/login"' in body
    assert 'href="/t/' not in body
    assert 'href="/dang-nhap"' in response.text  # the header's button


# --- signed in ------------------------------------------------------------------------------------


async def test_a_member_sees_their_tenant_home_with_its_units(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL_POINT)
    response = await client.get(HOME)
    assert response.status_code == 200
    body = squash(response.text)
    assert "<h1>Sở Tài nguyên và Môi trường</h1>" in body
    assert "Tỉnh Bà Rịa – Vũng Tàu" in body
    for unit in (
        "Văn phòng Sở",
        "Thanh tra Sở",
        "Phòng Quản lý đất đai",
        "Trung tâm Quan trắc tài nguyên và môi trường",
    ):
        assert f"<td>{unit}</td>" in body
    assert body.count('<td class="num">') == 11  # 06 phòng + 05 đơn vị sự nghiệp
    assert "Các phòng, đơn vị thuộc Sở" in body
    assert '<span class="user-name">Nguyễn Thị Lan</span>' in body
    assert 'action="/dang-xuat"' in body
    assert DEV_BANNER not in body


async def test_the_landing_page_lists_only_the_member_s_own_tenant(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL_POINT)
    response = await client.get("/")
    assert response.status_code == 200
    links = re.findall(r'href="(/t/[^"]*)"', response.text)
    assert links == [HOME]


@pytest.mark.parametrize(
    ("path", "secrets"),
    [(SAME_PROVINCE, SAME_PROVINCE_SECRETS), (OTHER_PROVINCE, OTHER_PROVINCE_SECRETS)],
    ids=["another tenant of the province", "a tenant of another province"],
)
async def test_a_member_of_one_tenant_is_refused_another_and_sees_nothing_of_it(
    client: AsyncTestClient[Litestar], path: str, secrets: tuple[str, ...]
) -> None:
    await sign_in(client, FOCAL_POINT)
    for headers in ({}, {"HX-Request": "true"}):
        response = await client.get(path, headers=headers)
        assert response.status_code == 403
        assert "Không có quyền truy cập" in response.text
        leaked = [secret for secret in secrets if secret in response.text]
        assert leaked == []
    as_json = await client.get(path, headers={"Accept": "application/json"})
    assert as_json.status_code == 403
    assert [secret for secret in secrets if secret in as_json.text] == []


async def test_each_member_sees_only_the_tenant_named_by_the_url(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, HA_TINH_FOCAL_POINT)
    response = await client.get(OTHER_PROVINCE)
    assert response.status_code == 200
    assert "Tỉnh Hà Tĩnh" in response.text
    assert "Tỉnh Bà Rịa – Vũng Tàu" not in response.text
    assert (await client.get(HOME)).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/t/ba-ria-vung-tau/so-khong-ton-tai/",
        "/t/tinh-khong-ton-tai/so-tai-nguyen-moi-truong/",
        "/t/ha-tinh/so-khong-ton-tai/",
    ],
)
async def test_an_unknown_tenant_or_province_is_not_found(client: AsyncTestClient[Litestar], path: str) -> None:
    await sign_in(client, FOCAL_POINT)
    response = await client.get(path)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text


async def test_an_inactive_tenant_is_not_found_even_for_its_member(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL_POINT)
    async with owner_engine.begin() as connection:
        changed = await connection.execute(
            text(
                "UPDATE tenants SET is_active = false WHERE code = 'so-tai-nguyen-moi-truong' "
                "AND province_id = (SELECT id FROM provinces WHERE code = 'ba-ria-vung-tau')"
            )
        )
        assert changed.rowcount == 1
    response = await client.get(HOME)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text
    assert "Sở Tài nguyên và Môi trường" not in main_of(response.text)
    await sign_in(client, HA_TINH_FOCAL_POINT)  # only that one tenant is closed
    assert (await client.get(OTHER_PROVINCE)).status_code == 200


@pytest.mark.parametrize("segment", ["%00", "so-tai%00-nguyen"])
async def test_a_nul_character_in_the_url_is_a_bad_request_not_a_server_error(
    client: AsyncTestClient[Litestar], segment: str
) -> None:
    await sign_in(client, FOCAL_POINT)
    response = await client.get(f"/t/ba-ria-vung-tau/{segment}/")
    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ" in response.text
