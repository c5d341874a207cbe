"""The landing page and a tenant's home in a real browser: Vietnamese, styled, htmx working, CSP clean.

The tenant's pages are opened signed in, through the development identity provider (see conftest)."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import date
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider

pytestmark = pytest.mark.browser

PROVINCE = "Tỉnh Bà Rịa – Vũng Tàu"
TENANT = "Sở Tài nguyên và Môi trường"
TENANT_PATH = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/"
UNIT = "Trung tâm Quan trắc tài nguyên và môi trường"
FOCAL_POINT = "Nguyễn Thị Lan"  # Đầu mối CCHC of that department, and of no other
# Set it to keep a full-page screenshot of the tenant home for a human to look at.
SCREENSHOT_DIR = os.environ.get("PARBOARD_SCREENSHOT_DIR")


async def _open_tenant_home(page: Page, stack: LiveStack) -> None:
    """Sign in as the department's focal point, then click through from the landing page to it."""
    await sign_in_through_provider(page, stack, FOCAL_POINT)
    await page.goto("/")
    province = page.get_by_role("region", name=PROVINCE)
    await province.get_by_role("link", name=TENANT, exact=True).click()
    await expect(page).to_have_url(re.compile(re.escape(TENANT_PATH) + "$"))


async def test_landing_page_is_vietnamese_styled_and_clean(page: Page, problems: BrowserProblems) -> None:
    response = await page.goto("/")
    assert response is not None
    assert response.status == 200

    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chỉ số cải cách hành chính")
    for province in (PROVINCE, "Tỉnh Hà Tĩnh"):
        await expect(page.get_by_role("heading", level=2, name=province, exact=True)).to_be_visible()

    # htmx comes from our own files (under its content hash), and it is the vendored version.
    htmx_src = await page.locator("script[src*='htmx']").get_attribute("src")
    assert htmx_src is not None
    assert re.fullmatch(r"/assets/[0-9a-f]{16}/vendor/htmx/2\.0\.11/htmx\.min\.js", htmx_src)
    assert await page.evaluate("window.htmx && window.htmx.version") == "2.0.11"

    # The stylesheet applied: the header has our background, not the browser's transparent default.
    background = await page.locator(".site-header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background not in ("", "transparent", "rgba(0, 0, 0, 0)")

    # Nobody is signed in: no tenant is listed, each province offers its sign-in, the header too.
    await expect(page.locator("main a[href^='/t/']")).to_have_count(0)
    sign_in = page.get_by_role("region", name=PROVINCE).get_by_role("link", name="Đăng nhập qua SSO của tỉnh")
    await expect(sign_in).to_have_attribute("href", "/auth/ba-ria-vung-tau/login")
    await expect(page.locator(".site-header").get_by_role("link", name="Đăng nhập")).to_have_attribute(
        "href", "/dang-nhap"
    )
    problems.assert_clean()


async def test_tenant_home_shows_units_and_vietnamese_dates(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    await _open_tenant_home(page, live_stack)

    await expect(page.get_by_role("heading", level=1)).to_have_text(TENANT)
    await expect(page.locator(".site-header .tenant-name")).to_have_text(f"{TENANT} · {PROVINCE}")
    units = page.get_by_role("region", name=re.compile(r"^Phòng, đơn vị thuộc"))
    await expect(units.get_by_role("cell", name=UNIT, exact=True)).to_be_visible()

    reports = page.get_by_role("region", name=re.compile(r"^Hạn báo cáo định kỳ"))
    due_dates = await reports.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert due_dates, "no report deadlines on the tenant home"
    year = date.today().year  # noqa: DTZ011 - the server's calendar day, as the page uses it
    for due in due_dates:
        assert re.fullmatch(rf"\d{{2}}/\d{{2}}/{year}", due.strip()), f"{due!r} is not dd/mm/yyyy"

    if SCREENSHOT_DIR:
        await page.screenshot(path=Path(SCREENSHOT_DIR) / "parboard-home.png", full_page=True)
    problems.assert_clean()


async def test_htmx_request_gets_the_content_fragment(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    await _open_tenant_home(page, live_stack)

    async with page.expect_response(lambda r: r.url.endswith(TENANT_PATH) and r.request.resource_type == "xhr") as info:
        await page.evaluate("htmx.ajax('GET', location.pathname, {target: '#main', swap: 'innerHTML'})")
    response = await info.value
    request_headers = await response.request.all_headers()
    assert request_headers.get("hx-request") == "true"
    assert request_headers.get("x-csrftoken"), "app.js did not add the CSRF token to the htmx request"
    assert "hx-request" in (await response.header_value("vary") or "").lower()
    body = await response.text()
    assert "<html" not in body
    assert "site-header" not in body

    # Swapped in once: one header on the page, none nested in <main>, the content is there.
    await expect(page.locator("#main").get_by_role("heading", level=1)).to_have_text(TENANT)
    await expect(page.locator("header")).to_have_count(1)
    await expect(page.locator("#main header, #main footer, #main #main")).to_have_count(0)
    await expect(page.get_by_role("cell", name=UNIT, exact=True)).to_be_visible()
    problems.assert_clean()


async def test_unknown_page_shows_vietnamese_404(page: Page, live_stack: LiveStack, problems: BrowserProblems) -> None:
    await sign_in_through_provider(page, live_stack, FOCAL_POINT)
    for path in ("/khong-ton-tai", "/t/ba-ria-vung-tau/so-khong-ton-tai/"):
        url = f"{problems.origin}{path}"
        problems.expect_status(url, 404)
        response = await page.goto(url)
        assert response is not None
        assert response.status == 404

        await expect(page.locator("html")).to_have_attribute("lang", "vi")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
        await expect(page.get_by_role("link", name="Về trang chủ")).to_have_attribute("href", "/")
        await expect(page.locator(".site-header .user-name")).to_have_text(FOCAL_POINT)  # still signed in
    problems.assert_clean()


async def test_harness_reports_csp_violations(page: Page, problems: BrowserProblems) -> None:
    """The checks above mean something only if a blocked inline script is caught."""
    await page.goto("/")
    await page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.head.appendChild(script);
    }""")
    # the report reaches Python through a binding, asynchronously: wait for it to arrive
    await asyncio.wait_for(problems.csp_reported.wait(), timeout=5)
    assert len(problems.csp_violations) == 1, problems.csp_violations
    assert "script-src" in problems.csp_violations[0]
    assert any("inline script" in error for error in problems.console_errors), problems.console_errors
    assert await page.evaluate("window.inlineRan") is None


@pytest.mark.parametrize("width", [1366, 390])
async def test_a_kept_home_works_as_a_built_one(
    page: Page, live_stack: LiveStack, problems: BrowserProblems, width: int
) -> None:
    """Opened again, the home comes from the cache (`home_cache`): brotli as Chromium asks, its forms carrying this
    session's CSRF token, which the sign-out form's POST is accepted with."""
    await page.set_viewport_size({"width": width, "height": 900})
    await _open_tenant_home(page, live_stack)
    response = await page.reload()
    assert response is not None
    assert response.status == 200
    assert await response.header_value("content-encoding") == "br"
    assert "hx-request" in (await response.header_value("vary") or "").lower()
    await expect(page.get_by_role("heading", level=1)).to_have_text(TENANT)
    cookies = {cookie["name"]: cookie["value"] for cookie in await page.context.cookies(live_stack.url)}
    tokens = set(await page.locator("input[name=_csrf_token]").evaluate_all("inputs => inputs.map(i => i.value)"))
    assert tokens == {cookies["csrftoken"]}
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the home overflows by {overflow} px at {width} px"
    if SCREENSHOT_DIR:
        await page.screenshot(path=Path(SCREENSHOT_DIR) / f"parboard-home-kept-{width}.png", full_page=True)

    end_session = f"{live_stack.idp_url}/ba-ria-vung-tau/end_session?"
    async with page.expect_request(lambda request: request.url.startswith(end_session)):
        await page.locator(".site-header").get_by_role("button", name="Đăng xuất").click()
    await expect(page.locator(".site-header").get_by_role("link", name="Đăng nhập")).to_be_visible()
    problems.assert_clean()
