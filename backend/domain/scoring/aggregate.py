"""Score aggregation with polars: rows in, frames out, no database inside (unit-tested on golden data).

Points are polars Decimal(12, 3) throughout: sums are exact, never binary floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from backend.domain.scoring.methods import parse_decimal

POINTS = pl.Decimal(12, 3)


@dataclass(frozen=True)
class Score:
    achieved: Decimal
    max_points: Decimal


def parse_score(text: str) -> Score:
    """ "9,729/11,5" → Score(9.729, 11.5)."""
    achieved, _, max_points = str(text).partition("/")
    return Score(parse_decimal(achieved), parse_decimal(max_points))


@dataclass(frozen=True)
class YearResult:
    year: int
    scores: dict[str, Score]
    bonus: Decimal
    penalty: Decimal
    published_total: Decimal | None = None
    rank: str = ""
    merged_into: dict[str, str] = field(default_factory=dict)
    parts: dict[str, dict[str, list[Score]]] = field(default_factory=dict)


@dataclass(frozen=True)
class History:
    tenant: str
    components: dict[str, str]  # key → name
    years: list[YearResult]


def load_history(path: Path) -> History:
    raw: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    years = [
        YearResult(
            year=int(year),
            scores={key: parse_score(value) for key, value in data["scores"].items()},
            bonus=parse_decimal(str(data.get("bonus", "0"))),
            penalty=parse_decimal(str(data.get("penalty", "0"))),
            published_total=parse_decimal(str(data["total"])) if "total" in data else None,
            rank=str(data.get("rank", "")),
            merged_into=dict(data.get("merged_into", {})),
            parts={
                component: {name: [parse_score(s) for s in scores] for name, scores in groups.items()}
                for component, groups in data.get("parts", {}).items()
            },
        )
        for year, data in sorted(raw["years"].items())
    ]
    return History(tenant=raw["tenant"], components={c["key"]: c["name"] for c in raw["components"]}, years=years)


def history_frame(history: History) -> pl.DataFrame:
    """One row per (year, component) with achieved and max points."""
    rows = [
        {"year": y.year, "component": key, "achieved": s.achieved, "max": s.max_points}
        for y in history.years
        for key, s in y.scores.items()
    ]
    return pl.DataFrame(rows, schema={"year": pl.Int32, "component": pl.String, "achieved": POINTS, "max": POINTS})


def adjustments_frame(history: History) -> pl.DataFrame:
    rows = [{"year": y.year, "bonus": y.bonus, "penalty": y.penalty} for y in history.years]
    return pl.DataFrame(rows, schema={"year": pl.Int32, "bonus": POINTS, "penalty": POINTS})


def totals(scores: pl.DataFrame, adjustments: pl.DataFrame) -> pl.DataFrame:
    """Per year: sum of components, sum of maxima, total = components + bonus − penalty, % of max."""
    return (
        scores.group_by("year")
        .agg(pl.col("achieved").sum().alias("components"), pl.col("max").sum().alias("max"))
        .join(adjustments, on="year", how="left")
        .with_columns(
            (pl.col("components") + pl.col("bonus") - pl.col("penalty")).cast(POINTS).alias("total"),
        )
        .with_columns((pl.col("components").cast(pl.Float64) / pl.col("max").cast(pl.Float64) * 100).alias("percent"))
        .sort("year")
    )


def points_lost(scores: pl.DataFrame) -> pl.DataFrame:
    """Per year and component: points lost (max − achieved) and % of max, most lost first."""
    return scores.with_columns(
        (pl.col("max") - pl.col("achieved")).cast(POINTS).alias("lost"),
        (pl.col("achieved").cast(pl.Float64) / pl.col("max").cast(pl.Float64) * 100).alias("percent"),
    ).sort(["year", "lost"], descending=[False, True])


def year_over_year(history: History) -> pl.DataFrame:
    """Per component and year, achieved and the change from the previous year, with earlier years'
    components mapped into the ones they were merged into, so the years line up."""
    mapping: dict[str, str] = {}
    for year in history.years:
        mapping.update(year.merged_into)
    mapped = history_frame(history).with_columns(pl.col("component").replace(mapping).alias("component"))
    return (
        mapped.group_by(["component", "year"])
        .agg(pl.col("achieved").sum(), pl.col("max").sum())
        .sort(["component", "year"])
        .with_columns((pl.col("achieved") - pl.col("achieved").shift(1).over("component")).cast(POINTS).alias("delta"))
    )


def rank(totals_by_tenant: pl.DataFrame) -> pl.DataFrame:
    """Rank tenants of one ranking group by total, highest first; ties share a rank (1, 2, 2, 4)."""
    return totals_by_tenant.with_columns(
        pl.col("total").rank(method="min", descending=True).cast(pl.Int32).alias("rank")
    ).sort(["rank", "tenant"])
