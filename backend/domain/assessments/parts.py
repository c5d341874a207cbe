"""The parts of a self-assessment whose points the province's Sở Nội vụ enters (surveys, external indices): a
department's total waits on them, and every page showing the total says so (issue 17 item 10)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backend.domain.assessments.sheet import ZERO, Row, Sheet


@dataclass(frozen=True)
class ProvincePart:
    """A part of the self-assessment whose points the province's Sở Nội vụ enters (surveys, external indices)."""

    name: str
    score: Decimal | None
    max_points: Decimal


def province_parts(sheet: Sheet) -> list[ProvincePart]:
    """The outermost rows entered by the Sở Nội vụ, in sheet order: what the department's total waits on."""
    parts: list[ProvincePart] = []

    def walk(row: Row) -> None:
        if row.by_province and row.not_applicable is None:
            parts.append(ProvincePart(f"{row.code}. {row.node.title}", row.score, row.applicable_max))
            return
        for child in row.children:
            walk(child)

    for area in sheet.areas:
        if area.node.kind in {"criterion", "survey"}:
            walk(area)
    return parts


def province_points(parts: list[ProvincePart]) -> tuple[Decimal, Decimal]:
    """(entered so far, their maximum) of the province's parts."""
    return (
        sum((p.score or ZERO for p in parts), ZERO),
        sum((p.max_points for p in parts), ZERO),
    )
