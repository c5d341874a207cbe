"""Numbers and dates as a Vietnamese reader writes them: 1.234,5 and 15/12/2023."""

from __future__ import annotations

import decimal
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from backend.web.formatting import vn_date, vn_datetime, vn_number, vn_percent, vn_size, vn_typed


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("87.225"), "87,225"),
        (Decimal("81.659"), "81,659"),
        (Decimal("1234.5"), "1.234,5"),
        (Decimal("1234567.891"), "1.234.567,891"),
        (Decimal("100.000"), "100"),
        (Decimal("1000"), "1.000"),
        (0, "0"),
        (Decimal("0.000"), "0"),
        (Decimal("-2"), "-2"),
        (Decimal("-1234.5"), "-1.234,5"),
        (Decimal("0.5"), "0,5"),
        (7, "7"),
    ],
)
def test_numbers_use_a_decimal_comma_and_dots_between_thousands(value: Decimal | int, shown: str) -> None:
    assert vn_number(value) == shown


def test_numbers_are_rounded_to_three_places() -> None:
    assert vn_number(Decimal("1.4214")) == "1,421"
    assert vn_number(Decimal("1.4216")) == "1,422"
    assert vn_number(Decimal("99.9996")) == "100"


def test_a_half_is_rounded_up_whatever_the_decimal_context() -> None:
    with decimal.localcontext(rounding=decimal.ROUND_HALF_EVEN):
        assert vn_number(Decimal("87.2245")) == "87,225"
        assert vn_number(Decimal("0.0005")) == "0,001"
        assert vn_number(Decimal("-0.0015")) == "-0,002"


def test_a_tiny_negative_number_is_shown_as_zero_without_a_sign() -> None:
    assert vn_number(Decimal("-0.0001")) == "0"


def test_the_number_of_places_can_be_chosen() -> None:
    assert vn_number(Decimal("87.225"), places=2) == "87,23"
    assert vn_number(Decimal("87.225"), places=1) == "87,2"


def test_a_missing_number_is_shown_as_nothing() -> None:
    assert vn_number(None) == ""


def test_dates_are_day_month_year() -> None:
    assert vn_date(date(2023, 12, 15)) == "15/12/2023"
    assert vn_date(date(2024, 3, 1)) == "01/03/2024"
    assert vn_date(datetime(2024, 11, 15, 23, 59)) == "15/11/2024"  # noqa: DTZ001 - a wall-clock value
    assert vn_date(None) == ""


def test_date_times_are_hour_minute_then_the_date() -> None:
    assert vn_datetime(datetime(2024, 6, 10, 8, 5)) == "08:05 10/06/2024"  # noqa: DTZ001 - a wall-clock value
    assert vn_datetime(None) == ""


def test_a_published_index_keeps_its_decimals_with_a_comma() -> None:
    assert vn_percent(Decimal("84.80")) == "84,80 %"
    assert vn_percent(Decimal("81.33")) == "81,33 %"
    assert vn_percent(Decimal("100.00")) == "100,00 %"
    assert vn_percent(Decimal("87")) == "87 %"  # a province publishing without decimals
    assert vn_percent(None) == "–"


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 12, 5, 22, 24, tzinfo=UTC), "05:24 06/12/2026"),  # stored in UTC, shown in Vietnam time
        (datetime(2026, 12, 6, 5, 24, tzinfo=timezone(timedelta(hours=7))), "05:24 06/12/2026"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "07:00 01/01/2026"),
    ],
)
def test_every_time_is_shown_in_vietnam_time(moment: datetime, shown: str) -> None:
    assert vn_datetime(moment) == shown


def test_a_moments_day_is_its_day_in_vietnam() -> None:
    assert vn_date(datetime(2026, 12, 5, 23, 30, tzinfo=UTC)) == "06/12/2026"
    assert vn_date(date(2026, 12, 5)) == "05/12/2026"


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 byte"),
        (512, "512 byte"),
        (1024, "1 KB"),
        (10317, "10,1 KB"),
        (1572864, "1,5 MB"),
        (50 * 1024 * 1024, "50 MB"),
        (3 * 1024**3 + 1024**3 // 10, "3,1 GB"),
    ],
)
def test_sizes_are_read_as_people_read_them(size: int, shown: str) -> None:
    assert vn_size(size) == shown


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("10.5", "10,5"),
        ("10,5", "10,5"),
        ("94,7654", "94,7654"),  # every decimal kept
        ("1.234,5", "1.234,5"),
        ("7", "7"),
        ("31/12/2020", "31/12/2020"),
        ("không có", "không có"),
    ],
)
def test_typed_numbers_are_shown_with_a_decimal_comma(typed: str, shown: str) -> None:
    assert vn_typed(typed) == shown
