"""A tenant's year as the province publishes it: the applicable maximum, the index, the class, each area's index.

The sheet (what was entered, scored exactly) becomes a score frame of its leaf rows, and the scoring core
(`backend.domain.scoring.index`) does the rest: the same numbers for the department's own pages and for the
province's ranking.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Province
from backend.db.models import ResultClass as ResultClassRow
from backend.domain.assessments.sheet import Sheet
from backend.domain.scoring.index import DEFAULT_PLACES, ResultClass, area_indices, published_results
from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, SCORE_SCHEMA

FRAME_SCHEMA: dict[str, pl.DataType] = {**SCORE_SCHEMA, "applicable": pl.Boolean()}
COUNTED = {"criterion", "survey"}


@dataclass(frozen=True)
class Publication:
    """How the province publishes a year: its classes (best first) and the index's decimal places."""

    classes: tuple[ResultClass, ...] = ()
    places: int = DEFAULT_PLACES

    def label(self, code: str | None) -> str:
        return next((c.label for c in self.classes if c.code == code), "")


@dataclass(frozen=True)
class AreaIndex:
    code: str
    title: str
    achieved: Decimal
    max_points: Decimal  # what applies of the area
    index: Decimal | None


@dataclass(frozen=True)
class TenantResult:
    applicable_max: Decimal
    total: Decimal
    index: Decimal | None
    result_class: str  # the class's label; "" when no class is reached (or the province declares none)
    areas: list[AreaIndex] = field(default_factory=list)
    not_applicable: dict[str, str] = field(default_factory=dict)  # area or criterion code → reason


async def publication(db: AsyncSession, province: Province, year: int) -> Publication:
    rows = await db.scalars(
        select(ResultClassRow)
        .where(ResultClassRow.province_id == province.id, ResultClassRow.year == year)
        .order_by(ResultClassRow.position)
    )
    classes = tuple(ResultClass(r.code, r.label, r.min_index, r.area_floor) for r in rows)
    return Publication(classes, int((province.settings or {}).get("index_places", DEFAULT_PLACES)))


def publication_of(rows: list[dict[str, Any]], province: Province) -> Publication:
    """`publication` from the classes a page read in a statement of its own, as JSON in position order: code,
    label, and min_index and area_floor as text (exact decimals, never floats)."""
    classes = tuple(
        ResultClass(
            r["code"],
            r["label"],
            Decimal(r["min_index"]),
            Decimal(r["area_floor"]) if r["area_floor"] is not None else None,
        )
        for r in rows
    )
    return Publication(classes, int((province.settings or {}).get("index_places", DEFAULT_PLACES)))


def score_rows(sheet: Sheet, tenant: str, group: str, year: int) -> list[dict[str, object]]:
    """The sheet's leaf rows of the criteria and survey areas as score-frame rows (a remainder as "<code>*").

    A row not scored yet has no achieved points but counts in the maximum; one that does not apply is marked."""
    rows: list[dict[str, object]] = []
    for area in sheet.areas:
        if area.node.kind not in COUNTED:
            continue
        for row in area.walk():
            if row.children:
                continue
            rows.append(
                {
                    "tenant": tenant,
                    "group": group,
                    "year": year,
                    "area": area.code,
                    "criterion": f"{row.code}*" if row.remainder else row.code,
                    "achieved": row.score,
                    "max": row.max_points,
                    "applicable": row.not_applicable is None,
                }
            )
    return rows


def score_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FRAME_SCHEMA)


# The polars part of `tenant_result`, by what it reads: a sheet changes far less often than it is shown (every
# tenant home shows it), and polars' fixed cost per query (3-7 ms for two small frames) was the home's largest.
_NumbersKey = tuple[object, ...]
_NUMBERS: OrderedDict[_NumbersKey, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = OrderedDict()
NUMBERS_CACHED = 512  # sheets


def _published_numbers(
    rows: list[dict[str, object]], year: int, bonus: Decimal, penalty: Decimal, rules: Publication
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The tenant's published result row (none or one) and its areas' indices, as polars computes them."""
    key: _NumbersKey = (year, bonus, penalty, rules, tuple(tuple(row.values()) for row in rows))
    if (cached := _NUMBERS.get(key)) is not None:
        _NUMBERS.move_to_end(key)
        return cached
    frame = score_frame(rows)
    adjust = pl.DataFrame([("-", year, bonus, penalty)], schema=ADJUSTMENT_SCHEMA, orient="row")
    results = published_results(frame, year, adjust, classes=rules.classes, places=rules.places)
    numbers = (list(results.iter_rows(named=True)), list(area_indices(frame, year, rules.places).iter_rows(named=True)))
    _NUMBERS[key] = numbers
    while len(_NUMBERS) > NUMBERS_CACHED:
        _NUMBERS.popitem(last=False)
    return numbers


def tenant_result(sheet: Sheet, year: int, rules: Publication) -> TenantResult:
    """The tenant's published numbers for the year, from its sheet."""
    results, indices = _published_numbers(score_rows(sheet, "-", "-", year), year, sheet.bonus, sheet.penalty, rules)
    titles = {a.code: a.node.title for a in sheet.areas}
    areas = [
        AreaIndex(r["area"], titles.get(r["area"], r["area"]), r["achieved"], r["max"], r["index"]) for r in indices
    ]
    skipped = {
        row.code: row.not_applicable
        for row in sheet.rows()
        if row.not_applicable is not None and not row.remainder and _topmost(sheet, row.code)
    }
    if not results:
        return TenantResult(Decimal(0), sheet.total, None, "", areas, skipped)
    (result,) = results
    return TenantResult(
        result["max"], result["total"], result["index"], rules.label(result["result_class"]), areas, skipped
    )


def _topmost(sheet: Sheet, code: str) -> bool:
    """Whether the row `code` does not apply by itself, not only because a row above it does not."""
    for row in sheet.rows():
        if any(child.code == code and not child.remainder for child in row.children if child is not row):
            return row.not_applicable is None
    return True
