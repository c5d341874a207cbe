"""The remedy board (Kế hoạch khắc phục) in a real browser: cards of Hà Tĩnh's Sở Ngoại vụ moved with the mouse
(SortableJS), with the keyboard alone (Alt+arrows on a focused card, and the card's "Di chuyển" form), each move
saved by htmx and answered with only the changed cells and the column counts; the order survives a reload. Two
people on the same board: the one whose page is stale is told, shown the fresh board, and nothing is lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider

pytestmark = pytest.mark.browser

FOCAL = "Nguyễn Thị Phương Thảo"  # thao.ntp@sngv.hatinh.example.vn, focal point: may move any task
LEADER = "Trần Quang Vinh"  # vinh.tq@sngv.hatinh.example.vn, leader: may move any task too
STAFF = "Phạm Anh Tuấn"  # tuan.pa@sngv.hatinh.example.vn, Phòng Hợp tác quốc tế: moves its tasks, confirms none
BOARD = "/t/ha-tinh/so-ngoai-vu/ke-hoach/2020"
WAIT = 5_000  # ms, for every expectation about what a move changes
CONFLICT = "vừa được người khác thay đổi"


async def _open_board(page: Page) -> None:
    await page.goto(BOARD)
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Kế hoạch khắc phục")
    # board.js has made every cell sortable
    await page.wait_for_function(
        "document.querySelectorAll('.board-cell').length > 0"
        " && [...document.querySelectorAll('.board-cell')].every(c => c._sortable)"
    )


async def _create_tasks(page: Page, stack: LiveStack, *titles: str) -> None:
    """Tasks of area 1 posted from the signed-in browser (its cookies, its CSRF token), in "Chưa thực hiện";
    then the board, with them."""
    await page.goto(BOARD)
    token = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    for title in titles:
        form = {"kind": "fix", "area_code": "1", "title": title, "deadline_text": "Trong năm", "_csrf_token": token}
        response = await page.request.post(f"{stack.url}{BOARD}/them", form=form, max_redirects=0, timeout=WAIT)
        assert response.status in (302, 303), await response.text()
    await _open_board(page)
    for title in titles:
        await expect(_card(page, title)).to_have_count(1)


def _card(page: Page, title: str) -> Locator:
    return page.locator("li.card").filter(has=page.locator(".card-title", has_text=title))


async def _columns(page: Page) -> list[str]:
    """The board columns' ids, left to right (from the counts in the header)."""
    names = await page.locator(".board-head h2.column-name").all_inner_texts()
    assert names == ["Chưa thực hiện", "Đang thực hiện", "Chờ xác nhận", "Hoàn thành"]
    return await page.locator(".board-head .column-count").evaluate_all(
        "spans => spans.map(s => s.id.slice('count-'.length))"
    )


def _cell(page: Page, column: str, area: str = "1") -> Locator:
    return page.locator(f"ol.board-cell#cell-{column}-{area}")


async def _expect_cell(page: Page, column: str, titles: list[str]) -> None:
    await expect(_cell(page, column).locator("li.card .card-title")).to_have_text(titles, timeout=WAIT)


async def _expect_counts(page: Page, columns: list[str], counts: list[int]) -> None:
    for column, count in zip(columns, counts, strict=True):
        await expect(page.locator(f"span.column-count#count-{column}")).to_have_text(str(count), timeout=WAIT)


def _is_move(stack: LiveStack) -> Callable[..., bool]:
    url = f"{stack.url}{BOARD}/di-chuyen"
    return lambda response: response.url == url and response.request.method == "POST"


# SortableJS moves a dragged card on a `dragover` and ignores those that come while a card still slides into
# place (it marks such an element `animated` for its 120 ms animation); Chromium's emulated drag sends one
# only when the mouse moves. So the mouse is nudged again each time nothing slides any more.
STILL = "() => ![...document.querySelectorAll('.board-cell .card')].some(c => c.animated)"
PLACED = "([card, target, before]) => before ? card.nextElementSibling === target : card.parentElement === target"


