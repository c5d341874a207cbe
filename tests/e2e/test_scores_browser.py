"""Published scores in a real browser, at desktop and phone width: the province admin of Hà Tĩnh's Sở Nội vụ
sees each ranking group ranked by the index of its applicable maximum with its class, decides that the survey
does not apply to Sở Ngoại vụ (the index follows), and the department's dashboard shows its index and class."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider
from tests.support import SEED_001, tenant_and_province

pytestmark = pytest.mark.browser

ADMIN = "Trần Văn Nghĩa"  # province_admin of Hà Tĩnh's Sở Nội vụ
FOCAL = "Nguyễn Thị Phương Thảo"  # focal point of Sở Ngoại vụ
RESULTS = "/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


@pytest.fixture
async def assessed(owner_engine: AsyncEngine, live_tenants: None) -> None:
    """The criteria sets, and Sở Ngoại vụ's 2020 self-assessment as seed 001 (75,25 of its 80 criteria points)."""
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        await assessments.start(db, tenant, province, 2020, None)
        for code, form in SEED_001:
            loaded = await assessments.load(db, province, 2020)
            assert loaded is not None
            row = loaded.sheet.row(code, remainder=form.get("phan") == "con-lai")
            assert not (await assessments.save_row(db, tenant, loaded, row, form, None)).errors
        await bind_tenant(db, None)


async def _fits(page: Page) -> None:
    """Nothing wider than the window but the tables' own scrolling wrappers."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    widest = await page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => !e.closest('.table-wrap, nav.primary ul, .chart-figure, #area-chart'))
            .slice(0, 5).map(e => e.tagName + ' ' + e.textContent.slice(0, 30))"""
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px: {widest}"


@pytest.mark.usefixtures("assessed")
@pytest.mark.parametrize("width", list(WIDTHS))
async def test_province_admin_ranks_per_group_and_decides_not_applicable(
    page: Page, live_stack: LiveStack, problems: BrowserProblems, width: str
) -> None:
    await page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))  # type: ignore[arg-type]
    await sign_in_through_provider(page, live_stack, ADMIN)
    await page.goto(RESULTS)
    ranking = page.locator("#ranking")
    group = ranking.locator('tbody[data-group="Sở, ban, ngành"]')
    row = group.get_by_role("row").filter(has_text="Sở Ngoại vụ")
    await expect(row.locator("td.index")).to_have_text("75,25 %")
    await expect(row.locator("td").nth(5)).to_have_text("Nhóm III")
    await _fits(page)

    await page.get_by_label("Đơn vị", exact=True).select_option("so-ngoai-vu")
    await page.get_by_label("Mã lĩnh vực, tiêu chí hoặc phần").fill("8")
    await page.get_by_label("Lý do", exact=True).fill("Không đủ phiếu khảo sát")
    await page.get_by_role("button", name="Quyết định không áp dụng").click()
    await expect(row.locator("td.index")).to_have_text("94,06 %")
    await expect(row.locator("td").nth(5)).to_have_text("Nhóm I")
    await expect(page.locator("#not-applicable")).to_contain_text("Không đủ phiếu khảo sát")
    await _fits(page)
    await page.screenshot(path=str(PROJECT_ROOT / "var" / f"scores-province-{width}.png"), full_page=True)

    await sign_in_through_provider(page, live_stack, FOCAL)
    await page.goto("/t/ha-tinh/so-ngoai-vu/")
    await expect(page.locator("#dashboard-index")).to_have_text("94,06 %")
    await _fits(page)
    await page.goto("/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2020")
    await expect(page.locator("#sheet-index")).to_have_text("94,06 %")
    await expect(page.locator(".result-class")).to_have_text("Nhóm I")
    await _fits(page)
    await page.screenshot(path=str(PROJECT_ROOT / "var" / f"scores-overview-{width}.png"), full_page=True)
    problems.assert_clean()
