"""The yearly criteria set (Bộ chỉ số CCHC) of a province: `tenants/<province>/criteria/<year>.yaml`.

Areas → criteria → sub-criteria, each with a code ("1.2", "2.6.1"), a title, max points and the method
that scores it (manual, ratio, bands, index, deadline, external). Loading checks everything before
anything is used: shape (unknown keys, wrong types), unique codes, maxima (children within their
parent, the areas summing to `total_max`), method parameters, and that the file sits where its
province and year say. Every problem is reported as `file: code <code>: reason`, in Vietnamese.
A province admin's upload (`load_criteria_text`) goes through the same checks, must name the expected
province, and may not use YAML aliases or deep nesting (a small file must not cost a large amount of work).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import yaml

from backend.domain.scoring.methods import (
    POINTS_PLACES,
    Band,
    Bands,
    Deadline,
    IndexFormula,
    Manual,
    Ratio,
    ScoringError,
    parse_decimal,
)
from backend.domain.tenants.config import CODE, ConfigProblem, StrictLoader, shape_error, yaml_reason

KINDS = ("criterion", "survey", "bonus", "penalty")
COUNTED_KINDS = {"criterion", "survey"}  # bonus and penalty do not count in total_max
METHOD_TYPES = ("manual", "ratio", "bands", "index", "deadline", "external")
DEFAULT_AGENCY = "Sở Nội vụ"
MAX_RATIO_PLACES = 3
MIN_YEAR, MAX_YEAR = 2000, 2100  # an uploaded set's year (a file's year is its name)
MAX_NESTING = 40  # YAML collections inside each other in an upload: areas → … → sub-criteria, with room

Points = str | int | float  # "1,5", "1.5", 1.5 or 2 in the YAML
Rule = Manual | Ratio | Bands | IndexFormula | Deadline


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class _PartsConfig(_Strict, frozen=True):
    criteria: Points
    survey: Points = "0"


class _NotApplicableConfig(_Strict, frozen=True):
    attribute: str
    criteria: list[str]
    reason: str


class _SetConfig(_Strict, frozen=True):
    province: str
    year: int
    total_max: Points
    areas: list[Any]
    maps_from_previous: dict[str, str] = {}
    group: str | None = None  # the ranking group the set is for; None: every group (one set per year)
    parts: _PartsConfig | None = None  # criteria part + survey part = total_max
    bonus_cap: Points | None = None  # the most bonus a unit can get
    penalty_cap: Points | None = None  # the most penalty a unit can lose
    not_applicable: list[_NotApplicableConfig] = []  # criteria that do not apply to tenants with an attribute


class _NodeConfig(_Strict, frozen=True):
    code: str
    title: str
    max_points: Points
    kind: str | None = None  # None: the parent's kind ("criterion" for an area)
    method: dict[str, Any] | None = None  # None: manual
    evidence: str | None = None
    lead_unit: str | None = None
    appraising_agency: str = DEFAULT_AGENCY
    children: list[Any] = []


class _Method(_Strict, frozen=True, tag_field="type"):
    pass


class _ManualMethod(_Method, frozen=True, tag="manual"):
    pass


class _ExternalMethod(_Method, frozen=True, tag="external"):
    pass


class _RatioMethod(_Method, frozen=True, tag="ratio"):
    places: int = POINTS_PLACES


class _BandConfig(_Strict, frozen=True):
    at_least: Points
    points: Points


class _BandsMethod(_Method, frozen=True, tag="bands"):
    bands: list[_BandConfig]
    otherwise: Points = "0"


class _IndexMethod(_Method, frozen=True, tag="index"):
    factor: Points


class _DeadlineMethod(_Method, frozen=True, tag="deadline"):
    days: int
    working_days: bool = False
    late_points: Points = "0"


_MethodConfig = _ManualMethod | _ExternalMethod | _RatioMethod | _BandsMethod | _IndexMethod | _DeadlineMethod


@dataclass(frozen=True)
class CriterionNodeRow:
    """One node of the set, flattened depth-first; `depth` 0 is an area, `position` counts siblings from 1."""

    code: str
    parent_code: str | None
    depth: int
    position: int
    title: str
    max_points: Decimal
    kind: str
    method: dict[str, Any]  # normalised: every parameter present, decimals as "0.5" strings
    evidence: str | None
    lead_unit: str | None
    appraising_agency: str


@dataclass(frozen=True)
class NotApplicableRule:
    """Criteria (areas, parts) that do not apply to the tenants with `attribute`: their points leave the maximum."""

    attribute: str
    criteria: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class CriteriaSet:
    file: Path
    province: str
    year: int
    total_max: Decimal
    maps_from_previous: dict[str, str]
    nodes: list[CriterionNodeRow]
    group: str | None = None
    parts: dict[str, Decimal] = field(default_factory=dict)  # {"criteria": 80, "survey": 20}; {}: not declared
    bonus_cap: Decimal | None = None
    penalty_cap: Decimal | None = None
    not_applicable: tuple[NotApplicableRule, ...] = ()

    def node(self, code: str) -> CriterionNodeRow:
        for node in self.nodes:
            if node.code == code:
                return node
        raise KeyError(code)


class CriteriaConfigError(ValueError):
    """The criteria file is rejected whole; `problems` says where and why."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def rule_for(node: CriterionNodeRow) -> Rule | None:
    """The scoring rule of a node, from its (normalised) method; None for external (entered by Sở Nội vụ)."""
    method, top = node.method, node.max_points
    match method["type"]:
        case "manual":
            return Manual(top)
        case "ratio":
            return Ratio(top, places=int(method["places"]))
        case "bands":
            bands = tuple(Band(Decimal(b["at_least"]), Decimal(b["points"])) for b in method["bands"])
            return Bands(top, bands, Decimal(method["otherwise"]))
        case "index":
            return IndexFormula(top, Decimal(method["factor"]))
        case "deadline":
            return Deadline(
                top, int(method["days"]), Decimal(method["late_points"]), working_days=bool(method["working_days"])
            )
        case "external":
            return None
    raise ValueError(f"unknown method type {method['type']!r}")


