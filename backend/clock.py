"""Vietnam's clock: the departments' calendar day, whatever the server's time zone (containers run in UTC, so
`date.today()` would show yesterday until 07:00 in Hà Tĩnh).

`utc_now` is the one reading of the system clock that pages judge "today" by; tests freeze it by replacing
`backend.clock.utc_now` (every caller looks it up here at call time)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time


def utc_now() -> datetime:
    return datetime.now(UTC)


def vietnam_today(now: datetime | None = None) -> date:
    return (now or utc_now()).astimezone(VIETNAM).date()
