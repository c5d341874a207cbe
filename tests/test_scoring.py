"""Scoring rules with the seeds' own examples, and seed 004's history reproduced exactly with polars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from backend.domain.scoring.aggregate import (
    POINTS,
    Score,
    adjustments_frame,
    history_frame,
    load_history,
    points_lost,
    rank,
    totals,
    year_over_year,
)
from backend.domain.scoring.methods import (
    Band,
    Bands,
    Deadline,
    IndexFormula,
    Manual,
    Ratio,
    ScoringError,
    parse_decimal,
    quantize,
)
from backend.settings import PROJECT_ROOT

D = Decimal
HISTORY = PROJECT_ROOT / "tenants" / "ba-ria-vung-tau" / "history" / "so-tai-nguyen-moi-truong.yaml"
GOLDEN_TOTALS = {2019: D("81.659"), 2020: D("85.625"), 2021: D("84.955"), 2022: D("85.675"), 2023: D("87.225")}


def test_ratio_criterion_1_2_of_seed_001_gives_1_42() -> None:
    assert Ratio(D("1.5"), places=2).score(D("94.76"), D("100")) == D("1.42")
    assert Ratio(D("1.5")).score(D("94.76"), D("100")) == D("1.421")


def test_a_tie_rounds_half_up_as_published_never_half_even() -> None:
    # 1,5 × 83/100 = 1,245 exactly: 1,25 half-up (1,24 half-even); at 3 places 1,5 × 82,3 % = 1,2345 → 1,235
    assert Ratio(D("1.5"), places=2).score(D("83"), D("100")) == D("1.25")
    assert Ratio(D("1.5")).score(D("82.3"), D("100")) == D("1.235")
    assert IndexFormula(D("10"), D("0.1")).score(D("93.765")) == D("9.377")  # 9,3765
    assert quantize(D("0.0005")) == D("0.001")
    assert quantize(D("2.2225")) == D("2.223")


def test_ratio_is_capped_at_max_and_refuses_a_zero_target() -> None:
    assert Ratio(D("1.5")).score(D("120"), D("100")) == D("1.500")
    with pytest.raises(ScoringError, match="Chỉ tiêu phải lớn hơn 0"):
        Ratio(D("1.5")).score(D("1"), D("0"))
    with pytest.raises(ScoringError, match="không được âm"):
        Ratio(D("1.5")).score(D("-1"), D("100"))


def test_direction_software_46_percent_below_50_scores_zero() -> None:
    rule = Bands(D("1.5"), (Band(D("50"), D("1.5")),))
    assert rule.score(D("46")) == D("0.000")
    assert rule.score(D("50")) == D("1.500")


def test_seed_001_criterion_2_5_bands() -> None:
    rule = Bands(D("1"), (Band(D("100"), D("1")), Band(D("80"), D("0.5"))))
    assert [rule.score(D(v)) for v in ("100", "99.9", "80", "79.99")] == [D("1.000"), D("0.500"), D("0.500"), D("0")]


def test_dti_formula_93_76_gives_9_376() -> None:
    assert IndexFormula(D("10"), D("10") / D("100")).score(D("93.76")) == D("9.376")
    assert IndexFormula(D("10"), D("0.1")).score(D("120")) == D("10.000")


def test_plan_signed_more_than_15_days_after_the_appraisal_loses_half() -> None:
    rule = Deadline(D("1"), days=15, late_points=D("0.5"))
    assert rule.score(date(2020, 12, 14), date(2020, 12, 29)) == D("1.000")
    assert rule.score(date(2020, 12, 14), date(2020, 12, 30)) == D("0.500")
    assert rule.score(date(2020, 12, 14), None) == D("0.500")


def test_working_day_deadline_skips_weekends_and_holidays() -> None:
    rule = Deadline(D("1"), days=5, working_days=True, holidays=frozenset({date(2024, 9, 2)}))
    # Friday 30/08/2024 + 5 working days, skipping the weekend and 02/09 (Quốc khánh): 03, 04, 05, 06, 09/09.
    assert rule.due(date(2024, 8, 30)) == date(2024, 9, 9)


def test_manual_points_within_max() -> None:
    assert Manual(D("3")).score(D("2.229")) == D("2.229")
    with pytest.raises(ScoringError, match="Điểm phải nằm trong khoảng 0–3"):
        Manual(D("3")).score(D("3.5"))
    with pytest.raises(ScoringError, match=r"Điểm phải nằm trong khoảng 0–12,5\.$"):  # a decimal comma, not 12.5
        Manual(D("12.500")).score(D("13"))


@pytest.mark.parametrize(
    ("raw", "value"), [("75,25", "75.25"), ("75.25", "75.25"), ("1.234,5", "1234.5"), (" 8 ", "8")]
)
def test_decimal_comma_and_point_are_both_accepted(raw: str, value: str) -> None:
    assert parse_decimal(raw) == D(value)


@pytest.mark.parametrize("raw", ["", "abc", "1,2,3", "NaN", "Infinity", "1e"])
def test_non_numbers_are_refused_in_vietnamese(raw: str) -> None:
    with pytest.raises(ScoringError):
        parse_decimal(raw)


def test_seed_004_history_reproduces_every_published_total_exactly() -> None:
    history = load_history(HISTORY)
    result = totals(history_frame(history), adjustments_frame(history))
    assert result.schema["total"] == POINTS
    assert dict(zip(result["year"].to_list(), result["total"].to_list(), strict=True)) == GOLDEN_TOTALS
    assert {y.year: y.published_total for y in history.years} == GOLDEN_TOTALS


def test_every_year_maxima_sum_to_100() -> None:
    history = load_history(HISTORY)
    result = totals(history_frame(history), adjustments_frame(history))
    assert set(result["max"].to_list()) == {D("100")}


def test_2023_survey_splits_into_sipas_13_245_and_leaders_17_375() -> None:
    history = load_history(HISTORY)
    survey = next(y for y in history.years if y.year == 2023).parts["dieu-tra-xa-hoi-hoc"]
    sipas = sum((s.achieved for s in survey["sipas"]), D(0))
    leaders = sum((s.achieved for s in survey["lanh-dao"]), D(0))
    assert (sipas, sum((s.max_points for s in survey["sipas"]), D(0))) == (D("13.245"), D("17"))
    assert leaders == D("17.375")
    assert sipas + leaders == next(y for y in history.years if y.year == 2023).scores["dieu-tra-xa-hoi-hoc"].achieved


def test_one_stop_area_maps_into_administrative_procedures_across_years() -> None:
    yoy = year_over_year(load_history(HISTORY))
    procedures = yoy.filter(pl.col("component") == "thu-tuc-hanh-chinh").sort("year")
    # 2022: 5 (procedures) + 6,395 (one-stop) = 11,395; 2023: 9,729 → −1,666.
    assert procedures["achieved"].to_list() == [D("13.389"), D("12.368"), D("13.986"), D("11.395"), D("9.729")]
    assert procedures["delta"].to_list()[-1] == D("-1.666")
    assert "mot-cua" not in yoy["component"].to_list()


def test_points_lost_lists_the_survey_first_in_2019() -> None:
    lost = points_lost(history_frame(load_history(HISTORY))).filter(pl.col("year") == 2019)
    assert lost["component"][0] == "dieu-tra-xa-hoi-hoc"
    assert lost["lost"][0] == D("11.581")


def test_ties_share_a_rank() -> None:
    frame = pl.DataFrame(
        {"tenant": ["a", "b", "c", "d"], "total": [D("87.225"), D("85.675"), D("87.225"), D("81.659")]},
        schema={"tenant": pl.String, "total": POINTS},
    )
    assert dict(zip(*rank(frame).select("tenant", "rank").to_dict(as_series=False).values(), strict=True)) == {
        "a": 1,
        "c": 1,
        "b": 3,
        "d": 4,
    }


def test_history_file_ships_with_the_demo_configuration() -> None:
    assert Path(HISTORY).is_file()


# -- the rules' edges and exact messages (mutation testing, docs/mutation.md) --------------------------------


def test_each_rule_accepts_its_edges() -> None:
    assert Manual(D("3")).score(D("0")) == D("0.000")
    assert Manual(D("3")).score(D("3")) == D("3.000")
    assert Ratio(D("1.5")).score(D("0"), D("100")) == D("0.000")
    assert Ratio(D("1.5")).score(D("0.5"), D("100")) == D("0.008")  # 0,0075 half-up
    assert Ratio(D("1.5")).score(D("0.4"), D("0.5")) == D("1.200")  # a target below 1 (a rate)
    assert IndexFormula(D("10"), D("0.1")).score(D("0")) == D("0.000")
    assert IndexFormula(D("10"), D("0.1")).score(D("0.5")) == D("0.050")
    same_day = Deadline(D("1"), days=15, late_points=D("0.5"))
    assert same_day.score(date(2020, 12, 14), date(2020, 12, 14)) == D("1.000")


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (lambda: Manual(D("3")).score(D("-0.001")), "Điểm phải nằm trong khoảng 0–3."),
        (lambda: Manual(D("3")).score(D("3.001")), "Điểm phải nằm trong khoảng 0–3."),
        (lambda: Ratio(D("1.5")).score(D("1"), D("0")), "Chỉ tiêu phải lớn hơn 0."),
        (lambda: Ratio(D("1.5")).score(D("1"), D("-1")), "Chỉ tiêu phải lớn hơn 0."),
        (lambda: Ratio(D("1.5")).score(D("-0.001"), D("100")), "Kết quả đạt được không được âm."),
        (lambda: IndexFormula(D("10"), D("0.1")).score(D("-0.001")), "Chỉ số không được âm."),
        (
            lambda: Deadline(D("1"), days=15).score(date(2020, 12, 14), date(2020, 12, 13)),
            "Ngày hoàn thành không được trước ngày phát sinh.",
        ),
    ],
)
def test_out_of_range_inputs_are_refused_with_their_exact_vietnamese_message(
    score: Callable[[], Decimal], message: str
) -> None:
    with pytest.raises(ScoringError) as refused:
        score()
    assert str(refused.value) == message


def test_history_frames_keep_exact_decimal_points_and_integer_years() -> None:
    history = load_history(HISTORY)
    assert history_frame(history).schema == pl.Schema(
        {"year": pl.Int32, "component": pl.String, "achieved": POINTS, "max": POINTS}
    )
    assert adjustments_frame(history).schema == pl.Schema({"year": pl.Int32, "bonus": POINTS, "penalty": POINTS})


def test_percent_of_max_per_year_and_per_component() -> None:
    history = load_history(HISTORY)
    scores = history_frame(history)
    result = totals(scores, adjustments_frame(history))
    for components, maximum, percent in result.select("components", "max", "percent").iter_rows():
        assert percent == pytest.approx(float(components / maximum * 100), abs=1e-9)
    assert result["percent"][0] == pytest.approx(float(sum(s.achieved for s in history.years[0].scores.values())))
    lost = points_lost(scores)
    for achieved, maximum, percent in lost.select("achieved", "max", "percent").iter_rows():
        assert percent == pytest.approx(float(achieved / maximum * 100), abs=1e-9)


def test_points_lost_go_year_by_year_each_most_lost_first() -> None:
    lost = points_lost(history_frame(load_history(HISTORY)))
    years = lost["year"].to_list()
    assert years == sorted(years)
    for year in set(years):
        in_year = lost.filter(pl.col("year") == year)["lost"].to_list()
        assert in_year == sorted(in_year, reverse=True)


def test_a_year_without_adjustments_keeps_its_components() -> None:
    history = load_history(HISTORY)
    adjustments = adjustments_frame(history).filter(pl.col("year") != 2019)
    result = totals(history_frame(history), adjustments)
    assert result["year"].to_list() == [2019, 2020, 2021, 2022, 2023]
    first = result.filter(pl.col("year") == 2019)
    assert first["components"][0] == sum(history.years[0].scores[k].achieved for k in history.components)


def test_year_over_year_carries_the_maxima_of_the_merged_areas() -> None:
    yoy = year_over_year(load_history(HISTORY))
    procedures = yoy.filter(pl.col("component") == "thu-tuc-hanh-chinh").sort("year")
    assert procedures["max"].to_list()[3] > procedures["achieved"].to_list()[3]
    assert yoy.group_by("year").agg(pl.col("max").sum()).sort("year")["max"].to_list() == [D("100")] * 5


def test_three_tied_tenants_share_the_rank_after_the_leader() -> None:
    frame = pl.DataFrame(
        {"tenant": ["a", "b", "c", "d", "e"], "total": [D("90"), D("80"), D("80"), D("80"), D("70")]},
        schema={"tenant": pl.String, "total": POINTS},
    )
    assert rank(frame)["rank"].to_list() == [1, 2, 2, 2, 5]


def test_the_history_file_is_read_whole() -> None:
    history = load_history(HISTORY)
    assert history.tenant
    assert [(y.year, y.rank) for y in history.years] == [
        (2019, "9/21"),
        (2020, "10/21"),
        (2021, "12/21"),
        (2022, "12/21"),
        (2023, "10/21"),
    ]
    assert [(y.bonus, y.penalty) for y in history.years[:3]] == [
        (D("1.5"), D("2")),
        (D("1"), D("2")),
        (D("1"), D("1.5")),
    ]
    assert history.years[0].scores["chi-dao-dieu-hanh"] == Score(D("8"), D("11.5"))
    assert history.components["dieu-tra-xa-hoi-hoc"] == "Điều tra xã hội học"
    assert any(y.merged_into for y in history.years)


def test_a_history_year_without_bonus_penalty_rank_or_total_reads_as_none_of_them(tmp_path: Path) -> None:
    path = tmp_path / "lich-su.yaml"
    path.write_text(
        "tenant: so-thu\n"
        'components:\n  - {key: the-che, name: "Thể chế"}\n'
        'years:\n  2024:\n    scores: {the-che: "6,5/7"}\n',
        encoding="utf-8",
    )
    [year] = load_history(path).years
    assert (year.year, year.bonus, year.penalty, year.rank, year.published_total) == (2024, D(0), D(0), "", None)
    assert (year.merged_into, year.parts) == ({}, {})
    assert year.scores == {"the-che": Score(D("6.5"), D("7"))}


def test_parse_decimal_takes_numbers_as_they_are_and_spaces_inside_text() -> None:
    assert parse_decimal(D("1.5")) == D("1.5")
    assert parse_decimal(7) == D(7)
    assert parse_decimal("1 234,5") == D("1234.5")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "Giá trị phải là một số (ví dụ 75,25)."),
        ("NaN", "Giá trị phải là một số hữu hạn."),
        (D("Infinity"), "Giá trị phải là một số hữu hạn."),
    ],
)
def test_parse_decimal_refuses_with_its_exact_message(raw: str | Decimal, message: str) -> None:
    with pytest.raises(ScoringError) as refused:
        parse_decimal(raw)
    assert str(refused.value) == message
