"""Numbers and dates as a Vietnamese reader writes them: 1.234,5 and 15/12/2023."""

from __future__ import annotations

import decimal
from datetime import date, datetime
from decimal import Decimal

import pytest

from backend.web.formatting import vn_date, vn_datetime, vn_number, vn_percent


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
