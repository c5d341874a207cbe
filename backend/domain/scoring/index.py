"""Scores as provinces publish them: the index of the applicable maximum, ranks within a group, classes.

Pure functions over the *score frame* of `backend.domain.scoring.province` (tenant, group, year, area, criterion,
achieved, max), with two additions:

    applicable  Boolean   optional; False for a row that does not apply to the tenant ("không áp dụng"): its
                          points leave both the achieved points and the maximum (the applicable maximum)
    achieved    may be null: a row not scored yet counts in the maximum with nothing achieved

and an optional *adjustments frame* (tenant, year, bonus, penalty) with optional `bonus_cap` and `penalty_cap`
columns (null: no cap): the bonus counted is min(bonus, bonus_cap), the penalty min(penalty, penalty_cap).

    total = achieved of the applicable rows + counted bonus − counted penalty
    index = total ÷ applicable maximum × 100

Points stay exact (Decimal(12, 3)) throughout; the index is computed from the unrounded total and maximum and
rounded **once**, half-up (away from zero), to the province's declared places, in exact integer arithmetic.
Ranks (within a group, ties share the best rank: 1, 2, 2, 4) and classes use the published index: what the
province publishes is what it ranks and classes by. An area's index (for a class's floor) is rounded the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import polars as pl

from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, POINTS, SCORE_SCHEMA

__all__ = ["DEFAULT_PLACES", "ResultClass", "area_indices", "published_index", "published_results"]

DEFAULT_PLACES = 2
THOUSANDTHS = 1000  # points have 3 decimals: as integers of thousandths, sums and quotients are exact
ZERO = pl.lit(0, dtype=POINTS)


@dataclass(frozen=True)
class ResultClass:
    """A class of published results, best first: the index reaches `min_index` and, with `area_floor`, no
    area's index is below it (Nhóm I: ≥ 90 % and no area below 80 %)."""

    code: str
    label: str
    min_index: Decimal
    area_floor: Decimal | None = None


def published_index(total: Decimal, maximum: Decimal, places: int = DEFAULT_PLACES) -> Decimal | None:
    """total ÷ maximum × 100, rounded once half-up to `places`; None when nothing applies (maximum 0).

    The same arithmetic as the frames': exact integers, no intermediate rounding (68,32 / 84 → 81,33)."""
    if maximum <= 0:
        return None
    units = _half_up_units(int(total * THOUSANDTHS), int(maximum * THOUSANDTHS), places)
    return Decimal(units).scaleb(-places)


def _half_up_units(total: int, maximum: int, places: int) -> int:
    """round_half_up(total × 100 × 10^places ÷ maximum) for integers, half away from zero."""
    numerator: int = abs(total) * 100 * 10**places
    units: int = (2 * numerator + maximum) // (2 * maximum)
    return units if total >= 0 else -units


def _units_expr(part: str, whole: str, places: int) -> pl.Expr:
    """The polars twin of `_half_up_units` over Decimal(12, 3) columns (null where the whole is 0)."""
    total = (pl.col(part) * THOUSANDTHS).cast(pl.Int64)
    maximum = (pl.col(whole) * THOUSANDTHS).cast(pl.Int64)
    scaled = total.abs() * (100 * 10**places)
    units = (2 * scaled + maximum) // (2 * maximum)
    return pl.when(maximum > 0).then(pl.when(total >= 0).then(units).otherwise(-units))


def _prepared_scores(scores: pl.DataFrame, year: int) -> pl.LazyFrame:
    missing = [name for name in SCORE_SCHEMA if name not in scores.columns]
    if missing:
        raise ValueError(f"score frame lacks column(s) {', '.join(missing)}")
    for name in ("achieved", "max"):
        if not isinstance(scores.schema[name], pl.Decimal):
            raise TypeError(f"score frame: {name!r} must be Decimal points, not {scores.schema[name]}")
    applicable = pl.col("applicable").fill_null(True) if "applicable" in scores.columns else pl.lit(True)
    return (
        scores.lazy()
        .select(*(pl.col(name).cast(dtype) for name, dtype in SCORE_SCHEMA.items()), applicable.alias("applicable"))
        .filter(pl.col("year") == year, pl.col("applicable"))
        .drop("applicable")
    )


def _sum(name: str, alias: str | None = None) -> pl.Expr:
    return pl.col(name).sum().cast(POINTS).alias(alias or name)


def _index(units: str, places: int) -> pl.Expr:
    """Integer units of 10^-places as exact Decimals: a product's scale is its factors' (0 + places), so multiplying
    by 10^-places moves the point without rounding, inside the query (no value goes through Python)."""
    step = pl.lit(Decimal(1).scaleb(-places), dtype=pl.Decimal(places + 1, places))
    return (pl.col(units).cast(pl.Decimal(20, 0)) * step).cast(pl.Decimal(12, places))


def _area_units(prepared: pl.LazyFrame, places: int) -> pl.LazyFrame:
    """Per tenant and area: achieved, applicable max and the area's index in units of 10^-places (null: nothing
    of the area applies)."""
    return (
        prepared.group_by("tenant", "area")
        .agg(_sum("achieved"), _sum("max"))
        .with_columns(pl.col("achieved").fill_null(ZERO))
        .with_columns(_units_expr("achieved", "max", places).alias("units"))
    )


