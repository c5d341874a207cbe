"""The self-assessment sheet: a criteria tree with what was entered, scored exactly. Pure: no database.

A node with children scores the sum of its children. When the children's maxima do not fill the node
(a province lists only some criteria of an area), the rest is one more row, "the other contents of the
node", scored by hand within the remainder; its entry is stored on the node itself. Survey parts and
external indices come from the province's Sở Nội vụ, never from the department.

Total = criteria and survey areas + bonus − penalty, as published.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from backend.domain.criteria.config import CriterionNodeRow, rule_for
from backend.domain.scoring.index import DEFAULT_PLACES, published_index
from backend.domain.scoring.methods import (
    POINTS_PLACES,
    Bands,
    Deadline,
    IndexFormula,
    Manual,
    Ratio,
    ScoringError,
    parse_decimal,
    quantize,
)

ZERO = Decimal(0)
ENTERED_BY_PROVINCE = {"external", "index"}
MAX_TEXT = 4000
MAX_INPUT = Decimal("1000000000")

METHOD_LABELS = {
    "manual": "Tự chấm",
    "ratio": "Tỷ lệ",
    "bands": "Theo mức",
    "index": "Theo chỉ số",
    "deadline": "Theo thời hạn",
    "external": "Sở Nội vụ nhập",
}


@dataclass(frozen=True)
class Node:
    id: uuid.UUID
    code: str
    parent_id: uuid.UUID | None
    depth: int
    position: int
    title: str
    max_points: Decimal
    kind: str
    method: dict[str, Any]
    evidence: str | None
    lead_unit: str | None
    appraising_agency: str

    @property
    def method_type(self) -> str:
        return str(self.method.get("type", "manual"))

    def as_config_row(self) -> CriterionNodeRow:
        return CriterionNodeRow(
            code=self.code,
            parent_code=None,
            depth=self.depth,
            position=self.position,
            title=self.title,
            max_points=self.max_points,
            kind=self.kind,
            method=self.method,
            evidence=self.evidence,
            lead_unit=self.lead_unit,
            appraising_agency=self.appraising_agency,
        )


@dataclass(frozen=True)
class Entry:
    """What the department entered for one node (or for its remainder row)."""

    points: Decimal | None
    inputs: dict[str, str] = field(default_factory=dict)
    explanation: str = ""
    evidence_refs: str = ""


@dataclass(frozen=True)
class External:
    points: Decimal
    value: Decimal | None = None


@dataclass
class Row:
    """One line of the sheet, depth-first. `editable`: the department enters it; `remainder`: the rest of a node."""

    node: Node
    children: list[Row]
    own_max: Decimal  # what this row itself scores (the remainder for a node with children)
    entry: Entry | None
    external: External | None
    remainder: bool = False
    score: Decimal | None = None  # this row and everything under it; None: nothing entered yet
    not_applicable: str | None = None  # "không áp dụng": the reason (this row or one above it does not apply)

    @property
    def excluded(self) -> Decimal:
        """The points of this row that do not apply to the tenant (they leave its maximum)."""
        if self.not_applicable is not None:
            return self.max_points
        return sum((c.excluded for c in self.children), ZERO)

    @property
    def applicable_max(self) -> Decimal:
        """This row's maximum without what does not apply."""
        return self.max_points - self.excluded

    @property
    def code(self) -> str:
        return self.node.code

    @property
    def editable(self) -> bool:
        return (
            self.own_max > 0
            and (self.remainder or not self.children)
            and not self.by_province
            and self.not_applicable is None
        )

    @property
    def by_province(self) -> bool:
        return self.node.method_type in ENTERED_BY_PROVINCE and not self.remainder

    @property
    def method_type(self) -> str:
        return "manual" if self.remainder else self.node.method_type

    @property
    def max_points(self) -> Decimal:
        return self.own_max if self.remainder else self.node.max_points

    def walk(self) -> Iterable[Row]:
        """This row and every row under it, depth-first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Sheet:
    areas: list[Row]
    total_max: Decimal
    bonus_cap: Decimal | None = None
    penalty_cap: Decimal | None = None

    def rows(self) -> Iterable[Row]:
        """Every row depth-first, each node's remainder row after its children."""

        for area in self.areas:
            yield from area.walk()

    def row(self, code: str, *, remainder: bool = False) -> Row:
        for row in self.rows():
            if row.code == code and row.remainder == remainder:
                return row
        raise KeyError(code)

    def area_of(self, code: str) -> Row:
        for area in self.areas:
            if any(r.code == code for r in area.walk()):
                return area
        raise KeyError(code)

    @property
    def components(self) -> Decimal:
        return sum((a.score or ZERO for a in self.areas if a.node.kind in {"criterion", "survey"}), ZERO)

    @property
    def applicable_max(self) -> Decimal:
        """The maximum that applies to the tenant: the criteria and survey areas without what does not apply."""
        return sum((a.applicable_max for a in self.areas if a.node.kind in {"criterion", "survey"}), ZERO)

    @property
    def adjusted(self) -> bool:
        """The set has bonus or penalty areas (điểm cộng, điểm trừ)."""
        return any(a.node.kind in {"bonus", "penalty"} for a in self.areas)

    @property
    def bonus_scored(self) -> Decimal:
        """The bonus areas as scored, before the set's cap."""
        return sum((a.score or ZERO for a in self.areas if a.node.kind == "bonus"), ZERO)

    @property
    def penalty_scored(self) -> Decimal:
        """The penalty areas as scored, before the set's cap."""
        return sum((a.score or ZERO for a in self.areas if a.node.kind == "penalty"), ZERO)

    @property
    def bonus(self) -> Decimal:
        """The bonus counted: what was scored, within the set's cap."""
        scored = self.bonus_scored
        return min(scored, self.bonus_cap) if self.bonus_cap is not None else scored

    @property
    def penalty(self) -> Decimal:
        """The penalty counted: what was scored, within the set's cap."""
        scored = self.penalty_scored
        return min(scored, self.penalty_cap) if self.penalty_cap is not None else scored

    @property
    def total(self) -> Decimal:
        return quantize(self.components + self.bonus - self.penalty)

    def index(self, places: int = DEFAULT_PLACES) -> Decimal | None:
        """The Chỉ số CCHC: total ÷ applicable maximum × 100, rounded once, half-up, to `places`."""
        return published_index(self.components + self.bonus - self.penalty, self.applicable_max, places)

    @property
    def to_enter(self) -> int:
        """Rows the department must still enter."""
        return sum(1 for r in self.rows() if r.editable and (r.entry is None or r.entry.points is None))


