"""The Sở Nội vụ's view across the province: ranks within groups (ties share), heatmap, most-lost criteria."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import AppraisedResult
from backend.db.rls import bind_tenant
from tests.factories import REVIEWER
from tests.html_support import squash
from tests.support import HTMX, SEED_001, sign_in, tenant_and_province

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

RESULTS = "/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020"


async def _assess(
    client: AsyncTestClient[Litestar], tenant: str, email: str, rows: list[tuple[str, dict[str, str]]]
) -> None:
    await sign_in(client, email)
    base = f"/t/ha-tinh/{tenant}/tu-danh-gia/2020"
    page = await client.get(base)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', squash(page.text))
    assert token
    await client.post(f"{base}/bat-dau", data={"_csrf_token": token.group(1)}, follow_redirects=False)
    for code, form in rows:
        response = await client.post(
            f"{base}/tieu-chi/{code}", data={"version": "0", **form, "_csrf_token": token.group(1)}, headers=HTMX
        )
        assert response.status_code == 200, (code, response.text)


async def test_ranks_heatmap_and_most_lost_across_departments(client: AsyncTestClient[Litestar]) -> None:
    await _assess(client, "so-ngoai-vu", "thao.ntp@sngv.hatinh.example.vn", SEED_001)
    # Sở TN&MT: the same, but 1.2 at 80 % (1,2) and 3 at 14: 75,25 − 0,22 − 0,5 = 74,53
    changed = dict(SEED_001)
    changed["1.2"] = {"achieved": "80", "target": "100"}
    changed["3"] = {"points": "14"}
    rows = [(code, changed[code]) if code in ("1.2", "3") else (code, form) for code, form in SEED_001]
    await _assess(client, "so-tai-nguyen-moi-truong", "thuong.tth@stnmt.hatinh.example.vn", rows)

    await sign_in(client, REVIEWER)
    page = await client.get(RESULTS)
    assert page.status_code == 200, page.text
    ranking = squash(page.text).split('id="ranking"')[1].split("</table>")[0]
    assert re.search(r"1/2</td><td>Sở Ngoại vụ</td><td class=\"num\">75,25<", ranking)
    assert re.search(r"2/2</td><td>Sở Tài nguyên và Môi trường</td><td class=\"num\">74,53<", ranking)
    lost = squash(page.text).split('id="most-lost"')[1].split("</table>")[0]
    # 1.2 is lost by both (0,08 + 0,3): the most-lost list counts departments first
    assert re.search(r"<td>1\.2 [^<]*</td><td class=\"num\">2</td><td class=\"num\">0,38</td>", lost), lost
    assert 'class="chart chart-heatmap' in page.text
    assert 'data-column="1.2"' in page.text
    svg = await client.get(f"{RESULTS}/bieu-do/ban-do-nhiet.svg")
    assert svg.status_code == 200
    assert svg.text.startswith("<svg")


async def test_ties_share_a_rank(client: AsyncTestClient[Litestar]) -> None:
    await _assess(client, "so-ngoai-vu", "thao.ntp@sngv.hatinh.example.vn", SEED_001)
    await _assess(client, "so-tai-nguyen-moi-truong", "thuong.tth@stnmt.hatinh.example.vn", SEED_001)
    await sign_in(client, REVIEWER)
    ranking = squash((await client.get(RESULTS)).text).split('id="ranking"')[1].split("</table>")[0]
    assert ranking.count("1/2</td>") == 2


async def test_only_the_province_side_sees_across_departments(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, "thao.ntp@sngv.hatinh.example.vn")  # a department's focal point
    assert (await client.get(RESULTS)).status_code == 403
    assert (await client.get("/t/ha-tinh/so-ngoai-vu/tinh/ket-qua/2020")).status_code == 403
    await sign_in(client, "van.tt@snv.hatinh.example.vn")  # unit head inside the Sở Nội vụ, not province staff
    assert (await client.get(RESULTS)).status_code == 403
    await sign_in(client, REVIEWER)
    page = await client.get(RESULTS)
    assert page.status_code == 200
    assert "Chưa có đơn vị nào tự đánh giá" in page.text
    assert (await client.get("/t/ha-tinh/so-noi-vu/tinh/ket-qua/1999")).status_code == 404


async def test_the_results_export_carries_each_groups_rank_index_class_and_applicable_maximum(
    client: AsyncTestClient[Litestar],
) -> None:
    await _assess(client, "so-ngoai-vu", "thao.ntp@sngv.hatinh.example.vn", SEED_001)  # 75,25 of 100
    # Sở TN&MT: 1.2 at 80 % (1,2 for 1,42) and 3 at 13,995 (for 14,5): 75,25 − 0,22 − 0,505 = 74,525, whose
    # index is 74,53 half-up (74,52 half-even; 74,5 or 75 if rounded twice)
    changed = dict(SEED_001) | {"1.2": {"achieved": "80", "target": "100"}, "3": {"points": "13,995"}}
    rows = [(code, changed[code]) for code, _ in SEED_001]
    await _assess(client, "so-tai-nguyen-moi-truong", "thuong.tth@stnmt.hatinh.example.vn", rows)
    points = {"1": "9", "2": "8", "3": "14", "4": "8", "5": "12", "6": "6", "7": "12"}
    commune = [(code, {"points": value}) for code, value in points.items()]
    await _assess(
        client, "phuong-thanh-sen", "kien.tv@thanhsen.hatinh.example.vn", commune
    )  # 69 of the commune set's 100

    await sign_in(client, REVIEWER)
    page = await client.get(RESULTS)
    assert f'href="{RESULTS}/ket-qua.xlsx"' in page.text
    export = await client.get(f"{RESULTS}/ket-qua.xlsx")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    ws = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert ws is not None
    header = next(i for i, row in enumerate(ws.iter_rows(values_only=True), start=1) if row[0] == "Nhóm xếp hạng")
    assert [c.value for c in ws[header]] == [
        "Nhóm xếp hạng",
        "Hạng",
        "Số đơn vị trong nhóm",
        "Mã đơn vị",
        "Tên đơn vị",
        "Tổng điểm",
        "Điểm tối đa áp dụng",
        "Chỉ số CCHC (%)",
        "Xếp loại",
        "Trạng thái",
    ]
    lines = {row[3].value: row for row in ws.iter_rows(min_row=header + 1) if row[3].value}
    assert set(lines) == {"so-ngoai-vu", "so-tai-nguyen-moi-truong", "phuong-thanh-sen"}

    def values(code: str) -> tuple[object, ...]:
        row = lines[code]
        return (row[1].value, row[2].value, row[5].value, row[6].value, row[7].value, row[8].value)

    assert values("so-ngoai-vu") == (1, 2, 75.25, 100, 75.25, "Nhóm III")
    assert values("so-tai-nguyen-moi-truong") == (2, 2, 74.525, 100, 74.53, "Nhóm III")
    assert values("phuong-thanh-sen") == (None, 1, 69, 100, 69, "Nhóm III")  # alone in its own group: no rank
    assert lines["so-ngoai-vu"][0].value == lines["so-tai-nguyen-moi-truong"][0].value
    assert lines["phuong-thanh-sen"][0].value != lines["so-ngoai-vu"][0].value
    assert lines["so-tai-nguyen-moi-truong"][7].number_format == "0.00"  # two places, as the province publishes
    # the cell holds the published index exactly (its XML text), not a float rounded again
    sheet_xml = zipfile.ZipFile(io.BytesIO(export.content)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>74.53</v>" in sheet_xml
    assert "<v>74.525</v>" in sheet_xml


async def test_the_results_export_is_the_province_sides_only(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, "thao.ntp@sngv.hatinh.example.vn")
    assert (await client.get("/t/ha-tinh/so-ngoai-vu/tinh/ket-qua/2020/ket-qua.xlsx")).status_code == 403
    await sign_in(client, REVIEWER)
    assert (await client.get("/t/ha-tinh/so-noi-vu/tinh/ket-qua/1999/ket-qua.xlsx")).status_code == 404


async def test_a_department_alone_in_its_group_is_not_ranked_one_of_one(client: AsyncTestClient[Litestar]) -> None:
    """Issue 17 item 13: one self-assessment in a group is no ranking ("1/1" on self-scores alone)."""
    await _assess(client, "so-ngoai-vu", "thao.ntp@sngv.hatinh.example.vn", SEED_001)
    await sign_in(client, REVIEWER)
    ranking = squash((await client.get(RESULTS)).text).split('id="ranking"')[1].split("</table>")[0]
    assert "1/1" not in ranking
    assert re.search(r"<tr><td class=\"num\">–</td><td>Sở Ngoại vụ</td><td class=\"num\">75,25<", ranking)


async def test_a_year_with_a_published_result_shows_it_and_does_not_say_nobody_assessed(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """Issue 17 item 13: a department's published 2020 (85,675, 3rd of 20) with no self-assessment on parboard."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, _ = await tenant_and_province(db, "ha-tinh", "so-tai-nguyen-moi-truong")
        await bind_tenant(db, tenant.id)
        db.add(
            AppraisedResult(
                tenant_id=tenant.id, year=2020, areas={}, total=Decimal("85.675"), rank=3, rank_of=20, source="test"
            )
        )
        await db.flush()
        await bind_tenant(db, None)
    await sign_in(client, REVIEWER)
    page = squash((await client.get(RESULTS)).text)
    published = page.split('id="published"')[1].split("</table>")[0]
    assert re.search(
        r"<td>Sở Tài nguyên và Môi trường</td><td class=\"num\">85,675</td><td class=\"num\">3/20</td>", published
    )
    assert "Chưa có đơn vị nào tự đánh giá năm 2020." not in page
    assert "kết quả đã công bố ở bảng trên" in page
