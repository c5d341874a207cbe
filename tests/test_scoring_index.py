"""The index of the applicable maximum, ranks within a group and classes (backend.domain.scoring.index):
the golden cases of issue 19, on frames computed by hand."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from backend.domain.scoring.aggregate import load_history
from backend.domain.scoring.index import ResultClass, area_indices, published_index, published_results
from backend.domain.scoring.province import ADJUSTMENT_SCHEMA, SCORE_SCHEMA
from backend.settings import PROJECT_ROOT

D = Decimal
SCHEMA = {**SCORE_SCHEMA, "applicable": pl.Boolean()}
# tenant, group, area, achieved (None: not scored yet), max, applicable
Row = tuple[str, str, str, str | None, str, bool]


def frame(rows: list[Row], year: int = 2024) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (tenant, group, year, area, area, None if achieved is None else D(achieved), D(maximum), applicable)
            for tenant, group, area, achieved, maximum, applicable in rows
        ],
        schema=SCHEMA,
        orient="row",
    )


def adjustments(rows: list[tuple[str, str, str, str | None, str | None]], year: int = 2024) -> pl.DataFrame:
    schema = {**ADJUSTMENT_SCHEMA, "bonus_cap": SCORE_SCHEMA["max"], "penalty_cap": SCORE_SCHEMA["max"]}
    return pl.DataFrame(
        [
            (tenant, year, D(bonus), D(penalty), None if b is None else D(b), None if p is None else D(p))
            for tenant, bonus, penalty, b, p in rows
        ],
        schema=schema,
        orient="row",
    )


def one(results: pl.DataFrame, tenant: str) -> dict[str, object]:
    (row,) = results.filter(pl.col("tenant") == tenant).iter_rows(named=True)
    return row


def test_thanh_hoa_ban_dan_toc_68_32_of_84_is_81_33() -> None:
    # Thanh Hóa 2023: the 16-point survey did not apply (too few TTHC files): 68,32 of the 84 that apply.
    scores = frame(
        [
            ("ban-dan-toc", "so-ban-nganh", "tieu-chi", "68.32", "84", True),
            ("ban-dan-toc", "so-ban-nganh", "dieu-tra", None, "16", False),
        ]
    )
    row = one(published_results(scores, 2024), "ban-dan-toc")
    assert (row["components"], row["max"], row["index"]) == (D("68.320"), D("84.000"), D("81.33"))
    assert published_index(D("68.32"), D("84")) == D("81.33")


def test_ha_tinh_groups_each_out_of_their_own_maximum() -> None:
    scores = frame(
        [
            # a department: 80 of criteria + 20 of survey = 100
            ("so-ngoai-vu", "so-ban-nganh", "tieu-chi", "75.25", "80", True),
            ("so-ngoai-vu", "so-ban-nganh", "dieu-tra", "17.5", "20", True),
            # a commune: 70 + 30 = 100
            ("xa-a", "xa-phuong", "tieu-chi", "60.5", "70", True),
            ("xa-a", "xa-phuong", "dieu-tra", "24.3", "30", True),
            # a central agency: 40 + 20 = 60
            ("kho-bac", "co-quan-trung-uong", "tieu-chi", "35.5", "40", True),
            ("kho-bac", "co-quan-trung-uong", "dieu-tra", "16.2", "20", True),
        ]
    )
    results = published_results(scores, 2024)
    assert [
        (r["tenant"], r["max"], r["total"], r["index"], r["rank"], r["of"]) for r in results.iter_rows(named=True)
    ] == [
        ("kho-bac", D(60), D("51.700"), D("86.17"), 1, 1),
        ("so-ngoai-vu", D(100), D("92.750"), D("92.75"), 1, 1),
        ("xa-a", D(100), D("84.800"), D("84.80"), 1, 1),
    ]


def test_area_3_not_applicable_leaves_a_maximum_of_80() -> None:
    # Hà Nam 2023: Văn phòng UBND is not assessed on area 3 (TTHC, 20 points).
    scores = frame(
        [
            ("van-phong-ubnd", "so-ban-nganh", "1", "30", "40", True),
            ("van-phong-ubnd", "so-ban-nganh", "2", "40", "40", True),
            ("van-phong-ubnd", "so-ban-nganh", "3", None, "20", False),
        ]
    )
    row = one(published_results(scores, 2024), "van-phong-ubnd")
    assert (row["max"], row["total"], row["index"]) == (D(80), D(70), D("87.50"))
    assert area_indices(scores, 2024)["area"].to_list() == ["1", "2"]  # area 3 has no index


def test_a_unit_whose_survey_part_does_not_apply_is_out_of_its_criteria_part() -> None:
    scores = frame(
        [
            ("so-a", "so-ban-nganh", "tieu-chi", "75.25", "80", True),
            ("so-a", "so-ban-nganh", "dieu-tra", "19", "20", False),  # even a score entered leaves
        ]
    )
    row = one(published_results(scores, 2024), "so-a")
    assert (row["components"], row["max"], row["index"]) == (D("75.250"), D(80), D("94.06"))
    # 75,25 / 80 = 94,0625: rounded once, half-up (half to even would give 94,062 at 3 places)
    assert one(published_results(scores, 2024, places=3), "so-a")["index"] == D("94.063")


def test_a_row_not_scored_yet_counts_in_the_maximum() -> None:
    scores = frame(
        [
            ("so-a", "so-ban-nganh", "tieu-chi", "75.25", "80", True),
            ("so-a", "so-ban-nganh", "dieu-tra", None, "20", True),
        ]
    )
    assert one(published_results(scores, 2024), "so-a")["index"] == D("75.25")


def test_equal_indices_share_a_rank_and_each_group_ranks_on_its_own() -> None:
    rows: list[Row] = []
    for tenant, group, achieved, maximum in (
        ("so-a", "so-ban-nganh", "90", "100"),
        ("so-b", "so-ban-nganh", "72", "80"),  # 90 % as well: the index ranks, not the points
        ("so-c", "so-ban-nganh", "95", "100"),
        ("so-d", "so-ban-nganh", "80", "100"),
        ("xa-a", "xa-phuong", "85", "100"),
        ("xa-b", "xa-phuong", "99", "100"),
    ):
        rows.append((tenant, group, "1", achieved, maximum, True))
    ranked = published_results(frame(rows), 2024).select("group", "tenant", "rank", "of").rows()
    assert ranked == [
        ("so-ban-nganh", "so-c", 1, 4),
        ("so-ban-nganh", "so-a", 2, 4),
        ("so-ban-nganh", "so-b", 2, 4),
        ("so-ban-nganh", "so-d", 4, 4),
        ("xa-phuong", "xa-b", 1, 2),
        ("xa-phuong", "xa-a", 2, 2),
    ]


CLASSES = (
    ResultClass("nhom-1", "Nhóm I", D(90), D(80)),
    ResultClass("nhom-2", "Nhóm II", D(80), D(70)),
    ResultClass("nhom-3", "Nhóm III", D(50)),
)


@pytest.mark.parametrize(
    ("area_1", "area_2", "expected"),
    [
        pytest.param("45", "45", "nhom-1", id="exactly_90_every_area_above_80"),
        pytest.param("40", "50", "nhom-1", id="exactly_90_weakest_area_exactly_80"),
        pytest.param("44.995", "45", "nhom-1", id="89_995_published_as_90_00"),
        pytest.param("44.994", "45", "nhom-2", id="89_994_published_as_89_99"),
        pytest.param("39.995", "50", "nhom-2", id="90_with_an_area_at_79_99_fails_the_floor"),
        pytest.param("40", "40", "nhom-2", id="exactly_80"),
        pytest.param("30", "50", "nhom-3", id="80_with_an_area_at_60_fails_the_second_floor"),
        pytest.param("25", "25", "nhom-3", id="exactly_50_no_floor"),
        pytest.param("24.994", "25", None, id="below_every_class"),
    ],
)
def test_class_at_each_threshold_and_with_a_failing_area_floor(area_1: str, area_2: str, expected: str | None) -> None:
    scores = frame(
        [("so-a", "so-ban-nganh", "1", area_1, "50", True), ("so-a", "so-ban-nganh", "2", area_2, "50", True)]
    )
    assert one(published_results(scores, 2024, classes=CLASSES), "so-a")["result_class"] == expected


def test_bonus_and_penalty_are_counted_within_their_caps() -> None:
    scores = frame([("so-a", "so-ban-nganh", "1", "80", "100", True), ("so-b", "so-ban-nganh", "1", "80", "100", True)])
    capped = adjustments([("so-a", "3", "1", "2", "0.5"), ("so-b", "1.5", "0.25", "2", "0.5")])
    results = published_results(scores, 2024, capped)
    assert (one(results, "so-a")["bonus"], one(results, "so-a")["penalty"], one(results, "so-a")["total"]) == (
        D(2),
        D("0.5"),
        D("81.500"),
    )
    assert one(results, "so-b")["total"] == D("81.250")  # within the caps: counted whole


def test_seed_004_totals_stay_exact_and_publish_rounded_once_half_up() -> None:
    history = load_history(PROJECT_ROOT / "tenants" / "ba-ria-vung-tau" / "history" / "so-tai-nguyen-moi-truong.yaml")
    published = {2019: "81.66", 2020: "85.63", 2021: "84.96", 2022: "85.68", 2023: "87.23"}
    for year in history.years:
        rows = [
            ("stnmt", "so-ban-nganh", key, str(s.achieved), str(s.max_points), True) for key, s in year.scores.items()
        ]
        adjust = adjustments([("stnmt", str(year.bonus), str(year.penalty), None, None)], year.year)
        row = one(published_results(frame(rows, year.year), year.year, adjust), "stnmt")
        assert row["max"] == D(100)
        assert row["total"] == year.published_total
        assert row["index"] == D(published[year.year])  # 87,225 → 87,23: half-up, not half to even


def test_nothing_applicable_has_no_index_rank_or_class() -> None:
    scores = frame([("so-a", "so-ban-nganh", "1", None, "10", False), ("so-b", "so-ban-nganh", "1", "5", "10", True)])
    results = published_results(scores, 2024, classes=CLASSES)
    assert one(results, "so-b")["rank"] == 1
    assert one(results, "so-b")["of"] == 1
    assert published_index(D(0), D(0)) is None


def test_python_and_frame_arithmetic_agree() -> None:
    cases = [("68.32", "84"), ("87.225", "100"), ("0.001", "99.999"), ("51.7", "60"), ("33.333", "99.999")]
    rows: list[Row] = [(f"t{i}", "g", "1", a, m, True) for i, (a, m) in enumerate(cases)]
    results = published_results(frame(rows), 2024, places=3)
    for i, (achieved, maximum) in enumerate(cases):
        assert one(results, f"t{i}")["index"] == published_index(D(achieved), D(maximum), 3)
