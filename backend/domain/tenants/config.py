"""The declarative tenant configuration under `tenants/`: one `province.yaml` per province folder.

Loading validates everything before anything is applied: shape (unknown keys, wrong types), codes,
references between units and groups, one Sở Nội vụ per province, one office per tenant. Every problem
is reported as `file: path: reason`, and one bad file rejects the whole sync.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args
from urllib.parse import urlsplit

import msgspec
import yaml

from backend.auth.permissions import UNIT_ROLES
from backend.db.models import Role, TenantKind, UnitKind

CODE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")  # used with fullmatch
DAY_MONTH = re.compile(r"([0-9]{2})/([0-9]{2})")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,64}")  # RFC 6749 §3.3 scope-token, fullmatch
CLAIM_NAME = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII without spaces, fullmatch
DEFAULT_SCOPES = ("openid", "email", "profile")
MAX_SCOPES = 20
ReportPeriod = Literal["quy-1", "6-thang", "quy-3", "nam"]
REPORT_PERIODS: tuple[str, ...] = get_args(ReportPeriod)
LOCAL_ISSUER_HOSTS = {"localhost", "127.0.0.1", "::1"}  # the development IdP only
# Column sizes of the tables the sync writes (backend.db.models): longer values are rejected here,
# not by the database halfway through the transaction.
MAX_NAME = 255
MAX_INDEX_PLACES = 3
MAX_SHORT_NAME = 31
MAX_EMAIL = 255  # users.subject
MAX_ISSUER = 255  # users.issuer
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class ClaimMapping(_Strict, frozen=True):
    """A person whose ID token has `claim` equal to (or, for a list, containing) `value` gets `role` in `tenant`;
    without `claim`, the province's agency claim."""

    value: str
    tenant: str
    role: str
    claim: str | None = None


class IdentityProviderConfig(_Strict, frozen=True):
    """The province's OpenID provider: what parboard asks it for (`scopes`) and where its answers are (the claim
    names). Providers release custom claims, such as the agency, only under a scope that asks for them."""

    issuer: str
    client_id: str
    scopes: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_SCOPES))
    agency_claim: str = "agency"
    email_claim: str = "email"
    name_claim: str = "name"
    # Only `email_verified: true` lets an e-mail take an invitation; a provider known never to send the claim
    # (while checking every address itself) is trusted here, explicitly, per province.
    trust_email_without_verified: bool = False
    claim_mappings: list[ClaimMapping] = []


class ReportDeadline(_Strict, frozen=True):
    period: ReportPeriod
    due: str  # dd/mm


class RankingGroupConfig(_Strict, frozen=True):
    code: str
    name: str


class ResultClassConfig(_Strict, frozen=True):
    """A class of published results: index at least `min_index` and, with `area_floor`, no area below it."""

    code: str
    label: str
    min_index: str | int  # "90", "80,5": a percentage
    area_floor: str | int | None = None


class SurveyAnswersConfig(_Strict, frozen=True):
    """How questionnaire answers become survey points: each answer's share of the item's points (percent; an
    answer not listed, such as E, is left out) and the fewest answers a unit needs for the part to apply."""

    shares: dict[str, str | int] = msgspec.field(default_factory=lambda: {"A": "100", "B": "60", "C": "20", "D": "0"})
    min_answers: int = 10


class UnitConfig(_Strict, frozen=True):
    code: str
    name: str
    kind: str


class UnitGroupConfig(_Strict, frozen=True):
    code: str
    name: str
    members: list[str]


class DemoPerson(_Strict, frozen=True):
    email: str
    name: str
    role: str
    unit: str | None = None


class BoardColumnConfig(_Strict, frozen=True):
    """A status column of the remedy board: `done` marks finished tasks (never overdue), `needs_confirmation`
    lets only the focal point or a leader move a card into it."""

    code: str
    name: str
    wip_limit: int | None = None
    done: bool = False
    needs_confirmation: bool = False


class HolidayYear(_Strict, frozen=True):
    holidays: list[str] = []  # "dd/mm" or "dd/mm-dd/mm": days off besides the weekends
    working_weekends: list[str] = []  # Saturdays or Sundays worked in exchange (làm bù)


class DateRangeConfig(_Strict, frozen=True):
    start: str = msgspec.field(name="from")  # dd/mm/yyyy
    end: str = msgspec.field(name="to")


