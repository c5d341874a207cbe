"""The Sở Nội vụ's view across the province: ranks within groups (ties share), heatmap, most-lost criteria."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import AppraisedResult
from backend.db.rls import bind_tenant
from tests.support import sign_in, tenant_and_province
from tests.test_assessments import HTMX, SEED_001, criteria  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

RESULTS = "/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020"
REVIEWER = "toan.nv@snv.hatinh.example.vn"


async def _assess(
    client: AsyncTestClient[Litestar], tenant: str, email: str, rows: list[tuple[str, dict[str, str]]]
) -> None:
    await sign_in(client, email)
    base = f"/t/ha-tinh/{tenant}/tu-danh-gia/2020"
    page = await client.get(base)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
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
    ranking = page.text.split('id="ranking"')[1].split("</table>")[0]
    assert re.search(r"1/2</td><td>Sở Ngoại vụ</td><td class=\"num\">75,25<", ranking)
    assert re.search(r"2/2</td><td>Sở Tài nguyên và Môi trường</td><td class=\"num\">74,53<", ranking)
    lost = page.text.split('id="most-lost"')[1].split("</table>")[0]
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
    ranking = (await client.get(RESULTS)).text.split('id="ranking"')[1].split("</table>")[0]
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


async def test_a_department_alone_in_its_group_is_not_ranked_one_of_one(client: AsyncTestClient[Litestar]) -> None:
    """Issue 17 item 13: one self-assessment in a group is no ranking ("1/1" on self-scores alone)."""
    await _assess(client, "so-ngoai-vu", "thao.ntp@sngv.hatinh.example.vn", SEED_001)
    await sign_in(client, REVIEWER)
    ranking = (await client.get(RESULTS)).text.split('id="ranking"')[1].split("</table>")[0]
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
    page = (await client.get(RESULTS)).text
    published = page.split('id="published"')[1].split("</table>")[0]
    assert re.search(
        r"<td>Sở Tài nguyên và Môi trường</td><td class=\"num\">85,675</td><td class=\"num\">3/20</td>", published
    )
    assert "Chưa có đơn vị nào tự đánh giá năm 2020." not in page
    assert "kết quả đã công bố ở bảng trên" in page