def load_criteria_file(path: Path) -> CriteriaSet:
    """Load and validate one `<province>/criteria/<year>.yaml`, or raise with every problem found."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CriteriaConfigError(
            [ConfigProblem(str(path), "$", f"không đọc được tệp: {exc.strerror or exc}")]
        ) from None
    per_group = path.parent.parent.name == "criteria"  # criteria/<year>/<group>.yaml
    if per_group:
        folder = path.parents[2].name
    else:
        folder = path.parent.parent.name if path.parent.name == "criteria" else path.parent.name

    def where_it_sits(config: _SetConfig, bad: Callable[[str, str], None]) -> None:
        if config.province != folder:
            bad("province", f"mã tỉnh {config.province!r} phải trùng tên thư mục tỉnh {folder!r}")
        if not per_group and path.stem != str(config.year):
            bad("year", f"năm {config.year} không khớp tên tệp {path.name!r} (cần {config.year}.yaml)")
        if per_group and path.parent.name != str(config.year):
            bad("year", f"năm {config.year} không khớp thư mục {path.parent.name!r} (cần criteria/{config.year}/)")
        if per_group and config.group != path.stem:
            bad("group", f"nhóm xếp hạng {config.group!r} phải trùng tên tệp {path.name!r} (cần group: {path.stem})")
        if not per_group and config.group is not None:
            bad("group", f"bộ chỉ số của một nhóm đặt ở criteria/{config.year}/{config.group}.yaml")

    return _load(data, path, where_it_sits)


def load_criteria_text(data: str | bytes, name: str, expected_province: str) -> CriteriaSet:
    """Validate a criteria set given as text or bytes (an uploaded file named `name`) for `expected_province`.

    The same checks as a file, except where it sits: the province in the content must be `expected_province`,
    and the year a plausible one. Raises CriteriaConfigError with every problem found.
    """

    def for_this_province(config: _SetConfig, bad: Callable[[str, str], None]) -> None:
        if config.province != expected_province:
            bad("province", f"mã tỉnh {config.province!r} không phải tỉnh này (cần {expected_province!r})")
        if not MIN_YEAR <= config.year <= MAX_YEAR:
            bad("year", f"năm {config.year} không hợp lệ (cần từ {MIN_YEAR} đến {MAX_YEAR})")

    return _load(data, Path(name), for_this_province, trusted=False)


def _load(
    data: str | bytes,
    path: Path,
    identity: Callable[[_SetConfig, Callable[[str, str], None]], None],
    *,
    trusted: bool = True,
) -> CriteriaSet:
    """The checks every criteria set goes through; `identity` checks province and year against its origin."""
    name = str(path)
    problems: list[ConfigProblem] = []

    def bad(where: str, reason: str) -> None:
        problems.append(ConfigProblem(name, where, reason))

    raw = _read_yaml(data, bad, trusted=trusted)
    if raw is None:
        raise CriteriaConfigError(problems)
    try:
        config = msgspec.convert(raw, _SetConfig, strict=True)
    except msgspec.ValidationError as exc:
        where, reason = _shape_reason(str(exc))
        bad(where, reason)
        raise CriteriaConfigError(problems) from None

    identity(config, bad)
    total_max = _points(config.total_max, "total_max", "tổng điểm tối đa", bad)
    if total_max is not None and total_max <= 0:
        bad("total_max", "tổng điểm tối đa phải lớn hơn 0")
    if not config.areas:
        bad("areas", "bộ chỉ số phải có ít nhất một lĩnh vực")

    nodes: list[CriterionNodeRow] = []
    seen: set[str] = set()
    areas = [
        _walk(raw_area, f"areas[{index}]", None, 0, index + 1, "criterion", nodes, seen, bad)
        for index, raw_area in enumerate(config.areas)
    ]
    counted = sum((top for top, kind in areas if top is not None and kind in COUNTED_KINDS), Decimal(0))
    if total_max is not None and all(top is not None and kind in KINDS for top, kind in areas) and counted != total_max:
        bad(
            "total_max",
            f"tổng điểm tối đa các lĩnh vực (trừ điểm cộng, điểm trừ) là {_show(counted)}, "
            f"không bằng total_max {_show(total_max)}",
        )
    area_codes = {n.code for n in nodes if n.depth == 0}
    for previous, here in config.maps_from_previous.items():
        if here not in area_codes:
            bad(f"maps_from_previous.{previous}", f"lĩnh vực {here!r} không có trong bộ chỉ số năm {config.year}")
    if config.group is not None and not CODE.fullmatch(config.group):
        bad("group", f"mã nhóm xếp hạng {config.group!r} không hợp lệ: chỉ chữ thường không dấu, số và '-'")
    parts = _parts(config, total_max, areas, bad)
    bonus_cap = (
        _points(config.bonus_cap, "bonus_cap", "điểm cộng tối đa", bad, "bonus_cap")
        if config.bonus_cap is not None
        else None
    )
    penalty_cap = (
        _points(config.penalty_cap, "penalty_cap", "điểm trừ tối đa", bad, "penalty_cap")
        if config.penalty_cap is not None
        else None
    )
    rules = _not_applicable(config.not_applicable, nodes, bad)
    if problems:
        raise CriteriaConfigError(problems)
    assert total_max is not None
    return CriteriaSet(
        path,
        config.province,
        config.year,
        total_max,
        dict(config.maps_from_previous),
        nodes,
        group=config.group,
        parts=parts,
        bonus_cap=bonus_cap,
        penalty_cap=penalty_cap,
        not_applicable=rules,
    )


def _parts(
    config: _SetConfig,
    total_max: Decimal | None,
    areas: list[tuple[Decimal | None, str | None]],
    bad: Callable[[str, str], None],
) -> dict[str, Decimal]:
    """The declared parts, checked: they add up to the total, and the areas of each kind add up to their part."""
    if config.parts is None:
        return {}
    criteria = _points(config.parts.criteria, "parts", "phần tiêu chí", bad, "parts.criteria")
    survey = _points(config.parts.survey, "parts", "phần điều tra xã hội học", bad, "parts.survey")
    if criteria is None or survey is None:
        return {}
    if total_max is not None and criteria + survey != total_max:
        bad(
            "parts",
            f"phần tiêu chí {_show(criteria)} + phần điều tra xã hội học {_show(survey)} = "
            f"{_show(criteria + survey)}, không bằng total_max {_show(total_max)}",
        )
    if all(top is not None for top, _ in areas):
        for key, kind, declared, what in (
            ("criteria", "criterion", criteria, "tiêu chí"),
            ("survey", "survey", survey, "điều tra xã hội học"),
        ):
            found = sum((top for top, k in areas if top is not None and k == kind), Decimal(0))
            if found != declared:
                bad(
                    f"parts.{key}",
                    f"các lĩnh vực loại {kind} cộng lại {_show(found)}, không bằng phần {what} {_show(declared)}",
                )
    return {"criteria": criteria, "survey": survey}


def _not_applicable(
    rules: list[_NotApplicableConfig], nodes: list[CriterionNodeRow], bad: Callable[[str, str], None]
) -> tuple[NotApplicableRule, ...]:
    """The set's "không áp dụng" rules, each naming an attribute and criteria of this set that count in the total."""
    kinds = {n.code: n.kind for n in nodes}
    checked = []
    for index, rule in enumerate(rules):
        where = f"not_applicable[{index}]"
        if not CODE.fullmatch(rule.attribute):
            bad(
                f"{where}.attribute", f"thuộc tính {rule.attribute!r} không hợp lệ: chỉ chữ thường không dấu, số và '-'"
            )
        if not rule.reason.strip():
            bad(f"{where}.reason", "cần ghi lý do không áp dụng")
        if not rule.criteria:
            bad(f"{where}.criteria", "cần ít nhất một tiêu chí")
        for c_index, code in enumerate(rule.criteria):
            if code not in kinds:
                bad(f"{where}.criteria[{c_index}]", f"tiêu chí {code!r} không có trong bộ chỉ số")
            elif kinds[code] not in COUNTED_KINDS:
                bad(f"{where}.criteria[{c_index}]", f"{code!r} là điểm cộng hoặc điểm trừ: không tính vào điểm tối đa")
        checked.append(NotApplicableRule(rule.attribute, tuple(rule.criteria), rule.reason.strip()))
    return tuple(checked)