def build_sheet(
    nodes: Iterable[Node],
    entries: Mapping[uuid.UUID, Entry],
    externals: Mapping[uuid.UUID, External],
    total_max: Decimal,
    *,
    not_applicable: Mapping[str, str] | None = None,
    bonus_cap: Decimal | None = None,
    penalty_cap: Decimal | None = None,
) -> Sheet:
    """Assemble the tree, attach what was entered and score every row bottom-up.

    `not_applicable`: criterion code → reason for what does not apply to the tenant; a row under such a code
    does not apply either, scores nothing and leaves the maximum."""
    skipped = not_applicable or {}
    by_parent: dict[uuid.UUID | None, list[Node]] = {}
    for node in nodes:
        by_parent.setdefault(node.parent_id, []).append(node)
    for siblings in by_parent.values():
        siblings.sort(key=lambda n: n.position)

    def make(node: Node, above: str | None) -> Row:
        reason = above if above is not None else skipped.get(node.code)
        children = [make(child, reason) for child in by_parent.get(node.id, [])]
        own_max = node.max_points - sum((c.node.max_points for c in children), ZERO)
        row = Row(node, children, own_max, None if children else entries.get(node.id), externals.get(node.id))
        row.not_applicable = reason
        if children and own_max > 0 and node.method_type not in ENTERED_BY_PROVINCE:
            rest = Row(node, [], own_max, entries.get(node.id), None, remainder=True, not_applicable=reason)
            rest.score = rest.entry.points if rest.entry is not None and reason is None else None
            row.children.append(rest)
        _score(row)
        return row

    areas = [make(area, None) for area in by_parent.get(None, [])]
    return Sheet(areas, total_max, bonus_cap, penalty_cap)


def _score(row: Row) -> None:
    if row.remainder:
        return
    if row.not_applicable is not None:
        row.score = None
        return
    if row.children:
        scored = [c.score for c in row.children if c.score is not None]
        if row.by_province and row.external is not None and not any(c.by_province for c in row.children):
            row.score = row.external.points
        else:
            row.score = sum(scored, ZERO) if scored else None
        return
    if row.by_province:
        row.score = row.external.points if row.external is not None else None
    else:
        row.score = row.entry.points if row.entry is not None else None