async def _drag(page: Page, card: Locator, target: Locator, *, top: bool = False) -> None:
    """Press on the card's title, move in steps onto `target` (a card's top edge, or a cell's middle), until
    SortableJS shows the card there (before the target card, or in the target cell); release."""
    await page.locator(".board-head").evaluate("head => head.scrollIntoView()")  # lane 1 in the viewport
    start = await card.locator(".card-title").bounding_box()
    end = await target.bounding_box()
    assert start
    assert end
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    to_x = end["x"] + end["width"] / 2
    to_y = end["y"] + (min(8, end["height"] / 4) if top else end["height"] / 2)
    where = [await card.element_handle(), await target.element_handle(), top]
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 5, y + 5, steps=5)
    await page.mouse.move(to_x, to_y, steps=20)
    for nudge in range(50):
        await page.wait_for_function(STILL, timeout=WAIT)
        if await page.evaluate(PLACED, where):
            break
        await page.mouse.move(to_x, to_y + nudge % 2, steps=1)
    else:
        raise AssertionError("SortableJS never placed the card at the target")
    await page.mouse.up()


@pytest.mark.usefixtures("criteria")
async def test_a_card_dragged_with_the_mouse_moves_in_place_and_its_order_survives_a_reload(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    await sign_in_through_provider(page, live_stack, FOCAL)
    await _create_tasks(page, live_stack, "Việc A", "Việc B", "Việc C")
    todo, doing, _, _ = columns = await _columns(page)
    await _expect_cell(page, todo, ["Việc A", "Việc B", "Việc C"])
    await _expect_counts(page, columns, [3, 0, 0, 0])
    await page.evaluate("window.__marker = 1")  # a page load would forget it

    # "Việc B" dragged into the empty "Đang thực hiện" cell of area 1.
    async with page.expect_response(_is_move(live_stack)) as info:
        await _drag(page, _card(page, "Việc B"), _cell(page, doing))
    response = await info.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true", "the move was not posted by htmx"
    await _expect_cell(page, doing, ["Việc B"])
    await _expect_cell(page, todo, ["Việc A", "Việc C"])
    await _expect_counts(page, columns, [2, 1, 0, 0])

    # "Việc C" dropped above "Việc B": placed before it.
    async with page.expect_response(_is_move(live_stack)) as info:
        await _drag(page, _card(page, "Việc C"), _card(page, "Việc B"), top=True)
    assert (await info.value).status == 200
    await _expect_cell(page, doing, ["Việc C", "Việc B"])
    await _expect_cell(page, todo, ["Việc A"])
    await _expect_counts(page, columns, [1, 2, 0, 0])
    assert await page.evaluate("window.__marker") == 1, "the page was reloaded"

    # Saved: the same board after a reload.
    await page.reload()
    await _expect_cell(page, doing, ["Việc C", "Việc B"])
    await _expect_cell(page, todo, ["Việc A"])
    await _expect_counts(page, columns, [1, 2, 0, 0])
    problems.assert_clean()


@pytest.mark.usefixtures("criteria")
async def test_a_card_moved_with_the_keyboard_alone_by_alt_arrows_and_by_its_move_form(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    await sign_in_through_provider(page, live_stack, FOCAL)
    await _create_tasks(page, live_stack, "Việc A", "Việc B")
    todo, doing, waiting, _ = columns = await _columns(page)

    # Alt+→ on the focused card: into the next column, and the card keeps the focus.
    card = _card(page, "Việc A")
    await card.focus()
    async with page.expect_response(_is_move(live_stack)) as info:
        await page.keyboard.press("Alt+ArrowRight")
    assert (await info.value).status == 200
    await _expect_cell(page, doing, ["Việc A"])
    await _expect_cell(page, todo, ["Việc B"])
    await _expect_counts(page, columns, [1, 1, 0, 0])
    await expect(card).to_be_focused(timeout=WAIT)

    # Alt+← brings it back, at the end of the cell; Alt+↑ up one place.
    async with page.expect_response(_is_move(live_stack)):
        await page.keyboard.press("Alt+ArrowLeft")
    await _expect_cell(page, todo, ["Việc B", "Việc A"])
    await expect(card).to_be_focused(timeout=WAIT)
    async with page.expect_response(_is_move(live_stack)):
        await page.keyboard.press("Alt+ArrowUp")
    await _expect_cell(page, todo, ["Việc A", "Việc B"])
    await _expect_counts(page, columns, [2, 0, 0, 0])

    # "Di chuyển" on "Việc B", with the keyboard only: open it, choose "Chờ xác nhận", "Chuyển".
    other = _card(page, "Việc B")
    summary = other.locator("details.card-move > summary")
    await summary.focus()
    await page.keyboard.press("Enter")
    await expect(other.locator("details.card-move")).to_have_attribute("open", "")
    task = await other.get_attribute("data-task")
    column = page.locator(f"#mv-col-{task}")
    await expect(column).to_be_attached()  # the form is fetched when "Di chuyển" opens
    await page.keyboard.press("Tab")
    await expect(column).to_be_focused()
    await page.keyboard.press("ArrowDown")  # Chưa thực hiện → Đang thực hiện
    await page.keyboard.press("ArrowDown")  # → Chờ xác nhận
    await expect(column).to_have_value(waiting)
    await page.keyboard.press("Tab")
    await expect(page.locator(f"#mv-lane-{task}")).to_be_focused()
    await expect(page.locator(f"#mv-lane-{task}")).to_have_value("1")
    await page.keyboard.press("Tab")
    await expect(page.locator(f"#mv-place-{task}")).to_be_focused()
    await page.keyboard.press("Tab")
    button = other.get_by_role("button", name="Chuyển", exact=True)
    await expect(button).to_be_focused()
    async with page.expect_response(_is_move(live_stack)) as info:
        await page.keyboard.press("Enter")
    response = await info.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true", "the form was not posted by htmx"
    await _expect_cell(page, waiting, ["Việc B"])
    await _expect_cell(page, todo, ["Việc A"])
    await _expect_counts(page, columns, [1, 0, 1, 0])
    await expect(page.locator("#board-messages")).to_contain_text("Đã chuyển KP-2")
    await expect(other).to_be_focused(timeout=WAIT)  # the keyboard goes on from the moved card

    # Saved: the same board after a reload.
    await page.reload()
    await _expect_cell(page, todo, ["Việc A"])
    await _expect_cell(page, doing, [])
    await _expect_cell(page, waiting, ["Việc B"])
    await _expect_counts(page, columns, [1, 0, 1, 0])
    problems.assert_clean()


@pytest.mark.usefixtures("criteria")
async def test_a_move_from_a_stale_board_is_refused_with_the_fresh_board_and_nothing_is_lost(
    page: Page, new_page: Callable[[], Awaitable[Page]], live_stack: LiveStack, problems: BrowserProblems
) -> None:
    # The focal point and the leader both open the board with "Việc A" not yet started.
    await sign_in_through_provider(page, live_stack, FOCAL)
    await _create_tasks(page, live_stack, "Việc A", "Việc B")
    leader = await new_page()
    await sign_in_through_provider(leader, live_stack, LEADER)
    await expect(leader.locator(".site-header .user-name")).to_have_text(LEADER)
    await _open_board(leader)
    todo, doing, waiting, _ = columns = await _columns(page)
    await _expect_cell(leader, todo, ["Việc A", "Việc B"])

    # The focal point starts it: "Đang thực hiện".
    await _card(page, "Việc A").focus()
    async with page.expect_response(_is_move(live_stack)):
        await page.keyboard.press("Alt+ArrowRight")
    await _expect_cell(page, doing, ["Việc A"])

    # The leader's page still shows it not started; his Alt+→ is refused, with the fresh board.
    problems.expect_status(f"{live_stack.url}{BOARD}/di-chuyen", 409)
    await _expect_cell(leader, todo, ["Việc A", "Việc B"])
    await _card(leader, "Việc A").focus()
    async with leader.expect_response(_is_move(live_stack)) as info:
        await leader.keyboard.press("Alt+ArrowRight")
    assert (await info.value).status == 409
    messages = leader.locator("#board-messages")
    await expect(messages.get_by_role("alert")).to_contain_text(CONFLICT, timeout=WAIT)
    await expect(messages).to_contain_text("KP-1")
    await _expect_cell(leader, doing, ["Việc A"])
    await _expect_cell(leader, todo, ["Việc B"])
    await _expect_cell(leader, waiting, [])
    await _expect_counts(leader, columns, [1, 1, 0, 0])
    await expect(_card(leader, "Việc A")).to_be_focused(timeout=WAIT)

    # On the fresh board his move goes through, from where the focal point put the card.
    await _card(leader, "Việc A").focus()
    async with leader.expect_response(_is_move(live_stack)) as info:
        await leader.keyboard.press("Alt+ArrowRight")
    assert (await info.value).status == 200
    await _expect_cell(leader, waiting, ["Việc A"])
    await _expect_counts(leader, columns, [1, 0, 1, 0])

    # Both moves saved, every card once: what both see after a reload.
    for who in (page, leader):
        await who.reload()
        await _expect_cell(who, todo, ["Việc B"])
        await _expect_cell(who, doing, [])
        await _expect_cell(who, waiting, ["Việc A"])
        await _expect_counts(who, columns, [1, 0, 1, 0])
        await expect(who.locator("li.card")).to_have_count(2)
    problems.assert_clean()


@pytest.mark.usefixtures("criteria")
async def test_a_drag_the_server_refuses_puts_the_card_back_and_says_why(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    """A unit's staff may move their unit's card but not confirm it: dropped on "Hoàn thành", the card goes back
    where it was, the counts stay true, and an alert says who may confirm."""
    await sign_in_through_provider(page, live_stack, STAFF)
    await page.goto(f"{BOARD}/them")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thêm nhiệm vụ")
    await page.get_by_label("Lĩnh vực").select_option("1")
    await page.get_by_label("Giải pháp, nhiệm vụ").fill("Việc của phòng")
    await page.get_by_label("Thời hạn hoàn thành").fill("Trong năm")
    await page.get_by_label("Đơn vị chủ trì").select_option(label="Phòng Hợp tác quốc tế")
    await page.get_by_role("button", name="Thêm nhiệm vụ").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã thêm KP-1")
    await _open_board(page)
    todo, _, _, done = columns = await _columns(page)
    await _expect_cell(page, todo, ["Việc của phòng"])

    problems.expect_status(f"{live_stack.url}{BOARD}/di-chuyen", 403)
    async with page.expect_response(_is_move(live_stack)) as info:
        await _drag(page, _card(page, "Việc của phòng"), _cell(page, done))
    assert (await info.value).status == 403
    alert = page.locator("#board-messages").get_by_role("alert")
    await expect(alert).to_contain_text("Chỉ đầu mối CCHC hoặc lãnh đạo mới chuyển", timeout=WAIT)
    await _expect_cell(page, todo, ["Việc của phòng"])
    await _expect_cell(page, done, [])
    await _expect_counts(page, columns, [1, 0, 0, 0])
    problems.assert_clean()


@pytest.mark.usefixtures("criteria")
async def test_a_move_that_fails_on_the_way_says_so_and_shows_the_saved_board(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    """A move answered by an error page (here a 502 from a proxy) or by nothing at all: an alert, and the board
    as saved, with the card back where it was."""
    await sign_in_through_provider(page, live_stack, FOCAL)
    await _create_tasks(page, live_stack, "Việc A")
    todo, doing, _, _ = columns = await _columns(page)
    move = f"{live_stack.url}{BOARD}/di-chuyen"
    problems.expect_status(move, 502)
    await page.route(move, lambda route: route.fulfill(status=502, body="Bad Gateway"))
    async with page.expect_response(_is_move(live_stack)):
        await _drag(page, _card(page, "Việc A"), _cell(page, doing))
    alert = page.locator("#board-messages").get_by_role("alert")
    await expect(alert).to_contain_text("Chưa chuyển được thẻ (máy chủ trả lời mã 502)", timeout=WAIT)
    await _expect_cell(page, todo, ["Việc A"])
    await _expect_cell(page, doing, [])
    await _expect_counts(page, columns, [1, 0, 0, 0])

    await page.unroute(move)
    await page.route(move, lambda route: route.abort())
    await _card(page, "Việc A").focus()
    await page.keyboard.press("Alt+ArrowRight")
    await expect(alert).to_contain_text("không kết nối được máy chủ", timeout=WAIT)
    await _expect_cell(page, todo, ["Việc A"])
    # htmx itself logs the failures it reports (console.error): those two and nothing else
    assert [e.split(",")[0] for e in problems.console_errors] == [
        f"Response Status Error Code 502 from {BOARD}/di-chuyen",
        "htmx:afterRequest",
        "htmx:sendError",
    ]
    assert problems.page_errors == problems.csp_violations == []


@pytest.mark.usefixtures("criteria")
async def test_the_new_task_forms_criterion_list_follows_the_chosen_area(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    await sign_in_through_provider(page, live_stack, FOCAL)
    await page.goto(f"{BOARD}/them")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Thêm nhiệm vụ")
    criterion = page.locator("#t-criterion")
    shown = "sel => [...sel.querySelectorAll('optgroup:not([hidden])')].map(g => g.dataset.area)"
    everything = await criterion.evaluate(shown)
    assert everything[:2] == ["1", "2"]  # no area chosen yet: every area's criteria
    await page.get_by_label("Lĩnh vực").select_option("2")
    assert await criterion.evaluate(shown) == ["2"]
    await criterion.select_option("2.5")
    await page.get_by_label("Lĩnh vực").select_option("1")
    assert await criterion.evaluate(shown) == ["1"]
    await expect(criterion).to_have_value("")  # a criterion of another area is not kept
    await page.get_by_label("Lĩnh vực").select_option("")
    assert await criterion.evaluate(shown) == everything
    problems.assert_clean()


@pytest.mark.usefixtures("criteria")
async def test_a_move_refused_by_an_error_page_is_not_swapped_into_the_board(
    page: Page, live_stack: LiveStack, problems: BrowserProblems
) -> None:
    """A 403 that is an error page (a right lost since the board was opened), not the board's answer: the alert
    says so and the saved board comes back; no error page lands inside the board."""
    await sign_in_through_provider(page, live_stack, FOCAL)
    await _create_tasks(page, live_stack, "Việc A")
    todo, doing, _, _ = columns = await _columns(page)
    move = f"{live_stack.url}{BOARD}/di-chuyen"
    problems.expect_status(move, 403)
    error_page = "<!doctype html><html><body><main><h1>Không có quyền truy cập</h1></main></body></html>"
    await page.route(move, lambda route: route.fulfill(status=403, body=error_page, content_type="text/html"))
    async with page.expect_response(_is_move(live_stack)):
        await _drag(page, _card(page, "Việc A"), _cell(page, doing))
    alert = page.locator("#board-messages").get_by_role("alert")
    await expect(alert).to_contain_text("Chưa chuyển được thẻ: bạn không có quyền chuyển thẻ này.", timeout=WAIT)
    await expect(page.locator("#board h1")).to_have_count(0)
    await _expect_cell(page, todo, ["Việc A"])
    await _expect_counts(page, columns, [1, 0, 0, 0])
