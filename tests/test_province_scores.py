"""Province data entry through the Sở Nội vụ: criteria set uploads become new versions (never edits) with every
problem listed in Vietnamese, and external scores (SIPAS, leaders' assessment, DTI) entered for every department
at once, from the grid or a spreadsheet, all or nothing, audited in both tenants; departments cannot enter them."""

from __future__ import annotations

import html
import re
import uuid
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import Province, Tenant
from backend.db.rls import bind_tenant
from backend.domain.admin.province_scores_services import ExternalCriterion, parse_entry
from backend.domain.assessments import services as assessments
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.scoring.methods import ScoringError
from backend.settings import PROJECT_ROOT
from tests.html_support import squash
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

SNV = "/t/ba-ria-vung-tau/so-noi-vu"
STNMT = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
SETS = f"{SNV}/quan-tri/tinh/bo-chi-so"
GRID = f"{SNV}/quan-tri/tinh/diem-ngoai/2023"
PROVINCE_ADMIN = "loc.dv@snv.brvt.example.vn"
PROVINCE_REVIEWER = "tam.mtt@snv.brvt.example.vn"
SNV_FOCAL = "nhung.bth@snv.brvt.example.vn"
SNV_TENANT_ADMIN = "tung.ht@snv.brvt.example.vn"
DEPARTMENT_FOCAL = "lan.nt@stnmt.brvt.example.vn"
SHIPPED_2023 = (PROJECT_ROOT / "tenants" / "ba-ria-vung-tau" / "criteria" / "2023.yaml").read_text(encoding="utf-8")
DEPARTMENT = "so-tai-nguyen-moi-truong"
# Seed 004, Sở Tài nguyên và Môi trường 2023: DTI 93,76 × 0,1 = 9,376; SIPAS 13,245 + leaders 17,375 = 30,620.
OUR_AUDIT = "SELECT count(*) FROM audit_log WHERE action IN ('criteria.upload', 'external.enter')"
GOLDEN = {f"{DEPARTMENT}:7": "93,76", f"{DEPARTMENT}:9.1": "13.245", f"{DEPARTMENT}:9.2": "17,375"}


@pytest.fixture
async def criteria(owner_engine: AsyncEngine) -> None:
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))


async def _csrf(client: AsyncTestClient[Litestar], path: str = "/") -> str:
    response = await client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', squash(response.text))
    assert match, response.text
    return match.group(1)


async def _scalar(engine: AsyncEngine, sql: str, tenant: str | None = None) -> object:
    """One value read as the owner, inside a Bà Rịa – Vũng Tàu tenant's context when `tenant` is given
    (row-level security binds the owner too)."""
    async with engine.begin() as db:
        if tenant is not None:
            await db.execute(
                text(
                    "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p "
                    "ON p.id = t.province_id WHERE p.code = 'ba-ria-vung-tau' AND t.code = :t), true)"
                ),
                {"t": tenant},
            )
        return await db.scalar(text(sql))


async def _brvt_sets(engine: AsyncEngine) -> list[tuple[int, int, str]]:
    async with engine.connect() as db:
        rows = await db.execute(
            text(
                "SELECT cs.year, cs.version, cs.source_file FROM criteria_sets cs JOIN provinces p "
                "ON p.id = cs.province_id WHERE p.code = 'ba-ria-vung-tau' ORDER BY cs.year, cs.version"
            )
        )
        return [(r.year, r.version, r.source_file) for r in rows]


async def _upload(client: AsyncTestClient[Litestar], content: bytes, name: str = "2023.yaml"):  # type: ignore[no-untyped-def]
    token = await _csrf(client, SETS)
    return await client.post(
        SETS,
        data={"_csrf_token": token},
        files={"tep": (name, content, "application/x-yaml")},
        follow_redirects=False,
    )


