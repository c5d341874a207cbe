"""An archive (tenants/lineage.yaml) as its old member sees it in a real browser, at desktop and phone widths:
the banner "Lưu trữ – chỉ đọc", its published history, its own last year, a link to the successor, and no form
or button that writes anywhere. Nguyễn Đình Quang was the tenant admin of Hà Tĩnh's Sở Tài nguyên và Môi trường,
merged into its Sở Nông nghiệp và Môi trường on 01/03/2025."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, ViewportSize, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.assessments.history import import_histories, load_histories
from backend.domain.tenants.config import load_directory, with_issuer_base
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import sync_tenants
from tests.auth_support import publish_result
from tests.e2e.conftest import DEMO_TENANTS, BrowserProblems, LiveStack, sign_in_through_provider
from tests.lineage_support import add_open_task, tenant_rows
from tests.support import LiveServer

pytestmark = pytest.mark.browser

ARCHIVE = "/t/ha-tinh/so-tai-nguyen-moi-truong"
SUCCESSOR = "/t/ha-tinh/so-nong-nghiep-moi-truong/"
OLD_MEMBER = "Nguyễn Đình Quang"
# The archive's yearly pages, each opened from its section's default address.
SECTIONS = ("/tu-danh-gia/", "/ke-hoach/", "/nop-ho-so/", "/bao-cao/")


@pytest.fixture
async def archive(owner_engine: AsyncEngine, dev_idp: LiveServer, criteria: None) -> None:
    """The demo map of 2025 as `make run` applies it (the lineage), with the published years of the archive."""
    provinces = with_issuer_base(load_directory(DEMO_TENANTS), dev_idp.url)
    await sync_tenants(owner_engine, provinces, demo_people=True, lineage=load_lineage(DEMO_TENANTS, provinces))
    await import_histories(owner_engine, load_histories(DEMO_TENANTS))


async def _writes_nothing(page: Page) -> None:
    """In the page's content (the header keeps its sign-out), no form that posts and no button outside a GET form
    (a filter; downloads are links)."""
    main = page.locator("main")
    await expect(main.locator("form[method='post' i]")).to_have_count(0)
    await expect(main.locator("button:not(form[method='get' i] button)")).to_have_count(0)


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
async def test_the_archive_as_its_old_member_sees_it(
    page: Page, live_stack: LiveStack, problems: BrowserProblems, archive: None, viewport: ViewportSize
) -> None:
    await page.set_viewport_size(viewport)
    await sign_in_through_provider(page, live_stack, OLD_MEMBER)
    await page.goto(f"{ARCHIVE}/")

    banner = page.locator("#archive-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("Lưu trữ – chỉ đọc.")
    await expect(banner).to_contain_text("01/03/2025")
    summary = page.get_by_role("region", name="Hồ sơ lưu trữ của Sở Tài nguyên và Môi trường")
    await expect(summary).to_be_visible()
    await expect(summary.locator("#archive-published")).to_contain_text(
        "Năm 2024: tổng điểm 89,25, Chỉ số CCHC 89,25 %, xếp hạng 4/19"
    )
    history = page.locator("#history-table")
    await expect(history).to_be_visible()
    for year in ("2022", "2023", "2024"):
        await expect(history.get_by_role("columnheader", name=year, exact=True)).to_be_visible()
    await expect(page.get_by_text("Việc đang chờ bạn")).to_have_count(0)
    await expect(page.get_by_text("Năm đánh giá 2026")).to_have_count(0)
    await _writes_nothing(page)
    # The page fits the width: nothing scrolls sideways (the wide history table scrolls inside its own box).
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    for section in SECTIONS:
        await page.goto(f"{ARCHIVE}{section}")
        await expect(page).to_have_url(re.compile(re.escape(f"{ARCHIVE}{section}2024") + "$"))
        await expect(page.locator("#archive-banner")).to_be_visible()
        await expect(page.locator("#year-cycle")).to_have_text("Lưu trữ đến năm 2024")
        await _writes_nothing(page)

    # The successor, one click from the banner: the work goes on there.
    await page.goto(f"{ARCHIVE}/")
    await banner.get_by_role("link", name="Sở Nông nghiệp và Môi trường").click()
    await expect(page).to_have_url(re.compile(re.escape(SUCCESSOR) + "$"))
    problems.assert_clean()


# Years after the merge, each section's page of one: the successor worked them.
LATER = (
    ("/tu-danh-gia/2025", "không tự đánh giá Chỉ số CCHC năm 2025"),
    ("/ke-hoach/2025", "không lập kế hoạch khắc phục năm 2025"),
    ("/bao-cao/2026", "không báo cáo tiến độ khắc phục năm 2026"),
    ("/nop-ho-so/2026", "không nộp hồ sơ đánh giá năm 2026"),
)


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
async def test_the_archive_s_years_after_its_merge_say_why_and_where_the_work_went(
    page: Page, live_stack: LiveStack, problems: BrowserProblems, archive: None, viewport: ViewportSize
) -> None:
    """A year the archive never worked, typed into the address: a clear sentence naming the successor, with its
    link, instead of empty score cards, lanes and a draft badge; its own last year one click away."""
    await page.set_viewport_size(viewport)
    await sign_in_through_provider(page, live_stack, OLD_MEMBER)
    for path, did in LATER:
        await page.goto(f"{ARCHIVE}{path}")
        absent = page.locator("#archived-year")
        await expect(absent).to_be_visible()
        await expect(absent).to_contain_text(
            f"Sở Tài nguyên và Môi trường {did} vì đã được sắp xếp lại từ ngày 01/03/2025"
        )
        await expect(absent.get_by_role("link", name="Sở Nông nghiệp và Môi trường")).to_be_visible()
        for empty in ("Chưa bắt đầu", "Dự thảo", "Quá hạn", "Chưa nộp"):
            await expect(page.locator("main").get_by_text(empty)).to_have_count(0)
        await expect(page.locator("#sheet-total, #board, .card-grid")).to_have_count(0)
        await _writes_nothing(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path

    # Back to its last year from the page, then on to the successor from the same box.
    await page.goto(f"{ARCHIVE}/tu-danh-gia/2026")
    await page.locator("#archived-year").get_by_role("link", name="Năm 2024").click()
    await expect(page).to_have_url(re.compile(re.escape(f"{ARCHIVE}/tu-danh-gia/2024") + "$"))
    await expect(page.locator("#year-cycle")).to_have_text("Lưu trữ đến năm 2024")
    await page.goto(f"{ARCHIVE}/ke-hoach/2025")
    await page.locator("#archived-year").get_by_role("link", name="Sở Nông nghiệp và Môi trường").click()
    await expect(page).to_have_url(re.compile(re.escape(SUCCESSOR) + "$"))
    problems.assert_clean()


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
async def test_the_inspector_reads_the_archive_s_review_read_only_with_its_successor(
    page: Page,
    live_stack: LiveStack,
    problems: BrowserProblems,
    archive: None,
    owner_engine: AsyncEngine,
    viewport: ViewportSize,
) -> None:
    """Nguyễn Văn Toàn (Hà Tĩnh's Sở Nội vụ) opens the year's review list: the archive, with a result published
    that year, is labelled "Lưu trữ" with its successor; its review shows the result and names the successor, and
    offers no decision, request or publishing."""
    # a result of the year the test's criteria set is of
    await publish_result(owner_engine, "ha-tinh", "so-tai-nguyen-moi-truong", 2020, "80.5", 3, 12)
    await page.set_viewport_size(viewport)
    await sign_in_through_provider(page, live_stack, "Nguyễn Văn Toàn")
    await page.goto("/t/ha-tinh/so-noi-vu/tham-dinh/2020")
    row = page.locator("#review-list tr[data-tenant='so-tai-nguyen-moi-truong']")
    await expect(row).to_contain_text("Lưu trữ")
    await expect(row).to_contain_text("nay là Sở Nông nghiệp và Môi trường")
    await expect(row).to_contain_text("Không có trên parboard")
    await expect(row).to_contain_text("80,5")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await row.get_by_role("link", name="Sở Tài nguyên và Môi trường").click()
    archived = page.locator("#review-archived")
    await expect(archived).to_contain_text("Lưu trữ – chỉ đọc.")
    await expect(archived).to_contain_text("Kết quả công bố năm 2020: tổng điểm 80,5, xếp hạng 3/12.")
    await expect(archived.get_by_role("link", name="Sở Nông nghiệp và Môi trường")).to_be_visible()
    await _writes_nothing(page)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    problems.assert_clean()


FOCAL_POINT = "Trần Thị Hoài Thương"  # the successor's focal point since the merge (and the archive's before it)


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
async def test_the_archive_s_board_shows_where_its_carried_over_tasks_went(
    page: Page,
    new_page: Callable[[], Awaitable[Page]],
    live_stack: LiveStack,
    problems: BrowserProblems,
    archive: None,
    owner_engine: AsyncEngine,
    viewport: ViewportSize,
) -> None:
    """The successor's focal point carries the archive's two open tasks over from her home; her board's cards say
    where they came from. Nguyễn Đình Quang, on the archive's board, reads how many went, when and by whom, and
    follows a card's link to the task it became."""
    for number, title in ((1, "Ban hành kế hoạch rà soát TTHC"), (2, "Số hoá hồ sơ địa chính")):
        await add_open_task(owner_engine, ARCHIVE, number, title)
    await tenant_rows(owner_engine, ARCHIVE, "UPDATE tasks SET year = 2020, area_code = '1'")  # the criteria's year
    await page.set_viewport_size(viewport)
    await sign_in_through_provider(page, live_stack, FOCAL_POINT)
    await page.goto(SUCCESSOR)
    await page.get_by_role("button", name="Chuyển 2 nhiệm vụ chưa hoàn thành sang Kế hoạch khắc phục").click()
    await expect(
        page.get_by_role("status").filter(has_text="Đã chuyển sang Kế hoạch khắc phục: 2 nhiệm vụ")
    ).to_be_visible()
    await page.goto(f"{SUCCESSOR}ke-hoach/2020")
    for number in (1, 2):
        card = page.locator("#board .card").filter(has=page.get_by_role("link", name=f"KP-{number}", exact=True))
        await expect(card.locator(".card-origin")).to_have_text(f"Chuyển từ Sở Tài nguyên và Môi trường KP-{number}")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # she reads the archive too (its focal point before the merge): the same links, to her own board
    await page.goto(f"{ARCHIVE}/ke-hoach/2020")
    await expect(page.locator("#carried-over")).to_contain_text(f"do {FOCAL_POINT} thực hiện.")
    await expect(page.locator("#board .card-carried a")).to_have_count(2)
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.goto(f"{SUCCESSOR}ke-hoach/2020")  # the page a failed run keeps a screenshot of

    old_member = await new_page()
    await old_member.set_viewport_size(viewport)
    await sign_in_through_provider(old_member, live_stack, OLD_MEMBER)
    await old_member.goto(f"{ARCHIVE}/ke-hoach/2020")
    summary = old_member.locator("#carried-over")
    await expect(summary).to_contain_text(
        "2 nhiệm vụ chưa hoàn thành của kế hoạch năm 2020 đã được chuyển sang Kế hoạch khắc phục của"
        " Sở Nông nghiệp và Môi trường ngày"
    )
    await expect(summary).to_contain_text(f"do {FOCAL_POINT} thực hiện.")
    await expect(old_member.locator("#carried-still-open")).to_have_count(0)
    await _writes_nothing(old_member)
    assert await old_member.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    card = old_member.locator("#board .card").filter(has_text="Ban hành kế hoạch rà soát TTHC")
    went = card.locator(".card-carried")
    await expect(went).to_have_text("Đã chuyển sang Sở Nông nghiệp và Môi trường: KP-1")
    await went.get_by_role("link", name="KP-1").click()
    await expect(old_member).to_have_url(re.compile(re.escape(f"{SUCCESSOR}ke-hoach/2020/the/1") + "$"))
    await expect(old_member.locator("main")).to_contain_text("Ban hành kế hoạch rà soát TTHC")
    await old_member.goto(f"{ARCHIVE}/ke-hoach/2020")  # the page a failed run keeps a screenshot of
    problems.assert_clean()