# ---- what the department enters: form fields per method, checked, turned into points ----


@dataclass
class RowInput:
    """A row's form, parsed: the points it gives, or errors per field (Vietnamese, shown next to the field)."""

    points: Decimal | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    explanation: str = ""
    evidence_refs: str = ""
    errors: dict[str, str] = field(default_factory=dict)


INPUT_FIELDS = {
    "manual": ("points",),
    "ratio": ("achieved", "target"),
    "bands": ("value",),
    "deadline": ("event", "done"),
}


def parse_row(row: Row, form: Mapping[str, Any]) -> RowInput:
    """Check a row's form against the row's method and max; empty method inputs clear the score."""
    result = RowInput()
    for name in ("explanation", "evidence_refs"):
        text = str(form.get(name, "")).replace("\r\n", "\n").strip()
        if len(text) > MAX_TEXT:
            result.errors[name] = f"Tối đa {MAX_TEXT:,} ký tự (hiện có {len(text):,}).".replace(",", ".")
        setattr(result, name, text)
    method = row.method_type
    if row.by_province or not row.editable:
        result.errors["points"] = "Tiêu chí này do Sở Nội vụ nhập, đơn vị không tự chấm."
        return result
    raw = {name: str(form.get(name, "")).strip() for name in INPUT_FIELDS.get(method, ("points",))}
    result.inputs = {k: v for k, v in raw.items() if v}
    if not result.inputs:
        return result  # cleared: not scored yet
    rule = Manual(row.max_points) if row.remainder else rule_for(row.node.as_config_row())
    try:
        result.points = _apply(rule, raw, result.errors)
    except ScoringError as exc:
        result.errors.setdefault(INPUT_FIELDS.get(method, ("points",))[0], str(exc))
    if result.errors:
        result.points = None
    return result


def _number(raw: dict[str, str], name: str, errors: dict[str, str], *, required: bool = True) -> Decimal | None:
    text = raw.get(name, "")
    if not text:
        if required:
            errors[name] = "Cần nhập giá trị."
        return None
    if len(text) > 40:
        errors[name] = "Giá trị quá dài."
        return None
    try:
        value = parse_decimal(text)
    except ScoringError as exc:
        errors[name] = str(exc)
        return None
    if abs(value) >= MAX_INPUT:
        errors[name] = "Giá trị quá lớn."
        return None
    return value


def _date(raw: dict[str, str], name: str, errors: dict[str, str], *, required: bool) -> date | None:
    text = raw.get(name, "")
    if not text:
        if required:
            errors[name] = "Cần nhập ngày (dd/mm/yyyy)."
        return None
    for fmt in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    errors[name] = "Ngày không hợp lệ: nhập theo dạng dd/mm/yyyy, ví dụ 15/03/2021."
    return None


def _apply(rule: object, raw: dict[str, str], errors: dict[str, str]) -> Decimal | None:
    match rule:
        case Manual():
            points = _number(raw, "points", errors)
            if points is None:
                return None
            exponent = points.normalize().as_tuple().exponent
            if isinstance(exponent, int) and -exponent > POINTS_PLACES:
                errors["points"] = f"Điểm có tối đa {POINTS_PLACES} chữ số thập phân."
                return None
            try:
                return rule.score(points)
            except ScoringError as exc:
                errors["points"] = str(exc)
                return None
        case Ratio():
            achieved, target = _number(raw, "achieved", errors), _number(raw, "target", errors)
            if achieved is None or target is None:
                return None
            if target <= 0:
                errors["target"] = "Chỉ tiêu phải lớn hơn 0."
                return None
            if achieved < 0:
                errors["achieved"] = "Kết quả đạt được không được âm."
                return None
            return rule.score(achieved, target)
        case Bands():
            value = _number(raw, "value", errors)
            if value is None:
                return None
            if value < 0:
                errors["value"] = "Giá trị không được âm."
                return None
            return rule.score(value)
        case Deadline():
            event = _date(raw, "event", errors, required=True)
            done = _date(raw, "done", errors, required=False)
            if event is None or errors:
                return None
            if done is not None and done < event:
                errors["done"] = "Ngày hoàn thành không được trước ngày phát sinh."
                return None
            return rule.score(event, done)
        case IndexFormula():
            errors["points"] = "Tiêu chí này do Sở Nội vụ nhập, đơn vị không tự chấm."
            return None
    errors["points"] = "Phương pháp chấm không hỗ trợ."
    return None