class CalendarYearConfig(_Strict, frozen=True):
    """One year of the province's calendar (backend.domain.submissions.calendar)."""

    self_assessment: DateRangeConfig
    submission_deadline: str
    explanation_deadline: str
    round_1: DateRangeConfig
    round_2: DateRangeConfig


class TenantConfig(_Strict, frozen=True):
    code: str
    name: str
    kind: str
    short_name: str = ""
    ranking_group: str | None = None
    attributes: list[str] = []  # e.g. khong-tthc: what a criteria set's "không áp dụng" rules look for
    units: list[UnitConfig] = []
    unit_groups: list[UnitGroupConfig] = []
    demo_people: list[DemoPerson] = []
    board_columns: list[BoardColumnConfig] | None = None  # None: the province's, else the four defaults


class ProvinceInfo(_Strict, frozen=True):
    code: str
    name: str
    # Required; `null` (said explicitly) while nobody signs in to the province yet: no tenant may succeed into it
    # (tenants/lineage.yaml)
    identity_provider: IdentityProviderConfig | None
    demo: bool = False  # demo data: every page of the province says so
    report_deadlines: list[ReportDeadline] = []
    ranking_groups: list[RankingGroupConfig] = []
    # A year listed here replaces the built-in national calendar of that year (backend.domain.remedies.deadlines)
    holidays: dict[int, HolidayYear] = {}
    board_columns: list[BoardColumnConfig] | None = None  # every department's board, unless it has its own
    calendar: dict[int, CalendarYearConfig] = {}  # year → self-assessment, submission, appraisal dates
    index_places: int = 2  # decimals of the published index (Chỉ số CCHC, %)
    result_classes: dict[int, list[ResultClassConfig]] = {}  # year → classes, best first
    survey_answers: SurveyAnswersConfig | None = None  # None: A 100 %, B 60 %, C 20 %, D 0 %, at least 10 answers


class ProvinceConfig(_Strict, frozen=True):
    province: ProvinceInfo
    tenants: list[TenantConfig]


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.reason}"


