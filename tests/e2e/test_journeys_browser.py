"""Each role's main path through parboard by clicking, on a desktop (1366×900) and a phone (390×844).

Signed in once through the development identity provider, each person starts on the landing page and clicks: the
menu, the "Thêm" disclosure, links in the page; never a typed URL. Every page met must have an h1 and a <title>,
nothing wider than the window (a table or the board scrolls inside its own container, a table that does fades out at
its right edge), the menu on one line on the desktop, no console error, no failed request, no CSP violation. Each
page is kept as a screenshot under var/screenshots/<role>/<width>/ (var/ is out of git) for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time

import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from backend import clock
from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider, watched_page

pytestmark = pytest.mark.browser

SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
PROVINCE = "Tỉnh Hà Tĩnh"
SNGV_BOARD = "/t/ha-tinh/so-ngoai-vu/ke-hoach/2020"
TASK = "Ban hành kế hoạch CCHC năm 2021"
TODAY = date(2021, 11, 15)
STAFF_UNIT = "Phòng Hợp tác quốc tế"  # Phạm Anh Tuấn's

# Anything reaching past the right edge of the window, unless a scrolling container holds it (its own scrollbar
# is the sign) or it is hidden on purpose (the skip link until focused, visually-hidden labels).
TOO_WIDE = """() => {
  const w = document.documentElement.clientWidth;
  const held = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  const out = [];
  if (document.documentElement.scrollWidth > w + 1) out.push(`page ${document.documentElement.scrollWidth}px`);
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (!r.width || (r.right <= w + 1 && r.left >= -1)) continue;
    if (e.closest('.skip-link, .visually-hidden') || held(e)) continue;
    const text = (e.textContent || '').trim().slice(0, 30);
    out.push(`${e.tagName.toLowerCase()}.${e.className} «${text}» ${Math.round(r.left)}–${Math.round(r.right)}px`);
    if (out.length > 5) break;
  }
  return out;
}"""


@dataclass
class Journey:
    """One person's walk at one width: each page checked and photographed in order."""

    role: str
    page: Page
    width: int
    step: int = 0

    async def seen(self, name: str) -> None:
        page = self.page
        await page.wait_for_load_state("load")
        where = f"{self.role} at {self.width}px, {name} ({page.url})"
        self.step += 1
        folder = SCREENSHOTS / self.role / str(self.width)
        folder.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=folder / f"{self.step:02d}-{name}.png", full_page=True)  # before any failure
        assert await page.locator("h1").count() >= 1, f"no h1: {where}"
        assert (await page.title()).strip(), f"no <title>: {where}"
        wide = await page.evaluate(TOO_WIDE)
        assert not wide, f"wider than the window: {where}: {wide}"
        unsigned = await page.locator(".table-wrap").evaluate_all(
            """wraps => wraps.filter(w => w.scrollWidth > w.clientWidth + 1 && w.scrollLeft === 0)
                             .filter(w => getComputedStyle(w).getPropertyValue('--table-fade') === '0px').length"""
        )
        assert not unsigned, f"{unsigned} tables scroll sideways with no sign of it: {where}"
        if self.width >= DESKTOP["width"] and await self.menu().count():
            lines = (
                await self.menu()
                .locator(":scope > ul > li")
                .evaluate_all("items => new Set(items.map(i => i.getBoundingClientRect().top)).size")
            )
            assert lines == 1, f"the menu wraps onto {lines} lines: {where}"

    def menu(self) -> Locator:
        return self.page.get_by_role("navigation", name="Điều hướng chính")

    async def open_menu(self, label: str, heading: str | re.Pattern[str], name: str) -> None:
        """Click a menu entry, through "Thêm" when it is grouped there."""
        link = self.menu().get_by_role("link", name=label, exact=True)
        if not await link.is_visible():
            await self.menu().locator("summary", has_text="Thêm").click()
        await link.click()
        await expect(self.page.get_by_role("heading", level=1)).to_contain_text(heading)
        await self.seen(name)

    async def click(self, target: Locator, heading: str | re.Pattern[str], name: str) -> None:
        await target.click()
        await expect(self.page.get_by_role("heading", level=1)).to_contain_text(heading)
        await self.seen(name)


Walk = Callable[[Journey], Awaitable[None]]