def _problems(page: str) -> list[str]:
    block = re.search(r'<div class="form-errors".*?</div>', page, re.DOTALL)
    assert block, page
    items = re.findall(r"<li>(.*?)</li>", block.group(0), re.DOTALL)
    return [html.unescape(re.sub(r"\s+", " ", item).strip()) for item in items]


# ---- criteria set upload ------------------------------------------------------------------------------------


async def test_province_page_links_to_both_pages(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    page = await client.get(f"{SNV}/quan-tri/tinh/")
    assert f'href="{SETS}"' in page.text
    assert f'href="{SNV}/quan-tri/tinh/diem-ngoai"' in page.text
    years = await client.get(f"{SNV}/quan-tri/tinh/diem-ngoai", follow_redirects=False)
    assert years.status_code in (302, 303)
    assert years.headers["location"].endswith("/diem-ngoai/2024")  # the newest year with a set


async def test_the_sets_page_lists_every_version_of_the_province(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    page = await client.get(SETS)
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<td>(\d{4})</td>\s*<td class=\"num\">(\d+)</td>", squash(page.text))
    assert rows == [(str(year), "1") for year in (2024, 2023, 2022, 2021, 2020, 2019)]  # not Hà Tĩnh's 2020
    assert re.search(r'<td class="nowrap">\d{2}/\d{2}/\d{4}</td>', squash(page.text))
    assert "<td>2023.yaml</td>" in squash(page.text)
    assert "Chưa khoá" in page.text
    assert 'type="file" accept=".yaml,.yml"' in squash(page.text)
    assert 'enctype="multipart/form-data"' in page.text
    assert '<label for="criteria-file">' in squash(page.text)


async def test_a_changed_upload_is_a_new_version_and_the_same_file_again_changes_nothing(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    changed = SHIPPED_2023.replace('title: "Cải cách thể chế"', 'title: "Cải cách thể chế (sửa đổi)"').encode()
    first = await _upload(client, changed, "bo-chi-so-2023.yaml")
    assert first.status_code == 303, first.text
    page = await client.get(first.headers["location"])
    assert "Đã nhập bộ chỉ số năm 2023, phiên bản 2." in page.text
    assert "bo-chi-so-2023.yaml" in page.text
    assert (2023, 2, "bo-chi-so-2023.yaml") in await _brvt_sets(owner_engine)
    assert await _scalar(
        owner_engine,
        "SELECT count(*) FROM criteria c JOIN criteria_sets s ON s.id = c.criteria_set_id "
        "WHERE s.version = 2 AND c.title = 'Cải cách thể chế (sửa đổi)'",
    )

    again = await _upload(client, changed, "lai-lan-nua.yaml")
    assert again.status_code == 303
    assert "không đổi: nội dung trùng phiên bản 2" in (await client.get(again.headers["location"])).text
    versions = [v for year, v, _ in await _brvt_sets(owner_engine) if year == 2023]
    assert versions == [1, 2]
    audit = await _scalar(
        owner_engine, "SELECT string_agg(action, ',') FROM audit_log WHERE action = 'criteria.upload'", "so-noi-vu"
    )
    assert audit == "criteria.upload"  # once: the unchanged upload wrote nothing


async def test_a_frozen_year_gets_a_new_version_and_the_frozen_one_stays_as_it_was(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    async with owner_engine.begin() as db:
        await db.execute(text("UPDATE criteria_sets SET frozen_at = now() WHERE year = 2023"))
    await sign_in(client, PROVINCE_ADMIN)
    page = await client.get(SETS)
    assert re.search(r"Đã khoá \d{2}/\d{2}/\d{4}", page.text)
    same = await _upload(client, SHIPPED_2023.encode())
    assert "không tạo phiên bản mới" in (await client.get(same.headers["location"])).text
    comments = await _upload(client, SHIPPED_2023.replace("# ", "#").encode())
    # only the comments differ: the same content
    assert "không tạo phiên bản mới" in (await client.get(comments.headers["location"])).text
    edited = SHIPPED_2023.replace('title: "Cải cách tài chính công"', 'title: "Tài chính công"').encode()
    new = await _upload(client, edited)
    assert "Đã nhập bộ chỉ số năm 2023, phiên bản 2." in (await client.get(new.headers["location"])).text
    assert (
        await _scalar(
            owner_engine,
            "SELECT title FROM criteria c JOIN criteria_sets s ON s.id = c.criteria_set_id "
            "WHERE s.year = 2023 AND s.version = 1 AND c.code = '6' AND s.frozen_at IS NOT NULL",
        )
        == "Cải cách tài chính công"
    )


def _replace(old: str, new: str) -> bytes:
    assert old in SHIPPED_2023, old
    return SHIPPED_2023.replace(old, new, 1).encode()


BAD_UPLOADS = [
    ("duplicate code", _replace('code: "2"', 'code: "1"'), "code 1: mã '1' bị trùng"),
    (
        "children above the parent",
        _replace('title: "Đánh giá của lãnh đạo, quản lý", max_points: "18"', 'title: "Đánh giá", max_points: "19"'),
        "code 9: tổng điểm tối đa các tiêu chí con là 36, vượt 35",
    ),
    ("unknown method", _replace("type: index", "type: formula"), "code 7: method.type 'formula' không hợp lệ"),
    ("negative max", _replace('max_points: "12,5"', 'max_points: "-12,5"'), "code 1: max_points: điểm tối đa -12,5"),
    ("not YAML", b"province: [ba-ria-vung-tau\nyear: 2023\n", "YAML không hợp lệ"),
    ("not UTF-8", SHIPPED_2023.encode("utf-16"), "tệp không phải UTF-8"),
    ("Vietnamese legacy encoding", SHIPPED_2023.encode("cp1258", errors="replace"), "tệp không phải UTF-8"),
    ("empty", b"", "Tệp rỗng"),
    ("only blank lines", b"\n  \n", "Tệp rỗng"),
    ("too large", SHIPPED_2023.encode() + b"#" * (1024 * 1024), "Tệp lớn hơn 1 MB"),
    ("wrong province", _replace("province: ba-ria-vung-tau", "province: ha-tinh"), "province: mã tỉnh 'ha-tinh'"),
    ("not a mapping", b"- 1\n- 2\n", "ánh xạ"),
    (
        "a ranking group the province does not declare",
        _replace("year: 2023", "year: 2023\ngroup: khong-co"),
        "group: nhóm xếp hạng 'khong-co' không có trong ranking_groups của tỉnh",
    ),
    (
        "parts that do not add up to the total",
        _replace("year: 2023", 'year: 2023\nparts: {criteria: "60", survey: "35"}'),
        "parts: phần tiêu chí 60 + phần điều tra xã hội học 35 = 95, không bằng total_max 100",
    ),
    ("implausible year", _replace("year: 2023", "year: 1"), "year: năm 1 không hợp lệ"),
    (
        "YAML alias",
        _replace('  - code: "2"\n', '  - &area2\n    code: "2"\n').replace(b"areas:\n", b"x: *area2\nareas:\n"),
        "không dùng tham chiếu YAML",
    ),
    ("too deeply nested", b"province: " + b"[" * 5000 + b"]" * 5000, "lồng nhau quá sâu"),
]


@pytest.mark.parametrize(("content", "expected"), [c[1:] for c in BAD_UPLOADS], ids=[c[0] for c in BAD_UPLOADS])
async def test_a_bad_upload_lists_its_problems_on_the_page_and_writes_nothing(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, content: bytes, expected: str
) -> None:
    before = await _brvt_sets(owner_engine)
    await sign_in(client, PROVINCE_ADMIN)
    response = await _upload(client, content)
    assert response.status_code == 422, response.text
    problems = _problems(response.text)
    assert any(expected in p for p in problems), problems
    assert "không có gì thay đổi" in response.text
    assert 'aria-invalid="true"' in response.text
    assert await _brvt_sets(owner_engine) == before
    assert await _scalar(owner_engine, OUR_AUDIT, "so-noi-vu") == 0


async def test_every_problem_of_a_file_is_listed_at_once(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    content = SHIPPED_2023.replace('code: "2"', 'code: "1"').replace("type: index", "type: formula")
    response = await _upload(client, content.replace("province: ba-ria-vung-tau", "province: ha-tinh").encode())
    assert response.status_code == 422
    problems = _problems(response.text)
    assert len(problems) == 3, problems
    assert problems[0].startswith("province: ")
    assert any(p.startswith("code 1: ") for p in problems)
    assert any(p.startswith("code 7: ") for p in problems)


async def test_an_upload_needs_a_file_and_the_csrf_token_inside_the_multipart_form(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    before = await _brvt_sets(owner_engine)
    await sign_in(client, PROVINCE_ADMIN)
    token = await _csrf(client, SETS)
    no_file = await client.post(SETS, files={"_csrf_token": (None, token)})
    assert no_file.status_code == 422
    assert "Chọn tệp bộ chỉ số (.yaml) để tải lên." in _problems(no_file.text)
    changed = SHIPPED_2023.replace("Cải cách thể chế", "Thể chế").encode()
    no_token = await client.post(SETS, files={"tep": ("2023.yaml", changed, "application/x-yaml")})
    assert no_token.status_code == 403
    wrong_token = await client.post(
        SETS, data={"_csrf_token": "x" * 40}, files={"tep": ("2023.yaml", changed, "application/x-yaml")}
    )
    assert wrong_token.status_code == 403
    assert await _brvt_sets(owner_engine) == before


# ---- who may reach these pages --------------------------------------------------------------------------------


async def test_only_province_admins_upload_and_only_province_staff_enter_external_scores(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, PROVINCE_REVIEWER)
    token = await _csrf(client)
    assert (await client.get(SETS)).status_code == 403
    upload = await client.post(
        SETS, data={"_csrf_token": token}, files={"tep": ("2023.yaml", b"x", "application/x-yaml")}
    )
    assert upload.status_code == 403
    assert (await client.get(GRID)).status_code == 200  # the reviewer enters external scores
    for email in (SNV_FOCAL, SNV_TENANT_ADMIN):
        await sign_in(client, email)
        token = await _csrf(client)
        assert (await client.get(SETS)).status_code == 403, email
        assert (await client.get(GRID)).status_code == 403, email
        assert (await client.post(GRID, data={"_csrf_token": token, **GOLDEN})).status_code == 403, email


async def test_outside_the_home_affairs_the_pages_do_not_exist(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    # The province admin is also given the role in a department: the pages still only live in the Sở Nội vụ.
    async with owner_engine.begin() as db:
        tenant = await db.scalar(
            text(
                "SELECT t.id FROM tenants t JOIN provinces p ON p.id = t.province_id "
                "WHERE p.code = 'ba-ria-vung-tau' AND t.code = :t"
            ),
            {"t": DEPARTMENT},
        )
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        await db.execute(
            text(
                "INSERT INTO memberships (id, tenant_id, user_id, role) SELECT gen_random_uuid(), :t, u.id, "
                "'province_admin' FROM users u WHERE u.email = :e"
            ),
            {"t": tenant, "e": PROVINCE_ADMIN},
        )
    await sign_in(client, PROVINCE_ADMIN)
    token = await _csrf(client)
    base = f"{STNMT}/quan-tri/tinh"
    assert (await client.get(f"{base}/bo-chi-so")).status_code == 404
    assert (await client.get(f"{base}/diem-ngoai")).status_code == 404
    assert (await client.get(f"{base}/diem-ngoai/2023")).status_code == 404
    assert (await client.get(f"{base}/diem-ngoai/2023/mau.xlsx")).status_code == 404
    saved = await client.post(f"{base}/diem-ngoai/2023", data={"_csrf_token": token, **GOLDEN})
    assert saved.status_code == 404
    uploaded = await client.post(
        f"{base}/bo-chi-so", data={"_csrf_token": token}, files={"tep": ("2023.yaml", b"x", "text/plain")}
    )
    assert uploaded.status_code == 404
    assert await _scalar(owner_engine, "SELECT count(*) FROM external_scores", DEPARTMENT) == 0


async def test_a_department_can_neither_enter_external_scores_nor_self_score_them(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, DEPARTMENT_FOCAL)
    token = await _csrf(client, f"{STNMT}/tu-danh-gia/2023")
    for base in (f"{SNV}/quan-tri/tinh", f"{STNMT}/quan-tri/tinh"):
        assert (await client.get(f"{base}/diem-ngoai/2023")).status_code in (403, 404), base
        assert (await client.get(f"{base}/diem-ngoai/2023/mau.xlsx")).status_code in (403, 404), base
        posted = await client.post(f"{base}/diem-ngoai/2023", data={"_csrf_token": token, **GOLDEN})
        assert posted.status_code in (403, 404), base
        imported = await client.post(
            f"{base}/diem-ngoai/2023/nhap-xlsx", data={"_csrf_token": token}, files={"tep": ("a.xlsx", b"x", "x/y")}
        )
        assert imported.status_code in (403, 404), base
    started = await client.post(
        f"{STNMT}/tu-danh-gia/2023/bat-dau", data={"_csrf_token": token}, follow_redirects=False
    )
    assert started.status_code in (302, 303)
    for code, form in (("9.1", {"points": "17"}), ("9.2", {"points": "18"}), ("7", {"points": "11"})):
        response = await client.post(
            f"{STNMT}/tu-danh-gia/2023/tieu-chi/{code}",
            data={"_csrf_token": token, **form},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 422, code
        assert "Sở Nội vụ" in response.text, code  # the row says the Sở Nội vụ enters it
    assert await _scalar(owner_engine, "SELECT count(*) FROM external_scores", DEPARTMENT) == 0
    assert await _scalar(owner_engine, "SELECT count(*) FROM assessment_items", DEPARTMENT) == 0


# ---- the external scores grid ---------------------------------------------------------------------------------


async def _department_sheet(jobs_engine: AsyncEngine) -> dict[str, Decimal | None]:
    """Area scores of the department's 2023 sheet, read by the app's own service with the tenant bound (as the
    jobs' role: no person's session is needed)."""
    async with create_session_maker(jobs_engine)() as db:
        province = (await db.scalars(select(Province).where(Province.code == "ba-ria-vung-tau"))).one()
        tenant = (
            await db.scalars(select(Tenant).where(Tenant.province_id == province.id, Tenant.code == DEPARTMENT))
        ).one()
        await bind_tenant(db, tenant.id)
        loaded = await assessments.load(db, province, 2023)
        assert loaded is not None
        return {area.code: area.score for area in loaded.sheet.areas}


async def _save(client: AsyncTestClient[Litestar], cells: dict[str, str]):  # type: ignore[no-untyped-def]
    token = await _csrf(client, GRID)
    return await client.post(GRID, data={"_csrf_token": token, **cells}, follow_redirects=False)


async def test_the_grid_has_a_row_per_department_and_a_labelled_input_per_external_criterion(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    page = await client.get(GRID)
    assert page.status_code == 200
    assert re.findall(r'<th scope="row">([^<]+)</th>', squash(page.text)) == ["Sở Tài nguyên và Môi trường"]
    names = re.findall(r'<input id="[^"]+" name="([^"]+)" type="text"', squash(page.text))
    assert names == list(GOLDEN)  # 7 (DTI index), 9.1 SIPAS, 9.2 leaders' assessment; not 9 itself
    assert (
        '<label class="visually-hidden" for="o-so-tai-nguyen-moi-truong-9-1">9.1. Chỉ số hài lòng của người dân, '
        "tổ chức (SIPAS) – Sở Tài nguyên và Môi trường</label>"
    ) in squash(page.text)
    assert "tối đa 17 điểm" in page.text
    assert "chỉ số 0–110; điểm = chỉ số × 0,1, tối đa 11" in squash(page.text)


async def test_the_golden_2023_scores_saved_in_the_grid_score_the_department_sheet_exactly(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, jobs_engine: AsyncEngine
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    saved = await _save(client, GOLDEN)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith("/diem-ngoai/2023")
    page = await client.get(saved.headers["location"])
    assert "Đã lưu bảng điểm: 1 đơn vị có thay đổi." in page.text
    for value in ("93,76", "13,245", "17,375"):
        assert f'value="{value}"' in page.text
    assert "= 9,376 điểm" in page.text

    areas = await _department_sheet(jobs_engine)
    assert areas["9"] == Decimal("30.620")  # 13,245 + 17,375
    assert areas["7"] == Decimal("9.376")  # DTI 93,76 × 10/100
    stored = await _scalar(
        owner_engine,
        "SELECT string_agg(c.code || '=' || coalesce(e.value::text, '-') || '/' || e.points || '/' || e.source, ' ' "
        "ORDER BY c.code) FROM external_scores e JOIN criteria c ON c.id = e.criterion_id",
        DEPARTMENT,
    )
    assert stored == "7=93.760/9.376/form 9.1=-/13.245/form 9.2=-/17.375/form"

    # audited in the department (what changed, before and after) and once in the Sở Nội vụ
    entry = await _scalar(
        owner_engine,
        "SELECT json_build_object('before', before, 'after', after)::text FROM audit_log "
        "WHERE action = 'external.enter'",
        DEPARTMENT,
    )
    assert isinstance(entry, str)
    assert '"9.1" : null' in entry or '"9.1": null' in entry
    assert '"points": "13.245"' in entry
    assert '"value": "93.76"' in entry
    summary = await _scalar(
        owner_engine, "SELECT after::text FROM audit_log WHERE action = 'external.enter'", "so-noi-vu"
    )
    assert isinstance(summary, str)
    assert DEPARTMENT in summary

    # the department's own overview shows the same numbers
    await sign_in(client, DEPARTMENT_FOCAL)
    overview = await client.get(f"{STNMT}/tu-danh-gia/2023")
    assert "30,62" in overview.text
    assert "9,376" in overview.text

    # saving the same values again changes nothing and audits nothing
    await sign_in(client, PROVINCE_ADMIN)
    again = await _save(client, {key: value.replace(",", ".") for key, value in GOLDEN.items()})
    assert "Đã lưu bảng điểm: không có thay đổi nào." in (await client.get(again.headers["location"])).text
    count = "SELECT count(*) FROM audit_log WHERE action = 'external.enter'"
    assert await _scalar(owner_engine, count, DEPARTMENT) == 1
    assert await _scalar(owner_engine, count, "so-noi-vu") == 1

    # an emptied cell clears the score; a cell missing from the form is left as it is
    cleared = await _save(client, {f"{DEPARTMENT}:9.2": ""})
    assert "Đã lưu bảng điểm: 1 đơn vị có thay đổi." in (await client.get(cleared.headers["location"])).text
    assert await _scalar(owner_engine, "SELECT count(*) FROM external_scores", DEPARTMENT) == 2
    assert (await _department_sheet(jobs_engine))["9"] == Decimal("13.245")
    assert await _scalar(owner_engine, count, DEPARTMENT) == 2


BAD_CELLS = [
    ("9.1", "abc", "phải là một số"),
    ("9.1", "-1", "Điểm không được âm."),
    ("9.2", "18,5", "Điểm 18,5 vượt quá điểm tối đa 18."),
    ("9.1", "1,2345", "tối đa 3 chữ số thập phân"),
    ("9.1", "NaN", "hữu hạn"),
    ("9.1", "9" * 41, "quá dài"),
    ("7", "-5", "Chỉ số không được âm."),
    ("7", "1000", "Chỉ số 1000 vượt quá 110."),
]


@pytest.mark.parametrize(("code", "typed", "message"), BAD_CELLS, ids=[f"{c[0]} {c[1][:8]}" for c in BAD_CELLS])
async def test_a_bad_cell_is_refused_next_to_itself_and_nothing_is_written(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, code: str, typed: str, message: str
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    response = await _save(client, {**GOLDEN, f"{DEPARTMENT}:{code}": typed})
    assert response.status_code == 422, response.text
    cell = f"o-{DEPARTMENT}-{code.replace('.', '-')}"
    error = re.search(rf'<p class="field-error" id="{cell}-error">([^<]*)</p>', squash(response.text))
    assert error, response.text
    assert message in error.group(1)
    assert f'aria-invalid="true" aria-describedby="{cell}-error"' in squash(response.text)
    assert "Chưa lưu: 1 ô không hợp lệ." in response.text
    assert f'<a href="#{cell}">Sở Tài nguyên và Môi trường – tiêu chí {code}:' in squash(response.text)
    assert f'value="{typed}"' in response.text  # what was typed comes back, the valid cells too
    assert 'value="13.245"' in response.text or code == "9.1"
    assert await _scalar(owner_engine, "SELECT count(*) FROM external_scores", DEPARTMENT) == 0
    assert await _scalar(owner_engine, OUR_AUDIT, DEPARTMENT) == 0
    assert await _scalar(owner_engine, OUR_AUDIT, "so-noi-vu") == 0


async def test_every_bad_cell_is_listed_in_the_summary(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    response = await _save(client, {f"{DEPARTMENT}:7": "x", f"{DEPARTMENT}:9.1": "-1", f"{DEPARTMENT}:9.2": "99"})
    assert response.status_code == 422
    assert "Chưa lưu: 3 ô không hợp lệ." in response.text
    assert response.text.count('class="field-error"') == 3


def test_an_index_beyond_the_maximum_points_is_capped_by_its_formula() -> None:
    criterion = ExternalCriterion(uuid.uuid4(), "7", "DTI", Decimal(11), Decimal("0.2"))
    assert criterion.ceiling == Decimal(100)
    assert criterion.points_for(parse_entry(criterion, "80") or Decimal(0)) == Decimal("11.000")  # 16 → 11
    assert criterion.points_for(parse_entry(criterion, "50,5") or Decimal(0)) == Decimal("10.100")
    with pytest.raises(ScoringError):
        parse_entry(criterion, "100,5")


async def test_a_year_without_criteria_set_is_a_vietnamese_404(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    token = await _csrf(client)
    page = await client.get(f"{SNV}/quan-tri/tinh/diem-ngoai/1999")
    assert page.status_code == 404
    assert "Tỉnh chưa có bộ chỉ số năm 1999." in page.text
    assert f'href="{SETS}"' in page.text
    assert (await client.get(f"{SNV}/quan-tri/tinh/diem-ngoai/1999/mau.xlsx")).status_code == 404
    posted = await client.post(f"{SNV}/quan-tri/tinh/diem-ngoai/1999", data={"_csrf_token": token})
    assert posted.status_code == 404
    assert "Không tìm thấy" in posted.text


# ---- the spreadsheet ------------------------------------------------------------------------------------------


async def _template(client: AsyncTestClient[Litestar]) -> openpyxl.Workbook:
    response = await client.get(f"{GRID}/mau.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "diem-ngoai-ba-ria-vung-tau-2023.xlsx" in response.headers["content-disposition"]
    return openpyxl.load_workbook(BytesIO(response.content))


async def _import(client: AsyncTestClient[Litestar], workbook: openpyxl.Workbook):  # type: ignore[no-untyped-def]
    buffer = BytesIO()
    workbook.save(buffer)
    return await _import_bytes(client, buffer.getvalue())


async def _import_bytes(client: AsyncTestClient[Litestar], data: bytes):  # type: ignore[no-untyped-def]
    token = await _csrf(client, GRID)
    return await client.post(
        f"{GRID}/nhap-xlsx",
        data={"_csrf_token": token},
        files={"tep": ("diem.xlsx", data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
        follow_redirects=False,
    )


async def test_the_template_filled_in_imports_every_department_and_empty_cells_keep_what_is_stored(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, jobs_engine: AsyncEngine
) -> None:
    await sign_in(client, PROVINCE_REVIEWER)
    workbook = await _template(client)
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == ["Mã đơn vị", "Tên đơn vị", "7", "9.1", "9.2"]
    assert [sheet.cell(2, 1).value, sheet.cell(2, 2).value] == [DEPARTMENT, "Sở Tài nguyên và Môi trường"]
    assert sheet.max_row == 2  # not the Sở Nội vụ itself
    sheet["C2"], sheet["D2"], sheet["E2"] = 93.76, 13.245, "17,375"
    response = await _import(client, workbook)
    assert response.status_code == 303, response.text
    assert "Đã nhập bảng tính: 1 đơn vị có thay đổi." in (await client.get(response.headers["location"])).text
    areas = await _department_sheet(jobs_engine)
    assert (areas["7"], areas["9"]) == (Decimal("9.376"), Decimal("30.620"))
    assert (
        await _scalar(owner_engine, "SELECT string_agg(DISTINCT source, ',') FROM external_scores", DEPARTMENT)
        == "xlsx"
    )

    again = await _template(client)
    again.worksheets[0]["D2"] = 10
    assert (await _import(client, again)).status_code == 303
    areas = await _department_sheet(jobs_engine)
    assert (areas["7"], areas["9"]) == (Decimal("9.376"), Decimal("27.375"))
    audits = "SELECT count(*) FROM audit_log WHERE action = 'external.enter'"
    assert await _scalar(owner_engine, audits, DEPARTMENT) == 2
    assert await _scalar(owner_engine, audits, "so-noi-vu") == 2


async def test_a_bad_workbook_lists_every_problem_with_its_cell_and_writes_nothing(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    workbook = await _template(client)
    sheet = workbook.worksheets[0]
    sheet["C2"], sheet["D2"], sheet["E2"] = 93.76, "mười ba", 19
    sheet["A3"], sheet["D3"] = "so-khong-co", 1
    response = await _import(client, workbook)
    assert response.status_code == 422
    problems = _problems(response.text)
    assert any(p.startswith("Ô D2: ") and "không phải là số" in p for p in problems), problems
    assert any(p.startswith("Ô E2: ") and "vượt quá điểm tối đa 18" in p for p in problems), problems
    assert any(p.startswith("Ô A3: ") and "so-khong-co" in p for p in problems), problems
    assert "Bảng tính bị từ chối (3 lỗi), không có gì thay đổi" in response.text
    assert await _scalar(owner_engine, "SELECT count(*) FROM external_scores", DEPARTMENT) == 0
    assert await _scalar(owner_engine, OUR_AUDIT, "so-noi-vu") == 0

    not_xlsx = await _import_bytes(client, b"province: ba-ria-vung-tau\n")
    assert not_xlsx.status_code == 422
    assert "Tệp không phải là bảng tính Excel (.xlsx)." in _problems(not_xlsx.text)
    token = await _csrf(client, GRID)
    no_file = await client.post(f"{GRID}/nhap-xlsx", files={"_csrf_token": (None, token)})
    assert no_file.status_code == 422
    assert "Chọn tệp bảng tính (.xlsx) để nhập." in _problems(no_file.text)
