"""The assessment's charts, from a scored sheet or the published history (drawing is in backend.web.charts)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from backend.db.models import AppraisedResult
from backend.domain.assessments.sheet import Sheet
from backend.web.charts import AreaBar, YearPoint, area_bars, years_line


def area_chart(sheet: Sheet, year: int) -> str:
    bars = [AreaBar(a.code, a.node.title, a.score, a.node.max_points) for a in sheet.areas]
    return area_bars(bars, caption=f"Điểm tự đánh giá theo lĩnh vực năm {year} (đạt / tối đa)")


def history_chart(results: Sequence[AppraisedResult]) -> str:
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
    return years_line(points, caption="Chỉ số CCHC đã công bố qua các năm (tổng điểm và thứ hạng)")
