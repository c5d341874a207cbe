"""The province files under tenants/: the shipped demo loads, and every bad input is rejected with file, path, reason.

Each rejection case is one small change to the smallest valid province (tests/data/tenants/tinh-mau), written to
tmp_path. What reaches the database when a directory is rejected is covered in test_tenants_sync.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.domain.tenants.config import load_directory
from backend.settings import PROJECT_ROOT
from tests.province_files import (
    BAD_INPUTS,
    SAMPLE_DIR,
    SAMPLE_TEXT,
    Mutation,
    rejection,
    sample_province,
    write_province,
)


@pytest.mark.parametrize(("mutate", "path", "reason"), BAD_INPUTS)
def test_bad_province_is_rejected_with_file_path_and_reason(
    tmp_path: Path, mutate: Mutation, path: str, reason: str
) -> None:
    data = sample_province()
    mutate(data)
    file = write_province(tmp_path, data)

    problems = rejection(tmp_path)

    assert [(p.file, p.path) for p in problems] == [(str(file), path)], problems
    assert reason in problems[0].reason
    assert str(problems[0]).startswith(f"{file}: {path}: ")


def test_the_sample_province_and_the_variants_it_allows_load(tmp_path: Path) -> None:
    assert [p.config.province.code for p in load_directory(SAMPLE_DIR)] == ["tinh-mau"]
    data = sample_province()
    data["province"]["identity_provider"]["issuer"] = "http://127.0.0.1:8080/realms/parboard"  # the dev IdP
    # One person may hold roles in two tenants of the province, as the same person.
    data["tenants"][0]["demo_people"].append(
        {"email": "binh.tt@stc.tinhmau.example.vn", "name": "Trần Thị Bình", "role": "viewer"}
    )
    data["tenants"][1]["attributes"] = ["khong-tthc"]
    data["province"]["result_classes"] = {
        2024: [
            {"code": "nhom-1", "label": "Nhóm I", "min_index": "90", "area_floor": "80"},
            {"code": "nhom-2", "label": "Nhóm II", "min_index": "80,5"},
        ]
    }
    write_province(tmp_path, data)
    (loaded,) = load_directory(tmp_path)
    assert loaded.config.province.identity_provider.issuer.startswith("http://127.0.0.1")
    assert [c.label for c in loaded.config.province.result_classes[2024]] == ["Nhóm I", "Nhóm II"]
    assert loaded.config.tenants[1].attributes == ["khong-tthc"]


def test_scopes_and_claim_names_are_the_province_s_own(tmp_path: Path) -> None:
    (default,) = load_directory(SAMPLE_DIR)
    idp = default.config.province.identity_provider
    assert (idp.scopes, idp.email_claim, idp.name_claim) == (["openid", "email", "profile"], "email", "name")
    assert idp.trust_email_without_verified is False

    data = sample_province()
    data["province"]["identity_provider"].update(
        scopes=["openid", "email", "profile", "agency"],
        agency_claim="https://sso.example.gov.vn/claims/agency",
        email_claim="mail",
        name_claim="display_name",
        trust_email_without_verified=True,
        claim_mappings=[{"value": "STC", "tenant": "so-tai-chinh", "role": "viewer"}],
    )
    write_province(tmp_path, data)
    (loaded,) = load_directory(tmp_path)
    idp = loaded.config.province.identity_provider
    assert idp.scopes == ["openid", "email", "profile", "agency"]
    assert (idp.agency_claim, idp.email_claim, idp.name_claim) == (
        "https://sso.example.gov.vn/claims/agency",
        "mail",
        "display_name",
    )
    assert idp.trust_email_without_verified is True
    assert idp.claim_mappings[0].claim is None  # the agency claim, resolved by the sync


# --- files that are not a province at all ------------------------------------------------------------------------


def test_yaml_syntax_error_is_reported_with_line_and_column(tmp_path: Path) -> None:
    file = write_province(tmp_path, SAMPLE_TEXT.replace("  name: Tỉnh Mẫu\n", "  name: Tỉnh: Mẫu\n"))
    (problem,) = rejection(tmp_path)
    assert (problem.file, problem.path) == (str(file), "dòng 5, cột 13")
    assert problem.reason == "YAML không hợp lệ: không được có dấu ':' ở đây; tên có dấu ':' phải đặt trong ngoặc kép"


def test_unclosed_flow_mapping_is_reported_with_line_and_column(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT.replace('- {period: quy-1, due: "10/03"}', '- {period: quy-1, due: "10/03"'))
    (problem,) = rejection(tmp_path)
    assert problem.path == "dòng 12, cột 5"
    assert "thiếu ',' hoặc '}'" in problem.reason


def test_tab_indentation_is_reported_in_vietnamese(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT.replace("  name: Tỉnh Mẫu\n", "\tname: Tỉnh Mẫu\n"))
    (problem,) = rejection(tmp_path)
    assert problem.path.startswith("dòng 5, cột ")
    assert "tab" in problem.reason


def test_key_given_twice_is_rejected_not_silently_overwritten(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT.replace("  name: Tỉnh Mẫu\n", "  name: Tỉnh Mẫu\n  name: Tỉnh Khác\n"))
    (problem,) = rejection(tmp_path)
    assert problem.path == "dòng 6, cột 3"
    assert problem.reason == "YAML không hợp lệ: khóa 'name' bị lặp (đã có ở dòng 5)"


def test_key_given_twice_in_a_one_line_mapping_is_rejected(tmp_path: Path) -> None:
    line = '{code: thanh-tra, name: "Thanh tra Sở", kind: inspectorate}'
    assert SAMPLE_TEXT.count(line) == 1
    write_province(tmp_path, SAMPLE_TEXT.replace(line, line.replace("}", ", kind: office}")))
    (problem,) = rejection(tmp_path)
    assert problem.path.startswith("dòng 35, cột ")
    assert problem.reason == "YAML không hợp lệ: khóa 'kind' bị lặp (đã có ở dòng 35)"


def test_two_yaml_documents_in_one_file_are_rejected(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT + "---\n" + SAMPLE_TEXT)
    (problem,) = rejection(tmp_path)
    assert problem.path.startswith("dòng ")
    assert "một tài liệu YAML" in problem.reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param("", "tệp rỗng: cần hai khóa 'province' và 'tenants'", id="empty_file"),
        pytest.param("# chỉ có chú thích\n\n", "tệp rỗng", id="comments_only"),
        pytest.param("- province\n- tenants\n", "phải là một ánh xạ (mapping)", id="a_list"),
        pytest.param("tỉnh mẫu\n", "không phải chuỗi", id="a_scalar"),
        pytest.param("42\n", "không phải số nguyên", id="a_number"),
    ],
)
def test_document_that_is_not_a_mapping_is_rejected(tmp_path: Path, content: str, reason: str) -> None:
    file = write_province(tmp_path, content)
    (problem,) = rejection(tmp_path)
    assert (problem.file, problem.path) == (str(file), "$")
    assert reason in problem.reason


def test_non_text_mapping_key_is_rejected(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT.replace("  name: Tỉnh Mẫu\n", "  name: Tỉnh Mẫu\n  1: một\n"))
    (problem,) = rejection(tmp_path)
    assert (problem.path, problem.reason) == ("$.province", "mọi khóa phải là chuỗi")


def test_file_not_in_utf8_is_rejected_with_the_line(tmp_path: Path) -> None:
    # Saved in Windows-1252 by an old editor: "Tính" as latin-1 bytes on line 5.
    data = SAMPLE_TEXT.encode().replace("Tỉnh Mẫu".encode(), "Tính".encode("latin-1"), 1)
    file = write_province(tmp_path, data)
    (problem,) = rejection(tmp_path)
    assert (problem.file, problem.path) == (str(file), "dòng 5")
    assert "không phải UTF-8" in problem.reason


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    write_province(tmp_path, "\ufeff".encode() + SAMPLE_TEXT.encode())
    assert len(load_directory(tmp_path)) == 1


# --- directories ---------------------------------------------------------------------------------------------------


def test_missing_directory_is_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "khong-co"
    assert [(p.file, p.path, p.reason) for p in rejection(missing)] == [
        (str(missing), "$", "thư mục cấu hình không tồn tại")
    ]


def test_empty_directory_is_rejected(tmp_path: Path) -> None:
    assert [(p.file, p.path, p.reason) for p in rejection(tmp_path)] == [
        (str(tmp_path), "$", "không có tệp */province.yaml nào")
    ]


def test_province_folder_without_province_yaml_is_rejected_not_skipped(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT)
    misspelt = tmp_path / "tinh-hai" / "province.yml"
    misspelt.parent.mkdir()
    misspelt.write_text(SAMPLE_TEXT.replace("tinh-mau", "tinh-hai"), encoding="utf-8")
    (tmp_path / ".git").mkdir()  # hidden folders are not provinces
    assert [(p.file, p.reason) for p in rejection(tmp_path)] == [
        (str(misspelt.parent), "thư mục tỉnh không có tệp province.yaml")
    ]


def test_one_bad_province_rejects_the_whole_directory(tmp_path: Path) -> None:
    write_province(tmp_path, SAMPLE_TEXT)
    other = sample_province()
    other["province"]["code"] = "tinh-hai"
    for tenant in other["tenants"]:
        tenant["demo_people"] = []
    other["tenants"][1]["units"][1]["kind"] = "office"
    bad = write_province(tmp_path, other, folder="tinh-hai")
    assert [(p.file, p.path) for p in rejection(tmp_path)] == [(str(bad), "$.tenants[1].units")]


def test_problems_of_every_file_are_reported_at_once(tmp_path: Path) -> None:
    first = write_province(tmp_path, "- a\n", folder="tinh-a")
    second = write_province(tmp_path, b"\xff\xfe", folder="tinh-b")
    assert [p.file for p in rejection(tmp_path)] == [str(first), str(second)]


def test_same_demo_email_in_two_provinces_is_rejected(tmp_path: Path) -> None:
    first = write_province(tmp_path, SAMPLE_TEXT)
    other = sample_province()
    other["province"]["code"] = "tinh-thu-hai"
    other["tenants"][0]["demo_people"] = []
    other["tenants"][1]["demo_people"] = other["tenants"][1]["demo_people"][:1]
    second = write_province(tmp_path, other, folder="tinh-thu-hai")
    (problem,) = rejection(tmp_path)
    assert (problem.file, problem.path) == (str(second), "$.tenants[1].demo_people[0].email")
    assert problem.reason == f"email 'binh.tt@stc.tinhmau.example.vn' đã dùng trong {first}"


# --- the shipped demo configuration ----------------------------------------------------------------------------------

# Seed 004, closing note ("Ghi chú") of the Kế hoạch of Sở Tài nguyên và Môi trường Bà Rịa – Vũng Tàu.
BRVT_PHONG = [
    "Văn phòng Sở",
    "Thanh tra Sở",
    "Phòng Kế hoạch – Tài chính",
    "Phòng Quản lý Biển đảo và Tài nguyên nước, Khoáng sản",
    "Phòng Quản lý đất đai",
    "Phòng Quản lý môi trường",
]
BRVT_DON_VI_SU_NGHIEP = [
    "Văn phòng Đăng ký đất đai",
    "Trung tâm Công nghệ thông tin tài nguyên và môi trường",
    "Trung tâm Kỹ thuật tài nguyên và môi trường",
    "Trung tâm Phát triển quỹ đất",
    "Trung tâm Quan trắc tài nguyên và môi trường",
]
BRVT_TTHC = [
    "Thanh tra Sở",
    "Phòng Quản lý Biển đảo và Tài nguyên nước, Khoáng sản",
    "Phòng Quản lý đất đai",
    "Phòng Quản lý môi trường",
    "Văn phòng Đăng ký đất đai",
    "Trung tâm Công nghệ thông tin tài nguyên và môi trường",
]


def test_shipped_demo_configuration_loads_the_three_provinces() -> None:
    provinces = load_directory(PROJECT_ROOT / "tenants")

    # Bà Rịa – Vũng Tàu stays declared: merged into Thành phố Hồ Chí Minh (tenants/lineage.yaml), its tenants are
    # the successor's read-only archives.
    assert [(p.file.parent.name, p.config.province.code) for p in provinces] == [
        ("ba-ria-vung-tau", "ba-ria-vung-tau"),
        ("ha-tinh", "ha-tinh"),
        ("ho-chi-minh", "ho-chi-minh"),
    ]
    assert [p.config.province.name for p in provinces] == [
        "Tỉnh Bà Rịa – Vũng Tàu",
        "Tỉnh Hà Tĩnh",
        "Thành phố Hồ Chí Minh",
    ]
    assert all(p.config.province.demo for p in provinces)  # demo data says so on every page
    for province in provinces:
        home_affairs = [t for t in province.config.tenants if t.kind == "home_affairs"]
        assert [(t.code, t.name) for t in home_affairs] == [("so-noi-vu", "Sở Nội vụ")]
        for tenant in province.config.tenants:
            assert [u.kind for u in tenant.units].count("office") == 1, tenant.code
        provider = province.config.province.identity_provider
        assert provider is not None
        assert provider.issuer.startswith("https://")
        assert [d.period for d in province.config.province.report_deadlines] == ["quy-1", "6-thang", "quy-3", "nam"]
    brvt = provinces[0].config.province
    assert [(d.period, d.due) for d in brvt.report_deadlines] == [
        ("quy-1", "10/03"),
        ("6-thang", "10/06"),
        ("quy-3", "10/09"),
        ("nam", "15/11"),
    ]


def test_brvt_stnmt_has_the_units_and_unit_groups_of_seed_004() -> None:
    brvt = next(p for p in load_directory(PROJECT_ROOT / "tenants") if p.config.province.code == "ba-ria-vung-tau")
    stnmt = next(t for t in brvt.config.tenants if t.code == "so-tai-nguyen-moi-truong")
    assert (stnmt.name, stnmt.short_name, stnmt.kind) == ("Sở Tài nguyên và Môi trường", "STNMT", "department")

    phong = [u for u in stnmt.units if u.kind != "public_service"]
    don_vi = [u for u in stnmt.units if u.kind == "public_service"]
    assert [u.name for u in phong] == BRVT_PHONG
    assert [u.name for u in don_vi] == BRVT_DON_VI_SU_NGHIEP
    assert [u.name for u in stnmt.units if u.kind == "office"] == ["Văn phòng Sở"]

    name_of = {u.code: u.name for u in stnmt.units}
    groups = {g.name: [name_of[m] for m in g.members] for g in stnmt.unit_groups}
    assert groups == {
        "Các phòng, đơn vị thuộc Sở": BRVT_PHONG + BRVT_DON_VI_SU_NGHIEP,
        "Đơn vị thuộc Sở": BRVT_DON_VI_SU_NGHIEP,
        "Phòng, đơn vị có chức năng tham mưu giải quyết TTHC": BRVT_TTHC,
    }
