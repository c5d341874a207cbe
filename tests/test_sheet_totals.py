"""The self-assessment sheet's total with bonus and penalty areas (điểm cộng, điểm trừ), built without the
database: from a criteria set made here, and from the shipped demo set that has such areas (Bà Rịa – Vũng Tàu 2024)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from backend.domain.assessments.sheet import Entry, External, Node, Sheet, build_sheet
from backend.domain.criteria.config import load_criteria_file
from backend.settings import PROJECT_ROOT

D = Decimal


def _node(code: str, max_points: str, kind: str, parent: Node | None = None, position: int = 1) -> Node:
    return Node(
        id=uuid.uuid4(),
        code=code,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0,
        position=position,
        title=f"Nội dung {code}",
        max_points=D(max_points),
        kind=kind,
        method={"type": "manual"},
        evidence=None,
        lead_unit=None,
        appraising_agency="Sở Nội vụ",
    )


def test_the_total_adds_the_bonus_and_subtracts_the_penalty() -> None:
    # Phụ lục 2 part III's shape: criteria areas count in the 100 points, a bonus and a penalty area do not.
    area_1 = _node("1", "6", "criterion", position=1)
    c_1_1 = _node("1.1", "4", "criterion", area_1, 1)
    area_2 = _node("2", "4", "survey", position=2)
    bonus = _node("III", "2", "bonus", position=3)
    bonus_1 = _node("III.1", "2", "bonus", bonus, 1)
    penalty = _node("IV", "3", "penalty", position=4)
    penalty_1 = _node("IV.1", "3", "penalty", penalty, 1)
    entries = {
        c_1_1.id: Entry(D("3.5")),
        area_1.id: Entry(D("1.25")),  # the rest of area 1 (6 − 4), entered on the area itself
        area_2.id: Entry(D("3.125")),
        bonus_1.id: Entry(D("1.5")),
        penalty_1.id: Entry(D("0.75")),
    }
    nodes = [area_1, c_1_1, area_2, bonus, bonus_1, penalty, penalty_1]
    sheet = build_sheet(nodes, entries, {}, total_max=D("10"))

    assert sheet.components == D("7.875")
    assert sheet.bonus == D("1.5")
    assert sheet.penalty == D("0.75")
    assert sheet.total == D("8.625")  # 7,875 + 1,5 − 0,75
    assert sheet.row("III").score == D("1.5")
    assert sheet.row("IV").score == D("0.75")


def test_a_bonus_alone_raises_the_total_and_a_penalty_alone_lowers_it() -> None:
    area = _node("1", "10", "criterion", position=1)
    bonus = _node("III", "2", "bonus", position=2)
    penalty = _node("IV", "3", "penalty", position=3)
    with_bonus = build_sheet([area, bonus, penalty], {area.id: Entry(D("8")), bonus.id: Entry(D("2"))}, {}, D("10"))
    with_penalty = build_sheet([area, bonus, penalty], {area.id: Entry(D("8")), penalty.id: Entry(D("3"))}, {}, D("10"))
    assert with_bonus.total == D("10.000")
    assert with_penalty.total == D("5.000")


# ---- the shipped demo set with bonus and penalty areas (Bà Rịa – Vũng Tàu 2024, seed 004 Phụ lục 2 part III) ----

DEMO_2024 = PROJECT_ROOT / "tenants" / "ba-ria-vung-tau" / "criteria" / "2024.yaml"
# Seed 004's 2023 components (sum 87,225) entered against the 2024 set; 7 is the DTI (93,76 × 0,1), 9.x the survey.
COMPONENTS_2023 = {"1": "9.5", "2": "6.5", "3": "9.729", "4": "6.5", "5": "7", "6": "8"}
EXTERNALS_2023 = {"7": "9.376", "9.1": "13.245", "9.2": "17.375"}


def _demo_sheet(bonus: dict[str, str], penalty: dict[str, str]) -> Sheet:
    loaded = load_criteria_file(DEMO_2024)
    ids = {row.code: uuid.uuid4() for row in loaded.nodes}
    nodes = [
        Node(
            id=ids[row.code],
            code=row.code,
            parent_id=ids[row.parent_code] if row.parent_code else None,
            depth=row.depth,
            position=row.position,
            title=row.title,
            max_points=row.max_points,
            kind=row.kind,
            method=row.method,
            evidence=row.evidence,
            lead_unit=row.lead_unit,
            appraising_agency=row.appraising_agency,
        )
        for row in loaded.nodes
    ]
    entries = {ids[code]: Entry(D(points)) for code, points in {**COMPONENTS_2023, **bonus, **penalty}.items()}
    externals = {ids[code]: External(D(points)) for code, points in EXTERNALS_2023.items()}
    return build_sheet(
        nodes, entries, externals, loaded.total_max, bonus_cap=loaded.bonus_cap, penalty_cap=loaded.penalty_cap
    )


def test_the_demo_set_has_capped_bonus_and_penalty_areas_outside_its_100_points() -> None:
    loaded = load_criteria_file(DEMO_2024)
    kinds = {row.code: row.kind for row in loaded.nodes if row.depth == 0}
    assert (kinds["10"], kinds["11"]) == ("bonus", "penalty")
    assert (loaded.total_max, loaded.bonus_cap, loaded.penalty_cap) == (D(100), D(2), D(3))
    assert loaded.node("10").max_points > loaded.bonus_cap  # the cap bites before the area's own maximum
    assert loaded.node("11").max_points > loaded.penalty_cap
    sheet = _demo_sheet({}, {})
    assert sheet.applicable_max == D(100)  # bonus and penalty leave the maximum alone
    assert sheet.total == D("87.225")  # seed 004's 2023 components, nothing added or taken


def test_the_demo_sets_bonus_adds_and_its_penalty_subtracts_each_within_its_cap() -> None:
    under = _demo_sheet({"10.1": "0.5", "10.4": "1"}, {"11.2": "1"})
    assert (under.bonus, under.penalty, under.total) == (D("1.5"), D(1), D("87.725"))  # 87,225 + 1,5 − 1
    assert under.index() == D("87.73")  # 87,725 half-up, once
    over = _demo_sheet(
        {"10.1": "0.5", "10.2": "0.5", "10.3": "0.5", "10.4": "1"}, {"11.1": "1", "11.2": "1", "11.3": "1", "11.5": "1"}
    )
    assert (over.row("10").score, over.row("11").score) == (D("2.5"), D(4))  # the areas as scored …
    assert (over.bonus, over.penalty) == (D(2), D(3))  # … counted within the caps
    assert over.total == D("86.225")  # 87,225 + 2 − 3
    assert over.index() == D("86.23")
