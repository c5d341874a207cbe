"""The year being assessed in a real browser, on the demo of 05/12/2026: from the home page, each section opened
by its menu link lands on 2026 (the board on the plan after 2025's results) and says so; the other years are
one click away; nothing is wider than a phone."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.demo_cycle import seed_demo_cycle
from backend.domain.evidence.storage import storage_from_settings
from backend.settings import PROJECT_ROOT
from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider
from tests.factories import SNGV
from tests.support import freeze, make_settings

pytestmark = pytest.mark.browser

TODAY = date(2026, 12, 5)
FOCAL = "Nguyễn Thị Phương Thảo"
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture
async def demo_cycle(owner_engine: AsyncEngine, live_tenants: None, monkeypatch: pytest.MonkeyPatch) -> None:
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    settings = make_settings()
    await seed_demo_cycle(
        owner_engine, storage_from_settings(settings), PROJECT_ROOT / "tenants", settings.paths.templates_dir, TODAY
    )
    freeze(monkeypatch, TODAY)  # the live server runs in this process: its pages read the same clock


async def _fits(page: Page) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


async def _open(page: Page, link: str, path: str) -> None:
    await page.locator("nav.primary").get_by_role("link", name=link, exact=True).click()
    await expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    await expect(page.locator("#year-cycle")).to_have_text("Năm đánh giá 2026")


@pytest.mark.usefixtures("demo_cycle")
@pytest.mark.parametrize("width", list(WIDTHS))
async def test_each_section_opens_on_the_year_being_assessed(
    page: Page, live_stack: LiveStack, problems: BrowserProblems, width: str
) -> None:
    await page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))  # type: ignore[arg-type]
    await sign_in_through_provider(page, live_stack, FOCAL)
    await page.goto(f"{SNGV}/")
    cycle = page.get_by_role("region", name="Năm đánh giá 2026")
    await expect(cycle.get_by_role("link", name="Kế hoạch khắc phục sau kết quả năm 2025")).to_be_visible()
    await expect(page.locator("#score-heading")).to_have_text("Tự đánh giá năm 2026")
    await _fits(page)
    shots = PROJECT_ROOT / "var"
    await page.screenshot(path=str(shots / f"cycle-home-{width}.png"), full_page=True)

    await _open(page, "Tự đánh giá", f"{SNGV}/tu-danh-gia/2026")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tự đánh giá Chỉ số CCHC năm 2026")
    await _fits(page)
    await page.locator(".year-nav").get_by_role("link", name="2025", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/tu-danh-gia/2025$"))
    await expect(page.locator(".year-nav")).to_contain_text("Đang xem năm 2025")

    await _open(page, "Kế hoạch khắc phục", f"{SNGV}/ke-hoach/2025")
    await expect(page.locator("#board-years")).to_contain_text("Đây là kế hoạch của năm đánh giá 2026")
    await page.screenshot(path=str(shots / f"cycle-board-{width}.png"), full_page=True)

    await _open(page, "Báo cáo định kỳ", f"{SNGV}/bao-cao/2026")
    rows = page.get_by_role("row")
    third = rows.filter(has=page.get_by_role("link", name="Báo cáo quý III", exact=True))
    await expect(third).to_contain_text("Quá hạn, chưa nộp")
    await expect(rows.filter(has=page.get_by_role("link", name="Báo cáo quý I", exact=True))).to_contain_text("Đã nộp")
    await _fits(page)
    await page.get_by_role("link", name="Báo cáo năm", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Báo cáo năm 2026")
    await _fits(page)
    await page.screenshot(path=str(shots / f"cycle-report-{width}.png"), full_page=True)

    await _open(page, "Nộp hồ sơ", f"{SNGV}/nop-ho-so/2026")
    await _fits(page)
    problems.assert_clean()
