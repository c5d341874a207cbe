"""The demo shortcut: a tenant page opens without sign-in only in development, with the flag, from loopback."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.db.runtime import DatabaseUrls
from tests.support import loopback_client, make_settings

pytestmark = pytest.mark.usefixtures("demo_tenants")

HOME = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/"
DEV_BANNER = "Chế độ phát triển"


@pytest.fixture
def dev_app(database: DatabaseUrls) -> Litestar:
    return create_app(make_settings(env="development", dev_login=True), database)


def assert_sign_in_page(status: int, body: str) -> None:
    assert status == 401
    assert "Cần đăng nhập" in body
    assert "Sở Tài nguyên và Môi trường" not in body


async def test_the_tenant_home_asks_for_sign_in_with_the_default_settings(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get(HOME)
    assert_sign_in_page(response.status_code, response.text)
    assert DEV_BANNER not in response.text


async def test_the_tenant_home_asks_for_sign_in_even_from_loopback_without_dev_mode(app: Litestar) -> None:
    async with loopback_client(app) as client:
        response = await client.get(HOME)
    assert_sign_in_page(response.status_code, response.text)


async def test_the_dev_flag_outside_development_opens_nothing(database: DatabaseUrls) -> None:
    # load_settings refuses this combination; the principal check refuses it again if built by hand.
    app = create_app(make_settings(env="test", dev_login=True), database)
    async with loopback_client(app) as client:
        response = await client.get(HOME)
    assert_sign_in_page(response.status_code, response.text)


async def test_dev_mode_from_another_machine_still_asks_for_sign_in(dev_app: Litestar) -> None:
    async with AsyncTestClient(app=dev_app) as client:  # its client host is "testclient", not loopback
        response = await client.get(HOME)
    assert_sign_in_page(response.status_code, response.text)


async def test_dev_mode_from_loopback_shows_the_tenant_home_with_its_units_and_the_banner(dev_app: Litestar) -> None:
    async with loopback_client(dev_app) as client:
        response = await client.get(HOME)
    assert response.status_code == 200
    body = response.text
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
    assert DEV_BANNER in body
    assert "Khách (chế độ phát triển)" in body


async def test_dev_mode_shows_only_the_tenant_named_by_the_url(dev_app: Litestar) -> None:
    async with loopback_client(dev_app) as client:
        response = await client.get("/t/ha-tinh/so-tai-nguyen-moi-truong/")
    assert response.status_code == 200
    assert "Tỉnh Hà Tĩnh" in response.text
    assert "Tỉnh Bà Rịa – Vũng Tàu" not in response.text


async def test_the_landing_page_lists_every_tenant_for_the_dev_visitor(dev_app: Litestar) -> None:
    async with loopback_client(dev_app) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert f'href="{HOME}"' in response.text
    assert DEV_BANNER in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/t/ba-ria-vung-tau/so-khong-ton-tai/",
        "/t/tinh-khong-ton-tai/so-tai-nguyen-moi-truong/",
        "/t/ha-tinh/so-khong-ton-tai/",
    ],
)
async def test_an_unknown_tenant_or_province_is_not_found(dev_app: Litestar, path: str) -> None:
    async with loopback_client(dev_app) as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text


async def test_an_inactive_tenant_is_not_found(dev_app: Litestar, owner_engine: AsyncEngine) -> None:
    async with owner_engine.begin() as connection:
        changed = await connection.execute(
            text(
                "UPDATE tenants SET is_active = false WHERE code = 'so-tai-nguyen-moi-truong' "
                "AND province_id = (SELECT id FROM provinces WHERE code = 'ba-ria-vung-tau')"
            )
        )
        assert changed.rowcount == 1
    async with loopback_client(dev_app) as client:
        response = await client.get(HOME)
        other = await client.get("/t/ha-tinh/so-tai-nguyen-moi-truong/")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text
    assert "Sở Tài nguyên và Môi trường" not in response.text.split("<main", 1)[1]
    assert other.status_code == 200


@pytest.mark.parametrize("segment", ["%00", "so-tai%00-nguyen"])
async def test_a_nul_character_in_the_url_is_a_bad_request_not_a_server_error(dev_app: Litestar, segment: str) -> None:
    async with loopback_client(dev_app) as client:
        response = await client.get(f"/t/ba-ria-vung-tau/{segment}/")
    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ" in response.text
