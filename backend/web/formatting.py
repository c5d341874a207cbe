"""Numbers and dates the Vietnamese way: decimal comma, dot for thousands, dd/mm/yyyy."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal


def vn_percent(value: Decimal | None) -> str:
    """A published index with every one of its decimals kept: 84.80 → "84,80 %"; None → "–"."""
    if value is None:
        return "–"
    whole, _, fraction = f"{value:f}".partition(".")
    return vn_number(Decimal(whole), 0) + (f",{fraction}" if fraction else "") + " %"


def vn_number(value: Decimal | int | None, places: int = 3) -> str:
    """87.225 → "87,225"; 1234.5 → "1.234,5"; trailing zeros after the comma are dropped.

    Rounds half up, as the scores are rounded on paper (and whatever the thread's decimal context says).
    """
    if value is None:
        return ""
    quantised = (
        Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) if places else Decimal(value)
    )
    sign = "-" if quantised < 0 else ""
    text = f"{abs(quantised):f}"
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + ".".join(groups) + (f",{fraction}" if fraction else "")


def vn_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y")


def vn_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%H:%M %d/%m/%Y")
