"""The year being assessed: one notion from the province's calendar, the year every page opens on and names.

The clock is frozen by replacing `backend.clock.utc_now`, the one reading of the system clock pages judge
"today" by."""

from __future__ import annotations

import json
from datetime import date

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.cycle import Cycle, cycle_year
from tests.factories import FOCAL, REVIEWER, SNGV
from tests.html_support import squash
from tests.support import freeze, sign_in

SNV = "/t/ha-tinh/so-noi-vu"

# Hà Tĩnh's calendar as the tests set it: 2025 appraised in December, 2026's round 2 running into January 2027
# (results published in the first quarter, as several provinces do).
CALENDAR = {
    "2025": {
        "self_assessment": {"from": "2025-10-01", "to": "2025-11-14"},
        "submission_deadline": "2025-11-20",
        "round_1": {"from": "2025-11-21", "to": "2025-12-01"},
        "explanation_deadline": "2025-12-10",
        "round_2": {"from": "2025-12-11", "to": "2025-12-19"},
    },
    "2026": {
        "self_assessment": {"from": "2026-11-01", "to": "2026-12-10"},
        "submission_deadline": "2026-12-15",
        "round_1": {"from": "2026-12-16", "to": "2026-12-25"},
        "explanation_deadline": "2026-12-31",
        "round_2": {"from": "2027-01-04", "to": "2027-01-15"},
    },
}


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 5), 2026),  # the day: 2026 is being self-assessed
        (date(2026, 1, 1), 2026),  # 2025's appraisal ended 19/12/2025: the year turns over on 1 January
        (date(2027, 1, 15), 2026),  # 2026's round 2 still runs: the office still works on 2026
        (date(2027, 1, 16), 2027),  # the day after round 2 ends
        (date(2028, 1, 2), 2028),  # no calendar for 2027: 1 January
    ],
)
def test_the_year_being_assessed_follows_the_province_calendar(today: date, expected: int) -> None:
    assert cycle_year({"calendar": CALENDAR}, today) == expected


def test_a_province_without_a_calendar_turns_over_on_the_first_of_january() -> None:
    assert cycle_year({}, date(2027, 1, 15)) == 2027
    assert cycle_year({}, date(2026, 12, 31)) == 2026
    assert Cycle(2026).remedies == 2025
    assert Cycle(2026).label == "Năm đánh giá 2026"


@pytest.fixture
async def calendar(owner_engine: AsyncEngine, demo_tenants: None) -> None:
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "UPDATE provinces SET settings = jsonb_set(settings, '{calendar}', CAST(:calendar AS jsonb))"
                " WHERE code = 'ha-tinh'"
            ),
            {"calendar": json.dumps(CALENDAR)},
        )


# (who, the section opened without a year, where it lands for the year being assessed 2026)
PAGES = [
    (FOCAL, f"{SNGV}/", None),
    (FOCAL, f"{SNGV}/tu-danh-gia/", f"{SNGV}/tu-danh-gia/{{year}}"),
    (FOCAL, f"{SNGV}/ke-hoach/", f"{SNGV}/ke-hoach/{{plan}}"),  # the plan after the previous year's results
    (FOCAL, f"{SNGV}/bao-cao/", f"{SNGV}/bao-cao/{{year}}"),
    (FOCAL, f"{SNGV}/nop-ho-so/", f"{SNGV}/nop-ho-so/{{year}}"),
    (REVIEWER, f"{SNV}/tham-dinh/", f"{SNV}/tham-dinh/{{year}}"),
    (REVIEWER, f"{SNV}/tinh/ket-qua/", f"{SNV}/tinh/ket-qua/{{year}}"),
]
IDS = ["home", "self-assessment", "board", "reports", "submission", "review", "province-results"]


@pytest.mark.usefixtures("calendar", "criteria")
@pytest.mark.parametrize(("email", "path", "lands"), PAGES, ids=IDS)
@pytest.mark.parametrize(
    ("today", "year"),
    [(date(2026, 12, 5), 2026), (date(2027, 1, 15), 2026), (date(2027, 1, 16), 2027)],
    ids=["05-12-2026", "15-01-2027-round-2", "16-01-2027"],
)
async def test_every_page_opens_on_the_year_being_assessed_and_names_it(
    client: AsyncTestClient[Litestar],
    monkeypatch: pytest.MonkeyPatch,
    email: str,
    path: str,
    lands: str | None,
    today: date,
    year: int,
) -> None:
    freeze(monkeypatch, today)
    await sign_in(client, email)
    opened = await client.get(path, follow_redirects=False)
    if lands is None:
        page = opened
    else:
        assert opened.status_code in (302, 303), opened.text
        assert opened.headers["location"] == lands.format(year=year, plan=year - 1)
        page = await client.get(opened.headers["location"])
    # the province has no criteria set for the year yet (the tests import 2020's only): a clear page, not a 404
    assert page.status_code == 200, page.text
    assert f"Năm đánh giá {year}" in page.text
    if lands is not None:
        assert 'aria-label="Chọn năm"' in page.text  # other years one click away
        assert "/2020" in squash(page.text).split('aria-label="Chọn năm"')[1].split("</nav>")[0]


@pytest.mark.usefixtures("calendar", "criteria")
async def test_a_past_year_is_one_click_away_and_says_it_is_not_the_current_one(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, date(2026, 12, 5))
    await sign_in(client, FOCAL)
    page = await client.get(f"{SNGV}/tu-danh-gia/2020")
    assert page.status_code == 200
    switcher = squash(page.text).split('aria-label="Chọn năm"')[1].split("</nav>")[0]
    assert "Năm đánh giá 2026" in switcher
    assert "Đang xem năm 2020" in switcher
    assert f'href="{SNGV}/tu-danh-gia/2026"' in switcher
    missing = await client.get(f"{SNGV}/tu-danh-gia/2026")
    assert "chưa ban hành bộ chỉ số CCHC năm 2026" in squash(missing.text)
    assert (await client.get(f"{SNGV}/tu-danh-gia/2031")).status_code == 404  # not the default: not found


@pytest.mark.usefixtures("calendar", "criteria")
async def test_the_home_page_names_the_year_and_its_plan_and_reports(
    client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    freeze(monkeypatch, date(2026, 12, 5))
    await sign_in(client, FOCAL)
    home = squash((await client.get(f"{SNGV}/")).text)
    card = home.split('id="cycle-heading"')[1].split("</section>")[0]
    assert "Tự đánh giá năm 2026" in card
    assert "từ 01/11/2026 đến 10/12/2026, hạn nộp hồ sơ 15/12/2026" in card
    assert f'href="{SNGV}/ke-hoach/2025">Kế hoạch khắc phục sau kết quả năm 2025</a>, thực hiện trong năm 2026' in card
    assert "Hạn báo cáo định kỳ năm 2026" in home
    # the province has no 2026 set yet: the latest self-assessment is shown, and said to be another year
    assert "Tỉnh chưa ban hành bộ chỉ số năm 2026: đây là bản tự đánh giá năm 2020." in home
