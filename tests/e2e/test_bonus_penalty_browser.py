"""The demo set's bonus and penalty in a real browser, at desktop and phone width: the department sees its
bonus area as scored and what the total counts within the cap, attaches evidence naming its section and page,
and the Sở Nội vụ's reviewer sees the appraised total so far and downloads the province's results."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import Assessment, Submission
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider
from tests.factories import BONUS_PENALTY_ROWS, BONUS_PENALTY_YEAR, add_external_scores, drop_the_2024_calendar
from tests.support import tenant_and_province

pytestmark = pytest.mark.browser

FOCAL = "Nguyễn Thị Lan"  # focal point of Bà Rịa – Vũng Tàu's Sở Tài nguyên và Môi trường
REVIEWER = "Mai Thị Thanh Tâm"  # province reviewer of its Sở Nội vụ
ASSESS = f"/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/tu-danh-gia/{BONUS_PENALTY_YEAR}"
REVIEW = f"/t/ba-ria-vung-tau/so-noi-vu/tham-dinh/{BONUS_PENALTY_YEAR}/so-tai-nguyen-moi-truong"
RESULTS = f"/t/ba-ria-vung-tau/so-noi-vu/tinh/ket-qua/{BONUS_PENALTY_YEAR}"
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
SHOTS = PROJECT_ROOT / "var"


@pytest.fixture
async def assessed(owner_engine: AsyncEngine, live_tenants: None) -> None:
    """The demo sets, the 2024 calendar lifted, and Sở TN&MT's 2024 sheet with its bonus (2,5, capped at 2)."""
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    await drop_the_2024_calendar(owner_engine)
    await add_external_scores(owner_engine)
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
        await bind_tenant(db, tenant.id)
        await assessments.start(db, tenant, province, BONUS_PENALTY_YEAR, None)
        for code, form in BONUS_PENALTY_ROWS:
            loaded = await assessments.load(db, province, BONUS_PENALTY_YEAR)
            assert loaded is not None
            saved = await assessments.save_row(
                db, tenant, loaded, loaded.sheet.row(code), {**form, "version": "0"}, None
            )
            assert not saved.errors, (code, saved.errors)
        await bind_tenant(db, None)


async def _submitted(owner_engine: AsyncEngine) -> None:
    """The department's submission, as the package job leaves it, so that the reviewer may decide."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, _ = await tenant_and_province(db, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong")
        await bind_tenant(db, tenant.id)
        assessment = await db.scalar(select(Assessment).where(Assessment.year == BONUS_PENALTY_YEAR))
        assert assessment is not None
        db.add(
            Submission(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                assessment_id=assessment.id,
                year=BONUS_PENALTY_YEAR,
                version=1,
                status="submitted",
                progress_done=0,
                progress_total=0,
                error="",
            )
        )
        await db.flush()
        await bind_tenant(db, None)


async def _fits(page: Page, *, but: str = "") -> None:
    """Nothing wider than the window but the tables' own scrolling wrappers (and `but`, a known exception)."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    widest = await page.evaluate(
        """(but) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .filter(e => !e.closest('.table-wrap, nav.primary ul' + but))
            .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + e.textContent.slice(0, 40))""",
        f", {but}" if but else "",
    )
    assert not widest, f"{page.url} scrolls sideways by {overflow}px: {widest}"