async def _walk_at_both_widths(
    browser: Browser,
    stack: LiveStack,
    problems: BrowserProblems,
    role: str,
    person: str,
    tenant: str,
    walk: Walk,
) -> None:
    """Sign in once (desktop), then the same walk again on a phone with the same session."""
    state = None
    for viewport in (DESKTOP, PHONE):
        context = await browser.new_context(
            base_url=stack.url, locale="vi-VN", viewport=viewport, storage_state=state, is_mobile=viewport is PHONE
        )
        context.set_default_timeout(10_000)
        page = await watched_page(context, problems)
        try:
            if state is None:
                problems.expect_status(f"{stack.idp_url}/favicon.ico", 404)
                await sign_in_through_provider(page, stack, person)
                state = await context.storage_state()
            await page.goto("/")
            journey = Journey(role, page, viewport["width"])
            await journey.click(
                page.get_by_role("region", name=PROVINCE).get_by_role("link", name=tenant, exact=True), tenant, "home"
            )
            await expect(page.get_by_role("heading", name="Việc đang chờ bạn")).to_be_visible()
            await walk(journey)
        finally:
            await context.close()
    problems.assert_clean()


@pytest.fixture
async def year_under_way(
    owner_engine: AsyncEngine, live_tenants: None, live_stack: LiveStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day of the 2021 cycle (the live server runs in this process and reads the same clock): Hà Tĩnh's
    departments self-assess 2021 (its 2020 sets, taken again for 2021) and carry out the plan made after 2020's
    results, whose board gets one task (posted as its focal point's browser would)."""
    moment = datetime.combine(TODAY, time(2), tzinfo=UTC)  # 09:00 in Vietnam
    monkeypatch.setattr(clock, "utc_now", lambda: moment)
    sets = load_all(PROJECT_ROOT / "tenants")
    again = [
        replace(s, year=2021, file=s.file.with_name(f"2021-{s.file.name}"), maps_from_previous={})
        for s in sets
        if s.province == "ha-tinh" and s.year == 2020
    ]
    await import_criteria(owner_engine, [*sets, *again])


async def _a_task_on_the_board(browser: Browser, stack: LiveStack) -> None:
    context = await browser.new_context(base_url=stack.url)
    page = await context.new_page()
    await sign_in_through_provider(page, stack, "Nguyễn Thị Phương Thảo")
    await page.goto(SNGV_BOARD)
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    # led by the unit staff's own unit, so that they see it on the board too
    await page.goto(f"{SNGV_BOARD}/them")
    unit = await page.locator("select[name=lead_unit_id] option", has_text=STAFF_UNIT).get_attribute("value")
    assert unit
    form = {"kind": "fix", "area_code": "1", "title": TASK, "deadline_text": "Quý II/2021", "_csrf_token": token}
    form["lead_unit_id"] = unit
    response = await page.request.post(f"{stack.url}{SNGV_BOARD}/them", form=form, max_redirects=0)
    assert response.status in (302, 303), await response.text()
    await context.close()


async def _open_card(j: Journey) -> None:
    """The card's code opens its panel beside the board (htmx), the page staying where it is."""
    await j.page.locator("li.card").filter(has_text=TASK).get_by_role("link").first.click()
    await expect(j.page.locator("#panel")).to_contain_text(TASK)
    await j.seen("card")


async def _board_heads_stay_in_sight(j: Journey) -> None:
    """The board scrolls inside itself; scrolled down, its column heads are still at its top (sticky). On a phone a
    hint says the columns scroll sideways, and the next column peeks in."""
    board = j.page.locator("#board")
    offset = await board.evaluate(
        """b => { b.scrollTop = 300;
                  const head = b.querySelector('.board-head');
                  return head.getBoundingClientRect().top - b.getBoundingClientRect().top; }"""
    )
    assert await board.evaluate("b => b.scrollTop") > 0, "the board does not scroll inside itself"
    assert abs(offset) <= 1, f"the column heads scrolled away ({offset}px)"
    await board.evaluate("b => { b.scrollTop = 0; }")
    hint = j.page.locator("#board-scroll-hint")
    if j.width < DESKTOP["width"]:
        await expect(hint).to_be_visible()
        assert await board.evaluate("b => b.scrollWidth > b.clientWidth")
    else:
        await expect(hint).to_be_hidden()


async def _focal_point(j: Journey) -> None:
    await j.open_menu("Tự đánh giá", "Tự đánh giá Chỉ số CCHC năm", "self-assessment")
    await j.click(j.page.locator("main a[href$='/linh-vuc/1']").first, re.compile(r"^1\. "), "area-1")
    # a row's upload form is folded (the page was metres long on a phone), and opens without a script
    upload = j.page.locator("details.evidence-add").first
    await expect(upload).to_be_visible()
    await expect(upload.get_by_role("button", name="Tải lên")).to_be_hidden()
    await j.open_menu("Kế hoạch khắc phục", "Kế hoạch khắc phục", "board")
    await _board_heads_stay_in_sight(j)
    await _open_card(j)
    await j.open_menu("Nộp hồ sơ", "Nộp hồ sơ", "submission")


async def _unit_staff(j: Journey) -> None:
    await j.open_menu("Việc của tôi", "Việc của tôi", "my-tasks")
    await j.open_menu("Kế hoạch khắc phục", "Kế hoạch khắc phục", "board")
    await _open_card(j)


async def _unit_head(j: Journey) -> None:
    await j.open_menu("Kế hoạch khắc phục", "Kế hoạch khắc phục", "board")
    await j.open_menu("Báo cáo định kỳ", "Báo cáo", "reports")


async def _leader(j: Journey) -> None:
    await j.open_menu("Tự đánh giá", "Tự đánh giá Chỉ số CCHC năm", "self-assessment")
    await j.open_menu("Kế hoạch khắc phục", "Kế hoạch khắc phục", "board")
    await j.open_menu("Nộp hồ sơ", "Nộp hồ sơ", "submission")


async def _tenant_admin(j: Journey) -> None:
    await j.open_menu("Thành viên", "Thành viên", "members")
    await j.open_menu("Nhật ký thay đổi", "Nhật ký", "audit")


async def _inspector(j: Journey) -> None:
    await j.open_menu("Thẩm định", "Thẩm định", "review")
    await j.open_menu("Kết quả toàn tỉnh", "Kết quả", "province-results")
    await j.open_menu("Điểm khảo sát, chỉ số", "Điểm", "external-scores")
    await j.open_menu("Nộp hồ sơ", "Nộp hồ sơ", "submission")  # under "Thêm"


async def _agency_reviewer(j: Journey) -> None:
    await j.open_menu("Thẩm định", "Thẩm định", "review")


async def _province_admin(j: Journey) -> None:
    await j.open_menu("Quản trị tỉnh", "Các sở, ban, ngành", "province-admin")
    await j.open_menu("Kết quả toàn tỉnh", "Kết quả", "province-results")
    await j.open_menu("Nhật ký thay đổi", "Nhật ký", "audit")  # under "Thêm"


ROLES = [
    pytest.param("focal-point", "Nguyễn Thị Phương Thảo", "Sở Ngoại vụ", _focal_point, True, id="focal-point"),
    pytest.param("unit-staff", "Phạm Anh Tuấn", "Sở Ngoại vụ", _unit_staff, True, id="unit-staff"),
    pytest.param("unit-head", "Lê Thị Minh Nguyệt", "Sở Ngoại vụ", _unit_head, False, id="unit-head"),
    pytest.param("leader", "Trần Quang Vinh", "Sở Ngoại vụ", _leader, False, id="leader"),
    pytest.param("tenant-admin", "Đinh Xuân Trường", "Sở Ngoại vụ", _tenant_admin, False, id="tenant-admin"),
    pytest.param("inspector", "Nguyễn Văn Toàn", "Sở Nội vụ", _inspector, False, id="inspector"),
    pytest.param("agency-reviewer", "Phạm Thanh Bình", "Sở Tư pháp", _agency_reviewer, False, id="agency-reviewer"),
    pytest.param("province-admin", "Trần Văn Nghĩa", "Sở Nội vụ", _province_admin, False, id="province-admin"),
]


@pytest.mark.usefixtures("year_under_way")
@pytest.mark.parametrize(("role", "person", "tenant", "walk", "needs_task"), ROLES)
async def test_each_role_walks_its_path_by_clicking_on_desktop_and_phone(
    browser: Browser,
    live_stack: LiveStack,
    problems: BrowserProblems,
    role: str,
    person: str,
    tenant: str,
    walk: Walk,
    needs_task: bool,
) -> None:
    if needs_task:
        await _a_task_on_the_board(browser, live_stack)
    await _walk_at_both_widths(browser, live_stack, problems, role, person, tenant, walk)
