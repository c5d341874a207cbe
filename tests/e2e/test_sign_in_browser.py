"""Signing in for real, in a browser: through the province's (development) identity provider, into one's own
tenant and no other; signing out through the provider; then someone else of the same province."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider

pytestmark = pytest.mark.browser

PROVINCE = "Tỉnh Bà Rịa – Vũng Tàu"
ENVIRONMENT = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/"  # Sở Tài nguyên và Môi trường
HOME_AFFAIRS = "/t/ba-ria-vung-tau/so-noi-vu/"  # Sở Nội vụ
OTHER_PROVINCE = "/t/ha-tinh/so-tai-nguyen-moi-truong/"
FOCAL_POINT = "Nguyễn Thị Lan"  # Đầu mối CCHC of the Sở TN&MT
INSPECTOR = "Hồ Minh Trí"  # Thẩm định viên (province_reviewer) in the Thanh tra of the Sở Nội vụ


def _at(stack: LiveStack, path: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(stack.url + path)}$")


async def _expect_refused(page: Page, problems: BrowserProblems, path: str) -> None:
    url = f"{problems.origin}{path}"
    problems.expect_status(url, 403)
    response = await page.goto(url)
    assert response is not None
    assert response.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Không có quyền truy cập")
    await expect(page.locator("main table")).to_have_count(0)  # no unit list, nothing of that tenant


async def test_a_focal_point_signs_in_sees_only_her_tenant_signs_out_and_an_inspector_signs_in(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    # Parboard's sign-in page lists the demo people (development mode); the provider's page says
    # where it sends her back, and offers her as the hinted choice.
    await page.goto("/dang-nhap")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Đăng nhập")
    demo_people = page.get_by_role("region", name=re.compile("^Người dùng mẫu"))
    person = demo_people.get_by_role("row").filter(has_text=FOCAL_POINT)
    await person.get_by_role("link", name="Đăng nhập", exact=True).click()
    await expect(page).to_have_url(re.compile(rf"^{re.escape(live_stack.idp_url)}/ba-ria-vung-tau/authorize\?"))
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Nhà cung cấp định danh phát triển — {PROVINCE}")
    await expect(page.get_by_text(f"{live_stack.url}/auth/ba-ria-vung-tau/callback", exact=True)).to_be_visible()
    hinted = page.locator("li.goi-y")
    await expect(hinted).to_have_count(1)
    await expect(hinted).to_contain_text(FOCAL_POINT)
    await page.get_by_role("button", name=f"Đăng nhập với tư cách {FOCAL_POINT}", exact=True).click()

    # Back on parboard, at her department's home: the one tenant she belongs to.
    await expect(page).to_have_url(_at(live_stack, ENVIRONMENT))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sở Tài nguyên và Môi trường")
    await expect(page.locator(".site-header .user-name")).to_have_text(FOCAL_POINT)
    session = {cookie["name"]: cookie for cookie in await page.context.cookies(live_stack.url)}["parboard_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] == "Lax"

    # The landing page lists her tenant, and only hers.
    await page.goto("/")
    tenant_links = page.locator("main a[href^='/t/']")
    await expect(tenant_links).to_have_count(1)
    await expect(tenant_links).to_have_attribute("href", ENVIRONMENT)
    await expect(tenant_links).to_have_text("Sở Tài nguyên và Môi trường")

    # Another department of her province, and one of another province: refused, nothing shown.
    await _expect_refused(page, problems, HOME_AFFAIRS)
    await _expect_refused(page, problems, OTHER_PROVINCE)

    # Signing out goes through the provider's end_session and comes back to parboard's landing page.
    await page.goto(ENVIRONMENT)
    end_session = f"{live_stack.idp_url}/ba-ria-vung-tau/end_session?"
    async with page.expect_request(lambda request: request.url.startswith(end_session)):
        await page.locator(".site-header").get_by_role("button", name="Đăng xuất").click()
    await expect(page).to_have_url(_at(live_stack, "/"))
    await expect(page.locator(".site-header").get_by_role("link", name="Đăng nhập")).to_be_visible()
    await expect(page.locator("main a[href^='/t/']")).to_have_count(0)
    assert "parboard_session" not in {cookie["name"] for cookie in await page.context.cookies(live_stack.url)}
    # The session is revoked on the server, not only forgotten by the browser: its cookie opens nothing.
    await page.context.add_cookies([{"name": "parboard_session", "value": session["value"], "url": live_stack.url}])
    url = f"{problems.origin}{ENVIRONMENT}"
    problems.expect_status(url, 401)
    response = await page.goto(url)
    assert response is not None
    assert response.status == 401
    await page.context.clear_cookies()

    # Someone else of the same province: an inspector of the Sở Nội vụ lands on the Sở Nội vụ.
    await sign_in_through_provider(page, live_stack, INSPECTOR)
    await expect(page).to_have_url(_at(live_stack, HOME_AFFAIRS))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sở Nội vụ")
    await expect(page.locator(".site-header .user-name")).to_have_text(INSPECTOR)
    problems.assert_clean()
