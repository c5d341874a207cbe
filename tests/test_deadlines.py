"""Deadlines as the seeds write them, resolved on the Vietnamese working-day calendar (day off → the day before)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from backend.db.models import RemedyPlan
from backend.domain.remedies.deadlines import (
    _MAX_DAYS_OFF,
    CalendarError,
    Deadline,
    DeadlineError,
    WorkCalendar,
    _fold,
    _national_day_extra,
    default_calendar,
    holiday_problems,
    parse_deadline,
    working_days,
)
from backend.domain.remedies.tasks import plan_clock


@pytest.fixture(autouse=True)
def _fresh_calendar() -> None:
    """The built-in calendar is computed by each test, not once per process: a test sees the rules as they are
    now (`make mutate` changes them between tests)."""
    default_calendar.cache_clear()


def parse(text: str, year: int = 2024, event: date | None = None) -> Deadline:
    return parse_deadline(text, year=year, calendar=default_calendar(), event=event)


# --- the calendar -------------------------------------------------------------------------------------------


def test_weekends_and_holidays_are_days_off() -> None:
    assert default_calendar().is_working_day(date(2024, 11, 15))  # Friday
    assert not default_calendar().is_working_day(date(2024, 11, 16))  # Saturday
    assert not default_calendar().is_working_day(date(2024, 11, 17))  # Sunday
    for day in (date(2024, 1, 1), date(2024, 4, 18), date(2024, 4, 30), date(2024, 5, 1), date(2024, 9, 2)):
        assert not default_calendar().is_working_day(day)


@pytest.mark.parametrize(
    ("year", "first", "last"),
    [
        (2023, date(2023, 1, 20), date(2023, 1, 26)),
        (2024, date(2024, 2, 8), date(2024, 2, 14)),
        (2025, date(2025, 1, 25), date(2025, 2, 2)),
    ],
)
def test_tet_is_the_announced_range(year: int, first: date, last: date) -> None:
    assert not default_calendar().is_working_day(first)
    assert not default_calendar().is_working_day(last)
    assert default_calendar().is_working_day(default_calendar().previous_working_day(first))
    assert default_calendar().previous_working_day(last) < first


def test_national_day_has_a_second_day_from_2021() -> None:
    assert not default_calendar().is_working_day(date(2024, 9, 3))  # Monday 2/9 + Tuesday 3/9
    assert not default_calendar().is_working_day(date(2025, 9, 1))  # Monday 1/9 + Tuesday 2/9
    assert default_calendar().is_working_day(date(2020, 9, 3))  # one day only before the 2019 Labour Code


def test_holiday_on_a_weekend_gives_a_compensatory_weekday() -> None:
    assert not default_calendar().is_working_day(date(2022, 1, 3))  # 1/1/2022 was a Saturday
    assert not default_calendar().is_working_day(date(2023, 1, 2))  # 1/1/2023 was a Sunday
    # 2023: Giỗ Tổ on Saturday 29/4, 30/4 on Sunday, 1/5 on Monday → Tuesday 2/5 and Wednesday 3/5 off
    assert not default_calendar().is_working_day(date(2023, 5, 2))
    assert not default_calendar().is_working_day(date(2023, 5, 3))
    assert default_calendar().is_working_day(date(2023, 5, 4))
    assert not default_calendar().is_working_day(date(2027, 2, 11))  # computed Tết 2027 (lunar new year on a Saturday)


def test_swapped_days_and_make_up_saturdays() -> None:
    assert not default_calendar().is_working_day(date(2024, 4, 29))  # Monday between the weekend and 30/4
    assert default_calendar().is_working_day(date(2024, 5, 4))  # the Saturday worked in exchange
    assert default_calendar().is_working_day(date(2025, 2, 8))


def test_previous_working_day_and_add_working_days() -> None:
    assert default_calendar().previous_working_day(date(2024, 11, 15)) == date(2024, 11, 15)
    assert default_calendar().previous_working_day(date(2024, 11, 17)) == date(2024, 11, 15)
    assert default_calendar().add_working_days(date(2024, 11, 15), 0) == date(2024, 11, 15)
    assert default_calendar().add_working_days(date(2024, 11, 15), 1) == date(2024, 11, 18)
    assert default_calendar().add_working_days(date(2024, 2, 7), 1) == date(2024, 2, 15)  # over Tết
    with pytest.raises(ValueError, match="không được âm"):
        default_calendar().add_working_days(date(2024, 11, 15), -1)


def test_from_config_reads_days_ranges_and_make_up_saturdays() -> None:
    calendar = WorkCalendar.from_config(
        {2024: {"holidays": ["01/01", "08/02-14/02", "30.04"], "working_weekends": ["04/05"]}, "2025": {}}
    )
    assert date(2024, 2, 11) in calendar.holidays
    assert len(calendar.holidays) == 9
    assert calendar.is_working_day(date(2024, 5, 4))
    assert not calendar.is_working_day(date(2024, 4, 30))
    assert calendar.is_working_day(date(2024, 9, 3))


def test_from_config_overrides_a_year_of_a_base_calendar() -> None:
    calendar = WorkCalendar.from_config({2024: {"holidays": ["02/09"]}}, base=default_calendar())
    assert calendar.is_working_day(date(2024, 9, 3))  # the province's 2024 list replaces the default's
    assert not calendar.is_working_day(date(2024, 9, 2))
    assert not calendar.is_working_day(date(2025, 9, 1))  # other years are kept
    assert not calendar.is_working_day(date(2024, 5, 4))  # nor the default's 2024 make-up Saturday


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"năm": {"holidays": []}}, "Năm «năm»"),
        ({2024: ["01/01"]}, "Năm 2024: cần holidays"),
        ({2024: {"holiday": ["01/01"]}}, "khoá không hợp lệ «holiday»"),
        ({2024: {"holidays": "01/01"}}, "cần một danh sách ngày"),
        ({2024: {"holidays": ["31/02"]}}, "Năm 2024: «31/02» không phải ngày"),
        ({2024: {"holidays": ["1 tháng 1"]}}, "«1 tháng 1»"),
        ({2024: {"holidays": ["14/02-08/02"]}}, "kết thúc trước khi bắt đầu"),
        ({2024: {"working_weekends": ["06/05"]}}, "06/05 không phải thứ Bảy"),
        ({2024: {"holidays": ["04/05"], "working_weekends": ["04/05"]}}, "vừa là ngày nghỉ"),
    ],
)
def test_from_config_refuses_bad_input_in_vietnamese(raw: dict[int | str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        WorkCalendar.from_config(raw)


# --- exact dates --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("15/11/2024", date(2024, 11, 15)),
        ("15-11-2024", date(2024, 11, 15)),
        ("15.11.2024", date(2024, 11, 15)),
        ("ngày 15/11/2024", date(2024, 11, 15)),
        ("Trước ngày 15/11", date(2024, 11, 15)),
        ("  TRƯỚC   NGÀY 15 / 11 ", date(2024, 11, 15)),
        ("truoc ngay 15/11", date(2024, 11, 15)),
        ("trước 10/6", date(2024, 6, 10)),
        ("chậm nhất ngày 05/9", date(2024, 9, 5)),
        ("ngày 15 tháng 3 năm 2021", date(2021, 3, 15)),
        # seeds 002–004
        ("Báo cáo trước ngày 15/11", date(2024, 11, 15)),
        ("Báo cáo năm trước ngày 15/11", date(2024, 11, 15)),
        ("Báo cáo trước ngày 15/7", date(2024, 7, 15)),
        ("Năm 2024 (Phân đấu hoàn thành trước ngày 31/10/2024)", date(2024, 10, 31)),
    ],
)
def test_exact_dates(text: str, due: date) -> None:
    deadline = parse(text)
    assert (deadline.kind, deadline.due, deadline.text) == ("date", due, text)


def test_a_deadline_on_a_day_off_moves_to_the_working_day_before() -> None:
    assert parse("Trước ngày 16/11/2024").due == date(2024, 11, 15)  # Saturday → Friday
    assert parse("03/9/2024").due == date(2024, 8, 30)  # holiday Tuesday after holiday Monday → Friday
    assert parse("Trước ngày 02/9/2024").due == date(2024, 8, 30)  # holiday Monday → previous Friday
    assert parse("Trước ngày 12/02/2024").due == date(2024, 2, 7)  # inside Tết → before Tết
    saturday = parse("10/3/2024")  # seed 002's "quý I trước ngày 10/3/2024", a Sunday
    assert saturday.due == date(2024, 3, 8)
    assert saturday.label == "Ngày 10/03/2024 (hạn 08/03/2024)"
    assert parse("15/11/2024").label == "Ngày 15/11/2024"


def test_several_dates_in_one_text_form_a_series() -> None:
    text = (
        "quý I trước ngày 10/3/2024; 6 tháng trước ngày 10/6/2024; quý III trước ngày 10/9/2024, "
        "năm trước ngày 10/12/2024"
    )
    deadline = parse(text)
    assert deadline.kind == "date"
    assert deadline.series == (date(2024, 3, 8), date(2024, 6, 10), date(2024, 9, 10), date(2024, 12, 10))
    assert deadline.due == date(2024, 3, 8)
    assert parse(text, event=date(2024, 7, 1)).due == date(2024, 9, 10)
    seed_003 = parse("trước ngày 05/9/2024 (báo cáo quý III năm 2024) và trước ngày 05/12/2024 (báo cáo năm 2024)")
    assert seed_003.series == (date(2024, 9, 5), date(2024, 12, 5))


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("31/02/2024", "«31/02/2024» không phải là một ngày có thật"),
        ("Trước ngày 30/02", "«30/02»"),
        ("ngày 32.01.2024", "«32.01.2024»"),
        ("ngày 31 tháng 4", "«ngày 31 tháng 4»"),
    ],
)
def test_a_date_that_does_not_exist_raises(text: str, shown: str) -> None:
    with pytest.raises(DeadlineError, match=shown):
        parse(text)


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("Quý II/24", "quarter", "Quý II/2024 (hạn 28/06/2024)"),
        ("Tháng 6/24", "date", "Tháng 6/2024 (hạn 28/06/2024)"),
        ("15/11/24", "date", "Ngày 15/11/2024"),
    ],
)
def test_a_year_written_with_two_digits_is_of_this_century(text: str, kind: str, label: str) -> None:
    deadline = parse(text, year=2020)  # a plan of 2020 writing 2024's deadlines
    assert (deadline.kind, deadline.label) == (kind, label)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("31/02/2024", "«31/02/2024» không phải là một ngày có thật. Hãy viết dạng dd/mm/yyyy, ví dụ 15/11/2024."),
        (
            "Trước ngày 30/02",
            "«30/02» không phải là một ngày có thật (thời hạn «Trước ngày 30/02»). Hãy viết dạng dd/mm/yyyy, ví dụ "
            "15/11/2024.",
        ),
    ],
    ids=["the-whole-text", "part-of-the-text"],
)
def test_a_date_that_does_not_exist_is_refused_with_its_exact_message(text: str, message: str) -> None:
    """The whole deadline is quoted only when the date is a part of it."""
    with pytest.raises(DeadlineError) as refused:
        parse(text)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("Hoàn thành 1/7", date(2024, 7, 1)),
        ("Hoàn thành 31/12", date(2024, 12, 31)),
        ("Hoàn thành 15/1", date(2024, 1, 15)),
        ("Hoàn thành 5/12", date(2024, 12, 5)),
        ("Tháng 1/25, chậm nhất ngày 20/01/2025", date(2025, 1, 20)),  # "1/25" after "tháng" is no day
    ],
)
def test_a_day_and_month_with_a_slash_alone_is_a_date_within_the_calendar_s_bounds(text: str, due: date) -> None:
    """Without a cue ("ngày", "trước", …) nor a year, only "d/m" with a real day (1–31) and month (1–12) is a date."""
    deadline = parse(text)
    assert (deadline.kind, deadline.due, deadline.series) == ("date", due, ())


@pytest.mark.parametrize(
    "text", ["Hoàn thành 32/12", "Hoàn thành 15/13", "Hoàn thành 20/25 hồ sơ", "Hoàn thành mục 2.3"]
)
def test_numbers_that_are_no_day_and_month_are_not_a_date(text: str) -> None:
    """Out of bounds, or with a dot and no cue: not a date (nor a date that does not exist)."""
    deadline = parse(text)
    assert (deadline.kind, deadline.due) == ("unknown", None)


# --- quarters, half-years, months, the year -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due", "label"),
    [
        ("Quý I", date(2024, 3, 29), "Quý I/2024 (hạn 29/03/2024)"),  # 31/03 Sunday, 30/03 Saturday
        ("Quý I/2024", date(2024, 3, 29), "Quý I/2024 (hạn 29/03/2024)"),
        ("Quý II/2024", date(2024, 6, 28), "Quý II/2024 (hạn 28/06/2024)"),
        ("quy II/2024", date(2024, 6, 28), "Quý II/2024 (hạn 28/06/2024)"),
        ("quý 3 năm 2024", date(2024, 9, 30), "Quý III/2024 (hạn 30/09/2024)"),
        ("Quý IV", date(2024, 12, 31), "Quý IV/2024 (hạn 31/12/2024)"),
        ("Quý I/2021", date(2021, 3, 31), "Quý I/2021 (hạn 31/03/2021)"),  # seed 000
        ("- Thường xuyên - Quý I/2021", date(2021, 3, 31), "Quý I/2021 (hạn 31/03/2021)"),
        ("6 tháng đầu năm", date(2024, 6, 28), "6 tháng đầu năm 2024 (hạn 28/06/2024)"),
        ("6 tháng cuối năm 2024", date(2024, 12, 31), "6 tháng cuối năm 2024 (hạn 31/12/2024)"),
    ],
)
def test_quarters_end_on_their_last_working_day(text: str, due: date, label: str) -> None:
    deadline = parse(text)
    assert (deadline.kind, deadline.due, deadline.label) == ("quarter", due, label)


@pytest.mark.parametrize(("text", "due"), [("Tháng 5/2024", date(2024, 5, 31)), ("tháng 10", date(2024, 10, 31))])
def test_a_month_is_due_on_its_last_working_day(text: str, due: date) -> None:
    assert (parse(text).kind, parse(text).due) == ("date", due)


def test_a_month_ending_on_a_weekend() -> None:
    assert parse("tháng 8 năm 2024").due == date(2024, 8, 30)  # 31/8/2024 is a Saturday
    assert parse("tháng 8 năm 2024").label == "Tháng 8/2024 (hạn 30/08/2024)"


@pytest.mark.parametrize("text", ["Quý V", "quý 5/2024", "Quý 0", "quy vi"])
def test_a_quarter_that_does_not_exist_raises(text: str) -> None:
    with pytest.raises(DeadlineError, match="chỉ có Quý I đến Quý IV"):
        parse(text)


def test_a_month_that_does_not_exist_raises() -> None:
    with pytest.raises(DeadlineError, match="tháng phải từ 1 đến 12"):
        parse("Tháng 13/2024")


@pytest.mark.parametrize(
    ("text", "year", "due"),
    [
        ("Trong năm", 2024, date(2024, 12, 31)),
        ("Trong năm 2024", 2024, date(2024, 12, 31)),
        ("trong nam 2024", 2024, date(2024, 12, 31)),
        ("Năm 2024", 2024, date(2024, 12, 31)),
        ("Cả năm", 2024, date(2024, 12, 31)),
        ("Trong năm 2023", 2024, date(2023, 12, 29)),  # 31/12/2023 Sunday, 30 Saturday; seed 003 wrote it so
        ("Trong năm", 2023, date(2023, 12, 29)),
    ],
)
def test_the_year_ends_on_its_last_working_day(text: str, year: int, due: date) -> None:
    deadline = parse(text, year)
    assert (deadline.kind, deadline.due) == ("year", due)


# --- recurring ----------------------------------------------------------------------------------------------

MONTH_ENDS_2024 = (
    date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 29), date(2024, 4, 26), date(2024, 5, 31),
    date(2024, 6, 28), date(2024, 7, 31), date(2024, 8, 30), date(2024, 9, 30), date(2024, 10, 31),
    date(2024, 11, 29), date(2024, 12, 31),
)  # fmt: skip  # 30/4 and the swapped 29/4 are days off → 26/4
QUARTER_ENDS_2024 = (date(2024, 3, 29), date(2024, 6, 28), date(2024, 9, 30), date(2024, 12, 31))


@pytest.mark.parametrize("text", ["Thường xuyên", "thuong xuyen", "- Thường xuyên", "THƯỜNG XUYÊN"])
def test_thuong_xuyen_has_no_due_date(text: str) -> None:
    assert parse(text) == Deadline("recurring", text, None, (), "Thường xuyên")


@pytest.mark.parametrize(
    ("text", "series", "label"),
    [
        ("Hằng tháng", MONTH_ENDS_2024, "Hằng tháng"),
        ("Hàng tháng", MONTH_ENDS_2024, "Hằng tháng"),
        ("monthly", MONTH_ENDS_2024, "Hằng tháng"),
        ("Thường xuyên (hằng tháng)", MONTH_ENDS_2024, "Thường xuyên (hằng tháng)"),
        ("Hằng quý", QUARTER_ENDS_2024, "Hằng quý"),
        ("Hàng quý", QUARTER_ENDS_2024, "Hằng quý"),
        ("Định kỳ hằng quý", QUARTER_ENDS_2024, "Hằng quý"),
        ("định kỳ hàng quý", QUARTER_ENDS_2024, "Hằng quý"),  # seed 001
        ("Định kỳ 6 tháng", (date(2024, 6, 28), date(2024, 12, 31)), "Định kỳ 6 tháng"),
        ("6 tháng/lần", (date(2024, 6, 28), date(2024, 12, 31)), "Định kỳ 6 tháng"),
        ("Định kỳ 6 tháng/năm", (date(2024, 6, 28), date(2024, 12, 31)), "Định kỳ 6 tháng"),  # seed 000
        ("Hằng năm", (date(2024, 12, 31),), "Hằng năm"),
        ("Định kỳ hằng năm", (date(2024, 12, 31),), "Hằng năm"),
    ],
)
def test_periodic_deadlines_give_a_series(text: str, series: tuple[date, ...], label: str) -> None:
    deadline = parse(text)
    assert (deadline.kind, deadline.series, deadline.label, deadline.due) == ("recurring", series, label, series[0])


def test_a_series_is_due_on_its_next_date_after_the_event() -> None:
    assert parse("Hằng tháng", event=date(2024, 5, 3)).due == date(2024, 5, 31)
    assert parse("Hằng quý", event=date(2024, 6, 28)).due == date(2024, 6, 28)
    assert parse("Hằng quý", event=date(2025, 1, 2)).due is None  # nothing left in the plan year


# --- relative -----------------------------------------------------------------------------------------------


def test_relative_deadlines_need_the_event() -> None:
    deadline = parse("Trong thời hạn 20 ngày kể từ khi nhận được văn bản")
    assert (deadline.kind, deadline.due) == ("relative", None)
    assert deadline.label == "20 ngày kể từ khi nhận được văn bản"
    received = parse("Trong thời hạn 20 ngày kể từ khi nhận được văn bản", event=date(2024, 10, 26))
    assert received.due == date(2024, 11, 15)  # 15/11/2024 is a Friday
    assert received.label == "20 ngày kể từ khi nhận được văn bản (hạn 15/11/2024)"


def test_calendar_day_results_move_before_the_day_off() -> None:
    deadline = parse("trong vòng 15 ngày kể từ ngày có kết quả", event=date(2024, 11, 1))
    assert deadline.due == date(2024, 11, 15)
    assert parse("trong vòng 15 ngày kể từ ngày có kết quả", event=date(2024, 11, 2)).due == date(2024, 11, 15)
    assert parse("trong vòng 15 ngày kể từ ngày 01/02/2024").due == date(2024, 2, 16)  # the event is in the text


def test_working_days_skip_weekends_and_tet() -> None:
    after_announcement = parse("chậm nhất 05 ngày làm việc sau khi công bố", event=date(2024, 11, 14))
    assert (after_announcement.due, after_announcement.label) == (
        date(2024, 11, 21),
        "5 ngày làm việc sau khi công bố (hạn 21/11/2024)",
    )
    over_tet = parse("trong 15 ngày làm việc kể từ khi nhận", event=date(2024, 2, 1))
    assert over_tet.due == date(2024, 2, 29)  # 2, 5, 6, 7 (Tết 8–14/2), 15, 16, 19 … 29
    assert parse("15 ngày làm việc", event=date(2024, 2, 1)).due == date(2024, 2, 29)


def test_seed_001_relative_deadline() -> None:
    text = "(Chậm nhất sau 05 ngày làm việc kể từ ngày Chủ tịch UBND tỉnh ký công bố TTHC)"
    deadline = parse(text, event=date(2024, 4, 26))  # Friday before 29/4–1/5 off and 4/5 worked
    assert deadline.kind == "relative"
    assert deadline.due == date(2024, 5, 7)  # 2/5, 3/5, 4/5 (make-up Saturday), 6/5, 7/5
    assert deadline.label == "5 ngày làm việc kể từ ngày Chủ tịch UBND tỉnh ký công bố TTHC (hạn 07/05/2024)"


# --- by regulation, unknown ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Theo quy định", "Theo yêu cầu", "Khi có yêu cầu", "theo quy dinh", "Khi có chỉ đạo của UBND tỉnh."]
)
def test_by_regulation_has_no_date(text: str) -> None:
    deadline = parse(text)
    assert (deadline.kind, deadline.due, deadline.series) == ("by_regulation", None, ())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Phối hợp với các phòng",
        "Quỹ vì người nghèo",
        "tiêu chí 2.6.1 đạt 75,25/80 điểm",
        "Tự đảm bảo chi thường xuyên",
    ],
)
def test_plain_prose_is_unknown_and_never_raises(text: str) -> None:
    deadline = parse(text)
    assert (deadline.kind, deadline.due, deadline.text) == ("unknown", None, text)


def test_a_plan_approved_after_midnight_in_vietnam_is_late_whatever_the_day_in_utc() -> None:
    """Result on 01/03/2024: the plan is due 16/03. Approved at 01:00 on 17/03 in Vietnam, 18:00 UTC on the 16th."""
    plan = RemedyPlan(year=2024, status="approved", result_date=date(2024, 3, 1))
    plan.approved_at = datetime(2024, 3, 16, 18, 0, tzinfo=UTC)
    assert plan_clock(plan, date(2024, 3, 20)).on_time is False
    plan.approved_at = datetime(2024, 3, 16, 16, 0, tzinfo=UTC)  # 23:00 on the 16th in Vietnam
    assert plan_clock(plan, date(2024, 3, 20)).on_time is True


def test_a_province_without_its_own_days_uses_the_built_in_calendar_and_one_with_them_replaces_those_years() -> None:
    assert working_days({}) is default_calendar()
    assert working_days({"holidays": {}}) is default_calendar()
    configured = working_days({"holidays": {2024: {"holidays": ["02/09", "16/09"]}}})
    assert not configured.is_working_day(date(2024, 9, 16))  # a day the province declared
    assert configured.is_working_day(date(2024, 9, 3))  # 2024's built-in days are replaced, not added to
    assert not configured.is_working_day(date(2025, 9, 1))  # other years keep the built-in calendar
    assert working_days({"holidays": {2024: {"holidays": ["02/09", "16/09"]}}}) is configured  # read once
    both = {"2024": {"holidays": ["02/09"]}, "2025": {"holidays": ["02/09"]}}
    assert working_days({"holidays": both}) is working_days({"holidays": dict(reversed(both.items()))})


def _off(first: date, last: date) -> WorkCalendar:
    """Every day from `first` to `last` off, weekdays and weekends alike."""
    return WorkCalendar(frozenset(first + timedelta(days=i) for i in range((last - first).days + 1)))


def test_a_working_day_is_found_after_up_to_a_year_off_and_not_after_longer() -> None:
    start = date(2024, 11, 15)  # a Friday
    longest = _off(start + timedelta(days=1), start + timedelta(days=_MAX_DAYS_OFF))
    after = start + timedelta(days=_MAX_DAYS_OFF + 1)
    calendar = WorkCalendar(longest.holidays, frozenset({after}) if after.weekday() >= 5 else frozenset())
    assert calendar.add_working_days(start, 1) == after
    # a working day (Friday), then the same run of days off: the count starts again after each working day
    assert calendar.add_working_days(start - timedelta(days=1), 2) == after
    endless = WorkCalendar(longest.holidays | {after})
    with pytest.raises(CalendarError) as refused:
        endless.add_working_days(start, 1)
    assert str(refused.value) == "Không có ngày làm việc nào trong một năm sau ngày 15/11/2024."
    with pytest.raises(ValueError, match=r"^Số ngày làm việc không được âm\.$"):
        calendar.add_working_days(start, -1)


def test_a_province_year_keeps_the_base_calendar_s_other_years_make_up_saturdays() -> None:
    calendar = WorkCalendar.from_config({2024: {"holidays": ["02/09"]}}, base=default_calendar())
    assert calendar.is_working_day(date(2025, 2, 8))  # 2025's make-up Saturday, from the built-in calendar


def test_days_written_as_dates_count_in_their_own_year_only() -> None:
    calendar = WorkCalendar.from_config({2024: {"holidays": [date(2024, 9, 2), date(2024, 9, 3)]}})
    assert calendar.holidays == {date(2024, 9, 2), date(2024, 9, 3)}
    with pytest.raises(CalendarError, match=r"^Năm 2024: «2023-09-02» không phải ngày dạng dd/mm"):
        WorkCalendar.from_config({2024: {"holidays": [date(2023, 9, 2)]}})
    with pytest.raises(CalendarError, match=r"^Năm 2024: «5» không phải ngày dạng dd/mm"):
        WorkCalendar.from_config({2024: {"holidays": [5]}})


def test_a_year_from_1900_to_2100_may_be_configured() -> None:
    for year in (1900, 2100):
        assert WorkCalendar.from_config({year: {"holidays": ["02/09"]}}).holidays == {date(year, 9, 2)}
    for year in (1899, 2101):
        with pytest.raises(CalendarError, match=rf"^Năm «{year}» trong lịch ngày nghỉ không hợp lệ\.$"):
            WorkCalendar.from_config({year: {"holidays": []}})


# --- what mutation testing found unguarded (docs/mutation.md) -----------------------------------------------


def test_no_working_day_in_a_year_before_a_date_is_said_so() -> None:
    calendar = _off(date(2023, 1, 1), date(2024, 12, 31))
    with pytest.raises(CalendarError, match=r"^Không có ngày làm việc nào trong một năm trước ngày \d\d/\d\d/\d{4}\.$"):
        calendar.previous_working_day(date(2024, 12, 31))


def test_every_unknown_key_of_a_year_is_named() -> None:
    with pytest.raises(CalendarError, match=r"^Năm 2024: khoá không hợp lệ «holiday, weekends»\.$"):
        WorkCalendar.from_config({2024: {"holiday": [], "weekends": [], "holidays": []}})


def test_a_province_s_holidays_section_is_checked_as_it_will_be_read() -> None:
    path = "tenants/ha-tinh/province.yaml: holidays"
    assert holiday_problems({2024: {"holidays": ["02/09", "16/09"]}}, path) == []
    assert holiday_problems({2024: {"holidays": ["31/02"]}}, path) == [
        (path, "Năm 2024: «31/02» không phải ngày dạng dd/mm hoặc dd/mm-dd/mm.")
    ]


def test_folding_drops_case_and_diacritics_one_character_for_one() -> None:
    assert _fold("ĐẾN Hạn đã QUÁ") == "den han da qua"
    plane = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)  # "İ" lowers to two: not here
    assert len(_fold(plane)) == len(plane)  # positions in the folded text are positions in the text


def test_a_day_and_month_written_with_a_dash_or_a_dot_is_a_date_only_after_a_cue() -> None:
    assert parse("ngày 15-11").due == date(2024, 11, 15)
    assert parse("trước 15.11").due == date(2024, 11, 15)
    assert parse("15-11").kind == "unknown"
    with pytest.raises(DeadlineError, match="«32/01»"):
        parse("Trước ngày 32/01")  # a cue: a date that does not exist, not prose


def test_the_first_date_of_a_series_counts_from_the_first_day_of_the_year() -> None:
    no_days_off = WorkCalendar(frozenset())
    deadline = parse_deadline("trước ngày 01/01/2025; trước ngày 10/01/2025", year=2025, calendar=no_days_off)
    assert deadline.due == date(2025, 1, 1)


def test_a_series_whose_dates_have_all_passed_is_due_on_its_last_and_labelled_with_each() -> None:
    text = "trước ngày 10/3/2024; trước ngày 10/6/2024; trước ngày 10/9/2024"
    deadline = parse(text, event=date(2024, 12, 1))
    assert deadline.due == date(2024, 9, 10)
    assert deadline.label == "Các hạn 08/03/2024; 10/06/2024; 10/09/2024"


@pytest.mark.parametrize(
    "text",
    [
        "Quý II/2024",
        "6 tháng đầu năm",
        "Tháng 5/2024",
        "Năm 2024",
        "Hằng quý",
        "20 ngày kể từ khi nhận",
        "trước ngày 10/3/2024; trước ngày 10/6/2024",
        "Thường xuyên",
    ],
)
def test_every_kind_keeps_the_text_as_written(text: str) -> None:
    assert parse(text).text == text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("20 ngày", "20 ngày"),
        ("Kể từ ngày nhận, trong 20 ngày", "20 ngày"),  # the event is named after the number of days
        ("20 ngày kể từ khi nhận văn bản;.", "20 ngày kể từ khi nhận văn bản"),
        ("(10 ngày kể từ khi nhận báo cáo của UBND TX)", "10 ngày kể từ khi nhận báo cáo của UBND TX"),
        ("10 ngày kể từ khi nhận báo cáo của UBND TX.", "10 ngày kể từ khi nhận báo cáo của UBND TX"),
        ("(05 ngày làm việc kể từ ngày ký )", "5 ngày làm việc kể từ ngày ký"),
        ("05 ngày làm việc kể từ ngày ký (bản chính)", "5 ngày làm việc kể từ ngày ký (bản chính)"),
    ],
)
def test_a_relative_deadline_is_labelled_with_its_event_as_written(text: str, label: str) -> None:
    assert parse(text).label == label


def test_a_relative_deadline_reads_its_event_s_date_in_the_plan_s_year_and_names_a_wrong_one() -> None:
    assert parse("trong vòng 15 ngày kể từ ngày 01/02", year=2024).due == date(2024, 2, 16)
    with pytest.raises(DeadlineError, match=r"^«31/02/2024» không phải là một ngày có thật"):
        parse("15 ngày kể từ ngày 31/02/2024")


# Every weekday off and every weekend day worked of the built-in calendar, year by year, as announced (2019–2026)
# or computed by the Labour Code's rules (2027).
_BUILT_IN = {
    2019: ("01/01 04/02 05/02 06/02 07/02 08/02 15/04 29/04 30/04 01/05 02/09", "05/01 04/05"),
    2020: ("01/01 23/01 24/01 27/01 28/01 29/01 02/04 30/04 01/05 02/09", ""),
    2021: ("01/01 10/02 11/02 12/02 15/02 16/02 21/04 30/04 03/05 02/09 03/09", ""),
    2022: ("03/01 31/01 01/02 02/02 03/02 04/02 11/04 02/05 03/05 01/09 02/09", ""),
    2023: ("02/01 20/01 23/01 24/01 25/01 26/01 01/05 02/05 03/05 01/09 04/09", "14/01"),
    2024: ("01/01 08/02 09/02 12/02 13/02 14/02 18/04 29/04 30/04 01/05 02/09 03/09", "04/05"),
    2025: ("01/01 27/01 28/01 29/01 30/01 31/01 07/04 30/04 01/05 02/05 01/09 02/09", "08/02 26/04"),
    2026: ("01/01 16/02 17/02 18/02 19/02 20/02 27/04 30/04 01/05 01/09 02/09", ""),
    2027: ("01/01 05/02 08/02 09/02 10/02 11/02 16/04 30/04 03/05 02/09 03/09", ""),
}


@pytest.mark.parametrize("year", sorted(_BUILT_IN))
def test_the_built_in_calendar_day_by_day(year: int) -> None:
    calendar = default_calendar()
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366)]
    days = [day for day in days if day.year == year]
    off = " ".join(f"{day:%d/%m}" for day in days if day.weekday() < 5 and not calendar.is_working_day(day))
    worked = " ".join(f"{day:%d/%m}" for day in days if day.weekday() >= 5 and calendar.is_working_day(day))
    assert (off, worked) == _BUILT_IN[year]


def test_a_fund_is_no_quarter_and_a_quarter_after_it_is_read() -> None:
    deadline = parse("Trích Quỹ 5 năm 2024 trước khi báo cáo Quý II/2024")
    assert (deadline.kind, deadline.label) == ("quarter", "Quý II/2024 (hạn 28/06/2024)")


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("6 tháng đầu năm 2023", "quarter", "6 tháng đầu năm 2023 (hạn 30/06/2023)"),
        ("Tháng 1/2024", "date", "Tháng 1/2024 (hạn 31/01/2024)"),
        ("Tháng 12/2024", "date", "Tháng 12/2024 (hạn 31/12/2024)"),
        ("Năm 2024", "year", "Năm 2024 (hạn 31/12/2024)"),
        ("Theo yêu cầu  của tỉnh", "by_regulation", "Theo yêu cầu của tỉnh"),
        ("Phối hợp   với các phòng", "unknown", "Phối hợp với các phòng"),
    ],
)
def test_each_kind_is_labelled_as_a_person_reads_it(text: str, kind: str, label: str) -> None:
    deadline = parse(text)
    assert (deadline.kind, deadline.label, deadline.text) == (kind, label, text)


@pytest.mark.parametrize(
    ("year", "extra"),
    [
        (2024, date(2024, 9, 3)),  # Monday: Tuesday too
        (2025, date(2025, 9, 1)),  # Tuesday: the Monday before
        (2026, date(2026, 9, 1)),  # Wednesday
        (2027, date(2027, 9, 3)),  # Thursday: Friday too
        (2022, date(2022, 9, 1)),  # Friday: the Thursday before
        (2028, date(2028, 9, 1)),  # Saturday: the Friday before
        (2029, date(2029, 9, 3)),  # Sunday: the Monday after (the Sunday itself is compensated by Tuesday)
    ],
)
def test_the_second_day_of_quoc_khanh_for_each_weekday(year: int, extra: date) -> None:
    assert _national_day_extra(year) == extra
