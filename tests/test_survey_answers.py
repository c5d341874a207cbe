"""Survey answers into survey points (backend.domain.scoring.survey): declared shares, E left out, a minimum."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from backend.domain.admin.survey_import import AnswerPreview
from backend.domain.scoring.survey import ANSWER_SCHEMA, ItemScore, SurveyRules, aggregate_answers

D = Decimal


def answers(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ANSWER_SCHEMA, orient="row")


def test_shares_average_over_the_counted_answers_and_e_is_left_out() -> None:
    frame = answers([("xa-a", "8", "A"), ("xa-a", "8", "B"), ("xa-a", "8", "C"), ("xa-a", "8", "E")])
    (score,) = aggregate_answers(frame, {"8": D(30)}, SurveyRules(min_answers=3), ["xa-a"])
    # (100 + 60 + 20) ÷ 3 = 60 % of 30 points = 18; E does not count
    assert (score.answers, score.points) == (3, D("18.000"))


def test_points_are_rounded_once_half_up() -> None:
    frame = answers([("so-a", "9.1", "A"), ("so-a", "9.1", "A"), ("so-a", "9.1", "C")])
    (score,) = aggregate_answers(frame, {"9.1": D(17)}, SurveyRules(min_answers=1), ["so-a"])
    assert score.points == D("12.467")  # 17 × 220 ÷ 300 = 12,4666…


def test_too_few_answers_and_no_answers_leave_the_item_not_applicable() -> None:
    frame = answers([("so-a", "8", "A"), ("so-a", "8", "E"), ("so-b", "8", "D")] * 2)
    scores = aggregate_answers(frame, {"8": D(20)}, SurveyRules(min_answers=2), ["so-a", "so-b", "so-c"])
    assert [(s.tenant, s.answers, s.points) for s in scores] == [
        ("so-a", 2, D("20.000")),
        ("so-b", 2, D("0.000")),
        ("so-c", 0, None),  # not one answer
    ]
    (few,) = aggregate_answers(frame, {"8": D(20)}, SurveyRules(min_answers=3), ["so-a"])
    assert few.points is None


def test_a_province_declares_its_own_shares() -> None:
    rules = SurveyRules(shares={"A": D(100), "B": D(75), "C": D(50), "D": D(25)}, min_answers=1)
    (score,) = aggregate_answers(answers([("so-a", "8", "B"), ("so-a", "8", "D")]), {"8": D(16)}, rules, ["so-a"])
    assert score.points == D("8.000")  # (75 + 25) ÷ 2 = 50 % of 16


def test_items_with_too_few_answers_are_proposed_not_applicable_with_their_reason() -> None:
    scores = [ItemScore("so-a", "8", 3, D("20.000")), ItemScore("so-b", "8", 1, None), ItemScore("so-c", "9", 0, None)]
    preview = AnswerPreview(scores=scores, rules=SurveyRules(min_answers=3))
    assert preview.not_applicable == [
        ("so-b", "8", "Không đủ phiếu khảo sát (1 phiếu, tối thiểu 3)"),
        ("so-c", "9", "Không đủ phiếu khảo sát (0 phiếu, tối thiểu 3)"),
    ]
    assert preview.entries == {"so-a:8": "20.000"}
