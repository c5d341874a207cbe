"""`make run`'s demo as of 05/12/2026: 2025 published, a board generated from 2025's appraisal, 2026's
self-assessment under way; the same on every run, and a second run adds nothing."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.assessments.history import import_histories, load_histories
from backend.domain.demo_cycle import seed_demo_cycle
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.tenants.config import load_directory
from backend.domain.tenants.lineage import load_lineage
from backend.domain.tenants.sync import sync_tenants
from backend.settings import PROJECT_ROOT, Settings
from tests.factories import FOCAL, SNGV
from tests.fixtures.submissions import _empty_queue  # noqa: F401 - the fixture: the demo's submissions queue builds
from tests.html_support import squash
from tests.lineage_support import HT, HT_ARCHIVE, HT_ARCHIVE_ADMIN, HT_FOCAL_POINT, csrf_of, tenant_rows
from tests.support import freeze, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

TODAY = date(2026, 12, 5)
HCM_SNV = "/t/ho-chi-minh/so-noi-vu"
HCM_SNNMT = "/t/ho-chi-minh/so-nong-nghiep-moi-truong"
HCM_PROVINCE_ADMIN = "hieu.tm@snv.hcm.example.vn"
HCM_FOCAL = "ngoc.ptb@snnmt.hcm.example.vn"
HT_SUCCESSOR = f"{HT}/so-nong-nghiep-moi-truong"


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
    home = squash((await client.get(f"{SNGV}/")).text)
    assert "Năm đánh giá 2026" in home
    assert "Tự đánh giá năm 2026" in home.split('id="score-heading"')[1][:40]
    assert "score-other-year" not in home  # the 2026 set exists (demo data)
    assert "2025" in home.split('id="history-table"')[1]  # published
    board = await client.get(f"{SNGV}/ke-hoach/", follow_redirects=True)
    assert board.url.path == f"{SNGV}/ke-hoach/2025"
    assert "Khắc phục tiêu chí" in board.text
    reports = squash((await client.get(f"{SNGV}/bao-cao/2026")).text)
    assert "Chưa có kế hoạch" not in reports
    assert reports.count("Quá hạn, chưa nộp") == 1
    assessment = squash((await client.get(f"{SNGV}/tu-danh-gia/", follow_redirects=True)).text)
    assert "Tự đánh giá Chỉ số CCHC năm 2026" in assessment


async def test_ho_chi_minh_has_its_own_criteria_a_published_2025_and_2026_under_way_after_seed_004_s_years(
    owner_engine: AsyncEngine, settings: Settings, client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run`'s Thành phố Hồ Chí Minh, on the 2025 map (tenants/lineage.yaml): its 2025 sets (departments,
    communes and wards) give its departments and wards a published 2025, ranked in their groups and classed, and a
    2026 under way; its Sở Nông nghiệp và Môi trường shows Bà Rịa – Vũng Tàu's Sở TN&MT 2019–2023 (seed 004,
    exact) before its own 2025."""
    root = PROJECT_ROOT / "tenants"
    provinces = load_directory(root)
    await sync_tenants(owner_engine, provinces, demo_people=True, lineage=load_lineage(root, provinces))
    await import_histories(owner_engine, load_histories(root))
    report = await _seed(owner_engine, settings)
    assert any(line.startswith("ho-chi-minh/so-nong-nghiep-moi-truong: 2025 đã công bố") for line in report)
    assert any("ho-chi-minh 2026 so-ban-nganh: bộ chỉ số mẫu theo năm 2025" in line for line in report)
    assert any("ho-chi-minh 2026 xa-phuong: bộ chỉ số mẫu theo năm 2025" in line for line in report)
    assert any("ho-chi-minh 2024 so-ban-nganh: bộ chỉ số mẫu theo năm 2025" in line for line in report)  # history
    assert not any(line.startswith("ba-ria-vung-tau/") for line in report)  # the archive gets no new year

    freeze(monkeypatch, TODAY)
    await sign_in(client, HCM_PROVINCE_ADMIN)
    results = squash((await client.get(f"{HCM_SNV}/tinh/ket-qua/2025")).text)
    assert "Dữ liệu mẫu" in results
    published = results.split('id="published"', 1)[1].split("</table>", 1)[0]
    assert "Sở Nông nghiệp và Môi trường" in published
    assert re.search(r"UBND (phường|xã) [^<]+</td>", published)
    ranking = results.split('id="ranking"', 1)[1].split("</table>", 1)[0]
    assert "Sở, ban, ngành" in ranking
    assert "Xã, phường, đặc khu" in ranking
    assert re.search(r">1/\d+<", ranking)  # ranked within a group of several
    assert re.search(r"<td>(Xuất sắc|Tốt|Khá|Trung bình|Yếu)</td>", ranking)  # classed by the city's thresholds
    assert 'id="heat-heading"' in results

    client.cookies.clear()
    await sign_in(client, HCM_FOCAL)
    home = squash((await client.get(f"{HCM_SNNMT}/")).text)
    assert "Năm đánh giá 2026" in home
    assert "score-other-year" not in home  # 2026 has its (demo) set
    history = home.split('id="history-table"', 1)[1].split("</table>", 1)[0]
    totals = re.findall(r"<td class=\"num\"><strong>([0-9,]+)</strong></td>", history)
    assert totals[:5] == ["81,659", "85,625", "84,955", "85,675", "87,225"]  # seed 004, exact
    assert len(totals) == 6  # and its own 2025
    assert "Sở Tài nguyên và Môi trường (Tỉnh Bà Rịa – Vũng Tàu)" in history
    assert history.count(">Cải cách thể chế<") == 1  # 2025's areas on the rows of seed 004's years
    board = await client.get(f"{HCM_SNNMT}/ke-hoach/", follow_redirects=True)
    assert board.url.path == f"{HCM_SNNMT}/ke-hoach/2025"
    assert "Khắc phục tiêu chí" in board.text