def area_indices(scores: pl.DataFrame, year: int, places: int = DEFAULT_PLACES) -> pl.DataFrame:
    """Per tenant and area of the year: achieved, applicable max and the area's published index (null when nothing
    of the area applies). Columns tenant, area, achieved, max, index; sorted by tenant, area."""
    return (
        _area_units(_prepared_scores(scores, year), places)
        .with_columns(_index("units", places).alias("index"))
        .drop("units")
        .sort("tenant", "area")
        .collect()
    )


def published_results(
    scores: pl.DataFrame,
    year: int,
    adjustments: pl.DataFrame | None = None,
    *,
    classes: Sequence[ResultClass] = (),
    places: int = DEFAULT_PLACES,
) -> pl.DataFrame:
    """The year's published results: per tenant the applicable maximum, the counted bonus and penalty, the total,
    the index, the rank within its group (by index, ties share), `of` (tenants ranked in the group) and its class.

    Columns tenant, group, components, max, bonus, penalty, total, index (Decimal with `places`), rank (Int32),
    of (Int32), result_class (String, null: no class reached), min_area_index; sorted by group, rank, tenant.
    A tenant with nothing applicable has a null index, no rank and no class."""
    lazy = _prepared_scores(scores, year)
    totals = lazy.group_by("tenant", "group").agg(_sum("achieved", "components"), _sum("max"))
    if adjustments is None:
        totals = totals.with_columns(ZERO.alias("bonus"), ZERO.alias("penalty"))
    else:
        totals = totals.join(_capped(adjustments, year), on="tenant", how="left").with_columns(
            pl.col("bonus").fill_null(ZERO), pl.col("penalty").fill_null(ZERO)
        )
    # the lowest area index per tenant, from the same prepared rows in the same query (one pass, one collect)
    floors = (
        _area_units(lazy, places)
        .filter(pl.col("units").is_not_null())
        .group_by("tenant")
        .agg(pl.col("units").min().alias("min_area_units"))
    )
    return (
        totals.with_columns(pl.col("components").fill_null(ZERO))
        .with_columns((pl.col("components") + pl.col("bonus") - pl.col("penalty")).cast(POINTS).alias("total"))
        .with_columns(_units_expr("total", "max", places).alias("units"))
        .join(floors, on="tenant", how="left")
        .with_columns(
            pl.col("units").rank(method="min", descending=True).over("group").cast(pl.Int32).alias("rank"),
            pl.col("units").count().over("group").cast(pl.Int32).alias("of"),
            _class_expr(classes, places).alias("result_class"),
        )
        .sort("group", "rank", "tenant", nulls_last=True)
        .select(
            "tenant",
            "group",
            "components",
            "max",
            "bonus",
            "penalty",
            "total",
            _index("units", places).alias("index"),
            "rank",
            "of",
            "result_class",
            _index("min_area_units", places).alias("min_area_index"),
        )
        .collect()
    )


def _capped(adjustments: pl.DataFrame, year: int) -> pl.LazyFrame:
    """Bonus and penalty per tenant of the year, each within its cap (a null or missing cap: none)."""
    missing = [name for name in ADJUSTMENT_SCHEMA if name not in adjustments.columns]
    if missing:
        raise ValueError(f"adjustments frame lacks column(s) {', '.join(missing)}")
    caps = [
        (pl.col(cap).cast(POINTS) if cap in adjustments.columns else pl.lit(None, dtype=POINTS)).alias(cap)
        for cap in ("bonus_cap", "penalty_cap")
    ]
    summed = (
        adjustments.lazy()
        .select(*(pl.col(name).cast(dtype) for name, dtype in ADJUSTMENT_SCHEMA.items()), *caps)
        .filter(pl.col("year") == year)
        .group_by("tenant")
        .agg(_sum("bonus"), _sum("penalty"), pl.col("bonus_cap").min(), pl.col("penalty_cap").min())
    )
    return summed.select(
        "tenant",
        *(
            pl.when(pl.col(cap).is_not_null() & (pl.col(name) > pl.col(cap)))
            .then(pl.col(cap))
            .otherwise(pl.col(name))
            .cast(POINTS)
            .alias(name)
            for name, cap in (("bonus", "bonus_cap"), ("penalty", "penalty_cap"))
        ),
    )


def _threshold_units(percent: Decimal, places: int) -> int:
    """The least index, in units of 10^-places, that reaches `percent` (an index is a multiple of 10^-places)."""
    return int((percent * 10**places).to_integral_value(rounding=ROUND_CEILING))


def _class_expr(classes: Sequence[ResultClass], places: int) -> pl.Expr:
    """The first class (best first) whose threshold the index reaches and whose area floor no area falls under."""
    expr: pl.Expr = pl.lit(None, dtype=pl.String)
    for entry in reversed(classes):
        reached = pl.col("units") >= _threshold_units(entry.min_index, places)
        if entry.area_floor is not None:
            floor = _threshold_units(entry.area_floor, places)
            reached = reached & (pl.col("min_area_units").is_null() | (pl.col("min_area_units") >= floor))
        expr = pl.when(pl.col("units").is_not_null() & reached).then(pl.lit(entry.code)).otherwise(expr)
    return expr
