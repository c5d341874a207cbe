"""Self-assessment through the app: rows saved and scored exactly, bad input refused next to the field with
nothing saved, the workflow with its audit trail, locks enforced by the app and by the database."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import FOCAL, LEADER, SNGV, STAFF, VIEWER
from tests.fixtures.criteria import criteria  # noqa: F401 - still imported from here by test_board and test_province_results
from tests.fixtures.csrf import csrf_token
from tests.html_support import squash
from tests.support import HTMX, SEED_001, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

BASE = f"{SNGV}/tu-danh-gia/2020"


async def _post(client: AsyncTestClient[Litestar], path: str, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    """Post as the page's form does: a row's save carries the version its area page shows (unless given)."""
    token = await csrf_token(client, f"{SNGV}/tu-danh-gia/2020")
    if "/tieu-chi/" in path and "version" not in data:
        data = {**data, "version": await _shown_version(client, path, data)}
    return await client.post(path, data={**data, "_csrf_token": token}, **kwargs)  # type: ignore[arg-type]


async def _shown_version(client: AsyncTestClient[Litestar], path: str, data: dict[str, str]) -> str:
    base, code = path.split("/tieu-chi/")
    rid = code.replace(".", "-") + ("-con-lai" if data.get("phan") == "con-lai" else "")
    page = await client.get(f"{base}/linh-vuc/{code.split('.')[0]}")
    form = re.search(rf'<article[^>]*id="row-{rid}".*?</form>', squash(page.text), re.DOTALL)
    found = re.search(r'name="version" value="(\d+)"', form.group(0)) if form else None
    return found.group(1) if found else "0"  # no form (locked, read-only, unknown row): the server refuses anyway


async def _start(client: AsyncTestClient[Litestar]) -> None:
    response = await _post(client, f"{BASE}/bat-dau", {}, follow_redirects=False)
    assert response.status_code in (302, 303), response.text


BIND_SNGV = text(
    "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p ON p.id = t.province_id"
    " WHERE p.code = 'ha-tinh' AND t.code = 'so-ngoai-vu'), true)"
)


async def _scalar(engine: AsyncEngine, sql: str) -> object:
    """One value, read as the owner inside Sở Ngoại vụ's context (row-level security binds the owner too)."""
    async with engine.begin() as db:
        await db.execute(BIND_SNGV)
        return await db.scalar(text(sql))


async def test_a_ratio_row_saves_with_htmx_and_returns_the_new_score_area_total_and_chart(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, STAFF)
    await _start(client)
    response = await _post(client, f"{BASE}/tieu-chi/1.2", {"achieved": "94,76", "target": "100"}, headers=HTMX)
    assert response.status_code == 200, response.text
    html = squash(response.text)
    assert 'id="row-1-2"' in html
    assert "1,42/1,5" in html  # 1,5 × 94,76 % = 1,42 (two places, as the province rounds it)
    assert 'id="area-total" data-code="1">1,42<' in html
    assert 'hx-swap-oob="innerHTML"' in html
    assert "bar-achieved" in html
    assert 'id="sheet-total">1,42<' in html