class TenantConfigError(ValueError):
    """The configuration is rejected whole; `problems` says where and why."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedProvince:
    file: Path
    config: ProvinceConfig


def load_directory(directory: Path) -> list[LoadedProvince]:
    """Load and validate every `*/province.yaml` below `directory`, or raise with every problem found."""
    if not directory.is_dir():
        raise TenantConfigError([ConfigProblem(str(directory), "$", "thư mục cấu hình không tồn tại")])
    problems: list[ConfigProblem] = []
    files: list[Path] = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        file = folder / "province.yaml"
        if file.is_file():
            files.append(file)
        else:
            # A misspelt `province.yml` must not leave a province silently out of the sync.
            problems.append(ConfigProblem(str(folder), "$", "thư mục tỉnh không có tệp province.yaml"))
    if not files and not problems:
        raise TenantConfigError([ConfigProblem(str(directory), "$", "không có tệp */province.yaml nào")])
    loaded: list[LoadedProvince] = []
    for file in files:
        province, file_problems = load_file(file)
        problems.extend(file_problems)
        if province is not None:
            loaded.append(province)
    problems.extend(_cross_file_problems(loaded))
    if problems:
        raise TenantConfigError(problems)
    return loaded


def load_file(file: Path) -> tuple[LoadedProvince | None, list[ConfigProblem]]:
    name = str(file)
    try:
        data = file.read_bytes()
    except OSError as exc:
        return None, [ConfigProblem(name, "$", f"không đọc được tệp: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [ConfigProblem(name, f"dòng {line}", "tệp không phải UTF-8: hãy lưu lại với bảng mã UTF-8")]
    try:
        raw = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"dòng {mark.line + 1}, cột {mark.column + 1}" if mark is not None else "$"
        return None, [ConfigProblem(name, where, yaml_reason(str(getattr(exc, "problem", None) or exc)))]
    if raw is None:
        return None, [ConfigProblem(name, "$", "tệp rỗng: cần hai khóa 'province' và 'tenants'")]
    if not isinstance(raw, dict):
        return None, [
            ConfigProblem(
                name,
                "$",
                f"nội dung phải là một ánh xạ (mapping) có 'province' và 'tenants', không phải {_type_name(raw)}",
            )
        ]
    try:
        config = msgspec.convert(raw, ProvinceConfig, strict=True)
    except msgspec.ValidationError as exc:
        return None, [_shape_problem(name, str(exc))]
    problems = validate_province(config, file)
    return (None if problems else LoadedProvince(file, config)), problems


class StrictLoader(yaml.SafeLoader):
    """The safe loader, but a key given twice in one mapping is an error (PyYAML silently keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        try:
            first = seen.get(key)
        except TypeError:  # unhashable: SafeLoader reports it below
            continue
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"khóa {key!r} bị lặp (đã có ở dòng {first + 1})", key_node.start_mark
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

# PyYAML's usual complaints, in the words of the person editing the file; others are shown as they are.
_YAML_PROBLEMS = (
    ("khóa ", ""),  # ours (duplicate key): already Vietnamese
    ("mapping values are not allowed here", "không được có dấu ':' ở đây; tên có dấu ':' phải đặt trong ngoặc kép"),
    ("expected ',' or '}'", "thiếu ',' hoặc '}' trong dạng {...}; tên có dấu phẩy phải đặt trong ngoặc kép"),
    ("expected ',' or ']'", "thiếu ',' hoặc ']' trong dạng [...]"),
    ("found character '\\t'", "không dùng ký tự tab để thụt lề, hãy dùng dấu cách"),
    ("but found another document", "tệp chỉ được có một tài liệu YAML (bỏ dòng '---' thứ hai)"),
    ("found unexpected end of stream", "tệp kết thúc khi chuỗi trong ngoặc kép chưa được đóng"),
    ("could not find expected ':'", "thiếu dấu ':' sau khóa"),
    ("expected <block end>", "thụt lề không khớp với các dòng phía trên"),
    ("found undefined alias", "tham chiếu (*alias) không được định nghĩa"),
)


def yaml_reason(problem: str) -> str:
    for english, vietnamese in _YAML_PROBLEMS:
        if problem.startswith(english):
            return f"YAML không hợp lệ: {vietnamese or problem}"
    return f"YAML không hợp lệ ({problem})"


TYPE_NAMES = {
    "str": "chuỗi",
    "int": "số nguyên",
    "float": "số thực",
    "bool": "giá trị đúng/sai",
    "null": "giá trị rỗng (null)",
    "array": "danh sách",
    "object": "ánh xạ (mapping)",
}
_MSGSPEC_ERROR = re.compile(r"(?P<message>.*?)(?: - at `(?P<path>[^`]*)`(?: in `(?P<parent>[^`]*)`)?)?", re.DOTALL)


def _type_name(value: object) -> str:
    if value is None:
        return TYPE_NAMES["null"]
    if isinstance(value, bool):
        return TYPE_NAMES["bool"]
    if isinstance(value, list):
        return TYPE_NAMES["array"]
    return TYPE_NAMES.get(type(value).__name__, type(value).__name__)


class ShapeError(NamedTuple):
    """A msgspec shape error, read: where (`$.a.b`; with `field` for an unknown or missing key) and why."""

    path: str
    field: str | None
    reason: str  # Vietnamese


def shape_error(error: str, *, format_name: str) -> ShapeError:
    """msgspec's (English) shape error as a Vietnamese reason at the offending key; `format_name` names the
    format an unknown key is not part of. Shared by the tenants and the criteria-set loaders."""
    parsed = _MSGSPEC_ERROR.fullmatch(error)
    assert parsed is not None  # the pattern matches any text
    message, path = parsed["message"], parsed["path"] or "$"
    if parsed["parent"] is not None:  # "Expected `str` - at `key` in `$.x`": a key that is not text
        return ShapeError(parsed["parent"], None, "mọi khóa phải là chuỗi")
    if found := re.fullmatch(r"Object contains unknown field `(.*)`", message, re.DOTALL):
        return ShapeError(path, found[1], f"khóa lạ {found[1]!r}: không có trong {format_name}")
    if found := re.fullmatch(r"Object missing required field `(.*)`", message, re.DOTALL):
        return ShapeError(path, found[1], f"thiếu khóa bắt buộc {found[1]!r}")
    if found := re.fullmatch(r"Expected `([^`]+)`, got `(\w+)`", message):
        wanted = " hoặc ".join(TYPE_NAMES.get(t.strip(), t.strip()) for t in found[1].split("|"))
        return ShapeError(path, None, f"sai kiểu: cần {wanted}, nhưng là {TYPE_NAMES.get(found[2], found[2])}")
    if found := re.fullmatch(r"Invalid enum value (.*)", message, re.DOTALL):
        return ShapeError(path, None, f"giá trị {found[1]} không hợp lệ")
    return ShapeError(path, None, f"dữ liệu không hợp lệ ({message})")


def _shape_problem(file: str, error: str) -> ConfigProblem:
    """A shape error of a tenants file, at the offending key itself."""
    found = shape_error(error, format_name="định dạng (xem tenants/README.md)")
    path = f"{found.path}.{found.field}" if found.field else found.path
    reason = found.reason
    if path.endswith(".period") and reason.startswith("giá trị "):  # a report period outside the four
        reason += f"; chọn một trong {', '.join(REPORT_PERIODS)}"
    return ConfigProblem(file, path, reason)


def _issuer_problem(issuer: str) -> str | None:
    reason = "issuer phải là URL https:// của nhà cung cấp định danh (http chỉ dùng cho localhost khi phát triển)"
    if any(c.isspace() for c in issuer):
        return reason
    try:
        parts = urlsplit(issuer)
        host = parts.hostname
    except ValueError:
        return reason
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_ISSUER_HOSTS)):
        return reason
    if parts.query or parts.fragment:
        return "issuer không được có phần truy vấn (?) hay phân đoạn (#)"
    if len(issuer) > MAX_ISSUER:
        return f"issuer dài {len(issuer)} ký tự, tối đa {MAX_ISSUER}"
    return None


