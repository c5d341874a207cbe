"""Vietnam's clock: the departments' calendar day, whatever the server's time zone (containers run in UTC, so
`date.today()` would show yesterday until 07:00 in Hà Tĩnh)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time


def vietnam_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(VIETNAM).date()
