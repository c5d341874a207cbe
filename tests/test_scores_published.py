"""Scores as provinces publish them, through the pages: each ranking group's own criteria set, the index of the
tenant's applicable maximum and its class, "không áp dụng" declared in the set or decided by the Sở Nội vụ,
and the province's ranking per group (Hà Tĩnh 2020: departments 80 + 20, communes 70 + 30)."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import REVIEWER
from tests.html_support import squash
from tests.support import COMMUNE_ROWS, HTMX, SEED_001, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

RESULTS = "/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020"
ADMIN = "nghia.tv@snv.hatinh.example.vn"  # province_admin
SNGV = ("so-ngoai-vu", "thao.ntp@sngv.hatinh.example.vn")
COMMUNE = ("phuong-thanh-sen", "kien.tv@thanhsen.hatinh.example.vn")


def _token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def _assess(
    client: AsyncTestClient[Litestar], tenant: tuple[str, str], rows: list[tuple[str, dict[str, str]]]
) -> str:
    code, email = tenant
    await sign_in(client, email)
    base = f"/t/ha-tinh/{code}/tu-danh-gia/2020"
    token = _token((await client.get(base)).text)
    await client.post(f"{base}/bat-dau", data={"_csrf_token": token}, follow_redirects=False)
    saves: dict[str, int] = {}  # a row's version is the number of its saves (0: never saved)
    for criterion, form in rows:
        data = {"version": str(saves.get(criterion, 0)), **form, "_csrf_token": token}
        response = await client.post(f"{base}/tieu-chi/{criterion}", data=data, headers=HTMX)
        assert response.status_code == 200, (criterion, response.text)
        saves[criterion] = saves.get(criterion, 0) + 1
    return base


async def _decide(client: AsyncTestClient[Litestar], form: dict[str, str]) -> object:
    token = _token((await client.get(RESULTS)).text)
    return await client.post(f"{RESULTS}/khong-ap-dung", data={**form, "_csrf_token": token}, follow_redirects=False)


async def _count(owner_engine: AsyncEngine, sql: str) -> int:
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p"
                " ON p.id = t.province_id WHERE p.code = 'ha-tinh' AND t.code = 'so-ngoai-vu'), true)"
            )
        )
        return int(await db.scalar(text(sql)) or 0)


def _ranking(html: str) -> str:
    return html.split('id="ranking"')[1].split("</table>")[0]


async def test_a_commune_self_assesses_on_the_commune_set_out_of_100(client: AsyncTestClient[Litestar]) -> None:
    base = await _assess(client, COMMUNE, COMMUNE_ROWS)
    overview = squash((await client.get(base)).text)
    assert "tối đa 100 điểm" in overview
    assert "Cải cách thủ tục hành chính" in overview
    assert "Điều tra xã hội học (mức độ hài lòng của người dân, tổ chức)" in overview  # the commune's 30 points
    assert re.search(r'id="sheet-total">69,5</output><span class="muted">/100<', overview)
    assert 'id="sheet-index">69,50 %<' in overview  # 69,5 ÷ 100: two decimals kept
    home = squash((await client.get("/t/ha-tinh/phuong-thanh-sen/")).text)
    assert 'id="dashboard-index">69,50 %<' in home


async def test_the_sở_nội_vụ_decides_the_survey_does_not_apply_and_the_index_and_class_follow(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    base = await _assess(client, SNGV, SEED_001)
    overview = squash((await client.get(base)).text)
    assert 'id="sheet-index">75,25 %<' in overview  # 75,25 of 100: the survey applies, not entered yet
    assert '<strong class="result-class">Nhóm III</strong>' in overview  # ≥ 65, below 80

    await sign_in(client, ADMIN)
    decided = await _decide(client, {"tenant": "so-ngoai-vu", "criterion": "8", "reason": "Không đủ phiếu khảo sát"})
    assert decided.status_code in (302, 303)  # type: ignore[attr-defined]
    page = squash((await client.get(RESULTS)).text)
    assert "Không đủ phiếu khảo sát" in page.split('id="not-applicable"')[1]
    # 75,25 of the 80 that apply = 94,0625 → 94,06 %; every area at 80 % or more: Nhóm I. Alone in its group with
    # a self-score, it gets no order ("–", never "1/1").
    assert re.search(
        r"–</td><td>Sở Ngoại vụ</td><td class=\"num\">75,25</td><td class=\"num\">80</td>"
        r"<td class=\"num index\">94,06 %</td><td>Nhóm I</td>",
        _ranking(page),
    ), _ranking(page)
    assert await _count(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'not_applicable.decide'") == 1

    await sign_in(client, SNGV[1])
    overview = squash((await client.get(base)).text)
    assert 'id="sheet-index">94,06 %<' in overview
    assert "Tối đa áp dụng cho đơn vị: 80 trên 100 điểm" in overview
    area = squash((await client.get(f"{base}/linh-vuc/8")).text)
    assert "Không áp dụng cho đơn vị: Không đủ phiếu khảo sát" in area
    export = openpyxl.load_workbook(BytesIO((await client.get(f"{base}/bang-tu-danh-gia.xlsx")).content)).active
    assert export is not None
    values = [row for row in export.iter_rows(values_only=True) if row and row[1] is not None]
    survey = next(row for row in values if row[0] == "8")
    assert survey[4] == "Không áp dụng: Không đủ phiếu khảo sát"
    total = next(row for row in values if row[1] == "Tổng điểm")
    assert (Decimal(str(total[2])), Decimal(str(total[3]))) == (Decimal(80), Decimal("75.25"))
    index = next(row for row in values if str(row[1]).startswith("Chỉ số CCHC"))
    assert (index[3], index[4]) == ("94,06 %", "Xếp loại: Nhóm I")

    await sign_in(client, ADMIN)
    token = _token((await client.get(RESULTS)).text)
    revoked = await client.post(
        f"{RESULTS}/khong-ap-dung/bo",
        data={"tenant": "so-ngoai-vu", "criterion": "8", "_csrf_token": token},
        follow_redirects=False,
    )
    assert revoked.status_code in (302, 303)
    results = squash((await client.get(RESULTS)).text)
    assert "94,06 %" not in _ranking(results)
    assert "Đã bỏ quyết định không áp dụng." in results
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 0
    assert await _count(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'not_applicable.revoke'") == 1


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"tenant": "so-ngoai-vu", "criterion": "9.9", "reason": "x"}, "criterion", "Tiêu chí &#39;9.9&#39; không có"),
        ({"tenant": "khong-co", "criterion": "3", "reason": "x"}, "tenant", "Chọn một đơn vị của tỉnh."),
        ({"tenant": "so-ngoai-vu", "criterion": "3", "reason": "  "}, "reason", "Cần ghi lý do không áp dụng."),
    ],
    ids=["criterion_that_does_not_exist", "unknown_tenant", "no_reason"],
)
async def test_a_bad_decision_is_refused_next_to_its_field_with_nothing_saved(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, form: dict[str, str], field: str, message: str
) -> None:
    await sign_in(client, ADMIN)
    refused = await _decide(client, form)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    html = refused.text  # type: ignore[attr-defined]
    assert f'id="na-{field}-error">{message}' in html
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 0


async def test_only_the_province_admin_decides(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    await sign_in(client, REVIEWER)
    page = squash((await client.get(RESULTS)).text)
    assert "Quyết định không áp dụng" not in page
    token = _token(page)
    refused = await client.post(
        f"{RESULTS}/khong-ap-dung",
        data={"tenant": "so-ngoai-vu", "criterion": "8", "reason": "x", "_csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 0


async def test_a_tenant_attribute_takes_what_the_set_declares_not_applicable_out_of_its_maximum(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    async with owner_engine.begin() as db:
        await db.execute(text("UPDATE tenants SET attributes = '[\"khong-tthc\"]' WHERE code = 'so-ngoai-vu'"))
    base = await _assess(client, SNGV, [row for row in SEED_001 if row[0] != "3"])
    refused = await client.post(
        f"{base}/tieu-chi/3",
        data={"points": "14,5", "_csrf_token": _token((await client.get(base)).text)},
        headers=HTMX,
    )
    assert refused.status_code == 422  # area 3 does not apply: nothing to enter
    overview = squash((await client.get(base)).text)
    # 75,25 − 14,5 = 60,75 of 100 − 14,5 = 85,5 → 71,05 %
    assert 'id="sheet-index">71,05 %<' in overview
    assert 'title="Đơn vị không có thủ tục hành chính thuộc thẩm quyền giải quyết">Không áp dụng' in overview


async def test_each_group_ranks_on_its_own(client: AsyncTestClient[Litestar]) -> None:
    await _assess(client, SNGV, SEED_001)
    await _assess(client, COMMUNE, COMMUNE_ROWS)
    await sign_in(client, REVIEWER)
    ranking = squash(_ranking((await client.get(RESULTS)).text))
    groups = re.findall(r'data-group="([^"]+)"', ranking)
    assert groups == ["Sở, ban, ngành", "Xã, phường"]
    # each alone in its own group: no order on self-scores ("–", never "1/1"); the index and the group are shown
    assert re.search(r"–</td><td>Sở Ngoại vụ</td>.*?75,25 %", ranking, re.S)
    assert re.search(r"–</td><td>UBND phường Thành Sen</td>.*?69,50 %", ranking, re.S)


async def test_the_read_api_gives_a_tenant_s_and_the_province_s_results(client: AsyncTestClient[Litestar]) -> None:
    await _assess(client, SNGV, SEED_001)
    await _assess(client, COMMUNE, COMMUNE_ROWS)
    own = await client.get("/api/v1/t/ha-tinh/phuong-thanh-sen/ket-qua/2020")
    assert own.status_code == 200, own.text
    body = own.json()
    assert (body["ranking_group"], body["points"], body["applicable_max"], body["total_max"]) == (
        "xa-phuong",
        "69.500",
        "100.000",
        "100.000",
    )
    assert (body["index"], body["index_places"], body["result_class"]) == (
        "69.50",
        2,
        {"code": "nhom-3", "label": "Nhóm III"},
    )
    assert body["areas"][0] == {
        "code": "1",
        "title": "Công tác chỉ đạo, điều hành cải cách hành chính",
        "points": "9.500",
        "applicable_max": "10.000",
        "index": "95.00",
    }
    assert (await client.get("/api/v1/t/ha-tinh/phuong-thanh-sen/ket-qua/tinh/2020")).status_code in (403, 404)
    assert (await client.get("/api/v1/t/ha-tinh/so-ngoai-vu/ket-qua/2020")).status_code == 403  # another tenant

    await sign_in(client, REVIEWER)
    province = await client.get("/api/v1/t/ha-tinh/so-noi-vu/ket-qua/tinh/2020", params={"nhom": "xa-phuong"})
    assert province.status_code == 200, province.text
    (group,) = province.json()["groups"]
    assert (group["code"], group["name"]) == ("xa-phuong", "Xã, phường")
    (commune,) = group["results"]
    assert (commune["tenant"], commune["index"], commune["rank"], commune["of"]) == ("phuong-thanh-sen", "69.50", 1, 1)
    every = (await client.get("/api/v1/t/ha-tinh/so-noi-vu/ket-qua/tinh/2020")).json()
    assert [g["code"] for g in every["groups"]] == ["so-ban-nganh", "xa-phuong"]
    assert (
        await client.get("/api/v1/t/ha-tinh/so-noi-vu/ket-qua/tinh/2020", params={"nhom": "khong-co"})
    ).status_code == 404
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/t/{province_code}/{tenant_code}/ket-qua/{year}" in schema["paths"]
    assert "/api/v1/t/{province_code}/{tenant_code}/ket-qua/tinh/{year}" in schema["paths"]


async def test_survey_points_are_entered_per_group_against_the_group_s_weights(
    client: AsyncTestClient[Litestar],
) -> None:
    base = await _assess(client, COMMUNE, COMMUNE_ROWS)
    await sign_in(client, ADMIN)
    grid = "/t/ha-tinh/so-noi-vu/quan-tri/tinh/diem-ngoai/2020"
    departments = (await client.get(grid)).text  # the first group with tenants: the departments, 20 points
    assert "Sở Ngoại vụ" in departments
    assert "UBND phường Thành Sen" not in departments
    assert "tối đa 20 điểm" in departments
    communes = await client.get(grid, params={"nhom": "xa-phuong"})
    assert communes.status_code == 200
    assert "UBND phường Thành Sen" in communes.text
    assert "Sở Ngoại vụ" not in communes.text
    assert "tối đa 30 điểm" in communes.text
    assert 'action="/t/ha-tinh/so-noi-vu/quan-tri/tinh/diem-ngoai/2020?nhom=xa-phuong"' in communes.text
    token = _token(communes.text)
    over = await client.post(
        f"{grid}?nhom=xa-phuong", data={"phuong-thanh-sen:8": "31", "_csrf_token": token}, follow_redirects=False
    )
    assert over.status_code == 422
    assert "vượt quá điểm tối đa 30" in over.text
    saved = await client.post(
        f"{grid}?nhom=xa-phuong", data={"phuong-thanh-sen:8": "25,5", "_csrf_token": token}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert "nhom=xa-phuong" in saved.headers["location"]
    assert (await client.get(grid, params={"nhom": "khong-co"})).status_code == 404

    await sign_in(client, COMMUNE[1])
    assert 'id="sheet-index">95,00 %<' in squash((await client.get(base)).text)  # 69,5 + 25,5 of 100


def _answers_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["Phiếu,Đơn vị,Tiêu chí,Trả lời", *(",".join(row) for row in rows)]
    return "\n".join(lines).encode("utf-8")


async def test_survey_answers_are_previewed_row_by_row_then_saved_and_too_few_do_not_apply(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    base = await _assess(client, COMMUNE, COMMUNE_ROWS)
    await sign_in(client, ADMIN)
    grid = "/t/ha-tinh/so-noi-vu/quan-tri/tinh/diem-ngoai/2020"
    token = _token((await client.get(grid, params={"nhom": "xa-phuong"})).text)

    bad = _answers_csv(
        [("01", "xa-khong-co", "8", "A"), ("01", "phuong-thanh-sen", "8", "F"), ("02", "phuong-thanh-sen", "9", "A")]
    )
    refused = await client.post(
        f"{grid}/nhap-phieu?nhom=xa-phuong", data={"_csrf_token": token}, files={"tep": ("phieu.csv", bad, "text/csv")}
    )
    assert refused.status_code == 422
    assert "Dòng 2: đơn vị &#39;xa-khong-co&#39; không có trong danh sách đơn vị của bảng này" in refused.text
    assert "Dòng 3: câu trả lời &#39;F&#39; phải là một trong A, B, C, D, E" in refused.text
    assert "Dòng 4: tiêu chí &#39;9&#39; không phải phần khảo sát của bộ chỉ số" in refused.text

    # ten answers that count (the default minimum): five A, five B, and an E left out → 80 % of 30
    good = _answers_csv(
        [(f"{i:02}", "phuong-thanh-sen", "8", answer) for i, answer in enumerate("AAAAABBBBBE", start=1)]
    )
    preview = await client.post(
        f"{grid}/nhap-phieu?nhom=xa-phuong", data={"_csrf_token": token}, files={"tep": ("phieu.csv", good, "text/csv")}
    )
    assert preview.status_code == 200, preview.text
    table = squash(preview.text).split('id="answers-preview"')[1].split("</table>")[0]
    assert re.search(r"UBND phường Thành Sen</td><td>8</td><td class=\"num\">10</td><td class=\"num\">24<", table)
    assert 'type="hidden" name="phuong-thanh-sen:8" value="24.000"' in squash(preview.text)

    await sign_in(client, COMMUNE[1])
    assert 'id="sheet-index">69,50 %<' in squash((await client.get(base)).text)  # the preview saved nothing
    await sign_in(client, ADMIN)
    token = _token((await client.get(grid)).text)  # a new session: a new CSRF token
    saved = await client.post(
        f"{grid}?nhom=xa-phuong", data={"phuong-thanh-sen:8": "24.000", "_csrf_token": token}, follow_redirects=False
    )
    assert saved.status_code == 303
    await sign_in(client, COMMUNE[1])
    assert 'id="sheet-index">93,50 %<' in squash((await client.get(base)).text)  # 69,5 + 24 of 100

    # the departments: three answers for the Sở Ngoại vụ, under the minimum: its survey part does not apply
    await sign_in(client, ADMIN)
    token = _token((await client.get(grid)).text)  # a new session: a new CSRF token
    few = _answers_csv([("01", "so-ngoai-vu", "8", "A")] * 3)
    preview = await client.post(
        f"{grid}/nhap-phieu", data={"_csrf_token": token}, files={"tep": ("p.csv", few, "text/csv")}
    )
    assert "Không áp dụng (dưới 10 phiếu)" in preview.text
    confirm = re.search(r'name="khong-ap-dung" value="([^"]+)"', squash(preview.text))
    assert confirm
    done = await client.post(
        grid,
        data={"khong-ap-dung": confirm.group(1).replace("&#39;", "'"), "_csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions WHERE criterion_code = '8'") == 1


async def test_a_department_claims_not_applicable_and_the_province_accepts_or_refuses(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    base = await _assess(client, SNGV, SEED_001)
    token = _token((await client.get(base)).text)
    bad = await client.post(f"{base}/khong-ap-dung", data={"criterion": "9.9", "reason": "x", "_csrf_token": token})
    assert bad.status_code == 422
    assert 'id="claim-criterion-error">Tiêu chí &#39;9.9&#39; không có' in squash(bad.text)
    for code, reason in (("8", "Không đủ hồ sơ TTHC để khảo sát"), ("3", "Đơn vị không giải quyết TTHC")):
        claimed = await client.post(
            f"{base}/khong-ap-dung",
            data={"criterion": code, "reason": reason, "_csrf_token": token},
            follow_redirects=False,
        )
        assert claimed.status_code in (302, 303)
    overview = squash((await client.get(base)).text)
    assert "Đơn vị đề nghị, chờ quyết định" in overview.split('id="claims"')[1]
    assert "Đã gửi đề nghị không áp dụng tiêu chí; Sở Nội vụ sẽ xem xét." in overview  # flashed after the redirect
    assert 'id="sheet-index">75,25 %<' in overview  # a claim alone changes nothing

    await sign_in(client, ADMIN)
    page = squash((await client.get(RESULTS)).text)
    assert page.count("Đơn vị đề nghị, chờ quyết định") == 2
    token = _token(page)
    for code, action in (("8", "chap-nhan"), ("3", "tu-choi")):
        answered = await client.post(
            f"{RESULTS}/khong-ap-dung/tra-loi",
            data={"tenant": "so-ngoai-vu", "criterion": code, "action": action, "note": "Đã xem", "_csrf_token": token},
            follow_redirects=False,
        )
        assert answered.status_code in (302, 303)
    results = squash((await client.get(RESULTS)).text)
    assert "94,06 %" in _ranking(results)  # the survey's 20 points left the maximum
    assert "Đã chấp nhận đề nghị không áp dụng." in results
    assert "Đã từ chối đề nghị không áp dụng." in results

    await sign_in(client, SNGV[1])
    claims = squash((await client.get(base)).text).split('id="claims"')[1].split("</table>")[0]
    assert "<td>3</td><td>Đơn vị không giải quyết TTHC</td><td>Không chấp nhận</td><td>Đã xem</td>" in claims
    assert "<td>8</td><td>Không đủ hồ sơ TTHC để khảo sát</td><td>Không áp dụng</td>" in claims
    actions = await _count(
        owner_engine,
        "SELECT count(*) FROM audit_log WHERE action IN "
        "('not_applicable.claim', 'not_applicable.accept', 'not_applicable.refuse')",
    )
    assert actions == 4