# The province's sections another feature owns (`holidays`: the work calendar of remedies; `calendar`: the
# submission calendar) are checked by that feature, registered in backend/domain/__init__.py: this module
# imports none of them. A check takes the section as plain data and its path, and returns (path, reason).
SectionCheck = Callable[[Any, str], Iterable[tuple[str, str]]]
SECTION_CHECKS: dict[str, SectionCheck] = {}


def validate_province(config: ProvinceConfig, file: Path) -> list[ConfigProblem]:
    name = str(file)
    problems: list[ConfigProblem] = []

    def bad(path: str, reason: str) -> None:
        problems.append(ConfigProblem(name, path, reason))

    def check_code(path: str, code: str) -> None:
        if not CODE.fullmatch(code):
            bad(path, f"mã {code!r} không hợp lệ: chỉ chữ thường không dấu, số và '-' (tối đa 63 ký tự)")

    def check_name(path: str, value: str, limit: int = MAX_NAME) -> None:
        if not value.strip():
            bad(path, "tên không được để trống")
        elif len(value) > limit:
            bad(path, f"tên dài {len(value)} ký tự, tối đa {limit}")

    province = config.province
    check_code("$.province.code", province.code)
    check_name("$.province.name", province.name)
    if file.parent.name != province.code:
        bad(
            "$.province.code",
            f"tỉnh không xác định: mã tỉnh {province.code!r} phải trùng tên thư mục {file.parent.name!r}",
        )
    idp = province.identity_provider or IdentityProviderConfig(issuer="https://none.invalid", client_id="-")
    if province.identity_provider is not None and (issuer_problem := _issuer_problem(idp.issuer)) is not None:
        bad("$.province.identity_provider.issuer", issuer_problem)
    if not idp.client_id.strip():
        bad("$.province.identity_provider.client_id", "client_id không được để trống")
    _check_scopes(idp.scopes, "$.province.identity_provider.scopes", bad)
    for claim_key in ("agency_claim", "email_claim", "name_claim"):
        value = getattr(idp, claim_key)
        if not value.strip():
            bad(f"$.province.identity_provider.{claim_key}", f"{claim_key} không được để trống")
        elif not CLAIM_NAME.fullmatch(value):
            bad(
                f"$.province.identity_provider.{claim_key}",
                f"tên claim {value!r} không hợp lệ: chỉ ký tự ASCII in được, không dấu cách, tối đa 255 ký tự",
            )

    seen_periods: set[str] = set()
    for i, deadline in enumerate(province.report_deadlines):
        path = f"$.province.report_deadlines[{i}]"
        if deadline.period in seen_periods:
            bad(f"{path}.period", f"kỳ báo cáo {deadline.period!r} bị lặp")
        seen_periods.add(deadline.period)
        match = DAY_MONTH.fullmatch(deadline.due)
        if not match or not (1 <= int(match[2]) <= 12 and 1 <= int(match[1]) <= DAYS_IN_MONTH[int(match[2]) - 1]):
            bad(f"{path}.due", f'hạn {deadline.due!r} phải có dạng dd/mm (ví dụ "10/03") và là một ngày có thật')

    for section, check in SECTION_CHECKS.items():
        for path, reason in check(msgspec.to_builtins(getattr(province, section)), f"$.province.{section}"):
            bad(path, reason)
    if province.board_columns is not None:
        _check_board_columns(province.board_columns, "$.province.board_columns", check_code, bad)

    group_codes = _unique_codes([g.code for g in province.ranking_groups], "$.province.ranking_groups", check_code, bad)
    for g_index, ranking_group in enumerate(province.ranking_groups):
        check_name(f"$.province.ranking_groups[{g_index}].name", ranking_group.name)

    if not 0 <= province.index_places <= MAX_INDEX_PLACES:
        bad("$.province.index_places", f"số chữ số thập phân của chỉ số phải từ 0 đến {MAX_INDEX_PLACES}")
    if province.survey_answers is not None:
        answers = province.survey_answers
        for answer, share in answers.shares.items():
            if answer not in ("A", "B", "C", "D", "E"):
                bad(f"$.province.survey_answers.shares.{answer}", "câu trả lời phải là một trong A, B, C, D, E")
            _percentage(share, f"$.province.survey_answers.shares.{answer}", bad)
        if not answers.shares:
            bad("$.province.survey_answers.shares", "cần ít nhất một câu trả lời có điểm")
        if answers.min_answers < 1:
            bad("$.province.survey_answers.min_answers", "số phiếu tối thiểu phải từ 1 trở lên")
    for year, classes in province.result_classes.items():
        _check_result_classes(classes, f"$.province.result_classes.{year}", check_code, check_name, bad)

    _unique_codes([t.code for t in config.tenants], "$.tenants", check_code, bad)
    # A demo person may hold roles in several tenants of the province: always as the same person.
    people: dict[str, str] = {}
    home_affairs = [t.code for t in config.tenants if t.kind == TenantKind.HOME_AFFAIRS]
    if len(home_affairs) != 1:
        found = f"{len(home_affairs)}" + (f" ({', '.join(home_affairs)})" if home_affairs else "")
        bad("$.tenants", f"mỗi tỉnh có đúng một Sở Nội vụ (kind: home_affairs), tìm thấy {found}")

    tenant_codes = {t.code for t in config.tenants}
    for m_index, mapping in enumerate(idp.claim_mappings):
        mpath = f"$.province.identity_provider.claim_mappings[{m_index}]"
        if mapping.claim is not None and not CLAIM_NAME.fullmatch(mapping.claim):
            bad(f"{mpath}.claim", "tên claim không được để trống, chỉ ký tự ASCII in được, không dấu cách")
        if not mapping.value.strip():
            bad(f"{mpath}.value", "giá trị claim không được để trống")
        if mapping.tenant not in tenant_codes:
            bad(f"{mpath}.tenant", f"đơn vị {mapping.tenant!r} không có trong tenants của tỉnh")
        if mapping.role not in set(Role) or mapping.role == Role.PLATFORM_ADMIN:
            bad(f"{mpath}.role", f"vai trò {mapping.role!r} không hợp lệ")

    for t_index, tenant in enumerate(config.tenants):
        tpath = f"$.tenants[{t_index}]"
        check_name(f"{tpath}.name", tenant.name)
        if tenant.board_columns is not None:
            _check_board_columns(tenant.board_columns, f"{tpath}.board_columns", check_code, bad)
        if len(tenant.short_name) > MAX_SHORT_NAME:
            bad(f"{tpath}.short_name", f"ký hiệu dài {len(tenant.short_name)} ký tự, tối đa {MAX_SHORT_NAME}")
        if tenant.kind not in set(TenantKind):
            bad(f"{tpath}.kind", f"loại {tenant.kind!r} không hợp lệ; chọn một trong {_choices(TenantKind)}")
        if tenant.ranking_group is None and province.ranking_groups:
            bad(f"{tpath}.ranking_group", "mỗi đơn vị thuộc đúng một nhóm xếp hạng: cần khai báo ranking_group")
        for a_index, attribute in enumerate(tenant.attributes):
            check_code(f"{tpath}.attributes[{a_index}]", attribute)
        if tenant.ranking_group is not None and tenant.ranking_group not in group_codes:
            bad(
                f"{tpath}.ranking_group",
                f"nhóm xếp hạng {tenant.ranking_group!r} không có trong ranking_groups",
            )
        unit_codes = _unique_codes([u.code for u in tenant.units], f"{tpath}.units", check_code, bad)
        offices = 0
        for u_index, unit in enumerate(tenant.units):
            check_name(f"{tpath}.units[{u_index}].name", unit.name)
            if unit.kind not in set(UnitKind):
                bad(
                    f"{tpath}.units[{u_index}].kind",
                    f"loại {unit.kind!r} không hợp lệ; chọn một trong {_choices(UnitKind)}",
                )
            offices += unit.kind == UnitKind.OFFICE
        if tenant.units and offices != 1:
            bad(f"{tpath}.units", f"mỗi sở có đúng một Văn phòng (kind: office), tìm thấy {offices}")
        _unique_codes([g.code for g in tenant.unit_groups], f"{tpath}.unit_groups", check_code, bad)
        for g_index, group in enumerate(tenant.unit_groups):
            gpath = f"{tpath}.unit_groups[{g_index}]"
            check_name(f"{gpath}.name", group.name)
            if not group.members:
                bad(f"{gpath}.members", "nhóm phải có ít nhất một phòng, đơn vị")
            for m_index, member in enumerate(group.members):
                if member not in unit_codes:
                    bad(
                        f"{gpath}.members[{m_index}]",
                        f"phòng, đơn vị {member!r} không có trong units của {tenant.code!r}",
                    )
            if len(set(group.members)) != len(group.members):
                twice = sorted({m for m in group.members if group.members.count(m) > 1})
                bad(f"{gpath}.members", f"phòng, đơn vị được liệt kê hai lần: {', '.join(twice)}")
        seen_people: set[tuple[str, str]] = set()
        for p_index, person in enumerate(tenant.demo_people):
            ppath = f"{tpath}.demo_people[{p_index}]"
            if not EMAIL.fullmatch(person.email):
                bad(f"{ppath}.email", f"email {person.email!r} không hợp lệ")
            elif len(person.email) > MAX_EMAIL:
                bad(f"{ppath}.email", f"email dài {len(person.email)} ký tự, tối đa {MAX_EMAIL}")
            check_name(f"{ppath}.name", person.name)
            if person.role not in set(Role) or person.role == Role.PLATFORM_ADMIN:
                roles = ", ".join(r for r in Role if r != Role.PLATFORM_ADMIN)
                bad(f"{ppath}.role", f"vai trò {person.role!r} không hợp lệ; chọn một trong {roles}")
            if person.unit is not None and person.unit not in unit_codes:
                bad(f"{ppath}.unit", f"phòng, đơn vị {person.unit!r} không có trong units của {tenant.code!r}")
            if person.unit is None and person.role in UNIT_ROLES:
                bad(f"{ppath}.unit", f"vai trò {person.role!r} cần một phòng, đơn vị (khóa unit)")
            known = people.setdefault(person.email.lower(), person.name)
            if known != person.name:
                bad(f"{ppath}.name", f"email {person.email!r} đã được khai báo với tên {known!r} ở sở khác")
            key = (person.email.lower(), person.role)
            if key in seen_people:
                bad(ppath, f"người dùng mẫu {person.email!r} với vai trò {person.role!r} bị lặp trong sở")
            seen_people.add(key)
    return problems


