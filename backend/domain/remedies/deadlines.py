"""Deadlines as departments write them ("Quý II/2024", "Trước ngày 15/11", "Thường xuyên"), resolved to dates.

A deadline that falls on a day off (Saturday, Sunday, public holiday) moves to the working day *before* it, as
seed 004 rules: "Trường hợp ngày cuối gửi báo cáo định kỳ rơi vào các ngày nghỉ lễ, thứ Bảy, Chủ nhật thì phải gửi
báo trước các ngày nghỉ". "Trước ngày 15/11" is read, as the seeds do ("thời hạn gửi báo cáo đến ngày 15/11"), as
due on 15/11. Parsing ignores case, diacritics and extra spaces; it raises DeadlineError (Vietnamese message) only
for text that looks like a date or a quarter but is not one ("31/02/2024", "Quý V"); other prose is kind "unknown".
A month ("Tháng 5/2024") is kind "date", due on its last day; "6 tháng đầu năm" is kind "quarter", due on 30/6.
Several explicit dates in one text ("quý I trước ngày 10/3/2024; 6 tháng trước ngày 10/6/2024") are kind "date" with
every date in `series`. Pure functions: no database, no web.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

_ONE = timedelta(days=1)
_MAX_DAYS_OFF = 366  # a calendar with a longer run of days off is broken


class CalendarError(ValueError):
    """A holiday configuration that cannot be read; the message is for the person editing it."""


class DeadlineError(ValueError):
    """A deadline that looks like a date or a quarter but is not a valid one."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days of Vietnamese public agencies: Monday–Friday, minus holidays, plus make-up weekend days."""

    holidays: frozenset[date]
    working_weekends: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.working_weekends

    def previous_working_day(self, day: date) -> date:
        """The day itself when it is a working day, else the last working day before it."""
        for _ in range(_MAX_DAYS_OFF):
            if self.is_working_day(day):
                return day
            day -= _ONE
        raise CalendarError(f"Không có ngày làm việc nào trong một năm trước ngày {day:%d/%m/%Y}.")

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (`start` itself is not counted; n = 0 gives `start`)."""
        if n < 0:
            raise ValueError("Số ngày làm việc không được âm.")
        day, off = start, 0
        while n:
            day += _ONE
            if self.is_working_day(day):
                n, off = n - 1, 0
            elif (off := off + 1) > _MAX_DAYS_OFF:
                raise CalendarError(f"Không có ngày làm việc nào trong một năm sau ngày {start:%d/%m/%Y}.")
        return day

    @classmethod
    def from_config(cls, raw: Mapping[int | str, Any], *, base: WorkCalendar | None = None) -> WorkCalendar:
        """Read {2024: {"holidays": ["01/01", "08/02-14/02"], "working_weekends": ["04/05"]}}.

        Days are "dd/mm" or "dd/mm-dd/mm" ranges inside the key's year. With `base` (e.g. default_calendar()),
        every year present in `raw` replaces that year of `base`; other years are kept.
        """
        holidays = set(base.holidays) if base else set()
        weekends = set(base.working_weekends) if base else set()
        for key, entry in raw.items():
            year = _config_year(key)
            if not isinstance(entry, Mapping):
                raise CalendarError(f"Năm {year}: cần holidays và working_weekends, không phải «{entry!r}».")
            if extra := sorted(str(k) for k in entry if k not in ("holidays", "working_weekends")):
                raise CalendarError(f"Năm {year}: khoá không hợp lệ «{', '.join(extra)}».")
            off = _config_days(year, entry.get("holidays") or [])
            made_up = _config_days(year, entry.get("working_weekends") or [])
            for day in sorted(made_up):
                if day.weekday() < 5:
                    raise CalendarError(f"Năm {year}: ngày làm bù {day:%d/%m} không phải thứ Bảy hoặc Chủ nhật.")
                if day in off:
                    raise CalendarError(f"Năm {year}: ngày {day:%d/%m} vừa là ngày nghỉ vừa là ngày làm bù.")
            holidays = {d for d in holidays if d.year != year} | off
            weekends = {d for d in weekends if d.year != year} | made_up
        return cls(frozenset(holidays), frozenset(weekends))


def _config_year(key: int | str) -> int:
    text = str(key).strip()
    if isinstance(key, bool) or not text.isdigit() or not 1900 <= int(text) <= 2100:
        raise CalendarError(f"Năm «{key}» trong lịch ngày nghỉ không hợp lệ.")
    return int(text)


_CONFIG_DAY = re.compile(r"(\d{1,2})[/.](\d{1,2})(?:\s*(?:-|–|\.\.)\s*(\d{1,2})[/.](\d{1,2}))?")


def _config_days(year: int, values: Any) -> set[date]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise CalendarError(f"Năm {year}: cần một danh sách ngày, không phải «{values!r}».")
    days: set[date] = set()
    for value in values:
        if isinstance(value, date) and value.year == year:
            days.add(value)
            continue
        match = _CONFIG_DAY.fullmatch(value.strip()) if isinstance(value, str) else None
        bad = CalendarError(f"Năm {year}: «{value}» không phải ngày dạng dd/mm hoặc dd/mm-dd/mm.")
        if match is None:
            raise bad
        try:
            first = date(year, int(match[2]), int(match[1]))
            last = date(year, int(match[4]), int(match[3])) if match[3] else first
        except ValueError:
            raise bad from None
        if last < first:
            raise CalendarError(f"Năm {year}: khoảng ngày «{value}» kết thúc trước khi bắt đầu.")
        days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return days


# Built-in data, 2019–2027. Tết: the ranges the government announced for civil servants (weekends included);
# years without one get the lunar new year's eve and days 1–4, each weekend day compensated.
_LUNAR_NEW_YEAR = {
    2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
}  # fmt: skip
_TET_ANNOUNCED = {
    2019: (date(2019, 2, 2), date(2019, 2, 10)), 2020: (date(2020, 1, 23), date(2020, 1, 29)),
    2021: (date(2021, 2, 10), date(2021, 2, 16)), 2022: (date(2022, 1, 29), date(2022, 2, 6)),
    2023: (date(2023, 1, 20), date(2023, 1, 26)), 2024: (date(2024, 2, 8), date(2024, 2, 14)),
    2025: (date(2025, 1, 25), date(2025, 2, 2)), 2026: (date(2026, 2, 14), date(2026, 2, 22)),
}  # fmt: skip
_HUNG_KINGS = {  # 10/3 âm lịch
    2019: date(2019, 4, 14), 2020: date(2020, 4, 2), 2021: date(2021, 4, 21), 2022: date(2022, 4, 10),
    2023: date(2023, 4, 29), 2024: date(2024, 4, 18), 2025: date(2025, 4, 7), 2026: date(2026, 4, 26),
    2027: date(2027, 4, 16),
}  # fmt: skip
# Swapped working days (hoán đổi ngày làm việc): extra days off and the Saturdays worked in exchange.
_SWAPPED_OFF = (date(2019, 4, 29), date(2024, 4, 29), date(2025, 5, 2))
_MADE_UP = (
    date(2019, 1, 5),
    date(2019, 5, 4),
    date(2023, 1, 14),
    date(2024, 5, 4),
    date(2025, 2, 8),
    date(2025, 4, 26),
)


def _national_day_extra(year: int) -> date:
    """The second day of Quốc khánh (from 2021): 1/9 or 3/9, as decreed; the rule matches 2021–2025."""
    national = date(year, 9, 2)
    return national + _ONE if national.weekday() in (0, 3, 6) else national - _ONE


def _default_days_off(year: int) -> set[date]:
    statutory = [date(year, 1, 1), _HUNG_KINGS[year], date(year, 4, 30), date(year, 5, 1), date(year, 9, 2)]
    if year >= 2021:
        statutory.append(_national_day_extra(year))
    off = set(statutory)
    if year in _TET_ANNOUNCED:
        start, end = _TET_ANNOUNCED[year]
        off.update(start + timedelta(days=i) for i in range((end - start).days + 1))
    else:
        tet = [_LUNAR_NEW_YEAR[year] + timedelta(days=i) for i in range(-1, 4)]
        statutory += tet
        off.update(tet)
    for day in sorted(statutory):  # Labour Code: a holiday on a weekend gives the next working day off
        if day.weekday() >= 5:
            compensatory = day + _ONE
            while compensatory.weekday() >= 5 or compensatory in off:
                compensatory += _ONE
            off.add(compensatory)
    return off


def holiday_problems(raw: Mapping[int | str, Any], path: str) -> list[tuple[str, str]]:
    """A province's `holidays` section (tenant configuration) checked as it will be read: (path, reason)."""
    try:
        WorkCalendar.from_config(raw)  # what is refused does not depend on the calendar it would replace
    except CalendarError as exc:
        return [(path, str(exc))]
    return []


