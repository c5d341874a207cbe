"""Survey answers (phiếu khảo sát) into survey points, with polars: rows in, results out, no database inside.

Each answer is one questionnaire's choice (A–E) on one item (a survey criterion of the set) for one unit assessed
(a tenant). An answer is worth a declared share of the item's points (commonly A 100 %, B 60 %, C 20 %, D 0 %);
an answer without a share (E, "không đánh giá") is left out. A unit's item scores

    points = item maximum × (sum of the shares of its answers ÷ number of those answers) ÷ 100

rounded once, half-up, to 3 places. With fewer answers than the declared minimum the item does not apply to
the unit (its points leave the unit's maximum): its points are None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from backend.domain.scoring.methods import quantize

SHARE = pl.Decimal(12, 3)
DEFAULT_SHARES: dict[str, Decimal] = {"A": Decimal(100), "B": Decimal(60), "C": Decimal(20), "D": Decimal(0)}
ANSWERS = ("A", "B", "C", "D", "E")
DEFAULT_MIN_ANSWERS = 10


@dataclass(frozen=True)
class SurveyRules:
    """The province's declared answer shares (percent of the item's points) and minimum answers per unit."""

    shares: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_SHARES))
    min_answers: int = DEFAULT_MIN_ANSWERS


@dataclass(frozen=True)
class ItemScore:
    tenant: str
    item: str
    answers: int  # answers that count (with a share)
    points: Decimal | None  # None: too few answers, the item does not apply to the unit


ANSWER_SCHEMA: dict[str, pl.DataType] = {"tenant": pl.String(), "item": pl.String(), "answer": pl.String()}


def aggregate_answers(
    answers: pl.DataFrame, maxima: Mapping[str, Decimal], rules: SurveyRules, tenants: list[str]
) -> list[ItemScore]:
    """Every (tenant, item) of `tenants` × `maxima`: its counted answers and points (None below the minimum).

    `answers` has columns tenant, item, answer (already checked: known tenants, items and answers)."""
    shares = pl.DataFrame(
        {"answer": list(rules.shares), "share": list(rules.shares.values())},
        schema={"answer": pl.String(), "share": SHARE},
    )
    counted = (
        answers.lazy()
        .select(*(pl.col(name).cast(dtype) for name, dtype in ANSWER_SCHEMA.items()))
        .join(shares.lazy(), on="answer", how="inner")  # an answer without a share (E) is left out
        .group_by("tenant", "item")
        .agg(pl.len().alias("answers"), pl.col("share").sum().cast(pl.Decimal(18, 3)).alias("shares"))
        .collect()
    )
    found = {(r["tenant"], r["item"]): (int(r["answers"]), r["shares"]) for r in counted.iter_rows(named=True)}
    results = []
    for tenant in tenants:
        for item, maximum in maxima.items():
            count, total = found.get((tenant, item), (0, Decimal(0)))
            points = quantize(maximum * total / (count * 100)) if count >= max(rules.min_answers, 1) else None
            results.append(ItemScore(tenant, item, count, points))
    return results
