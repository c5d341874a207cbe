"""A province's (or the nation's) scores across tenants, with polars: totals, ranks, areas, heatmap, most lost.

Pure functions over a *score frame*, one row per tenant × year × criterion scored, no database inside:

    tenant     String           the department (one tenant), unique across the frame
    group      String           its ranking group ("department", "commune", ...): ranks are within a group
    year       Int32
    area       String           the reform area's code ("1" ... "7")
    criterion  String           the criterion's code ("1.2", "2.6.1", ...)
    achieved   Decimal(12, 3)   points scored
    max        Decimal(12, 3)   the criterion's maximum

and optionally an *adjustments frame* (tenant String, year Int32, bonus Decimal, penalty Decimal): the bonus
and penalty items of a tenant's year (điểm cộng, điểm trừ), which count in its total but in no area.

Points are polars Decimal(12, 3) in and out: sums are exact, never binary floats (a frame whose points are
not Decimal is refused). Percentages and shares are Float64, null where the maximum is 0. The one division
of points, `most_lost`'s mean, rounds half to even at 3 decimals (polars' Decimal division, as Python's
`Decimal` does by default). Strings sort by code point ("1.10" before "1.2"). The callers filter the frame
to one province first: a ranking group is whatever the `group` column says.
"""

from __future__ import annotations

import polars as pl

from backend.domain.scoring.aggregate import POINTS

__all__ = [
    "ADJUSTMENT_SCHEMA",
    "POINTS",
    "SCORE_SCHEMA",
    "area_totals",
    "heatmap",
    "most_lost",
    "province_rank",
    "tenant_totals",
]

SCORE_SCHEMA: dict[str, pl.DataType] = {
    "tenant": pl.String(),
    "group": pl.String(),
    "year": pl.Int32(),
    "area": pl.String(),
    "criterion": pl.String(),
    "achieved": POINTS,
    "max": POINTS,
}
ADJUSTMENT_SCHEMA: dict[str, pl.DataType] = {
    "tenant": pl.String(),
    "year": pl.Int32(),
    "bonus": POINTS,
    "penalty": POINTS,
}
ZERO = pl.lit(0, dtype=POINTS)


def _prepared(frame: pl.DataFrame, schema: dict[str, pl.DataType], what: str) -> pl.LazyFrame:
    """The frame's needed columns, lazily, in the canonical types; refuse missing columns and float points."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s) {', '.join(missing)}")
    for name, dtype in schema.items():
        if dtype == POINTS and not isinstance(frame.schema[name], pl.Decimal):
            raise TypeError(f"{what} frame: {name!r} must be Decimal points, not {frame.schema[name]}")
    return frame.lazy().select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def _scores(scores: pl.DataFrame, year: int | None = None) -> pl.LazyFrame:
    lazy = _prepared(scores, SCORE_SCHEMA, "score")
    return lazy if year is None else lazy.filter(pl.col("year") == year)


def _percent(part: str, whole: str) -> pl.Expr:
    """part / whole × 100 as Float64, named "percent"; null where whole is 0."""
    return (
        pl.when(pl.col(whole) > 0)
        .then(pl.col(part).cast(pl.Float64) / pl.col(whole).cast(pl.Float64) * 100)
        .alias("percent")
    )


def _sum(name: str, alias: str | None = None) -> pl.Expr:
    return pl.col(name).sum().cast(POINTS).alias(alias or name)


def _totals(scores: pl.LazyFrame, adjustments: pl.DataFrame | None, year: int | None) -> pl.LazyFrame:
    totals = scores.group_by("tenant", "group", "year").agg(_sum("achieved", "components"), _sum("max"))
    if adjustments is None:
        totals = totals.with_columns(ZERO.alias("bonus"), ZERO.alias("penalty"))
    else:
        adjusted = _prepared(adjustments, ADJUSTMENT_SCHEMA, "adjustments")
        if year is not None:
            adjusted = adjusted.filter(pl.col("year") == year)
        adjusted = adjusted.group_by("tenant", "year").agg(_sum("bonus"), _sum("penalty"))
        totals = totals.join(adjusted, on=["tenant", "year"], how="left").with_columns(
            pl.col("bonus").fill_null(ZERO), pl.col("penalty").fill_null(ZERO)
        )
    return totals.select(
        "tenant",
        "group",
        "year",
        "components",
        "max",
        "bonus",
        "penalty",
        (pl.col("components") + pl.col("bonus") - pl.col("penalty")).cast(POINTS).alias("total"),
        _percent("components", "max"),
    )


def tenant_totals(scores: pl.DataFrame, adjustments: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per tenant and year: components (sum achieved), max (sum of maxima), bonus, penalty,
    total = components + bonus − penalty, and percent = components / max × 100 (as `aggregate.totals`).

    Columns tenant, group, year, components, max, bonus, penalty, total, percent; sorted by tenant, year.
    Adjustments of a tenant-year without scores are ignored; several rows of one tenant-year add up."""
    return _totals(_scores(scores), adjustments, None).sort("tenant", "year").collect()