@cache
def default_calendar() -> WorkCalendar:
    """Vietnamese public holidays 2019–2027 as days off for public agencies: a best-effort default.

    Fixed days 1/1, 30/4, 1/5, 2/9 (+ 1/9 or 3/9 from 2021), Giỗ Tổ Hùng Vương (10/3 âm lịch) and Tết Nguyên Đán
    (the announced ranges, computed for years without one), with compensatory days for holidays on a weekend and
    the known swapped days and make-up Saturdays. Provinces override it per year in their tenant configuration
    (tenants/…, read with WorkCalendar.from_config(raw, base=default_calendar())); outside 2019–2027 only weekends.
    """
    holidays = set().union(*(_default_days_off(year) for year in _LUNAR_NEW_YEAR), _SWAPPED_OFF)
    return WorkCalendar(frozenset(holidays), frozenset(_MADE_UP))


def working_days(settings: Mapping[str, Any]) -> WorkCalendar:
    """The province's working days: the built-in calendar, with the years its `tenants/` configuration lists
    (`holidays:` in province.yaml, stored in the province's settings by `tenants sync`) replaced."""
    raw = settings.get("holidays") or {}
    return _configured(json.dumps(raw, sort_keys=True)) if raw else default_calendar()


@functools.lru_cache(maxsize=64)
def _configured(raw: str) -> WorkCalendar:
    return WorkCalendar.from_config(json.loads(raw), base=default_calendar())