def _check_scopes(scopes: list[str], path: str, bad: Callable[[str, str], None]) -> None:
    if "openid" not in scopes:
        bad(path, "danh sách scopes phải có 'openid' (không có nó nhà cung cấp không trả ID token)")
    if len(scopes) > MAX_SCOPES:
        bad(path, f"tối đa {MAX_SCOPES} scope, có {len(scopes)}")
    seen: set[str] = set()
    for index, scope in enumerate(scopes):
        if not SCOPE_TOKEN.fullmatch(scope):
            bad(
                f"{path}[{index}]",
                f"scope {scope!r} không hợp lệ: một từ ASCII in được, không dấu cách, dấu ngoặc kép hay gạch chéo "
                "ngược, tối đa 64 ký tự",
            )
        elif scope in seen:
            bad(f"{path}[{index}]", f"scope {scope!r} bị lặp")
        seen.add(scope)


def _check_result_classes(
    classes: list[ResultClassConfig],
    path: str,
    check_code: Callable[[str, str], None],
    check_name: Callable[[str, str], None],
    bad: Callable[[str, str], None],
) -> None:
    """Classes best first: codes unique, labels given, thresholds percentages that strictly decrease."""
    _unique_codes([c.code for c in classes], path, check_code, bad)
    previous: Decimal | None = None
    for index, entry in enumerate(classes):
        where = f"{path}[{index}]"
        check_name(f"{where}.label", entry.label)
        threshold = _percentage(entry.min_index, f"{where}.min_index", bad)
        if entry.area_floor is not None:
            _percentage(entry.area_floor, f"{where}.area_floor", bad)
        if threshold is not None:
            if previous is not None and threshold >= previous:
                bad(f"{where}.min_index", "các loại xếp từ cao xuống thấp: ngưỡng phải nhỏ hơn ngưỡng của loại trước")
            previous = threshold