@pytest.mark.usefixtures("assessed")
@pytest.mark.parametrize("width", list(WIDTHS))
async def test_bonus_within_its_cap_section_of_evidence_and_the_reviewers_total(
    page: Page, live_stack: LiveStack, problems: BrowserProblems, owner_engine: AsyncEngine, width: str
) -> None:
    await page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))  # type: ignore[arg-type]
    await sign_in_through_provider(page, live_stack, FOCAL)
    await page.goto(ASSESS)
    await expect(page.locator("#sheet-total")).to_have_text("87,725")
    bonus = page.get_by_role("row").filter(has=page.get_by_role("link", name="Điểm thưởng", exact=True))
    await expect(bonus).to_contain_text("+2,5")
    await expect(bonus).to_contain_text("tính 2 (tối đa 2)")
    penalty = page.get_by_role("row").filter(has=page.get_by_role("link", name="Điểm trừ", exact=True))
    await expect(penalty).to_contain_text("−1,5")
    await _fits(page)
    await page.screenshot(path=str(SHOTS / f"bonus-overview-{width}.png"), full_page=True)

    # evidence of 10.4 naming where in the decision it is
    await page.goto(f"{ASSESS}/linh-vuc/10")
    panel = page.locator("#ev-2024-10-4")
    await panel.get_by_text("Đính kèm minh chứng").click()  # the upload form is folded under the list
    await expect(panel.get_by_label("Vị trí trong văn bản (điều, mục, trang; nếu có)")).to_be_visible()
    await panel.locator('input[type="file"]').set_input_files(
        files=[{"name": "Quyết định tự chủ.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 quyet dinh"}]
    )
    problems.expect_status(
        f"{live_stack.url}/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/tai-lieu/{BONUS_PENALTY_YEAR}/tieu-chi/10.4", 422
    )
    await panel.get_by_label("Vị trí trong văn bản (điều, mục, trang; nếu có)").fill("—")
    await panel.get_by_role("button", name="Tải lên").click()
    await expect(page.locator("#ev-2024-10-4-section-error")).to_have_text(
        "Ghi điều, mục hoặc trang của văn bản, ví dụ: Điều 3, trang 5."
    )
    panel = page.locator("#ev-2024-10-4")
    await panel.locator('input[type="file"]').set_input_files(
        files=[{"name": "Quyết định tự chủ.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 quyet dinh"}]
    )
    await panel.get_by_label("Vị trí trong văn bản (điều, mục, trang; nếu có)").fill("Điều 1, khoản 2, trang 3")
    await panel.get_by_role("button", name="Tải lên").click()
    await expect(page.locator("#ev-2024-10-4 .evidence-section")).to_have_text("Điều 1, khoản 2, trang 3")
    await _fits(page)
    await page.screenshot(path=str(SHOTS / f"bonus-area-{width}.png"), full_page=True)

    await _submitted(owner_engine)
    await page.context.clear_cookies()
    await sign_in_through_provider(page, live_stack, REVIEWER)
    await page.goto(REVIEW)
    summary = page.locator("#appraised-summary")
    await expect(summary).to_be_empty()  # not before the appraisal starts
    await page.locator("#c-10-4").get_by_role("button", name="Lưu quyết định").click()  # keeps the self-score, 1
    await expect(page.locator("#c-10-4")).to_contain_text("Đã lưu.")
    await expect(summary).to_have_text(
        "· Thẩm định (tạm tính, còn 15 tiêu chí) 40,996/100, gồm điểm cộng 1 (tối đa 2), điểm trừ 0 (tối đa 3)"
    )  # the DTI and survey (39,996) and the one bonus decided
    await expect(page.locator(".evidence-section")).to_have_text("Điều 1, khoản 2, trang 3")
    await _fits(page)  # a review row's score line wraps between its parts on a phone
    await page.screenshot(path=str(SHOTS / f"bonus-review-{width}.png"), full_page=True)
    await page.goto(RESULTS)
    row = page.locator("#ranking").get_by_role("row").filter(has_text="Sở Tài nguyên và Môi trường")
    await expect(row.locator("td.index")).to_have_text("87,73 %")
    async with page.expect_download() as download:
        await page.get_by_role("link", name="Tải kết quả (XLSX)").click()
    # its Vietnamese name (Content-Disposition filename*), an ASCII one beside it for old clients
    saved = f"Kết quả Chỉ số CCHC {BONUS_PENALTY_YEAR} - Tỉnh Bà Rịa – Vũng Tàu.xlsx"
    assert (await download.value).suggested_filename == saved
    await _fits(page)
    await page.screenshot(path=str(SHOTS / f"bonus-results-{width}.png"), full_page=True)
    problems.assert_clean()
