"""A province's scores across tenants (backend.domain.scoring.province) on small hand-computed frames."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from backend.domain.scoring.province import (
    ADJUSTMENT_SCHEMA,
    POINTS,
    SCORE_SCHEMA,
    area_totals,
    heatmap,
    most_lost,
    province_rank,
    tenant_totals,
)

D = Decimal

# (achieved, max) per criterion: 1.1 and 1.2 in area 1, 2.1 and 2.2 in area 2; nobody loses on 2.2.
SCORES_2023 = {
    ("A", "department"): {"1.1": ("1.500", "1.500"), "1.2": ("0.750", "1"), "2.1": ("2", "2")},  # 4.750
    ("B", "department"): {"1.1": ("1.420", "1.500"), "1.2": ("1", "1"), "2.1": ("1.500", "2")},  # 4.420
    ("C", "department"): {"1.1": ("1.500", "1.500"), "1.2": ("0.920", "1"), "2.1": ("1.500", "2")},  # 4.420
    ("D", "department"): {"1.1": ("1", "1.500"), "1.2": ("1", "1"), "2.1": ("1", "2")},  # 3.500
    ("E", "commune"): {"1.1": ("0.500", "1.500"), "1.2": ("1", "1"), "2.1": ("2", "2")},  # 4.000
    ("F", "commune"): {"1.1": ("1.500", "1.500"), "1.2": ("1", "1"), "2.1": ("1.999", "2")},  # 4.999
}
A_2022 = {"1.1": ("1", "1.500"), "1.2": ("1", "1"), "2.1": ("2", "2")}  # 4.500 with 2.2


Row = tuple[str, str, int, str, str, str, str]  # tenant, group, year, area, criterion, achieved, max


def frame(rows: list[Row]) -> pl.DataFrame:
    return pl.DataFrame(
        [(t, g, y, a, c, D(achieved), D(maximum)) for t, g, y, a, c, achieved, maximum in rows],
        schema=SCORE_SCHEMA,
        orient="row",
    )


def rows_of(year: int, tenant: str, group: str, scores: dict[str, tuple[str, str]]) -> list[Row]:
    scores = {**scores, "2.2": ("0.500", "0.500")}
    return [(tenant, group, year, code.split(".")[0], code, a, m) for code, (a, m) in scores.items()]


def province() -> pl.DataFrame:
    rows = [row for (tenant, group), scores in SCORES_2023.items() for row in rows_of(2023, tenant, group, scores)]
    return frame(rows + rows_of(2022, "A", "department", A_2022))


def adjustments(rows: list[tuple[str, int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(t, y, D(bonus), D(penalty)) for t, y, bonus, penalty in rows], schema=ADJUSTMENT_SCHEMA, orient="row"
    )


def test_tenant_totals_sum_components_and_maxima_exactly() -> None:
    totals = tenant_totals(province())
    assert totals.schema["total"] == POINTS
    assert totals.select("tenant", "year", "components", "max", "total").rows()[:3] == [
        ("A", 2022, D("4.500"), D("5.000"), D("4.500")),
        ("A", 2023, D("4.750"), D("5.000"), D("4.750")),
        ("B", 2023, D("4.420"), D("5.000"), D("4.420")),
    ]
    assert totals.row(1, named=True)["percent"] == pytest.approx(95.0)
    assert totals.height == 7


def test_points_add_up_as_decimals_not_floats() -> None:
    rows: list[Row] = [("A", "department", 2023, "1", f"1.{i}", "0.100", "0.100") for i in range(3)]
    rows.append(("A", "department", 2023, "1", "1.9", "0.200", "0.200"))
    assert tenant_totals(frame(rows))["components"].to_list() == [D("0.500")]


def test_bonus_and_penalty_count_in_the_total_of_their_year_only() -> None:
    adjusted = adjustments([("B", 2023, "1", "0.500"), ("A", 2022, "2", "0"), ("A", 2022, "0.250", "0.125")])
    totals = {(r["tenant"], r["year"]): r for r in tenant_totals(province(), adjusted).iter_rows(named=True)}
    assert (totals["B", 2023]["bonus"], totals["B", 2023]["penalty"], totals["B", 2023]["total"]) == (
        D("1.000"),
        D("0.500"),
        D("4.920"),
    )
    assert totals["B", 2023]["components"] == D("4.420")
    assert totals["A", 2022]["total"] == D("6.625")  # 4.500 + 2 + 0.250 − 0.125: rows of one year add up
    assert (totals["A", 2023]["bonus"], totals["A", 2023]["penalty"], totals["A", 2023]["total"]) == (
        D("0"),
        D("0"),
        D("4.750"),
    )


def test_ties_share_the_best_rank_and_groups_rank_separately() -> None:
    ranking = province_rank(province(), 2023)
    assert ranking.columns == ["tenant", "group", "total", "rank", "of"]
    assert ranking.rows() == [
        ("F", "commune", D("4.999"), 1, 2),
        ("E", "commune", D("4.000"), 2, 2),
        ("A", "department", D("4.750"), 1, 4),
        ("B", "department", D("4.420"), 2, 4),
        ("C", "department", D("4.420"), 2, 4),
        ("D", "department", D("3.500"), 4, 4),
    ]


def test_rank_counts_bonus_and_penalty_of_the_ranked_year() -> None:
    adjusted = adjustments([("C", 2023, "0.330", "0"), ("B", 2022, "5", "0"), ("F", 2023, "0", "1")])
    ranking = province_rank(province(), 2023, adjusted)
    assert ranking.select("tenant", "total", "rank").rows() == [
        ("E", D("4.000"), 1),
        ("F", D("3.999"), 2),
        ("A", D("4.750"), 1),
        ("C", D("4.750"), 1),
        ("B", D("4.420"), 3),
        ("D", D("3.500"), 4),
    ]


def test_area_totals_per_tenant_year_and_area() -> None:
    areas = area_totals(province())
    assert areas.columns == ["tenant", "year", "area", "achieved", "max", "lost", "percent"]
    assert areas.filter(pl.col("tenant") == "A").drop("percent").rows() == [
        ("A", 2022, "1", D("2.000"), D("2.500"), D("0.500")),
        ("A", 2022, "2", D("2.500"), D("2.500"), D("0.000")),
        ("A", 2023, "1", D("2.250"), D("2.500"), D("0.250")),
        ("A", 2023, "2", D("2.500"), D("2.500"), D("0.000")),
    ]
    assert areas.filter(pl.col("tenant") == "A")["percent"].to_list() == pytest.approx([80.0, 100.0, 90.0, 100.0])
    assert areas.height == 6 * 2 + 2


def test_heatmap_has_one_row_per_tenant_and_criterion_of_the_year() -> None:
    cells = heatmap(province(), 2023)
    assert cells.columns == ["tenant", "criterion", "lost", "max", "share"]
    assert cells.schema["lost"] == POINTS
    assert cells.schema["share"] == pl.Float64
    assert cells.height == 6 * 4
    by_cell = {(r["tenant"], r["criterion"]): r for r in cells.iter_rows(named=True)}
    assert (by_cell["B", "1.1"]["lost"], by_cell["B", "1.1"]["max"]) == (D("0.080"), D("1.500"))
    assert by_cell["B", "1.1"]["share"] == pytest.approx(0.08 / 1.5)
    assert (by_cell["F", "2.1"]["lost"], by_cell["F", "2.1"]["share"]) == (D("0.001"), pytest.approx(0.0005))
    assert by_cell["A", "1.1"]["lost"] == D("0")  # 2023, not 2022's 0.500
    assert by_cell["A", "2.2"]["share"] == 0.0
    assert cells.select("tenant", "criterion").rows() == sorted(by_cell)


def test_heatmap_adds_up_repeated_rows_and_has_no_share_without_a_maximum() -> None:
    rows: list[Row] = [
        ("A", "department", 2023, "1", "1.1", "0.250", "0.500"),
        ("A", "department", 2023, "1", "1.1", "0.500", "0.500"),
        ("A", "department", 2023, "1", "1.3", "0", "0"),
    ]
    assert heatmap(frame(rows), 2023).rows() == [
        ("A", "1.1", D("0.250"), D("1.000"), 0.25),
        ("A", "1.3", D(0), D(0), None),
    ]


def test_most_lost_counts_tenants_losing_and_leaves_out_a_criterion_nobody_loses_on() -> None:
    ranked = most_lost(province(), 2023)
    assert ranked.columns == ["criterion", "tenants_losing", "lost_total", "lost_mean"]
    assert ranked.schema["lost_mean"] == POINTS
    assert ranked.rows() == [
        ("2.1", 4, D("2.001"), D("0.334")),  # B 0.5, C 0.5, D 1, F 0.001; mean over the 6 tenants scored
        ("1.1", 3, D("1.580"), D("0.263")),  # B 0.08, D 0.5, E 1
        ("1.2", 2, D("0.330"), D("0.055")),  # A 0.25, C 0.08
    ]
    assert most_lost(province(), 2023, limit=2)["criterion"].to_list() == ["2.1", "1.1"]
    assert most_lost(province(), 2022)["criterion"].to_list() == ["1.1"]


def test_most_lost_breaks_ties_by_points_then_code_and_rounds_the_mean_half_to_even() -> None:
    rows: list[Row] = [
        ("A", "department", 2023, "1", "1.1", "0.995", "1"),  # 1.1 and 1.2 tie on everything: by code
        ("B", "department", 2023, "1", "1.1", "1", "1"),
        ("A", "department", 2023, "1", "1.2", "0.995", "1"),
        ("B", "department", 2023, "1", "1.2", "1", "1"),
        ("A", "department", 2023, "1", "1.10", "0.500", "1"),  # one loser, more points
        ("B", "department", 2023, "1", "1.10", "1", "1"),
    ]
    assert most_lost(frame(rows), 2023).rows() == [
        ("1.10", 1, D("0.500"), D("0.250")),
        ("1.1", 1, D("0.005"), D("0.002")),  # 0.0025 → 0.002, not 0.003
        ("1.2", 1, D("0.005"), D("0.002")),
    ]


def test_an_empty_frame_gives_empty_frames_with_their_columns() -> None:
    empty = pl.DataFrame(schema=SCORE_SCHEMA)
    no_adjustments = pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    results = {
        "tenant_totals": tenant_totals(empty, no_adjustments),
        "province_rank": province_rank(empty, 2023, no_adjustments),
        "area_totals": area_totals(empty),
        "heatmap": heatmap(empty, 2023),
        "most_lost": most_lost(empty, 2023),
    }
    assert {name: result.height for name, result in results.items()} == dict.fromkeys(results, 0)
    assert results["tenant_totals"].schema["total"] == POINTS
    assert results["province_rank"].columns == ["tenant", "group", "total", "rank", "of"]
    assert results["most_lost"].columns == ["criterion", "tenants_losing", "lost_total", "lost_mean"]
    assert province_rank(province(), 2030).height == 0


def test_float_points_and_missing_columns_are_refused() -> None:
    floats = province().with_columns(pl.col("achieved").cast(pl.Float64))
    with pytest.raises(TypeError, match="'achieved' must be Decimal"):
        tenant_totals(floats)
    with pytest.raises(ValueError, match="lacks column"):
        heatmap(province().drop("group"), 2023)
    with pytest.raises(ValueError, match="limit"):
        most_lost(province(), 2023, limit=-1)