def parse_percentage(value: str | int | None) -> Decimal | None:
    """A validated percentage of the file ("80,5") as a Decimal; None stays None."""
    return None if value is None else Decimal(str(value).strip().replace(",", "."))


def _percentage(value: str | int, path: str, bad: Callable[[str, str], None]) -> Decimal | None:
    """A percentage 0–100 with at most 3 decimals ("90", "80,5"), or None and a problem."""
    try:
        number = parse_percentage(value)
    except InvalidOperation:
        number = None
    exponent = number.as_tuple().exponent if number is not None and number.is_finite() else None
    if number is None or not isinstance(exponent, int) or exponent < -3 or not 0 <= number <= 100:
        bad(path, f"{value!r} phải là một tỷ lệ phần trăm từ 0 đến 100, tối đa 3 chữ số thập phân (ví dụ 80,5)")
        return None
    return number


def _unique_codes(
    codes: list[str],
    path: str,
    check_code: Callable[[str, str], None],
    bad: Callable[[str, str], None],
) -> set[str]:
    seen: set[str] = set()
    for index, code in enumerate(codes):
        check_code(f"{path}[{index}].code", code)
        if code in seen:
            bad(f"{path}[{index}].code", f"mã {code!r} bị trùng")
        seen.add(code)
    return seen


