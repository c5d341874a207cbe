"""The year being assessed (năm đánh giá): one notion, from the province's calendar, that every page opens on.

On 05/12/2026 the departments self-assess 2026, submit 2026's package, report on 2026's periods, and work
the remedy plan drawn up after 2025's published appraisal (the board of 2025's results, carried out in 2026).

When the year turns over: on 1 January, unless the previous year's appraisal is still under way then (its
calendar's round 2 ends in the new year, as where results are published in the first quarter): the office
keeps working on that year, which is still being appraised, until the day after round 2 ends. A year
without a calendar turns over on 1 January.

Pure: no database, no configuration imports; `TenantContext.cycle` and the pages call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from backend.clock import vietnam_today
from backend.domain.submissions.calendar import year_calendar


def cycle_year(settings: Mapping[str, Any], today: date) -> int:
    """The year being assessed on `today` (a Vietnamese calendar day) by a province with these settings."""
    previous = year_calendar(settings, today.year - 1)
    if previous is not None and today <= previous.round_2.end:
        return today.year - 1
    return today.year


@dataclass(frozen=True)
class Cycle:
    """The year being assessed and the years that hang on it."""

    year: int  # năm đánh giá: self-assessment, submission, review, reports' periods
    board: int | None = None  # an archive's last board, when it is not the year before (`archive_cycle`)

    @property
    def remedies(self) -> int:
        """The appraisal year whose remedy plan is carried out during the cycle (the board's year)."""
        return self.year - 1 if self.board is None else self.board

    @property
    def label(self) -> str:
        return f"Năm đánh giá {self.year}"


def current_cycle(settings: Mapping[str, Any], today: date | None = None) -> Cycle:
    """The cycle of a province (its settings) today, in Vietnam."""
    return Cycle(cycle_year(settings or {}, today or vietnam_today()))


def archive_cycle(
    settings: Mapping[str, Any],
    archived_on: date,
    *,
    assessed: int | None,
    published: int | None,
    submitted: int | None,
    board: int | None,
) -> Cycle:
    """Where an archive's pages open (tenants/lineage.yaml): not today's cycle, which its successor works on, but
    its own last year, the latest it has a self-assessment, a package or a published result of (else the year
    being assessed the day before it was archived), and its last board (else the board of its last published
    year, else the year before)."""
    years = [y for y in (assessed, submitted, published) if y is not None]
    year = max(years) if years else cycle_year(settings or {}, archived_on - timedelta(days=1))
    return Cycle(year, board if board is not None else published)
