"""The province's yearly calendar (`calendar:` under `province:` in tenants/<province>/province.yaml).

Self-assessment window, submission deadline, explanation (giải trình) deadline and the two appraisal
rounds. Every date is a Vietnamese calendar day and a deadline includes its whole day: "trước 20/11"
in the plans means the department may still act on the 20th. Past a deadline, editing locks by itself;
a year without a calendar locks nothing.

This module has no database and no configuration imports: the loader (backend.domain.tenants.config)
checks with `calendar_problems`, the sync stores `to_settings`, pages read `YearCalendar.from_settings`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any

from backend import clock
from backend.clock import vietnam_today

DMY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
# The order the dates must follow, by their configuration path below the year.
ORDER = (
    "self_assessment.from",
    "self_assessment.to",
    "submission_deadline",
    "round_1.from",
    "round_1.to",
    "explanation_deadline",
    "round_2.from",
    "round_2.to",
)
LABELS = {
    "self_assessment.from": "ngày bắt đầu tự đánh giá",
    "self_assessment.to": "ngày kết thúc tự đánh giá",
    "submission_deadline": "hạn nộp hồ sơ",
    "round_1.from": "ngày bắt đầu thẩm định vòng 1",
    "round_1.to": "ngày kết thúc thẩm định vòng 1",
    "explanation_deadline": "hạn giải trình",
    "round_2.from": "ngày bắt đầu thẩm định vòng 2",
    "round_2.to": "ngày kết thúc thẩm định vòng 2",
}


def parse_dmy(value: str) -> date | None:
    """ "20/11/2024" → date(2024, 11, 20); None when it is not a real dd/mm/yyyy day."""
    match = DMY.fullmatch(value.strip())
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _day(now: datetime | date) -> date:
    if isinstance(now, datetime):
        return vietnam_today(now if now.tzinfo else now.replace(tzinfo=UTC))
    return now


@dataclass(frozen=True)
class Window:
    start: date
    end: date  # inclusive

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class YearCalendar:
    """One year's calendar. Methods take a moment (`datetime`, read in Vietnam time) or a Vietnamese day."""

    year: int
    self_assessment: Window
    submission_deadline: date
    explanation_deadline: date
    round_1: Window
    round_2: Window

    def self_assessment_open(self, now: datetime | date) -> bool:
        """Whether the self-assessment may be edited: until the window's last day. Before the window opens
        a department may already prepare it, so only the end locks."""
        return _day(now) <= self.self_assessment.end

    def submission_open(self, now: datetime | date) -> bool:
        """Whether a department may still submit (or withdraw to correct) its package."""
        return _day(now) <= self.submission_deadline

    def explanation_open(self, now: datetime | date) -> bool:
        """Whether a department may still answer the inspectors' requests (giải trình)."""
        return _day(now) <= self.explanation_deadline

    def round(self, now: datetime | date) -> int | None:
        """The appraisal round under way (1 or 2), or None outside both rounds."""
        day = _day(now)
        if self.round_1.contains(day):
            return 1
        if self.round_2.contains(day):
            return 2
        return None

    @classmethod
    def from_settings(cls, year: int, data: Mapping[str, Any]) -> YearCalendar:
        """From the ISO dates the tenants sync stored in Province.settings["calendar"][str(year)]."""

        def window(key: str) -> Window:
            return Window(date.fromisoformat(data[key]["from"]), date.fromisoformat(data[key]["to"]))

        return cls(
            year=year,
            self_assessment=window("self_assessment"),
            submission_deadline=date.fromisoformat(data["submission_deadline"]),
            explanation_deadline=date.fromisoformat(data["explanation_deadline"]),
            round_1=window("round_1"),
            round_2=window("round_2"),
        )


def _flat(entry: Mapping[str, Any]) -> dict[str, str]:
    """{"self_assessment": {"from": …, "to": …}, "submission_deadline": …} → {"self_assessment.from": …, …}."""
    flat: dict[str, str] = {}
    for key, value in entry.items():
        if isinstance(value, Mapping):
            for sub, text in value.items():
                flat[f"{key}.{sub}"] = str(text)
        else:
            flat[key] = str(value)
    return flat


def calendar_section_problems(section: Mapping[int, Any], path: str) -> list[tuple[str, str]]:
    """A province's `calendar` section (tenant configuration), year by year: (path, Vietnamese reason)."""
    return [problem for year, entry in section.items() for problem in calendar_problems(year, entry, f"{path}.{year}")]


def calendar_problems(year: int, entry: Mapping[str, Any], path: str) -> list[tuple[str, str]]:
    """Every problem of one year's entry (already of the right shape) as (path, Vietnamese reason)."""
    problems: list[tuple[str, str]] = []
    if not 2000 <= year <= 2100:
        return [(path, f"năm {year} không hợp lệ (2000–2100)")]
    flat = _flat(entry)
    days: dict[str, date] = {}
    for key in ORDER:
        text = flat.get(key, "")
        day = parse_dmy(text)
        if day is None:
            problems.append(
                (
                    f"{path}.{key}",
                    f'{LABELS[key]} {text!r} phải có dạng dd/mm/yyyy (ví dụ "20/11/{year}") và là một ngày có thật',
                )
            )
        elif not year <= day.year <= year + 1:
            problems.append((f"{path}.{key}", f"{LABELS[key]} {text} phải thuộc năm {year} hoặc {year + 1}"))
        else:
            days[key] = day
    for earlier, later in pairwise(ORDER):
        if earlier in days and later in days and days[later] < days[earlier]:
            problems.append(
                (
                    f"{path}.{later}",
                    f"{LABELS[later]} ({days[later]:%d/%m/%Y}) không được trước {LABELS[earlier]} "
                    f"({days[earlier]:%d/%m/%Y})",
                )
            )
    return problems


def to_settings(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A checked entry with its dates as ISO strings, for Province.settings["calendar"][str(year)]."""

    def iso(text: Any) -> str:
        day = parse_dmy(str(text))
        assert day is not None  # checked by calendar_problems before the sync
        return day.isoformat()

    return {
        key: ({sub: iso(text) for sub, text in value.items()} if isinstance(value, Mapping) else iso(value))
        for key, value in entry.items()
    }


def year_calendar(settings: Mapping[str, Any], year: int) -> YearCalendar | None:
    """The year's calendar from a province's settings, or None: nothing locks by date that year."""
    entry = (settings.get("calendar") or {}).get(str(year))
    return YearCalendar.from_settings(year, entry) if entry else None


def calendar_lock(province: Any, year: int, now: datetime | None = None) -> str | None:
    """Why the province's calendar no longer lets the year's self-assessment be edited, or None."""
    calendar = year_calendar(province.settings, year)
    if calendar is None or calendar.self_assessment_open(now or clock.utc_now()):
        return None
    return f"Đã hết hạn tự đánh giá ({calendar.self_assessment.end:%d/%m/%Y}): bản tự đánh giá chỉ còn xem."