def _cross_file_problems(loaded: list[LoadedProvince]) -> list[ConfigProblem]:
    # One demo person may hold roles in several tenants of a province, but belongs to one province.
    problems: list[ConfigProblem] = []
    owner: dict[str, str] = {}
    for province in loaded:
        for t_index, tenant in enumerate(province.config.tenants):
            for p_index, person in enumerate(tenant.demo_people):
                first = owner.setdefault(person.email.lower(), str(province.file))
                if first != str(province.file):
                    problems.append(
                        ConfigProblem(
                            str(province.file),
                            f"$.tenants[{t_index}].demo_people[{p_index}].email",
                            f"email {person.email!r} đã dùng trong {first}",
                        )
                    )
    return problems


def _choices(kind: type[enum.StrEnum]) -> str:
    return ", ".join(str(v) for v in kind)


def with_issuer_base(provinces: list[LoadedProvince], base_url: str) -> list[LoadedProvince]:
    """Development: every province signs in through the local identity provider, one issuer each
    (`{base_url}/{province code}`), so a token of one province still cannot open another."""
    result = []
    for loaded in provinces:
        info = loaded.config.province
        if info.identity_provider is None:
            result.append(loaded)
            continue
        idp = msgspec.structs.replace(info.identity_provider, issuer=f"{base_url}/{info.code}")
        config = msgspec.structs.replace(loaded.config, province=msgspec.structs.replace(info, identity_provider=idp))
        result.append(LoadedProvince(loaded.file, config))
    return result


MAX_BOARD_COLUMNS = 8


def _check_board_columns(
    columns: list[BoardColumnConfig],
    path: str,
    check_code: Callable[[str, str], None],
    bad: Callable[[str, str], None],
) -> None:
    if not 2 <= len(columns) <= MAX_BOARD_COLUMNS:
        bad(path, f"bảng cần từ 2 đến {MAX_BOARD_COLUMNS} cột, có {len(columns)}")
    _unique_codes([c.code for c in columns], path, check_code, bad)
    for index, column in enumerate(columns):
        if not column.name.strip() or len(column.name) > 63:
            bad(f"{path}[{index}].name", "tên cột không được để trống và dài tối đa 63 ký tự")
        if column.wip_limit is not None and not 1 <= column.wip_limit <= 10_000:
            bad(f"{path}[{index}].wip_limit", f"giới hạn {column.wip_limit} phải từ 1 đến 10.000 (hoặc bỏ trống)")
    if columns and not any(c.done for c in columns):
        bad(path, "cần một cột hoàn thành (done: true)")
