"""Province files for the tests: the smallest valid province (tests/data/tenants/tinh-mau) written to a test's
directory, the mutations that break it, and the bad inputs that test_tenant_config and test_tenants_sync reject."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.domain.tenants.config import ConfigProblem, TenantConfigError, load_directory

SAMPLE_DIR = Path(__file__).parent / "data" / "tenants"
SAMPLE_FILE = SAMPLE_DIR / "tinh-mau" / "province.yaml"
SAMPLE_TEXT = SAMPLE_FILE.read_text(encoding="utf-8")
Mutation = Callable[[dict[str, Any]], None]
Key = str | int


def sample_province() -> dict[str, Any]:
    """A fresh copy of the smallest valid province, `tinh-mau` (two tenants, one of them Sở Nội vụ)."""
    data: dict[str, Any] = yaml.safe_load(SAMPLE_TEXT)
    return data


def write_province(root: Path, content: dict[str, Any] | str | bytes, folder: str = "tinh-mau") -> Path:
    """Write `root/<folder>/province.yaml` as YAML (a dict), text or raw bytes; return the file."""
    file = root / folder / "province.yaml"
    file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif isinstance(content, str):
        file.write_text(content, encoding="utf-8")
    else:
        file.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return file


def rejection(directory: Path) -> list[ConfigProblem]:
    with pytest.raises(TenantConfigError) as caught:
        load_directory(directory)
    problems = caught.value.problems
    assert problems
    assert str(caught.value) == "\n".join(f"{p.file}: {p.path}: {p.reason}" for p in problems)
    return problems


def _parent(data: Any, path: tuple[Key, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def setting(*path: Key, to: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        _parent(data, path)[path[-1]] = copy.deepcopy(to)

    return mutate


def removing(*path: Key) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        del _parent(data, path)[path[-1]]

    return mutate


def appending(*path: Key, item: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        _parent(data, path)[path[-1]].append(copy.deepcopy(item))

    return mutate


def duplicating(*path: Key) -> Mutation:
    """Append a copy of the list item at `path` to its own list."""

    def mutate(data: dict[str, Any]) -> None:
        items = _parent(data, path)
        items.append(copy.deepcopy(items[path[-1]]))

    return mutate


def combined(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


IDP = ("province", "identity_provider")


# tenants[0] is Sở Nội vụ (so-noi-vu); tenants[1] is Sở Tài chính (so-tai-chinh) with units
# [0] van-phong (office), [1] thanh-tra, [2] phong-ngan-sach; demo_people [0] focal_point, [1] unit_head.
STC = ("tenants", 1)
ISSUER = ("province", "identity_provider", "issuer")
BAD_INPUTS = [
    # shape: what msgspec checks, reported in Vietnamese at the offending key
    pytest.param(setting("comment", to="x"), "$.comment", "khóa lạ 'comment'", id="unknown_top_level_key"),
    pytest.param(
        setting(*STC, "units", 0, "colour", to="xanh"),
        "$.tenants[1].units[0].colour",
        "khóa lạ 'colour'",
        id="unknown_key_in_a_unit",
    ),
    pytest.param(
        setting("province", "identity_provider", "client_secret", to="s3cret"),
        "$.province.identity_provider.client_secret",
        "khóa lạ 'client_secret'",
        id="client_secret_in_the_file_is_an_unknown_key",
    ),
    # what parboard asks the provider for, and where its answers are
    pytest.param(
        setting(*IDP, "scopes", to=["email", "profile", "agency"]),
        "$.province.identity_provider.scopes",
        "danh sách scopes phải có 'openid'",
        id="scopes_without_openid",
    ),
    pytest.param(
        setting(*IDP, "scopes", to=["openid", "agency read"]),
        "$.province.identity_provider.scopes[1]",
        "scope 'agency read' không hợp lệ",
        id="scope_with_a_space",
    ),
    pytest.param(
        setting(*IDP, "scopes", to=["openid", 'x"y']),
        "$.province.identity_provider.scopes[1]",
        "không hợp lệ",
        id="scope_with_a_quote",
    ),
    pytest.param(
        setting(*IDP, "scopes", to=["openid", "email", "email"]),
        "$.province.identity_provider.scopes[2]",
        "scope 'email' bị lặp",
        id="scope_listed_twice",
    ),
    pytest.param(
        setting(*IDP, "scopes", to="openid email"),
        "$.province.identity_provider.scopes",
        "sai kiểu: cần danh sách, nhưng là chuỗi",
        id="scopes_as_one_string",
    ),
    pytest.param(
        setting(*IDP, "email_claim", to=" "),
        "$.province.identity_provider.email_claim",
        "email_claim không được để trống",
        id="blank_email_claim",
    ),
    pytest.param(
        setting(*IDP, "name_claim", to="họ tên"),
        "$.province.identity_provider.name_claim",
        "tên claim 'họ tên' không hợp lệ",
        id="name_claim_with_space_and_diacritics",
    ),
    pytest.param(
        setting(*IDP, "trust_email_without_verified", to="yes"),
        "$.province.identity_provider.trust_email_without_verified",
        "sai kiểu: cần giá trị đúng/sai, nhưng là chuỗi",
        id="trust_email_without_verified_not_a_boolean",
    ),
    pytest.param(
        setting(*STC, "units", to="van-phong"),
        "$.tenants[1].units",
        "sai kiểu: cần danh sách, nhưng là chuỗi",
        id="units_is_a_string",
    ),
    pytest.param(
        setting(*STC, "code", to=12),
        "$.tenants[1].code",
        "sai kiểu: cần chuỗi, nhưng là số nguyên",
        id="code_is_a_number",
    ),
    pytest.param(
        setting(*STC, "unit_groups", 0, "members", to=None),
        "$.tenants[1].unit_groups[0].members",
        "cần danh sách, nhưng là giá trị rỗng (null)",
        id="members_left_empty_in_yaml",
    ),
    pytest.param(
        appending("tenants", item="so-xay-dung"),
        "$.tenants[2]",
        "cần ánh xạ (mapping), nhưng là chuỗi",
        id="tenant_is_a_string",
    ),
    pytest.param(
        removing(*STC, "units", 2, "name"),
        "$.tenants[1].units[2].name",
        "thiếu khóa bắt buộc 'name'",
        id="unit_without_name",
    ),
    pytest.param(
        removing("province", "identity_provider"),
        "$.province.identity_provider",
        "thiếu khóa bắt buộc 'identity_provider'",
        id="province_without_identity_provider",
    ),
    pytest.param(removing("tenants"), "$.tenants", "thiếu khóa bắt buộc 'tenants'", id="file_without_tenants"),
    pytest.param(
        setting("province", "report_deadlines", 0, "period", to="quy-2"),
        "$.province.report_deadlines[0].period",
        "giá trị 'quy-2' không hợp lệ; chọn một trong quy-1, 6-thang, quy-3, nam",
        id="unknown_report_period",
    ),
    # codes
    pytest.param(
        setting("province", "code", to="tinh-khac"),
        "$.province.code",
        "tỉnh không xác định: mã tỉnh 'tinh-khac' phải trùng tên thư mục 'tinh-mau'",
        id="province_code_is_not_its_folder",
    ),
    pytest.param(setting(*STC, "code", to="So-Tai-Chinh"), "$.tenants[1].code", "không hợp lệ", id="uppercase_code"),
    pytest.param(setting(*STC, "code", to="so tai chinh"), "$.tenants[1].code", "không hợp lệ", id="code_with_spaces"),
    pytest.param(
        setting(*STC, "code", to="sở-tài-chính"), "$.tenants[1].code", "không hợp lệ", id="code_with_diacritics"
    ),
    pytest.param(
        setting(*STC, "code", to="-so-tai-chinh"), "$.tenants[1].code", "không hợp lệ", id="code_leading_dash"
    ),
    pytest.param(setting(*STC, "code", to="so-tai-chinh\n"), "$.tenants[1].code", "không hợp lệ", id="code_newline"),
    pytest.param(setting(*STC, "code", to="s" * 64), "$.tenants[1].code", "tối đa 63 ký tự", id="code_too_long"),
    pytest.param(
        appending(*STC, "units", item={"code": "phòng-mới", "name": "Phòng Mới", "kind": "phong"}),
        "$.tenants[1].units[3].code",
        "mã 'phòng-mới' không hợp lệ: chỉ chữ thường không dấu",
        id="unit_code_with_diacritics",
    ),
    # duplicates
    pytest.param(duplicating("tenants", 1), "$.tenants[2].code", "mã 'so-tai-chinh' bị trùng", id="duplicate_tenant"),
    pytest.param(
        appending(*STC, "units", item={"code": "thanh-tra", "name": "Thanh tra Sở (2)", "kind": "inspectorate"}),
        "$.tenants[1].units[3].code",
        "mã 'thanh-tra' bị trùng",
        id="duplicate_unit",
    ),
    pytest.param(
        duplicating(*STC, "unit_groups", 0),
        "$.tenants[1].unit_groups[1].code",
        "mã 'phong-don-vi-thuoc-so' bị trùng",
        id="duplicate_unit_group",
    ),
    pytest.param(
        duplicating("province", "ranking_groups", 0),
        "$.province.ranking_groups[1].code",
        "mã 'so-ban-nganh' bị trùng",
        id="duplicate_ranking_group",
    ),
    pytest.param(
        appending("province", "report_deadlines", item={"period": "quy-1", "due": "20/03"}),
        "$.province.report_deadlines[2].period",
        "kỳ báo cáo 'quy-1' bị lặp",
        id="duplicate_report_period",
    ),
    # unit groups
    pytest.param(
        setting(*STC, "unit_groups", 0, "members", 1, to="phong-khong-co"),
        "$.tenants[1].unit_groups[0].members[1]",
        "phòng, đơn vị 'phong-khong-co' không có trong units của 'so-tai-chinh'",
        id="unit_group_naming_a_missing_unit",
    ),
    pytest.param(
        appending(*STC, "unit_groups", 0, "members", item="van-phong"),
        "$.tenants[1].unit_groups[0].members",
        "phòng, đơn vị được liệt kê hai lần: van-phong",
        id="unit_group_listing_a_member_twice",
    ),
    pytest.param(
        setting(*STC, "unit_groups", 0, "members", to=[]),
        "$.tenants[1].unit_groups[0].members",
        "nhóm phải có ít nhất một phòng, đơn vị",
        id="empty_unit_group",
    ),
    # tenants and units
    pytest.param(
        setting("tenants", 0, "kind", to="department"),
        "$.tenants",
        "mỗi tỉnh có đúng một Sở Nội vụ (kind: home_affairs), tìm thấy 0",
        id="no_home_affairs",
    ),
    pytest.param(
        setting(*STC, "kind", to="home_affairs"),
        "$.tenants",
        "tìm thấy 2 (so-noi-vu, so-tai-chinh)",
        id="two_home_affairs",
    ),
    pytest.param(
        setting(*STC, "units", 1, "kind", to="office"),
        "$.tenants[1].units",
        "mỗi sở có đúng một Văn phòng (kind: office), tìm thấy 2",
        id="tenant_with_two_offices",
    ),
    pytest.param(
        setting(*STC, "units", 0, "kind", to="phong"),
        "$.tenants[1].units",
        "tìm thấy 0",
        id="tenant_without_office",
    ),
    pytest.param(
        setting(*STC, "kind", to="ubnd"),
        "$.tenants[1].kind",
        "loại 'ubnd' không hợp lệ; chọn một trong department, home_affairs, commune",
        id="unknown_tenant_kind",
    ),
    pytest.param(
        setting(*STC, "units", 2, "kind", to="ban"),
        "$.tenants[1].units[2].kind",
        "loại 'ban' không hợp lệ; chọn một trong office, phong",
        id="unknown_unit_kind",
    ),
    pytest.param(
        setting(*STC, "ranking_group", to="xa-phuong"),
        "$.tenants[1].ranking_group",
        "nhóm xếp hạng 'xa-phuong' không có trong ranking_groups",
        id="ranking_group_not_declared",
    ),
    pytest.param(
        setting(*STC, "ranking_group", to=None),
        "$.tenants[1].ranking_group",
        "mỗi đơn vị thuộc đúng một nhóm xếp hạng",
        id="tenant_without_a_ranking_group",
    ),
    pytest.param(
        setting(*STC, "attributes", to=["Không TTHC"]),
        "$.tenants[1].attributes[0]",
        "mã 'Không TTHC' không hợp lệ",
        id="attribute_not_a_code",
    ),
    pytest.param(
        setting("province", "result_classes", to={2024: [{"code": "tot", "label": "Tốt", "min_index": "101"}]}),
        "$.province.result_classes.2024[0].min_index",
        "phải là một tỷ lệ phần trăm từ 0 đến 100",
        id="class_threshold_above_100",
    ),
    pytest.param(
        setting(
            "province",
            "result_classes",
            to={
                2024: [
                    {"code": "kha", "label": "Khá", "min_index": "70"},
                    {"code": "tot", "label": "Tốt", "min_index": "85", "area_floor": "70"},
                ]
            },
        ),
        "$.province.result_classes.2024[1].min_index",
        "các loại xếp từ cao xuống thấp",
        id="classes_not_best_first",
    ),
    pytest.param(
        setting("province", "result_classes", to={2024: [{"code": "tot", "label": " ", "min_index": "85"}]}),
        "$.province.result_classes.2024[0].label",
        "tên không được để trống",
        id="class_without_a_label",
    ),
    pytest.param(
        setting("province", "survey_answers", to={"shares": {"A": "100", "F": "50"}, "min_answers": 5}),
        "$.province.survey_answers.shares.F",
        "câu trả lời phải là một trong A, B, C, D, E",
        id="survey_share_for_an_unknown_answer",
    ),
    pytest.param(
        setting("province", "survey_answers", to={"shares": {"A": "100"}, "min_answers": 0}),
        "$.province.survey_answers.min_answers",
        "số phiếu tối thiểu phải từ 1 trở lên",
        id="survey_minimum_below_one",
    ),
    pytest.param(
        setting("province", "index_places", to=5),
        "$.province.index_places",
        "số chữ số thập phân của chỉ số phải từ 0 đến 3",
        id="index_places_out_of_range",
    ),
    pytest.param(setting(*STC, "name", to="  "), "$.tenants[1].name", "tên không được để trống", id="blank_name"),
    pytest.param(
        setting(*STC, "units", 2, "name", to="P" * 256),
        "$.tenants[1].units[2].name",
        "tên dài 256 ký tự, tối đa 255",
        id="unit_name_longer_than_its_column",
    ),
    pytest.param(
        setting(*STC, "short_name", to="S" * 32),
        "$.tenants[1].short_name",
        "ký hiệu dài 32 ký tự, tối đa 31",
        id="short_name_longer_than_its_column",
    ),
    # report deadlines
    *(
        pytest.param(
            setting("province", "report_deadlines", 0, "due", to=due),
            "$.province.report_deadlines[0].due",
            f"hạn {due!r} phải có dạng dd/mm",
            id=f"deadline_{due}",
        )
        for due in ("31/02", "1/3", "10-03", "00/03", "10/13", "10/03/2024", "", "١٠/٠٣")
    ),
    # identity provider
    *(
        pytest.param(setting(*ISSUER, to=issuer), "$.province.identity_provider.issuer", "URL https://", id=label)
        for label, issuer in (
            ("issuer_http", "http://sso.tinh-mau.example.gov.vn/realms/parboard"),
            ("issuer_http_lookalike_of_localhost", "http://localhost.evil.example/realms/parboard"),
            ("issuer_without_scheme", "sso.tinh-mau.example.gov.vn/realms/parboard"),
            ("issuer_without_host", "https://"),
            ("issuer_with_space", "https://sso tinh-mau.example.gov.vn"),
        )
    ),
    pytest.param(
        setting(*ISSUER, to="https://sso.tinh-mau.example.gov.vn/realms/parboard?x=1"),
        "$.province.identity_provider.issuer",
        "không được có phần truy vấn",
        id="issuer_with_query",
    ),
    *(
        pytest.param(
            setting("province", "identity_provider", "client_id", to=client_id),
            "$.province.identity_provider.client_id",
            "client_id không được để trống",
            id=f"client_id_{label}",
        )
        for label, client_id in (("empty", ""), ("blank", "   "))
    ),
    # demo people
    *(
        pytest.param(
            setting(*STC, "demo_people", 0, "email", to=email),
            "$.tenants[1].demo_people[0].email",
            f"email {email!r} không hợp lệ",
            id=f"demo_email_{label}",
        )
        for label, email in (("no_at", "binh.tt"), ("space", "binh tt@stc.example.vn"), ("no_domain", "binh@stc"))
    ),
    pytest.param(
        setting(*STC, "demo_people", 0, "role", to="giam_doc"),
        "$.tenants[1].demo_people[0].role",
        "vai trò 'giam_doc' không hợp lệ; chọn một trong province_admin",
        id="demo_unknown_role",
    ),
    pytest.param(
        setting(*STC, "demo_people", 0, "role", to="platform_admin"),
        "$.tenants[1].demo_people[0].role",
        "vai trò 'platform_admin' không hợp lệ",
        id="demo_platform_admin_is_not_configurable",
    ),
    pytest.param(
        removing(*STC, "demo_people", 1, "unit"),
        "$.tenants[1].demo_people[1].unit",
        "vai trò 'unit_head' cần một phòng, đơn vị",
        id="demo_unit_head_without_unit",
    ),
    pytest.param(
        combined(setting(*STC, "demo_people", 1, "role", to="staff"), removing(*STC, "demo_people", 1, "unit")),
        "$.tenants[1].demo_people[1].unit",
        "cần một phòng, đơn vị",
        id="demo_staff_without_unit",
    ),
    pytest.param(
        setting(*STC, "demo_people", 1, "unit", to="phong-khong-co"),
        "$.tenants[1].demo_people[1].unit",
        "phòng, đơn vị 'phong-khong-co' không có trong units của 'so-tai-chinh'",
        id="demo_person_in_unknown_unit",
    ),
    pytest.param(
        duplicating(*STC, "demo_people", 1),
        "$.tenants[1].demo_people[2]",
        "người dùng mẫu 'cuong.lv@stc.tinhmau.example.vn' với vai trò 'unit_head' bị lặp trong sở",
        id="demo_person_listed_twice",
    ),
    pytest.param(
        appending(
            "tenants",
            0,
            "demo_people",
            item={"email": "binh.tt@stc.tinhmau.example.vn", "name": "Trần Bình", "role": "viewer"},
        ),
        "$.tenants[1].demo_people[0].name",
        "email 'binh.tt@stc.tinhmau.example.vn' đã được khai báo với tên 'Trần Bình' ở sở khác",
        id="demo_person_with_two_names",
    ),
]