@dataclass(frozen=True)
class Deadline:
    kind: str  # "date" | "quarter" | "year" | "recurring" | "relative" | "by_regulation" | "unknown"
    text: str  # the original text, kept as written
    due: date | None  # the (first) due date on a working day; None when it cannot be known (yet)
    series: tuple[date, ...] = ()  # recurring (or several explicit dates): every due date, on working days
    label: str = ""  # short Vietnamese description: "Quý II/2024 (hạn 28/06/2024)"


def _fold(text: str) -> str:
    """Lower case without diacritics, one character for one, so positions map back to the text."""
    # the first character of a decomposition lowers to one character for every code point (checked over all of
    # Unicode when written; tests/test_deadlines.py checks the Basic Multilingual Plane); "đ" has no decomposition
    return "".join("d" if char in "đĐ" else unicodedata.normalize("NFD", char)[0].lower() for char in text)


def _d(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _month_end(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1) - _ONE


def _year_of(raw: str | None, default: int) -> int:
    return default if not raw else (2000 + int(raw) if len(raw) == 2 else int(raw))


_DATE = re.compile(r"(?<![\d,.])(\d{1,2})\s*([/.\-–])\s*(\d{1,2})(?:\s*\2\s*(\d{4}|\d{2}))?(?!\d|[/.\-–]\d)")
_WORDS_DATE = re.compile(r"\bngay\s*(\d{1,2})\s*thang\s*(\d{1,2})(?:\s*nam\s*(\d{4}))?")
_DATE_CUE = re.compile(r"(?:ngay|truoc|han|den|nhat|tu)\s*$")
_NOT_A_DAY = re.compile(r"(?:thang|quy)\s*$")
_RELATIVE = re.compile(r"(?<![\d,./])(\d{1,3})\s*ngay(\s*lam viec)?\b")
_ANCHOR = re.compile(r"\b(?:ke tu|tinh tu|sau khi|sau ngay|tu ngay|tu khi)\b")
_QUARTER = re.compile(
    r"\bquy\s*([ivx]+|\d+)\b(?:\s*(?:[/.\-–]|nam)\s*(\d{4}|\d{2})\b)?(?=\s*(?:$|[^\w\s]|nam\b|va\b|hoac\b|den\b|\d))"
)
_HALF = re.compile(r"\b6\s*thang\s*(dau|cuoi)\s*nam\b(?:\s*(\d{4})\b)?")
_MONTH = re.compile(r"\bthang\s*(\d{1,2})\b(?:\s*(?:[/.\-–]|nam)\s*(\d{4}|\d{2})\b)?")
_PERIODIC = (
    (re.compile(r"\b(?:hang|moi)\s*thang\b|\bmonthly\b"), "Hằng tháng", tuple(range(1, 13))),
    (re.compile(r"\b(?:hang|moi)\s*quy\b|\bquarterly\b"), "Hằng quý", (3, 6, 9, 12)),
    (
        re.compile(r"\b6\s*thang\s*(?:/|mot)\s*(?:lan|nam)\b|\bdinh ky\s*6\s*thang\b|\bnua nam\b"),
        "Định kỳ 6 tháng",
        (6, 12),
    ),
    (re.compile(r"\b(?:hang|moi)\s*nam\b|\byearly\b|\bannually\b"), "Hằng năm", (12,)),
)
_YEAR = re.compile(r"\b(?:(?:trong|ca|suot)\s*nam\b(?:\s*(\d{4})\b)?|nam\s*(\d{4})\b)")
_ALWAYS = re.compile(r"(?<!chi )\bthuong xuyen\b")
_BY_REGULATION = re.compile(r"\b(?:theo|khi co)\s*(?:quy dinh|yeu cau|chi dao|huong dan|nhu cau)\b")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


def _dates(folded: str, written: str, year: int) -> list[date]:
    """Every explicit date in the text, in order; raises DeadlineError for one that does not exist."""
    found: list[tuple[int, date]] = []
    candidates = [(m.start(), m.end(), m[1], m[2], m[3]) for m in _WORDS_DATE.finditer(folded)]
    for m in _DATE.finditer(folded):
        before = folded[: m.start()]
        if _NOT_A_DAY.search(before):
            continue
        cue = bool(_DATE_CUE.search(before)) or m[4] is not None
        if (m[2] == "/" or cue) and (cue or (1 <= int(m[1]) <= 31 and 1 <= int(m[3]) <= 12)):
            candidates.append((m.start(), m.end(), m[1], m[3], m[4]))
    for start, end, day, month, raw_year in candidates:
        try:
            found.append((start, date(_year_of(raw_year, year), int(month), int(day))))
        except ValueError:
            piece, whole = written[start:end], written.strip()
            context = f" (thời hạn «{whole}»)" if piece != whole else ""
            raise DeadlineError(
                f"«{piece}» không phải là một ngày có thật{context}. Hãy viết dạng dd/mm/yyyy, ví dụ 15/11/2024."
            ) from None
    return [day for _, day in sorted(found)]


def _first_from(days: Iterable[date], reference: date) -> date | None:
    return next((day for day in days if day >= reference), None)


def parse_deadline(text: str, *, year: int, calendar: WorkCalendar, event: date | None = None) -> Deadline:
    """Resolve a deadline written in a plan of `year`; `event` starts relative deadlines ("20 ngày kể từ …")."""
    written = " ".join(unicodedata.normalize("NFC", text).split())
    folded = _fold(written)
    back = calendar.previous_working_day
    reference = event or date(year, 1, 1)

    def period(kind: str, name: str, end: date) -> Deadline:
        due = back(end)
        return Deadline(kind, text, due, label=f"{name} (hạn {_d(due)})")

    def recurring(name: str, days: Iterable[date]) -> Deadline:
        series = tuple(sorted({back(day) for day in days}))
        return Deadline("recurring", text, _first_from(series, reference), series, name)

    if relative := _RELATIVE.search(folded):
        days, working = int(relative[1]), relative[2] is not None
        anchor = _ANCHOR.search(folded, relative.end())
        tail = written[anchor.start() :].rstrip(" .;,") if anchor else ""
        if tail.count(")") > tail.count("("):
            tail = tail.rstrip(")").rstrip()
        if event is None and anchor and (explicit := _dates(folded[anchor.start() :], written[anchor.start() :], year)):
            event = explicit[0]
        due = None
        if event is not None:
            due = calendar.add_working_days(event, days) if working else back(event + timedelta(days=days))
        name = f"{days} ngày{' làm việc' if working else ''}{' ' + tail if tail else ''}"
        return Deadline("relative", text, due, label=name + (f" (hạn {_d(due)})" if due else ""))
    if explicit := _dates(folded, written, year):
        moved = tuple(sorted({back(day) for day in explicit}))
        if len(moved) > 1:
            due = _first_from(moved, reference) or moved[-1]
            return Deadline("date", text, due, moved, "Các hạn " + "; ".join(_d(day) for day in moved))
        note = f" (hạn {_d(moved[0])})" if moved[0] != explicit[0] else ""
        return Deadline("date", text, moved[0], label=f"Ngày {_d(explicit[0])}{note}")
    for quarter in _QUARTER.finditer(folded):
        if written[quarter.start() : quarter.start() + 3].lower() == "quỹ":
            continue  # a fund (quỹ), not a quarter
        number = _ROMAN.get(quarter[1]) or (int(quarter[1]) if quarter[1].isdigit() else 0)
        if not 1 <= number <= 4:
            raise DeadlineError(f"«{written[quarter.start() : quarter.end()]}»: một năm chỉ có Quý I đến Quý IV.")
        in_year = _year_of(quarter[2], year)
        roman = ("I", "II", "III", "IV")[number - 1]
        return period("quarter", f"Quý {roman}/{in_year}", _month_end(in_year, 3 * number))
    if half := _HALF.search(folded):
        in_year = _year_of(half[2], year)
        first = half[1] == "dau"
        return period(
            "quarter", f"6 tháng {'đầu' if first else 'cuối'} năm {in_year}", _month_end(in_year, 6 if first else 12)
        )
    if month := _MONTH.search(folded):
        if not 1 <= int(month[1]) <= 12:
            raise DeadlineError(f"«{written[month.start() : month.end()]}»: tháng phải từ 1 đến 12.")
        in_year = _year_of(month[2], year)
        return period("date", f"Tháng {int(month[1])}/{in_year}", _month_end(in_year, int(month[1])))
    always = _ALWAYS.search(folded) is not None
    for pattern, name, months in _PERIODIC:
        if pattern.search(folded):
            return recurring(
                f"Thường xuyên ({name.lower()})" if always else name, (_month_end(year, m) for m in months)
            )
    if whole := _YEAR.search(folded):
        in_year = _year_of(whole[1] or whole[2], year)
        return period("year", f"Năm {in_year}", date(in_year, 12, 31))
    if always:
        return Deadline("recurring", text, None, label="Thường xuyên")
    if _BY_REGULATION.search(folded):
        return Deadline("by_regulation", text, None, label=written)
    return Deadline("unknown", text, None, label=written)
