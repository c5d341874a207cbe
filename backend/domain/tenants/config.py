"""The declarative tenant configuration under `tenants/`: one `province.yaml` per province folder.

Loading validates everything before anything is applied: shape (unknown keys, wrong types), codes,
references between units and groups, one Sở Nội vụ per province, one office per tenant. Every problem
is reported as `file: path: reason`, and one bad file rejects the whole sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
import yaml

from backend.db.models import Role, TenantKind, UnitKind

CODE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
DAY_MONTH = re.compile(r"^(\d{2})/(\d{2})$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ReportPeriod = Literal["quy-1", "6-thang", "quy-3", "nam"]
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
UNIT_REQUIRED_ROLES = {Role.UNIT_HEAD, Role.STAFF}


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    pass


class IdentityProviderConfig(_Strict, frozen=True):
    issuer: str
    client_id: str
    agency_claim: str = "agency"


class ReportDeadline(_Strict, frozen=True):
    period: ReportPeriod
    due: str  # dd/mm


class RankingGroupConfig(_Strict, frozen=True):
    code: str
    name: str


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


class TenantConfig(_Strict, frozen=True):
    code: str
    name: str
    kind: str
    short_name: str = ""
    ranking_group: str | None = None
    units: list[UnitConfig] = []
    unit_groups: list[UnitGroupConfig] = []
    demo_people: list[DemoPerson] = []


class ProvinceInfo(_Strict, frozen=True):
    code: str
    name: str
    identity_provider: IdentityProviderConfig
    report_deadlines: list[ReportDeadline] = []
    ranking_groups: list[RankingGroupConfig] = []


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
    files = sorted(directory.glob("*/province.yaml"))
    if not files:
        raise TenantConfigError([ConfigProblem(str(directory), "$", "không có tệp */province.yaml nào")])
    problems: list[ConfigProblem] = []
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
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return None, [ConfigProblem(name, "$", "tệp không phải UTF-8")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"dòng {mark.line + 1}, cột {mark.column + 1}" if mark is not None else "$"
        return None, [ConfigProblem(name, where, f"YAML không hợp lệ: {getattr(exc, 'problem', exc)}")]
    if not isinstance(raw, dict):
        return None, [ConfigProblem(name, "$", "nội dung phải là một ánh xạ (mapping) có 'province' và 'tenants'")]
    try:
        config = msgspec.convert(raw, ProvinceConfig, strict=True)
    except msgspec.ValidationError as exc:
        reason, _, path = str(exc).partition(" - at `")
        return None, [ConfigProblem(name, path.rstrip("`") or "$", reason)]
    problems = validate_province(config, file)
    return (None if problems else LoadedProvince(file, config)), problems


def validate_province(config: ProvinceConfig, file: Path) -> list[ConfigProblem]:
    name = str(file)
    problems: list[ConfigProblem] = []

    def bad(path: str, reason: str) -> None:
        problems.append(ConfigProblem(name, path, reason))

    def check_code(path: str, code: str) -> None:
        if not CODE.match(code):
            bad(path, f"mã {code!r} không hợp lệ: chỉ chữ thường không dấu, số và '-' (tối đa 63 ký tự)")

    def check_name(path: str, value: str) -> None:
        if not value.strip():
            bad(path, "tên không được để trống")

    province = config.province
    check_code("$.province.code", province.code)
    check_name("$.province.name", province.name)
    if file.parent.name != province.code:
        bad("$.province.code", f"mã tỉnh {province.code!r} phải trùng tên thư mục {file.parent.name!r}")
    idp = province.identity_provider
    if not idp.issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        bad("$.province.identity_provider.issuer", "issuer phải là URL https")
    if not idp.client_id.strip():
        bad("$.province.identity_provider.client_id", "client_id không được để trống")

    seen_periods: set[str] = set()
    for i, deadline in enumerate(province.report_deadlines):
        path = f"$.province.report_deadlines[{i}]"
        if deadline.period in seen_periods:
            bad(f"{path}.period", f"kỳ báo cáo {deadline.period!r} bị lặp")
        seen_periods.add(deadline.period)
        match = DAY_MONTH.match(deadline.due)
        if not match or not (1 <= int(match[2]) <= 12 and 1 <= int(match[1]) <= DAYS_IN_MONTH[int(match[2]) - 1]):
            bad(f"{path}.due", f"hạn {deadline.due!r} phải có dạng dd/mm và là một ngày có thật")

    group_codes = _unique_codes([g.code for g in province.ranking_groups], "$.province.ranking_groups", check_code, bad)

    tenant_codes = _unique_codes([t.code for t in config.tenants], "$.tenants", check_code, bad)
    home_affairs = [t.code for t in config.tenants if t.kind == TenantKind.HOME_AFFAIRS]
    if len(home_affairs) != 1:
        bad("$.tenants", f"mỗi tỉnh có đúng một Sở Nội vụ (kind: home_affairs), tìm thấy {len(home_affairs)}")
    del tenant_codes

    for t_index, tenant in enumerate(config.tenants):
        tpath = f"$.tenants[{t_index}]"
        check_name(f"{tpath}.name", tenant.name)
        if tenant.kind not in set(TenantKind):
            bad(f"{tpath}.kind", f"loại {tenant.kind!r} không hợp lệ; chọn một trong {_choices(TenantKind)}")
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
            bad(f"{tpath}.units", f"mỗi đơn vị có đúng một Văn phòng (kind: office), tìm thấy {offices}")
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
                bad(f"{gpath}.members", "một phòng, đơn vị được liệt kê hai lần")
        for p_index, person in enumerate(tenant.demo_people):
            ppath = f"{tpath}.demo_people[{p_index}]"
            if not EMAIL.match(person.email):
                bad(f"{ppath}.email", f"email {person.email!r} không hợp lệ")
            if person.role not in set(Role) or person.role == Role.PLATFORM_ADMIN:
                bad(f"{ppath}.role", f"vai trò {person.role!r} không hợp lệ")
            if person.unit is not None and person.unit not in unit_codes:
                bad(f"{ppath}.unit", f"phòng, đơn vị {person.unit!r} không có trong units của {tenant.code!r}")
            if person.unit is None and person.role in UNIT_REQUIRED_ROLES:
                bad(f"{ppath}.unit", f"vai trò {person.role!r} cần một phòng, đơn vị")
    return problems


def _unique_codes(codes: list[str], path: str, check_code: object, bad: object) -> set[str]:
    seen: set[str] = set()
    for index, code in enumerate(codes):
        check_code(f"{path}[{index}].code", code)  # type: ignore[operator]
        if code in seen:
            bad(f"{path}[{index}].code", f"mã {code!r} bị trùng")  # type: ignore[operator]
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


def _choices(kind: type[object]) -> str:
    return ", ".join(str(v) for v in kind)  # type: ignore[attr-defined]
