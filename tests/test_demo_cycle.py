"""`make run`'s demo as of 05/12/2026: 2025 published, a board generated from 2025's appraisal, 2026's
self-assessment under way; the same on every run, and a second run adds nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.demo_cycle import seed_demo_cycle
from backend.domain.evidence.storage import storage_from_settings
from backend.settings import PROJECT_ROOT, Settings
from tests.factories import FOCAL, SNGV
from tests.support import freeze, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

TODAY = date(2026, 12, 5)


async def _seed(owner_engine: AsyncEngine, settings: Settings) -> list[str]:
    return await seed_demo_cycle(
        owner_engine,
        storage_from_settings(settings),
        PROJECT_ROOT / "tenants",
        settings.paths.templates_dir,
        today=TODAY,
    )


async def _rows(owner_engine: AsyncEngine, sql: str) -> list[Any]:
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p"
                " ON p.id = t.province_id WHERE p.code = 'ha-tinh' AND t.code = 'so-ngoai-vu'), true)"
            )
        )
        return list((await db.execute(text(sql))).all())


async def test_the_demo_has_2025_published_and_2026_under_way(
    owner_engine: AsyncEngine, settings: Settings, client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    report = await _seed(owner_engine, settings)
    assert any("ha-tinh/so-ngoai-vu: 2025 đã công bố" in line for line in report), report
    published = await _rows(owner_engine, "SELECT year, total, rank, rank_of FROM appraised_results WHERE year = 2025")
    assert len(published) == 1
    assert published[0].rank is not None
    assert await _rows(owner_engine, "SELECT status FROM appraisals WHERE year = 2025") == [("finalised",)]
    assert await _rows(owner_engine, "SELECT status FROM submissions WHERE year = 2025") == [("submitted",)]
    plan = await _rows(owner_engine, "SELECT status, result_date FROM remedy_plans WHERE year = 2025")
    assert plan == [("approved", date(2025, 12, 19))]
    tasks = await _rows(owner_engine, "SELECT count(*) FROM tasks WHERE year = 2025")
    assert tasks[0][0] > 0
    sent = await _rows(owner_engine, "SELECT period, status FROM progress_reports WHERE year = 2026 ORDER BY period")
    assert sent == [("6-thang", "submitted"), ("quy-1", "submitted")]  # quý III (10/09) left overdue
    draft = await _rows(
        owner_engine,
        "SELECT a.status, count(i.id) FROM assessments a LEFT JOIN assessment_items i ON i.assessment_id = a.id"
        " WHERE a.year = 2026 GROUP BY a.status",
    )
    assert draft[0][0] == "draft"
    assert draft[0][1] > 0

    # again: nothing added, nothing changed
    assert not any("đã công bố" in line for line in await _seed(owner_engine, settings))
    assert await _rows(owner_engine, "SELECT count(*) FROM tasks WHERE year = 2025") == tasks

    freeze(monkeypatch, TODAY)
    await sign_in(client, FOCAL)
    home = (await client.get(f"{SNGV}/")).text
    assert "Năm đánh giá 2026" in home
    assert "Tự đánh giá năm 2026" in home.split('id="score-heading"')[1][:40]
    assert "score-other-year" not in home  # the 2026 set exists (demo data)
    assert "2025" in home.split('id="history-table"')[1]  # published
    board = await client.get(f"{SNGV}/ke-hoach/", follow_redirects=True)
    assert board.url.path == f"{SNGV}/ke-hoach/2025"
    assert "Khắc phục tiêu chí" in board.text
    reports = (await client.get(f"{SNGV}/bao-cao/2026")).text
    assert "Chưa có kế hoạch" not in reports
    assert reports.count("Quá hạn, chưa nộp") == 1
    assessment = (await client.get(f"{SNGV}/tu-danh-gia/", follow_redirects=True)).text
    assert "Tự đánh giá Chỉ số CCHC năm 2026" in assessment