async def test_both_decimal_separators_are_accepted_and_shown_with_a_comma(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    for raw in ("0.5", "0,5"):
        response = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": raw}, headers=HTMX)
        assert response.status_code == 200
        assert "0,5/1" in response.text


@pytest.mark.parametrize(
    ("code", "form", "field", "message"),
    [
        ("1.7", {"points": "abc"}, "points", "phải là một số"),
        ("1.7", {"points": "1,5"}, "points", "0–1"),
        ("1.7", {"points": "-1"}, "points", "0–1"),
        ("1.7", {"points": "0,1234"}, "points", "3 chữ số thập phân"),
        ("1.7", {"points": "NaN"}, "points", "hữu hạn"),
        ("1.7", {"points": "Infinity"}, "points", "hữu hạn"),
        ("1.7", {"points": "1e999999"}, "points", "quá lớn"),
        ("1.7", {"points": "9" * 50}, "points", "quá dài"),
        ("1.2", {"achieved": "94,76", "target": "0"}, "target", "lớn hơn 0"),
        ("1.2", {"achieved": "-3", "target": "100"}, "achieved", "không được âm"),
        ("1.2", {"achieved": "94,76"}, "target", "Cần nhập"),
        ("1.5", {"event": "32/13/2020"}, "event", "dd/mm/yyyy"),
        ("1.5", {"event": "15/03/2021", "done": "01/03/2021"}, "done", "trước ngày phát sinh"),
        ("2.5", {"value": "-5"}, "value", "không được âm"),
        ("1.7", {"points": "1", "explanation": "x" * 4001}, "explanation", "Tối đa 4.000"),
    ],
)
async def test_bad_input_is_refused_next_to_its_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar],
    owner_engine: AsyncEngine,
    code: str,
    form: dict[str, str],
    field: str,
    message: str,
) -> None:
    await sign_in(client, STAFF)
    await _start(client)
    response = await _post(client, f"{BASE}/tieu-chi/{code}", form, headers=HTMX)
    assert response.status_code == 422, response.text
    rid = code.replace(".", "-")
    error = re.search(rf'<p class="field-error" id="f-{rid}-{field}-error">([^<]*)</p>', squash(response.text))
    assert error, response.text
    assert message in error.group(1)
    assert f'aria-describedby="f-{rid}-{field}-error"' in response.text or field == "points"
    # what was typed comes back, so nothing the person entered is lost
    for value in form.values():
        if len(value) < 100:
            assert value.replace("&", "&amp;") in response.text
    assert await _scalar(owner_engine, "SELECT count(*) FROM assessment_items") == 0
    assert await _scalar(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'assessment.row'") == 0


async def test_without_javascript_a_bad_row_answers_the_whole_page_with_the_error(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, STAFF)
    await _start(client)
    response = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "hai"})
    assert response.status_code == 422
    assert "<html" in squash(response.text)
    assert "phải là một số" in response.text
    ok = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1"}, follow_redirects=False)
    assert ok.status_code in (302, 303)
    assert ok.headers["location"].endswith("/linh-vuc/1#row-1-7")


async def test_unknown_criteria_and_province_rows_are_refused(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, STAFF)
    await _start(client)
    assert (await _post(client, f"{BASE}/tieu-chi/9.9.9", {"points": "1"}, headers=HTMX)).status_code == 404
    # an area with children has no form of its own (only its remainder row)
    response = await _post(client, f"{BASE}/tieu-chi/1", {"points": "1"}, headers=HTMX)
    assert response.status_code == 422
    assert (await client.get(f"{SNGV}/tu-danh-gia/1999")).status_code == 404
    assert (await client.get(f"{BASE}/linh-vuc/42")).status_code == 404


