"""The tenant dashboard's scores: this year's self-assessment by area, and the published years side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import AppraisedResult, Province
from backend.domain.assessments import services
from backend.domain.assessments.charts import area_chart, history_chart, predecessor_notes
from backend.domain.assessments.published import Publication, TenantResult, publication, tenant_result
from backend.domain.assessments.services import Loaded
from backend.domain.scoring.aggregate import History, Score, YearResult, year_over_year
from backend.domain.scoring.index import DEFAULT_PLACES, published_index


@dataclass(frozen=True)
class ComponentYears:
    """One component (area) across the published years, earlier components mapped into later ones."""

    key: str
    name: str
    cells: dict[int, tuple[Decimal, Decimal]]  # year → (achieved, max)
    delta: Decimal | None  # the latest year's change from the year before


@dataclass
class Dashboard:
    year: int | None = None
    loaded: Loaded | None = None
    result: TenantResult | None = None  # this year's index of the applicable maximum and class
    area_svg: str = ""
    results: list[AppraisedResult] = field(default_factory=list)
    history_svg: str = ""
    years: list[int] = field(default_factory=list)
    components: list[ComponentYears] = field(default_factory=list)
    indices: dict[int, Decimal | None] = field(default_factory=dict)  # published year → its index
    labels: dict[int, str] = field(default_factory=dict)  # a predecessor's year → its name (tenants/lineage.yaml)

    def label_notes(self) -> list[str]:
        """ "2019–2023: kết quả của <predecessor>", one per predecessor whose years are shown."""
        return predecessor_notes(self.labels)

    def label_spans(self) -> list[tuple[str, int]]:
        """The years' labels as runs over the table's year columns: ("", 1) for the tenant's own year."""
        spans: list[tuple[str, int]] = []
        for year in self.years:
            label = self.labels.get(year, "")
            if spans and spans[-1][0] == label:
                spans[-1] = (label, spans[-1][1] + 1)
            else:
                spans.append((label, 1))
        return spans


def history_of(results: list[AppraisedResult]) -> History:
    """The years as one history. An area is known by the first key its name had: a predecessor's years (keys of
    its history file) and the successor's own (keys of its criteria set) line up on the same rows."""
    names: dict[str, str] = {}
    by_name: dict[str, str] = {}
    years = []
    for result in results:
        scores = {}
        merged = {}
        canonical = {
            key: by_name.setdefault(" ".join(str(area.get("name", key)).casefold().split()), key)
            for key, area in result.areas.items()
        }
        for key, area in result.areas.items():
            names.setdefault(canonical[key], str(area.get("name", key)))
            scores[canonical[key]] = Score(Decimal(area["achieved"]), Decimal(area["max"]))
            if area.get("merged_into"):
                merged[canonical[key]] = canonical.get(str(area["merged_into"]), str(area["merged_into"]))
        years.append(YearResult(result.year, scores, result.bonus, result.penalty, result.total, merged_into=merged))
    return History(tenant="", components=names, years=years)


def components_by_year(results: list[AppraisedResult]) -> list[ComponentYears]:
    if not results:
        return []
    history = history_of(results)
    frame = year_over_year(history)
    latest = max(r.year for r in results)
    rows: dict[str, ComponentYears] = {}
    for record in frame.iter_rows(named=True):
        key = str(record["component"])
        row = rows.setdefault(key, ComponentYears(key, history.components.get(key, key), {}, None))
        row.cells[int(record["year"])] = (record["achieved"], record["max"])
        if int(record["year"]) == latest:
            rows[key] = ComponentYears(key, row.name, row.cells, record["delta"])
    order = list(history.components)
    return sorted(rows.values(), key=lambda r: order.index(r.key) if r.key in order else len(order))


def published_index_of(result: AppraisedResult, places: int = DEFAULT_PLACES) -> Decimal | None:
    """A published year's index: its total out of the maxima of its areas (what applied that year)."""
    maximum = sum((Decimal(str(area["max"])) for area in result.areas.values()), Decimal(0))
    return published_index(result.total, maximum, places)


async def dashboard(
    db: AsyncSession,
    province: Province,
    cycle_year: int,
    *,
    history: tuple[list[AppraisedResult], dict[int, str]] | None = None,
    criteria_years: list[int] | None = None,
    rules: Publication | None = None,
) -> Dashboard:
    """The self-assessment of the year being assessed (`cycle_year`), or, while the province has no set for it
    yet, of the latest year before it that has one (the page says which); and the published years: `history`
    (with a predecessor's years labelled, tenants/lineage.yaml), else the tenant's own. `criteria_years`: the
    province's years with a criteria set, and `rules`: the result classes of the latest of them up to `cycle_year`,
    when the caller read them already."""
    board = Dashboard()
    if criteria_years is None:
        criteria_years = await services.criteria_years(db, province)
    years = [y for y in criteria_years if y <= cycle_year]
    if years:
        board.year = years[-1]
        board.loaded = await services.load(db, province, board.year)
        if board.loaded is not None:
            board.area_svg = area_chart(board.loaded.sheet, board.year)
            board.loaded.rules = rules if rules is not None else await publication(db, province, board.year)
            board.result = tenant_result(board.loaded.sheet, board.year, board.loaded.rules)
    board.results, board.labels = history if history is not None else (await services.history(db), {})
    if board.results:
        board.history_svg = history_chart(board.results, board.labels)
        board.years = [r.year for r in board.results]
        board.components = components_by_year(board.results)
        places = int((province.settings or {}).get("index_places", DEFAULT_PLACES))
        board.indices = {r.year: published_index_of(r, places) for r in board.results}
    return board
