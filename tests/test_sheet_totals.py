"""The self-assessment sheet's total with bonus and penalty areas (điểm cộng, điểm trừ), built without the
database from a criteria set made here: no shipped set has such areas, so only this test sees one."""

from __future__ import annotations

import uuid
from decimal import Decimal

from backend.domain.assessments.sheet import Entry, Node, build_sheet

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
