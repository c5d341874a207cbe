"""The assessment's charts, from a scored sheet or the published history (drawing is in backend.web.charts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from backend.db.models import AppraisedResult
from backend.domain.assessments.sheet import Sheet
from backend.web.charts import AreaBar, YearPoint, area_bars, years_line


def area_chart(sheet: Sheet, year: int) -> str:
    bars = [AreaBar(a.code, a.node.title, a.score, a.node.max_points) for a in sheet.areas]
    return area_bars(bars, caption=f"Điểm tự đánh giá theo lĩnh vực năm {year} (đạt / tối đa)")


def history_chart(results: Sequence[AppraisedResult], labels: Mapping[int, str] | None = None) -> str:
    """The published years; `labels` names the predecessor whose year it was (tenants/lineage.yaml)."""
    points = [
        YearPoint(
            r.year,
            r.total,
            sum((Decimal(a["max"]) for a in r.areas.values()), Decimal(0)),
            r.rank,
            r.rank_of,
        )
        for r in results
    ]
    caption = "; ".join(["Chỉ số CCHC đã công bố qua các năm (tổng điểm và thứ hạng)", *predecessor_notes(labels)])
    return years_line(points, caption=caption)


def predecessor_notes(labels: Mapping[int, str] | None) -> list[str]:
    """ "2019–2023: kết quả của <predecessor>" for each predecessor whose years a history shows."""
    by_name: dict[str, list[int]] = {}
    for year, name in sorted((labels or {}).items()):
        by_name.setdefault(name, []).append(year)
    return [f"{_years(years)}: kết quả của {name}" for name, years in by_name.items()]


def _years(years: list[int]) -> str:
    """2019, 2020, 2021 → "2019–2021"; 2019, 2021 → "2019, 2021"."""
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)