def province_rank(scores: pl.DataFrame, year: int, adjustments: pl.DataFrame | None = None) -> pl.DataFrame:
    """The year's ranking: per tenant its total, its rank within its group (highest total first; equal
    totals share the best rank: 1, 2, 2, 4) and `of`, the number of tenants ranked in that group.

    Columns tenant, group, total, rank (Int32), of (Int32); sorted by group, rank, tenant."""
    return (
        _totals(_scores(scores, year), adjustments, year)
        .select(
            "tenant",
            "group",
            "total",
            pl.col("total").rank(method="min", descending=True).over("group").cast(pl.Int32).alias("rank"),
            pl.len().over("group").cast(pl.Int32).alias("of"),
        )
        .sort("group", "rank", "tenant")
        .collect()
    )


def area_totals(scores: pl.DataFrame) -> pl.DataFrame:
    """Per tenant, year and area: achieved, max, lost (max − achieved) and percent (achieved / max × 100).

    Columns tenant, year, area, achieved, max, lost, percent; sorted by tenant, year, area."""
    return (
        _scores(scores)
        .group_by("tenant", "year", "area")
        .agg(_sum("achieved"), _sum("max"))
        .with_columns((pl.col("max") - pl.col("achieved")).cast(POINTS).alias("lost"), _percent("achieved", "max"))
        .sort("tenant", "year", "area")
        .collect()
    )


def _lost_by_tenant(scores: pl.LazyFrame) -> pl.LazyFrame:
    """One row per tenant × criterion scored: tenant, criterion, lost, max."""
    return (
        scores.group_by("tenant", "criterion")
        .agg(_sum("achieved"), _sum("max"))
        .select("tenant", "criterion", (pl.col("max") - pl.col("achieved")).cast(POINTS).alias("lost"), "max")
    )


def heatmap(scores: pl.DataFrame, year: int) -> pl.DataFrame:
    """The year's points lost, long form: one row per tenant × criterion scored, with lost (max − achieved),
    max and share = lost / max (Float64, null where max is 0).

    Columns tenant, criterion, lost, max, share; sorted by tenant, criterion."""
    return (
        _lost_by_tenant(_scores(scores, year))
        .with_columns(
            pl.when(pl.col("max") > 0)
            .then(pl.col("lost").cast(pl.Float64) / pl.col("max").cast(pl.Float64))
            .alias("share")
        )
        .sort("tenant", "criterion")
        .collect()
    )


def most_lost(scores: pl.DataFrame, year: int, limit: int | None = 10) -> pl.DataFrame:
    """The year's criteria where the most tenants lose points: per criterion the number of tenants losing
    (lost > 0), the points they lost together and lost_mean = lost_total / tenants scored on the criterion
    (Decimal, rounded half to even). A criterion nobody loses on is left out. At most `limit` rows (None:
    all), sorted by tenants_losing desc, lost_total desc, criterion.

    Columns criterion, tenants_losing (Int32), lost_total, lost_mean."""
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    ranked = (
        _lost_by_tenant(_scores(scores, year))
        .group_by("criterion")
        .agg(
            (pl.col("lost") > 0).sum().cast(pl.Int32).alias("tenants_losing"),
            _sum("lost", "lost_total"),
            pl.len().alias("tenants"),
        )
        .filter(pl.col("tenants_losing") > 0)
        .select(
            "criterion",
            "tenants_losing",
            "lost_total",
            (pl.col("lost_total") / pl.col("tenants")).cast(POINTS).alias("lost_mean"),
        )
        .sort(["tenants_losing", "lost_total", "criterion"], descending=[True, True, False])
    )
    return (ranked if limit is None else ranked.head(limit)).collect()
