"""The demo's fill (`parboard demo`): each demo province of the 2025 map has at least 22 departments and 10
communes, with published results of past years generated from a seed (the same every run), ranked per group."""

from __future__ import annotations

import re
from decimal import Decimal

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.demo_fill import YEARS, demo_assessments, demo_history, with_demo_tenants
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT
from tests.auth_support import in_tenant_of, scalar
from tests.html_support import squash
from tests.support import sign_in

ROOT = PROJECT_ROOT / "tenants"


async def _kinds(owner_engine: AsyncEngine, province: str) -> dict[str, int]:
    async with owner_engine.connect() as db:
        rows = await db.execute(
            text(
                "SELECT t.kind, count(*) FROM tenants t JOIN provinces p ON p.id = t.province_id "
                "WHERE p.code = :p GROUP BY t.kind"
            ),
            {"p": province},
        )
        return {kind: int(n) for kind, n in rows}


async def _history(owner_engine: AsyncEngine, province: str, tenant: str) -> list[tuple[int, Decimal, int, int]]:
    rows = await in_tenant_of(
        owner_engine, province, tenant, "SELECT year, total, rank, rank_of FROM appraised_results ORDER BY year"
    )
    return [(int(r.year), Decimal(r.total), int(r.rank), int(r.rank_of)) for r in rows]


async def test_the_demo_provinces_look_like_real_ones_and_the_fill_is_the_same_every_run(
    owner_engine: AsyncEngine,
) -> None:
    provinces = load_directory(ROOT)
    lineage = load_lineage(ROOT, provinces)
    assert lineage is not None
    filled = with_demo_tenants(provinces, set(lineage.merged_provinces))
    await sync_tenants(owner_engine, filled, demo_people=True, lineage=lineage)
    assert await demo_history(owner_engine, provinces) > 0

    for province in ("ha-tinh", "ho-chi-minh"):
        kinds = await _kinds(owner_engine, province)
        assert kinds["department"] >= 22, (province, kinds)
        assert kinds["commune"] >= 10, (province, kinds)
    assert await _kinds(owner_engine, "ba-ria-vung-tau") == {"department": 1, "home_affairs": 1}  # merged: as declared

    history = await _history(owner_engine, "ho-chi-minh", "so-tai-chinh")
    assert [year for year, *_ in history] == list(YEARS)
    for _, total, rank, of in history:
        assert Decimal(60) < total < Decimal(100)
        assert 1 <= rank <= of
        assert of >= 20  # ranked among the province's generated departments, not "1/1"
    # A second run writes nothing and changes nothing (a seed, not the clock, makes the numbers).
    assert await demo_history(owner_engine, provinces) == 0
    assert (
        await sync_tenants(owner_engine, filled, demo_people=True, lineage=lineage)
    ).summary() == "không có thay đổi"
    assert await _history(owner_engine, "ho-chi-minh", "so-tai-chinh") == history
    assert with_demo_tenants(provinces, set(lineage.merged_provinces)) == filled
    assert await scalar(owner_engine, "SELECT count(*) FROM tenant_lineage") == 4


async def test_the_demo_province_results_rank_its_generated_departments_and_communes(
    owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """Hà Tĩnh 2020, the year of its per-group criteria sets: the generated tenants' approved self-assessments
    make a results page of a real province's size, ranked per group, with classes and a heatmap."""
    provinces = load_directory(ROOT)
    lineage = load_lineage(ROOT, provinces)
    assert lineage is not None
    await sync_tenants(
        owner_engine, with_demo_tenants(provinces, set(lineage.merged_provinces)), demo_people=True, lineage=lineage
    )
    await import_criteria(owner_engine, load_all(ROOT))
    assessed = await demo_assessments(owner_engine, provinces)
    assert assessed >= 2 * (17 + 9)  # Hà Tĩnh's generated departments and communes (2020), Hồ Chí Minh's (2025)
    assert await demo_assessments(owner_engine, provinces) == 0  # once

    await sign_in(client, "nghia.tv@snv.hatinh.example.vn")  # Hà Tĩnh's province admin
    page = await client.get("/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020")
    assert page.status_code == 200
    ranking = squash(page.text).split('id="ranking"')[1].split("</table>")[0]
    ranks = re.findall(r"<td[^>]*>(\d+)/(\d+)</td>", ranking)
    departments = {of for _, of in ranks if int(of) >= 17}
    assert departments, ranks[:5]  # ranked among ~17 departments, not "1/1"
    assert any(int(of) >= 9 for _, of in ranks if int(of) < 17)  # and the communes among themselves
    assert "Nhóm I" in ranking or "Nhóm II" in ranking  # classes
    assert "chart chart-heatmap" in page.text  # the heatmap is drawn