async def test_seed_001_reproduces_75_25_of_80_exactly(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    for code, form in SEED_001:
        response = await _post(client, f"{BASE}/tieu-chi/{code}", form, headers=HTMX)
        assert response.status_code == 200, (code, response.text)
    overview = await client.get(BASE)
    assert "75,25" in overview.text
    for area, score in {"1": "8,92", "2": "8", "3": "14,5", "4": "12", "5": "13", "6": "6", "7": "12,83"}.items():
        assert re.search(
            rf"linh-vuc/{area}\">[^<]*</a>(?:[^<]|<(?!td))*</td>\s*<td class=\"num\">{score}</td>", overview.text
        ), area
    assert "1,33/1,5" in (await client.get(f"{BASE}/linh-vuc/7")).text  # 7.1.5: 88,7 % → 1,33
    stored = await _scalar(owner_engine, "SELECT sum(points) FROM assessment_items")
    assert stored == Decimal("75.250")
    # the export carries the same numbers, in the layout departments send
    export = await client.get(f"{BASE}/bang-tu-danh-gia.xlsx")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(BytesIO(export.content)).active
    assert sheet is not None
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header = next(row for row in values if row and row[0] == "TT")
    assert list(header[:6]) == ["TT", "Tiêu chí", "Điểm tối đa", "Điểm tự chấm", "Giải trình", "Tài liệu kiểm chứng"]
    row_1_2 = next(row for row in values if row and row[0] == "1.2")
    assert Decimal(str(row_1_2[3])) == Decimal("1.42")


async def test_workflow_draft_ready_approved_locks_rows_and_freezes_the_set(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    refused = await _post(client, f"{BASE}/trang-thai", {"action": "gui-duyet"}, follow_redirects=False)
    assert "chưa chấm" in (await client.get(refused.headers["location"])).text
    for code, form in SEED_001:
        await _post(client, f"{BASE}/tieu-chi/{code}", form, headers=HTMX)
    sent = await _post(client, f"{BASE}/trang-thai", {"action": "gui-duyet"}, follow_redirects=False)
    assert "Đã gửi lãnh đạo duyệt." in (await client.get(sent.headers["location"])).text
    locked = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1"}, headers=HTMX)
    assert locked.status_code == 422
    assert "chờ lãnh đạo duyệt" in locked.text
    # staff cannot approve
    assert (await _post(client, f"{BASE}/trang-thai", {"action": "duyet"})).status_code == 403

    await sign_in(client, LEADER)
    assert "Trả lại" in (await client.get(BASE)).text
    no_reason = await _post(client, f"{BASE}/trang-thai", {"action": "tra-lai"}, follow_redirects=False)
    assert 'class="alert alert-error" role="alert"' in squash((await client.get(no_reason.headers["location"])).text)
    approved = await _post(client, f"{BASE}/trang-thai", {"action": "duyet"}, follow_redirects=False)
    assert "Đã duyệt bản tự đánh giá." in (await client.get(approved.headers["location"])).text
    assert await _scalar(owner_engine, "SELECT status FROM assessments") == "approved"
    assert await _scalar(
        owner_engine,
        "SELECT frozen_at IS NOT NULL FROM criteria_sets cs JOIN assessments a ON a.criteria_set_id = cs.id",
    )

    await sign_in(client, STAFF)
    after = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1"}, headers=HTMX)
    assert after.status_code == 422
    assert "đã được lãnh đạo duyệt" in after.text
    actions = await _scalar(
        owner_engine, "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE entity = 'assessment'"
    )
    assert isinstance(actions, str)
    assert actions.startswith("assessment.start,assessment.row")
    assert actions.endswith("assessment.gui-duyet,assessment.duyet")
    assert actions.count("assessment.row") == len(SEED_001)


async def test_the_database_refuses_edits_of_approved_items_and_frozen_sets(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1"}, headers=HTMX)
    async with owner_engine.begin() as db:
        await db.execute(BIND_SNGV)
        assert (await db.execute(text("UPDATE assessments SET status = 'approved'"))).rowcount == 1
        await db.execute(text("UPDATE criteria_sets SET frozen_at = now() WHERE year = 2020"))
    with pytest.raises(DBAPIError, match="is approved"):
        await _scalar(owner_engine, "UPDATE assessment_items SET points = 0 RETURNING points")
    assert await _scalar(owner_engine, "SELECT points FROM assessment_items") == Decimal("1.000")
    with pytest.raises(DBAPIError, match="frozen"):
        async with owner_engine.begin() as db:
            await db.execute(text("UPDATE criteria SET title = 'x' WHERE code = '1.2'"))
    with pytest.raises(DBAPIError, match="frozen"):
        async with owner_engine.begin() as db:
            await db.execute(text("UPDATE criteria_sets SET total_max = 1 WHERE year = 2020"))
    with pytest.raises(DBAPIError, match="frozen"):
        async with owner_engine.begin() as db:
            await db.execute(text("DELETE FROM criteria_sets WHERE year = 2020"))


async def test_viewers_see_but_cannot_edit_or_start(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1"}, headers=HTMX)
    await sign_in(client, VIEWER)
    page = await client.get(f"{BASE}/linh-vuc/1")
    assert page.status_code == 200
    assert '<form class="row-form"' not in squash(page.text)
    assert "1/1" in page.text
    assert (await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "0"}, headers=HTMX)).status_code == 403
    assert (await _post(client, f"{BASE}/bat-dau", {})).status_code == 403


async def test_another_department_cannot_read_or_write_this_assessment(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    await sign_in(client, "thuong.tth@stnmt.hatinh.example.vn")  # focal point of Sở TN&MT
    assert (await client.get(BASE)).status_code == 403
    token = await csrf_token(client, "/t/ha-tinh/so-tai-nguyen-moi-truong/tu-danh-gia/2020")
    response = await client.post(f"{BASE}/tieu-chi/1.7", data={"points": "1", "_csrf_token": token}, headers=HTMX)
    assert response.status_code == 403
    # its own page shows its own (empty) assessment, not the other one's
    own = await client.get("/t/ha-tinh/so-tai-nguyen-moi-truong/tu-danh-gia/2020")
    assert "Chưa bắt đầu" in own.text
    assert await _scalar(owner_engine, "SELECT count(*) FROM assessment_items") == 0


async def test_charts_download_as_svg_and_png(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, VIEWER)
    svg = await client.get(f"{BASE}/bieu-do/diem-theo-linh-vuc.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")
    assert "xmlns" in svg.text
    png = await client.get(f"{BASE}/bieu-do/diem-theo-linh-vuc.png")
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    assert (await client.get(f"{BASE}/bieu-do/khac.gif")).status_code == 404
    assert (await client.get(f"{SNGV}/tu-danh-gia/1999/bang-tu-danh-gia.xlsx")).status_code == 404


# --- two people saving one row: versions, as a card's ---------------------------------------------------------


def _version_of(html: str, rid: str) -> str:
    form = re.search(rf'<article[^>]*id="row-{rid}".*?</form>', html, re.DOTALL)
    assert form, html
    found = re.search(r'name="version" value="(\d+)"', form.group(0))
    assert found, form.group(0)
    return found.group(1)


async def test_a_stale_row_save_is_refused_with_the_fresh_values_and_saves_nothing(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    page = await client.get(f"{BASE}/linh-vuc/1")
    opened = _version_of(page.text, "1-7")  # both people open the page: the row has never been saved
    assert opened == "0"
    first = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1", "version": opened}, headers=HTMX)
    assert first.status_code == 200, first.text
    assert _version_of(first.text, "1-7") == "1"

    await sign_in(client, STAFF)
    stale = await _post(
        client, f"{BASE}/tieu-chi/1.7", {"points": "0,5", "explanation": "Của tôi", "version": opened}, headers=HTMX
    )
    assert stale.status_code == 409, stale.text
    assert "vừa được người khác lưu" in stale.text
    assert 'value="1"' in stale.text  # the fresh points, in place of what was typed
    assert "Của tôi" not in stale.text
    assert _version_of(stale.text, "1-7") == "1"
    assert await _scalar(owner_engine, "SELECT points FROM assessment_items") == Decimal("1.000")
    assert await _scalar(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'assessment.row'") == 1

    # without a version (a hand-made request), nothing is overwritten either
    token = await csrf_token(client, BASE)
    blind = await client.post(f"{BASE}/tieu-chi/1.7", data={"points": "0", "_csrf_token": token}, headers=HTMX)
    assert blind.status_code == 409
    # from the fresh version the save goes through
    again = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "0,5", "version": "1"}, headers=HTMX)
    assert again.status_code == 200, again.text
    assert _version_of(again.text, "1-7") == "2"
    assert await _scalar(owner_engine, "SELECT points FROM assessment_items") == Decimal("0.500")


@pytest.mark.parametrize("saved_before", [False, True], ids=["first-save", "later-save"])
async def test_concurrent_saves_of_a_row_from_the_same_version_let_exactly_one_through(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, saved_before: bool
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    version = "0"
    if saved_before:
        saved = await _post(client, f"{BASE}/tieu-chi/1.7", {"points": "1", "version": "0"}, headers=HTMX)
        version = _version_of(saved.text, "1-7")
    token = await csrf_token(client, BASE)
    answers = await asyncio.gather(
        *(
            client.post(
                f"{BASE}/tieu-chi/1.7",
                data={"points": points, "version": version, "_csrf_token": token},
                headers=HTMX,
            )
            for points in ("0", "0,5", "1", "0,25", "0,75")
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 409, 409, 409, 409], [a.text[:300] for a in answers if a.status_code not in (200, 409)]
    (winner,) = [a for a in answers if a.status_code == 200]
    assert await _scalar(owner_engine, "SELECT version FROM assessment_items") == int(version) + 1
    stored = await _scalar(owner_engine, "SELECT points FROM assessment_items")
    assert f'value="{str(stored).rstrip("0").rstrip(".").replace(".", ",")}"' in winner.text
    rows = 1 + saved_before
    assert await _scalar(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'assessment.row'") == rows


async def test_a_locked_row_shows_what_was_typed_with_a_decimal_comma(client: AsyncTestClient[Litestar]) -> None:
    """Area 2's remainder was typed "7.5": once sent for approval the row is read-only and reads 7,5."""
    await sign_in(client, FOCAL)
    await _start(client)
    for code, form in SEED_001:
        await _post(client, f"{BASE}/tieu-chi/{code}", form, headers=HTMX)
    sent = await _post(client, f"{BASE}/trang-thai", {"action": "gui-duyet"}, follow_redirects=False)
    assert sent.status_code in (302, 303)
    area = await client.get(f"{BASE}/linh-vuc/2")
    assert "<dt>Điểm</dt><dd>7,5</dd>" in squash(area.text)
    assert "<dd>7.5</dd>" not in squash(area.text)


async def test_the_evidence_hint_on_a_row_points_to_the_upload_box_of_that_row(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, FOCAL)
    await _start(client)
    area = squash((await client.get(f"{BASE}/linh-vuc/1")).text)
    assert "bước sau" not in area  # the upload box is on the row itself, not in a later step
    assert "tải tệp lên ở mục “Tài liệu kiểm chứng” của tiêu chí, bên trên" in area
