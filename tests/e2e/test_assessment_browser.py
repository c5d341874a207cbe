"""Self-assessment in a real browser: a staff member of Hà Tĩnh's Sở Ngoại vụ signs in through the province's
(development) identity provider, starts the 2020 self-assessment and saves rows of area 1 with htmx, in place:
the row's score, the area and sheet totals and the chart change without a page load; bad input is refused
next to its field, with what was typed kept and the totals untouched; the saved values survive a reload."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Dialog, Locator, Page, Route, expect

from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider

pytestmark = pytest.mark.browser

STAFF = "Phạm Anh Tuấn"  # tuan.pa@sngv.hatinh.example.vn, staff of the Sở Ngoại vụ (tenants/ha-tinh/province.yaml)
SNGV = "/t/ha-tinh/so-ngoai-vu"
BASE = f"{SNGV}/tu-danh-gia/2020"
AREA_1 = f"{BASE}/linh-vuc/1"
WAIT = 5_000  # ms, for every expectation about what a save changes


async def _save(page: Page, row: Locator, url: str) -> int:
    """Click the row's "Lưu" and wait for htmx's answer; returns its HTTP status."""
    async with page.expect_response(lambda r: r.url == url and r.request.method == "POST") as info:
        await row.get_by_role("button", name="Lưu", exact=True).click()
    response = await info.value
    assert response.request.headers.get("hx-request") == "true", "the row was not saved by htmx"
    return response.status


async def _expect_totals(page: Page, total: str) -> None:
    await expect(page.locator("output#area-total")).to_have_text(total, timeout=WAIT)
    await expect(page.locator("output#sheet-total")).to_have_text(total, timeout=WAIT)


@pytest.mark.usefixtures("criteria")
async def test_staff_saves_rows_in_place_sees_totals_and_chart_and_bad_input_refused_next_to_the_field(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    # Signed in through the provider, the staff member starts the year's self-assessment.
    await sign_in_through_provider(page, live_stack, STAFF)
    await expect(page.locator(".site-header .user-name")).to_have_text(STAFF)
    await page.goto(BASE)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tự đánh giá Chỉ số CCHC năm 2020")
    await page.get_by_role("button", name="Bắt đầu tự đánh giá năm 2020", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="Đã bắt đầu bản tự đánh giá.")).to_be_visible()

    # Area 1: nothing scored yet.
    await page.goto(AREA_1)
    await expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^1\. "))
    await expect(page.locator("output#sheet-total")).to_have_text("0")
    await expect(page.locator("output#score-1-2")).to_contain_text("chưa chấm")
    # Anything that reloads the page (a form posted without htmx) forgets this marker.
    await page.evaluate("window.__marker = 1")
    navigated = len(navigations)

    # Criterion 1.2, a ratio: 1,5 × 94,76 % = 1,42.
    ratio = page.locator("article#row-1-2")
    save_ratio = f"{live_stack.url}{BASE}/tieu-chi/1.2"
    await ratio.locator("#f-1-2-achieved").fill("94,76")
    await ratio.locator("#f-1-2-target").fill("100")
    assert await _save(page, ratio, save_ratio) == 200
    await expect(page.locator("output#score-1-2")).to_have_text("1,42/1,5", timeout=WAIT)
    await _expect_totals(page, "1,42")
    chart = page.locator("#area-chart")
    await expect(chart.locator('text.bar-value[data-code="1"]')).to_have_text("1,42/10", timeout=WAIT)
    bar = chart.locator('rect.bar-achieved[data-code="1"]')
    await expect(bar).to_have_count(1)
    assert float(await bar.get_attribute("width") or 0) > 0
    await expect(page.locator("article#row-1-2 .saved-note")).to_have_text("Đã lưu.")
    # the swapped-in row is the same row, once, with what was saved
    await expect(page.locator("article#row-1-2")).to_have_count(1)
    await expect(page.locator("#f-1-2-achieved")).to_have_value("94,76")

    # A word instead of a number: refused next to the field, what was typed kept, nothing saved.
    problems.expect_status(save_ratio, 422)
    await ratio.locator("#f-1-2-achieved").fill("abc")
    assert await _save(page, ratio, save_ratio) == 422
    error = page.locator("p#f-1-2-achieved-error")
    await expect(error).to_be_visible(timeout=WAIT)
    await expect(error).to_contain_text("phải là một số")
    achieved = page.locator("#f-1-2-achieved")
    await expect(achieved).to_have_attribute("aria-invalid", "true")
    await expect(achieved).to_have_attribute("aria-describedby", "f-1-2-achieved-error")
    await expect(achieved).to_have_value("abc")
    await expect(page.locator("#f-1-2-target")).to_have_value("100")
    await expect(page.locator("output#score-1-2")).to_have_text("1,42/1,5")
    await _expect_totals(page, "1,42")

    # A target of 0: refused on the target's field.
    await page.locator("#f-1-2-achieved").fill("94,76")
    await page.locator("#f-1-2-target").fill("0")
    assert await _save(page, page.locator("article#row-1-2"), save_ratio) == 422
    await expect(page.locator("p#f-1-2-target-error")).to_contain_text("lớn hơn 0", timeout=WAIT)
    await expect(page.locator("p#f-1-2-achieved-error")).to_have_count(0)
    await expect(page.locator("#f-1-2-target")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-1-2-target")).to_have_value("0")
    await _expect_totals(page, "1,42")

    # Criterion 1.7, scored by hand, with a dot for the decimals: shown with a comma, added to the totals.
    manual = page.locator("article#row-1-7")
    await manual.locator("#f-1-7-points").fill("0.5")
    assert await _save(page, manual, f"{live_stack.url}{BASE}/tieu-chi/1.7") == 200
    await expect(page.locator("output#score-1-7")).to_have_text("0,5/1", timeout=WAIT)
    await _expect_totals(page, "1,92")
    await expect(chart.locator('text.bar-value[data-code="1"]')).to_have_text("1,92/10", timeout=WAIT)

    # All of it without leaving the page.
    assert await page.evaluate("window.__marker") == 1, "the page was reloaded"
    assert len(navigations) == navigated, f"the page navigated: {navigations[navigated:]}"
    await expect(page).to_have_url(re.compile(re.escape(AREA_1) + "$"))

    # Saved on the server: a reload shows the same scores, and 1.2 as last saved (the refused input is gone).
    await page.reload()
    await expect(page.locator("output#score-1-2")).to_have_text("1,42/1,5")
    await expect(page.locator("output#score-1-7")).to_have_text("0,5/1")
    await _expect_totals(page, "1,92")
    await expect(page.locator("#f-1-2-achieved")).to_have_value("94,76")
    await expect(page.locator("#f-1-2-target")).to_have_value("100")
    await expect(page.locator("p.field-error")).to_have_count(0)
    problems.assert_clean()


@pytest.mark.usefixtures("criteria")
async def test_a_row_saved_meanwhile_in_another_tab_is_not_overwritten_the_fresh_row_is_swapped_in(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    await sign_in_through_provider(page, live_stack, STAFF)
    await page.goto(BASE)
    await page.get_by_role("button", name="Bắt đầu tự đánh giá năm 2020", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="Đã bắt đầu bản tự đánh giá.")).to_be_visible()
    await page.goto(AREA_1)
    manual = page.locator("article#row-1-7")
    save_manual = f"{live_stack.url}{BASE}/tieu-chi/1.7"

    # Meanwhile, in another tab (the same cookies), the row is saved from the version this page still shows.
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    other_tab = await page.request.post(
        save_manual,
        form={"points": "1", "explanation": "Lưu ở thẻ khác", "version": "0", "_csrf_token": token or ""},
        headers={"HX-Request": "true"},
    )
    assert other_tab.status == 200

    # This page's save, from the stale version: refused, the fresh row swapped in with the reason.
    problems.expect_status(save_manual, 409)
    await manual.locator("#f-1-7-points").fill("0,5")
    assert await _save(page, manual, save_manual) == 409
    alert = page.locator("article#row-1-7 [role=alert]")
    await expect(alert).to_contain_text("vừa được người khác lưu", timeout=WAIT)
    await expect(page.locator("#f-1-7-points")).to_have_value("1")
    await expect(page.locator("#f-1-7-explanation")).to_have_value("Lưu ở thẻ khác")
    await expect(page.locator("output#score-1-7")).to_have_text("1/1")
    await _expect_totals(page, "1")

    # Saved again from the fresh row, it goes through.
    await page.locator("#f-1-7-points").fill("0,5")
    assert await _save(page, page.locator("article#row-1-7"), save_manual) == 200
    await expect(page.locator("output#score-1-7")).to_have_text("0,5/1", timeout=WAIT)
    await expect(page.locator("article#row-1-7 [role=alert]")).to_have_count(0)
    problems.assert_clean()


def _answer(status: int) -> Callable[[Route], Awaitable[None]]:
    async def answer(route: Route) -> None:
        await route.fulfill(status=status, body="<p>lỗi</p>")

    return answer


@pytest.mark.usefixtures("criteria")
async def test_a_save_that_fails_without_an_answer_says_so_next_to_the_row(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    """A row's save answered by an error page (403, 500) or by nothing: a Vietnamese alert in the row, never a
    silent failure; the next good save removes it."""
    await sign_in_through_provider(page, live_stack, STAFF)
    await page.goto(BASE)
    await page.get_by_role("button", name="Bắt đầu tự đánh giá năm 2020", exact=True).click()
    # started (the click only sends the form: going on at once would cancel it, and area 1 has no rows)
    await expect(page.get_by_role("status").filter(has_text="Đã bắt đầu bản tự đánh giá.")).to_be_visible()
    await page.goto(AREA_1)
    row = page.locator("article#row-1-7")
    url = f"{live_stack.url}{BASE}/tieu-chi/1.7"
    await row.locator("#f-1-7-points").fill("0,5")
    alert = row.get_by_role("alert")
    for status, text in ((403, "không có quyền"), (500, "Hệ thống gặp sự cố (mã 500)")):
        problems.expect_status(url, status)
        await page.route(url, _answer(status))
        assert await _save(page, row, url) == status
        await expect(alert).to_contain_text(text, timeout=WAIT)
        await page.unroute(url)
    await page.route(url, lambda route: route.abort())
    await row.get_by_role("button", name="Lưu", exact=True).click()
    await expect(alert).to_contain_text("Không kết nối được máy chủ", timeout=WAIT)
    await page.unroute(url)
    assert await _save(page, row, url) == 200
    await expect(page.locator("output#score-1-7")).to_have_text("0,5/1", timeout=WAIT)
    await expect(row.locator(".htmx-failure")).to_have_count(0)
    # htmx logs each failure it reports (console.error); nothing else went wrong
    assert all(e.startswith(("Response Status Error Code", "htmx:")) for e in problems.console_errors)
    assert problems.page_errors == problems.csp_violations == []


@pytest.mark.usefixtures("criteria")
async def test_typed_but_unsaved_values_ask_before_switching_areas_and_saved_ones_do_not(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    dialogs: list[str] = []
    dismissed: asyncio.Queue[str] = asyncio.Queue()  # each dialog, once the listener has answered it

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()
        dismissed.put_nowait(dialog.type)

    page.on("dialog", dismiss)
    await sign_in_through_provider(page, live_stack, STAFF)
    await page.goto(BASE)
    await page.get_by_role("button", name="Bắt đầu tự đánh giá năm 2020", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="Đã bắt đầu bản tự đánh giá.")).to_be_visible()
    await page.goto(AREA_1)
    area_2 = page.locator(f'a[href="{BASE}/linh-vuc/2"]').first

    # Typed without saving: switching areas asks, and "Huỷ" keeps the page and what was typed.
    manual = page.locator("article#row-1-7")
    await manual.locator("#f-1-7-points").fill("0,5")
    await area_2.click()
    # the dialog is handled by the listener above, asynchronously: wait until it has been answered
    assert await asyncio.wait_for(dismissed.get(), timeout=WAIT / 1000) == "confirm"
    assert len(dialogs) == 1
    assert "chưa lưu" in dialogs[0]
    assert page.url == f"{live_stack.url}{AREA_1}"
    await expect(page.locator("#f-1-7-points")).to_have_value("0,5")

    # Saved: switching areas asks nothing.
    assert await _save(page, manual, f"{live_stack.url}{BASE}/tieu-chi/1.7") == 200
    await expect(page.locator("output#score-1-7")).to_have_text("0,5/1", timeout=WAIT)
    await page.locator(f'a[href="{BASE}/linh-vuc/2"]').first.click()
    await expect(page).to_have_url(f"{live_stack.url}{BASE}/linh-vuc/2", timeout=WAIT)
    assert len(dialogs) == 1

    # Leaving otherwise (closing the tab, a reload) with something typed: the browser's own question.
    await page.locator("form[data-warn-unsaved] input:not([type=hidden])").first.fill("1")
    await page.close(run_before_unload=True)
    assert await asyncio.wait_for(dismissed.get(), timeout=WAIT / 1000) == "beforeunload"
    assert dialogs[1].startswith("beforeunload")
    assert not page.is_closed()
