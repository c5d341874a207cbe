"""The yearly criteria sets under tenants/<province>/criteria/: Hà Tĩnh 2020 loads and scores as seed 001 says,
and every bad input is rejected with file, code and reason (one small change to a minimal valid set each)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.domain.criteria.config import CriteriaConfigError, load_criteria_file, rule_for
from backend.domain.scoring.methods import Bands, Deadline, Manual, Ratio
from backend.settings import PROJECT_ROOT

HA_TINH_2020 = PROJECT_ROOT / "tenants" / "ha-tinh" / "criteria" / "2020" / "so-ban-nganh.yaml"

MINIMAL: dict[str, Any] = {
    "province": "tinh-mau",
    "year": 2024,
    "total_max": "10",
    "maps_from_previous": {},
    "areas": [
        {
            "code": "1",
            "title": "Công tác chỉ đạo, điều hành CCHC",
            "max_points": "6",
            "children": [
                {
                    "code": "1.1",
                    "title": "Kế hoạch CCHC",
                    "max_points": "1,5",
                    "method": {"type": "ratio", "places": 2},
                },
                {"code": "1.2", "title": "Khắc phục tồn tại", "max_points": "1", "method": {"type": "manual"}},
            ],
        },
        {
            "code": "2",
            "title": "Điều tra xã hội học",
            "max_points": "4",
            "kind": "survey",
            "method": {"type": "external"},
        },
        {"code": "cong", "title": "Điểm cộng", "max_points": "2", "kind": "bonus"},
    ],
}


def write_set(root: Path, content: dict[str, Any] | str, province: str = "tinh-mau", year: str = "2024") -> Path:
    file = root / province / "criteria" / f"{year}.yaml"
    file.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
    file.write_text(text, encoding="utf-8")
    return file


def test_minimal_set_loads(tmp_path: Path) -> None:
    loaded = load_criteria_file(write_set(tmp_path, MINIMAL))
    assert [(n.code, n.parent_code, n.depth, n.position) for n in loaded.nodes] == [
        ("1", None, 0, 1),
        ("1.1", "1", 1, 1),
        ("1.2", "1", 1, 2),
        ("2", None, 0, 2),
        ("cong", None, 0, 3),
    ]
    assert loaded.node("1.1").max_points == Decimal("1.5")
    assert loaded.node("1.1").appraising_agency == "Sở Nội vụ"
    assert loaded.node("cong").kind == "bonus"
    assert rule_for(loaded.node("2")) is None
    assert rule_for(loaded.node("cong")) == Manual(Decimal(2))


def test_ha_tinh_2020_departments_are_80_of_criteria_and_20_of_survey() -> None:
    loaded = load_criteria_file(HA_TINH_2020)
    assert (loaded.province, loaded.year, loaded.group, loaded.total_max) == ("ha-tinh", 2020, "so-ban-nganh", 100)
    assert loaded.parts == {"criteria": Decimal(80), "survey": Decimal(20)}
    areas = {n.code: n.max_points for n in loaded.nodes if n.depth == 0 and n.kind == "criterion"}
    assert sum(areas.values()) == 80  # seed 001's 75,25/80 is this part
    assert loaded.node("8").kind == "survey"
    assert loaded.node("8").max_points == 20
    assert areas == {
        "1": Decimal(10),
        "2": Decimal(9),
        "3": Decimal("14.5"),
        "4": Decimal(13),
        "5": Decimal("13.5"),
        "6": Decimal("6.5"),
        "7": Decimal("13.5"),
    }
    assert loaded.node("7.1").max_points == Decimal("8.5")
    assert loaded.node("7.2").max_points == Decimal(5)
    assert loaded.node("7.1.5").parent_code == "7.1"
    expected = {"1.7": "1", "2.6.1": "0.5", "4.1.5": "3", "5.10": "1", "6.2.1": "1.5", "7.1.8": "0.5"}
    assert {code: loaded.node(code).max_points for code in expected} == {c: Decimal(v) for c, v in expected.items()}


def test_ha_tinh_2020_rules_reproduce_seed_001() -> None:
    loaded = load_criteria_file(HA_TINH_2020)
    ratio = rule_for(loaded.node("1.2"))
    assert isinstance(ratio, Ratio)
    assert ratio.score(Decimal("94.76"), Decimal(100)) == Decimal("1.42")
    deadline = rule_for(loaded.node("1.5"))
    assert isinstance(deadline, Deadline)
    appraised = date(2020, 1, 1)
    assert deadline.score(appraised, appraised + timedelta(days=16)) == Decimal("0.5")
    assert deadline.score(appraised, appraised + timedelta(days=15)) == Decimal(1)
    bands = rule_for(loaded.node("2.5"))
    assert isinstance(bands, Bands)
    assert [bands.score(Decimal(v)) for v in ("100", "85", "79")] == [Decimal(1), Decimal("0.5"), Decimal(0)]
    assert loaded.node("2.5").appraising_agency == "Sở Tư pháp"


Mutation = Callable[[dict[str, Any]], None]


def node(data: dict[str, Any], *path: int) -> dict[str, Any]:
    found: dict[str, Any] = data["areas"][path[0]]
    for index in path[1:]:
        found = found["children"][index]
    return found


def setter(path: tuple[int, ...], key: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        node(data, *path)[key] = value

    return mutate


def method(path: tuple[int, ...], value: dict[str, Any]) -> Mutation:
    return setter(path, "method", value)


BAD_NODES: list[tuple[str, Mutation, str, str]] = [
    ("unknown key", setter((0, 1), "diem", "1"), "1.2", "khóa lạ 'diem'"),
    ("wrong type", setter((0, 1), "title", ["a"]), "1.2", "title: sai kiểu: cần chuỗi"),
    ("duplicate code", setter((0, 1), "code", "1.1"), "1.1", "mã '1.1' bị trùng"),
    ("negative max", setter((0, 1), "max_points", "-1"), "1.2", "không được âm"),
    ("non-numeric max", setter((0, 1), "max_points", "một"), "1.2", "không phải là số"),
    ("children above parent", setter((0, 0), "max_points", "5,5"), "1", "vượt 6"),
    ("unknown kind", setter((1,), "kind", "khac"), "2", "loại 'khac' không hợp lệ"),
    ("unknown method", method((0, 1), {"type": "formula"}), "1.2", "method.type 'formula' không hợp lệ"),
    ("method unknown key", method((0, 1), {"type": "manual", "x": 1}), "1.2", "khóa lạ 'x'"),
    ("ratio places", method((0, 1), {"type": "ratio", "places": 4}), "1.2", "từ 0 đến 3"),
    ("bands empty", method((0, 1), {"type": "bands", "bands": []}), "1.2", "cần ít nhất một mức"),
    (
        "band above max",
        method((0, 1), {"type": "bands", "bands": [{"at_least": "50", "points": "2"}]}),
        "1.2",
        "method.bands[0].points",
    ),
    (
        "band negative",
        method((0, 1), {"type": "bands", "bands": [{"at_least": "50", "points": "-0,5"}]}),
        "1.2",
        "không được âm",
    ),
    ("index factor zero", method((0, 1), {"type": "index", "factor": "0"}), "1.2", "phải lớn hơn 0"),
    ("deadline days", method((0, 1), {"type": "deadline", "days": -1}), "1.2", "không được âm"),
    (
        "deadline late points",
        method((0, 1), {"type": "deadline", "days": 15, "late_points": "1,5"}),
        "1.2",
        "method.late_points",
    ),
]


@pytest.mark.parametrize(("mutate", "code", "reason"), [c[1:] for c in BAD_NODES], ids=[c[0] for c in BAD_NODES])
def test_bad_node_is_rejected_naming_file_and_code(tmp_path: Path, mutate: Mutation, code: str, reason: str) -> None:
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    file = write_set(tmp_path, data)
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(f"{file}: code {code}: ") and reason in m for m in messages), messages
    assert len(messages) == 1, messages  # no knock-on problems (a wrong total_max …)


def test_areas_must_sum_to_total_max(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["total_max"] = "12"
    data["areas"][2]["max_points"] = "5"  # a bonus does not count
    file = write_set(tmp_path, data)
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    assert [str(p) for p in caught.value.problems] == [
        f"{file}: total_max: tổng điểm tối đa các lĩnh vực (trừ điểm cộng, điểm trừ) là 10, không bằng total_max 12"
    ]


def _rejected(file: Path) -> list[str]:
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    return [str(p) for p in caught.value.problems]


def test_a_set_whose_parts_do_not_add_up_to_its_total_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["parts"] = {"criteria": "6", "survey": "3"}
    file = write_set(tmp_path, data)
    assert _rejected(file) == [
        f"{file}: parts: phần tiêu chí 6 + phần điều tra xã hội học 3 = 9, không bằng total_max 10",
        f"{file}: parts.survey: các lĩnh vực loại survey cộng lại 4, không bằng phần điều tra xã hội học 3",
    ]
    data["parts"] = {"criteria": "6", "survey": "4"}
    assert load_criteria_file(write_set(tmp_path, data)).parts == {"criteria": 6, "survey": 4}


def test_a_part_the_areas_do_not_fill_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["parts"] = {"criteria": "7", "survey": "3"}  # adds up to 10, but the areas are 6 + 4
    file = write_set(tmp_path, data)
    assert _rejected(file) == [
        f"{file}: parts.criteria: các lĩnh vực loại criterion cộng lại 6, không bằng phần tiêu chí 7",
        f"{file}: parts.survey: các lĩnh vực loại survey cộng lại 4, không bằng phần điều tra xã hội học 3",
    ]


def test_not_applicable_rules_and_caps_load_and_a_rule_on_a_missing_criterion_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["bonus_cap"] = "1,5"
    data["penalty_cap"] = "2"
    data["not_applicable"] = [{"attribute": "khong-tthc", "criteria": ["1.2", "2"], "reason": "Không có TTHC"}]
    loaded = load_criteria_file(write_set(tmp_path, data))
    assert (loaded.bonus_cap, loaded.penalty_cap) == (Decimal("1.5"), Decimal(2))
    assert [(r.attribute, r.criteria) for r in loaded.not_applicable] == [("khong-tthc", ("1.2", "2"))]
    data["not_applicable"] = [{"attribute": "khong-tthc", "criteria": ["9.9", "cong"], "reason": " "}]
    file = write_set(tmp_path, data)
    assert _rejected(file) == [
        f"{file}: not_applicable[0].reason: cần ghi lý do không áp dụng",
        f"{file}: not_applicable[0].criteria[0]: tiêu chí '9.9' không có trong bộ chỉ số",
        f"{file}: not_applicable[0].criteria[1]: 'cong' là điểm cộng hoặc điểm trừ: không tính vào điểm tối đa",
    ]


def test_a_set_per_group_sits_in_its_year_folder_named_after_its_group(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["group"] = "xa-phuong"
    folder = tmp_path / "tinh-mau" / "criteria" / "2024"
    folder.mkdir(parents=True)
    good = folder / "xa-phuong.yaml"
    good.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_criteria_file(good).group == "xa-phuong"
    wrong = folder / "so-ban-nganh.yaml"
    wrong.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert _rejected(wrong) == [
        f"{wrong}: group: nhóm xếp hạng 'xa-phuong' phải trùng tên tệp 'so-ban-nganh.yaml' (cần group: so-ban-nganh)"
    ]
    assert _rejected(write_set(tmp_path, data)) == [
        f"{tmp_path / 'tinh-mau' / 'criteria' / '2024.yaml'}: group: "
        "bộ chỉ số của một nhóm đặt ở criteria/2024/xa-phuong.yaml"
    ]


def test_province_must_match_folder_and_year_the_file_name(tmp_path: Path) -> None:
    file = write_set(tmp_path, MINIMAL, province="tinh-khac", year="2023")
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    messages = [str(p) for p in caught.value.problems]
    assert messages[0].startswith(f"{file}: province: ")
    assert "'tinh-khac'" in messages[0]
    assert messages[1].startswith(f"{file}: year: ")
    assert "2023" in messages[1]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["areas"][0]["children"][0]["max_points"] = "x"
    data["areas"][0]["children"][1]["method"] = {"type": "ratio", "places": 9}
    data["maps_from_previous"] = {"8": "9"}
    file = write_set(tmp_path, data)
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    where = [p.path for p in caught.value.problems]
    assert where == ["code 1.1", "code 1.2", "maps_from_previous.8"]


def test_a_bad_area_method_is_not_also_a_wrong_total(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["areas"][1]["method"] = {"type": "index", "factor": "-1"}
    file = write_set(tmp_path, data)
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    assert [p.path for p in caught.value.problems] == ["code 2"]


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("province: [tinh-mau\n", "dòng 2, cột 1", "YAML không hợp lệ"),
        ("- 1\n", "$", "ánh xạ"),
        ("province: tinh-mau\nyear: 2024\ntotal_max: '1'\nareas: []\nextra: 1\n", "$", "khóa lạ 'extra'"),
        ("province: tinh-mau\nyear: '2024'\ntotal_max: '1'\nareas: []\n", "year", "cần số nguyên"),
    ],
    ids=["syntax", "not a mapping", "unknown top key", "year as text"],
)
def test_bad_file_shape_is_rejected(tmp_path: Path, text: str, where: str, reason: str) -> None:
    file = write_set(tmp_path, text)
    with pytest.raises(CriteriaConfigError) as caught:
        load_criteria_file(file)
    problem = caught.value.problems[0]
    assert (problem.file, problem.path) == (str(file), where)
    assert reason in problem.reason


def test_decimal_point_and_comma_are_the_same(tmp_path: Path) -> None:
    data = copy.deepcopy(MINIMAL)
    data["areas"][0]["children"][0]["max_points"] = "1.5"
    data["areas"][0]["children"][1]["max_points"] = 1.0
    loaded = load_criteria_file(write_set(tmp_path, data))
    assert loaded.node("1.1").max_points == Decimal("1.5")
    assert loaded.node("1.2").max_points == Decimal(1)