async def test_ha_tinh_s_archive_has_its_2024_plan_open_and_not_carried_over_for_its_successor_to_carry(
    owner_engine: AsyncEngine, settings: Settings, client: AsyncTestClient[Litestar], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run`'s Hà Tĩnh on the 2025 map: its Sở TN&MT (an archive since 01/03/2025) has the remedy plan of its
    2024 appraisal as the merge left it, its open tasks not carried over; the successor's focal point sees the
    carry-over action on her home and may carry them. A second run adds nothing."""
    root = PROJECT_ROOT / "tenants"
    provinces = load_directory(root)
    await sync_tenants(owner_engine, provinces, demo_people=True, lineage=load_lineage(root, provinces))
    report = await _seed(owner_engine, settings)
    assert any(line.startswith("ha-tinh/so-tai-nguyen-moi-truong: kế hoạch khắc phục năm 2024") for line in report)
    board = (
        "SELECT t.title, c.is_done, t.created_at, t.updated_at FROM tasks t JOIN board_columns c ON c.id = t.column_id"
    )
    tasks = await tenant_rows(owner_engine, HT_ARCHIVE, f"{board} WHERE t.year = 2024 ORDER BY t.number")
    assert len(tasks) == 8
    assert [done for _, done, _, _ in tasks].count(False) == 5
    assert all(row.created_at.date() < date(2025, 3, 1) and row.updated_at.date() < date(2025, 3, 1) for row in tasks)
    assert await tenant_rows(owner_engine, HT_ARCHIVE, "SELECT status FROM remedy_plans WHERE year = 2024") == [
        ("approved",)
    ]
    assert not any(line.startswith("ha-tinh/so-tai-nguyen-moi-truong") for line in await _seed(owner_engine, settings))
    assert len(await tenant_rows(owner_engine, HT_ARCHIVE, f"{board} WHERE t.year = 2024")) == 8

    freeze(monkeypatch, TODAY)
    await sign_in(client, HT_ARCHIVE_ADMIN)
    archive = squash((await client.get(f"{HT_ARCHIVE}/ke-hoach/2024")).text)
    assert "5 nhiệm vụ chưa hoàn thành chưa được chuyển sang đơn vị kế tiếp." in archive
    assert "Cập nhật thường xuyên chuyên mục Cải cách hành chính" in archive

    client.cookies.clear()
    await sign_in(client, HT_FOCAL_POINT)  # Trần Thị Hoài Thương
    home = squash((await client.get(f"{HT_SUCCESSOR}/")).text)
    assert "Sở Tài nguyên và Môi trường: 5 nhiệm vụ chưa hoàn thành" in home
    assert "Chuyển 5 nhiệm vụ chưa hoàn thành sang Kế hoạch khắc phục</button>" in home
    carried = await client.post(
        f"{HT_SUCCESSOR}/don-vi-tien-than/chuyen-nhiem-vu",
        data={"_csrf_token": await csrf_of(client, f"{HT_SUCCESSOR}/")},
    )
    assert carried.status_code == 200, carried.text[:300]
    notice = squash(carried.text)
    assert "Đã chuyển sang Kế hoạch khắc phục: 5 nhiệm vụ của Sở Tài nguyên và Môi trường (Tỉnh Hà Tĩnh)." in notice
    assert "Sở Nông nghiệp và Phát triển nông thôn (Tỉnh Hà Tĩnh)" not in notice  # no open task of its own
    successor = squash((await client.get(f"{HT_SUCCESSOR}/ke-hoach/2024")).text)
    assert successor.count("Chuyển từ Sở Tài nguyên và Môi trường KP-") == 5