def _read_yaml(data: str | bytes, bad: Callable[[str, str], None], *, trusted: bool) -> dict[str, Any] | None:
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        bad("$", "tệp không phải UTF-8: hãy lưu lại với bảng mã UTF-8")
        return None
    if not trusted and (refused := _untrusted_shape(text)) is not None:
        bad(*refused)
        return None
    try:
        raw = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"dòng {mark.line + 1}, cột {mark.column + 1}" if mark is not None else "$"
        bad(where, yaml_reason(str(getattr(exc, "problem", None) or exc)))
        return None
    if not isinstance(raw, dict):
        bad("$", "nội dung phải là một ánh xạ (mapping) có 'province', 'year', 'total_max' và 'areas'")
        return None
    return raw


def _untrusted_shape(text: str) -> tuple[str, str] | None:
    """An uploaded text's first alias or too deep nesting, as (where, reason); None if there is neither.

    An alias repeats a whole subtree (a small upload could expand to billions of nodes), and the pure-Python
    YAML reader slows down with the square of the nesting depth: both are refused before the real load,
    by one pass of libyaml's parser (linear) where it is available.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            mark = event.start_mark
            where = f"dòng {mark.line + 1}, cột {mark.column + 1}" if mark is not None else "$"
            if isinstance(event, yaml.AliasEvent):
                return where, f"không dùng tham chiếu YAML (*{event.anchor}): hãy viết đầy đủ"
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    return where, f"cấu trúc lồng nhau quá sâu (tối đa {MAX_NESTING} cấp)"
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # the load reports it, with its place
    return None


def _walk(
    raw: object,
    where: str,
    parent: CriterionNodeRow | None,
    depth: int,
    position: int,
    inherited_kind: str,
    nodes: list[CriterionNodeRow],
    seen: set[str],
    bad: Callable[[str, str], None],
) -> tuple[Decimal | None, str | None]:
    """Check one node and its children, append the valid ones to `nodes`; return its max and kind (None: unusable)."""
    if isinstance(raw, dict) and isinstance(raw.get("code"), str) and raw["code"].strip():
        where = f"code {raw['code']}"
    if not isinstance(raw, dict):
        bad(where, "mỗi tiêu chí phải là một ánh xạ (mapping) có code, title, max_points")
        return None, None
    try:
        config = msgspec.convert(raw, _NodeConfig, strict=True)
    except msgspec.ValidationError as exc:
        key, reason = _shape_reason(str(exc))
        bad(where, reason if key == "$" else f"{key}: {reason}")
        return None, None
    code = config.code.strip()
    usable = True
    if not code or code != config.code or any(c.isspace() for c in code):
        bad(where, f"mã {config.code!r} không hợp lệ: không được trống hay có dấu cách")
        usable = False
    elif code in seen:
        bad(where, f"mã {code!r} bị trùng")
        usable = False
    seen.add(code)
    if not config.title.strip():
        bad(where, "tên tiêu chí (title) không được để trống")
    kind = config.kind if config.kind is not None else inherited_kind
    if kind not in KINDS:
        bad(where, f"loại {kind!r} không hợp lệ; chọn một trong {', '.join(KINDS)}")
    top = _points(config.max_points, where, "điểm tối đa", bad)
    method = _method(config.method or {"type": "manual"}, top, where, bad) if top is not None else None
    row: CriterionNodeRow | None = None
    if usable and top is not None and method is not None:
        row = CriterionNodeRow(
            code=code,
            parent_code=parent.code if parent is not None else None,
            depth=depth,
            position=position,
            title=config.title.strip(),
            max_points=top,
            kind=kind,
            method=method,
            evidence=config.evidence,
            lead_unit=config.lead_unit,
            appraising_agency=config.appraising_agency,
        )
        nodes.append(row)
    children = [
        _walk(child, f"{where}.children[{index}]", row, depth + 1, index + 1, kind, nodes, seen, bad)[0]
        for index, child in enumerate(config.children)
    ]
    known = [m for m in children if m is not None]
    if top is not None and sum(known, Decimal(0)) > top:
        bad(where, f"tổng điểm tối đa các tiêu chí con là {_show(sum(known, Decimal(0)))}, vượt {_show(top)}")
    return top, kind


def _method(raw: dict[str, Any], top: Decimal, where: str, bad: Callable[[str, str], None]) -> dict[str, Any] | None:
    """The method, checked against the node's max and normalised; None (and problems) if it is invalid."""
    kind = raw.get("type", "manual")
    if kind not in METHOD_TYPES:
        bad(where, f"method.type {kind!r} không hợp lệ; chọn một trong {', '.join(METHOD_TYPES)}")
        return None
    try:
        method = msgspec.convert({**raw, "type": kind}, _MethodConfig, strict=True)
    except msgspec.ValidationError as exc:
        key, reason = _shape_reason(str(exc))
        bad(where, f"method{key.removeprefix('$')}: {reason}")
        return None
    problems_before = _Counter(bad)
    report = problems_before.bad

    def within(value: Points, what: str, key: str) -> Decimal | None:
        points = _points(value, where, what, report, key)
        if points is not None and not Decimal(0) <= points <= top:
            report(where, f"{key}: {what} {_show(points)} phải nằm trong khoảng 0–{_show(top)}")
            return None
        return points

    normal: dict[str, Any] = {"type": kind}
    match method:
        case _RatioMethod(places=places):
            if not 0 <= places <= MAX_RATIO_PLACES:
                report(where, f"method.places: số chữ số thập phân {places} phải từ 0 đến {MAX_RATIO_PLACES}")
            normal["places"] = places
        case _BandsMethod(bands=bands, otherwise=otherwise):
            if not bands:
                report(where, "method.bands: cần ít nhất một mức (at_least, points)")
            normal_bands = []
            for i, band in enumerate(bands):
                at_least = _points(band.at_least, where, "ngưỡng", report, f"method.bands[{i}].at_least")
                points = within(band.points, "điểm của mức", f"method.bands[{i}].points")
                if at_least is not None and points is not None:
                    normal_bands.append({"at_least": _text(at_least), "points": _text(points)})
            other = within(otherwise, "điểm khi không đạt mức nào", "method.otherwise")
            normal["bands"] = normal_bands
            normal["otherwise"] = _text(other) if other is not None else None
        case _IndexMethod(factor=factor):
            value = _points(factor, where, "hệ số", report, "method.factor")
            if value is not None and value <= 0:
                report(where, f"method.factor: hệ số {_show(value)} phải lớn hơn 0")
            normal["factor"] = _text(value) if value is not None else None
        case _DeadlineMethod(days=days, working_days=working_days, late_points=late_points):
            if days < 0:
                report(where, f"method.days: số ngày {days} không được âm")
            late = within(late_points, "điểm khi quá hạn", "method.late_points")
            normal.update(days=days, working_days=working_days, late_points=_text(late) if late is not None else None)
    return None if problems_before.count else normal


