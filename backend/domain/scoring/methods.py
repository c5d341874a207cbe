"""How a criterion is scored: small declared rules over exact decimals, never code in the data.

Every result is a Decimal quantised half-up to the rule's places (3 by default; some provinces round
a ratio to 2, as Hà Tĩnh's 1.2 does: 1,5 × 94,76 % = 1,42). Inputs out of range raise ScoringError
with a Vietnamese message, so a form can show it next to the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from backend.web.formatting import vn_number

POINTS_PLACES = 3


class ScoringError(ValueError):
    """An input a rule cannot score; the message is for the person entering it."""


def quantize(value: Decimal, places: int = POINTS_PLACES) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def parse_decimal(raw: str | Decimal | int) -> Decimal:
    """Accept "75,25" and "75.25" (and "1.234,5"); refuse anything that is not a finite number."""
    if isinstance(raw, Decimal | int):
        value = Decimal(raw)
    else:
        text = raw.strip().replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise ScoringError("Giá trị phải là một số (ví dụ 75,25).") from exc
    if not value.is_finite():
        raise ScoringError("Giá trị phải là một số hữu hạn.")
    return value


def _within(value: Decimal, low: Decimal, high: Decimal, what: str) -> Decimal:
    if value < low or value > high:
        raise ScoringError(f"{what} phải nằm trong khoảng {vn_number(low)}–{vn_number(high)}.")
    return value


@dataclass(frozen=True)
class Manual:
    """The assessor enters the points, within [0, max]."""

    max_points: Decimal

    def score(self, points: Decimal) -> Decimal:
        return quantize(_within(points, Decimal(0), self.max_points, "Điểm"))


@dataclass(frozen=True)
class Ratio:
    """max × achieved ÷ target, capped at max (1.2: 1,5 × 94,76 % = 1,42 with places=2)."""

    max_points: Decimal
    places: int = POINTS_PLACES

    def score(self, achieved: Decimal, target: Decimal) -> Decimal:
        if target <= 0:
            raise ScoringError("Chỉ tiêu phải lớn hơn 0.")
        if achieved < 0:
            raise ScoringError("Kết quả đạt được không được âm.")
        return quantize(min(self.max_points, self.max_points * achieved / target), self.places)


@dataclass(frozen=True)
class Band:
    at_least: Decimal  # the value must be ≥ this (a percentage, a count …)
    points: Decimal


@dataclass(frozen=True)
class Bands:
    """The first band whose threshold the value reaches; below all of them, `otherwise`.

    "≥ 50 % → full, else 0" is Bands(1,5, [Band(50, 1,5)]); seed 001's 2.5 is
    Bands(1, [Band(100, 1), Band(80, 0,5)]).
    """

    max_points: Decimal
    bands: tuple[Band, ...]
    otherwise: Decimal = Decimal(0)

    def score(self, value: Decimal) -> Decimal:
        for band in sorted(self.bands, key=lambda b: b.at_least, reverse=True):
            if value >= band.at_least:
                return quantize(band.points)
        return quantize(self.otherwise)


@dataclass(frozen=True)
class IndexFormula:
    """Points from an external index: index × factor, capped at max ("DTI × 10/100": 93,76 → 9,376)."""

    max_points: Decimal
    factor: Decimal

    def score(self, index: Decimal) -> Decimal:
        if index < 0:
            raise ScoringError("Chỉ số không được âm.")
        return quantize(min(self.max_points, index * self.factor))


@dataclass(frozen=True)
class Deadline:
    """Full points when done within `days` of the event (calendar or working days), else `late_points`.

    Seed 001's 1.5: a plan signed more than 15 days after the appraisal result lost half its points.
    """

    max_points: Decimal
    days: int
    late_points: Decimal = Decimal(0)
    working_days: bool = False
    holidays: frozenset[date] = frozenset()

    def due(self, event: date) -> date:
        if not self.working_days:
            return event + timedelta(days=self.days)
        day, left = event, self.days
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in self.holidays:
                left -= 1
        return day

    def score(self, event: date, done: date | None) -> Decimal:
        if done is not None and done < event:
            raise ScoringError("Ngày hoàn thành không được trước ngày phát sinh.")
        on_time = done is not None and done <= self.due(event)
        return quantize(self.max_points if on_time else self.late_points)
