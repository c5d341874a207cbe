"""Numbers, dates and times the Vietnamese way: decimal comma, dot for thousands, dd/mm/yyyy, and every moment
(stored in UTC) on Vietnam's clock (Asia/Ho_Chi_Minh), as "HH:MM dd/mm/yyyy"."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from backend.clock import VIETNAM


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


_TYPED_NUMBER = re.compile(r"-?\d{1,3}(\.\d{3})*(,\d+)?|-?\d+([.,]\d+)?")


def vn_typed(value: object) -> str:
    """What someone typed in a number field ("10.5", "10,5", "1.234,5") shown the Vietnamese way, every decimal
    kept; anything else (a date, a word) as it was typed."""
    text = str(value).strip()
    if not _TYPED_NUMBER.fullmatch(text):
        return text
    number = Decimal(text.replace(".", "").replace(",", ".") if "," in text else text)
    return vn_number(number, max(0, -int(number.as_tuple().exponent)))


def vn_size(size: int | None) -> str:
    """A file's size as people read it: 512 byte, 10,1 KB, 1,5 MB, 2,3 GB (binary units, decimal comma)."""
    if size is None:
        return ""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{vn_number(Decimal(size) / scale, 1)} {unit}"
    return f"{size} byte"


def vietnam_time(value: datetime) -> datetime:
    """A moment (the database returns them in UTC) on Vietnam's clock; a naive value is already a wall-clock
    time (a cell of an imported workbook) and stays as it is."""
    return value.astimezone(VIETNAM) if value.tzinfo else value


def vn_date(value: date | datetime | None) -> str:
    """A day as dd/mm/yyyy; a moment's day in Vietnam (23:30 UTC is already the next day there)."""
    if value is None:
        return ""
    return (vietnam_time(value) if isinstance(value, datetime) else value).strftime("%d/%m/%Y")


def vn_datetime(value: datetime | None) -> str:
    """A moment as "HH:MM dd/mm/yyyy" in Vietnam time: the one way the app shows a time."""
    if value is None:
        return ""
    return vietnam_time(value).strftime("%H:%M %d/%m/%Y")