class _Counter:
    """Forwards problems and counts them, so a method with any problem is left out."""

    def __init__(self, bad: Callable[[str, str], None]) -> None:
        self._bad, self.count = bad, 0

    def bad(self, where: str, reason: str) -> None:
        self.count += 1
        self._bad(where, reason)


def _points(
    value: Points, where: str, what: str, bad: Callable[[str, str], None], key: str = "max_points"
) -> Decimal | None:
    """A non-negative number of points with at most 3 decimals ("1,5" and "1.5" alike), or None and a problem."""
    try:
        points = parse_decimal(str(value) if isinstance(value, float) else value)
    except ScoringError:
        bad(where, f"{key}: {what} {value!r} không phải là số (ví dụ 1,5)")
        return None
    if points < 0:
        bad(where, f"{key}: {what} {_show(points)} không được âm")
        return None
    exponent = points.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > POINTS_PLACES:
        bad(where, f"{key}: {what} {_show(points)} có quá {POINTS_PLACES} chữ số thập phân")
        return None
    return points


def _text(value: Decimal) -> str:
    """Canonical text of a decimal for the stored method: "0.5", "100"."""
    return f"{value.normalize():f}"


def _show(value: Decimal) -> str:
    """The Vietnamese way: decimal comma."""
    return _text(value).replace(".", ",")


def _shape_reason(error: str) -> tuple[str, str]:
    """A shape error of a criteria set as (key path without `$.`, Vietnamese reason), at the key's parent."""
    found = shape_error(error, format_name="định dạng bộ chỉ số")
    return (found.path.removeprefix("$.") if found.path != "$" else "$"), found.reason
