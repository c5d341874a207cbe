"""Seed 004's published history through PostgreSQL: every year's total reproduced exactly, years lined up
across the 2023 merge, and the dashboard showing it."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.assessments.history import HistoryError, import_histories, load_histories
from backend.settings import PROJECT_ROOT
from tests.html_support import squash
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants")

GOLDEN = {2019: "81.659", 2020: "85.625", 2021: "84.955", 2022: "85.675", 2023: "87.225"}
STNMT = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"


async def _import(owner_engine: AsyncEngine) -> None:
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))


async def test_history_import_reproduces_every_published_total_exactly(owner_engine: AsyncEngine) -> None:
    await _import(owner_engine)
    await _import(owner_engine)  # a second import replaces, never duplicates
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p"
                " ON p.id = t.province_id WHERE p.code = 'ba-ria-vung-tau'"
                " AND t.code = 'so-tai-nguyen-moi-truong'), true)"
            )
        )
        rows = (
            await db.execute(text("SELECT year, total, rank, rank_of, areas FROM appraised_results ORDER BY year"))
        ).all()
    assert {row.year: row.total for row in rows} == {year: Decimal(total) for year, total in GOLDEN.items()}
    assert [(row.rank, row.rank_of) for row in rows] == [(9, 21), (10, 21), (12, 21), (12, 21), (10, 21)]
    for row in rows:
        assert sum(Decimal(a["max"]) for a in row.areas.values()) == Decimal(100)


async def test_a_published_total_that_does_not_add_up_is_refused(tmp_path: Path) -> None:
    source = PROJECT_ROOT / "tenants" / "ba-ria-vung-tau" / "history" / "so-tai-nguyen-moi-truong.yaml"
    target = tmp_path / "ba-ria-vung-tau" / "history"
    target.mkdir(parents=True)
    (target / source.name).write_text(source.read_text(encoding="utf-8").replace('"87,225"', '"87,252"'), "utf-8")
    with pytest.raises(HistoryError) as caught:
        load_histories(tmp_path)
    assert "years.2023.total" in str(caught.value)
    assert "tổng công bố 87,252 khác tổng tính được 87,225" in str(caught.value)  # decimal commas


async def test_the_dashboard_shows_the_years_side_by_side_with_the_merge_mapped(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _import(owner_engine)
    await sign_in(client, "lan.nt@stnmt.brvt.example.vn")
    page = await client.get(f"{STNMT}/")
    assert page.status_code == 200, page.text
    for total in ("81,659", "85,625", "84,955", "85,675", "87,225"):
        assert total in page.text
    assert "10/21" in page.text
    # each year's index: its total out of that year's maxima (100), rounded once, half-up
    index_row = squash(page.text).split('class="history-index"')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]+)</td>', index_row) == [
        "81,66 %",
        "85,63 %",
        "84,96 %",
        "85,68 %",
        "87,23 %",
    ]
    # 2023: administrative procedures 9,729/11,5 compares with 2022's 5/5 + one-stop 6,395/7 = 11,395/12
    assert "11,395/12" in page.text
    assert "9,729/11,5" in page.text
    svg = await client.get(f"{STNMT}/bieu-do/diem-qua-cac-nam.svg")
    assert svg.status_code == 200
    assert "87,225" in svg.text
    png = await client.get(f"{STNMT}/bieu-do/diem-qua-cac-nam.png")
    assert png.content.startswith(b"\x89PNG")
