"""Tenant lineage (tenants/lineage.yaml): a merge of two departments and a province merge, each checked for the
history shown, the archive read-only, tasks carried over, memberships and isolation; bad lineage refused."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth import services as auth
from backend.db.engine import create_session_maker
from backend.db.models import Province, Tenant
from backend.db.rls import bind_tenant
from backend.domain.admin import services as admin
from backend.domain.assessments.history import import_histories, load_histories
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.demo_cycle import seed_demo_cycle
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.tenants.carry_over import ACTION
from backend.domain.tenants.config import TenantConfigError, load_directory
from backend.domain.tenants.deps import ArchivedTenantRefusal
from backend.domain.tenants.lineage import load_lineage
from backend.jobs.reminders import collect
from backend.settings import PROJECT_ROOT, Settings
from tests.auth_support import execute, publish_result, scalar
from tests.factories import DEPARTMENT_MERGE, config_dir
from tests.fixtures.submissions import _empty_queue  # noqa: F401 - the fixture: the demo's seeding queues package builds
from tests.html_support import squash
from tests.lineage_support import (
    BRVT_FOCAL_POINT,
    BRVT_STNMT,
    HCM,
    HCM_FOCAL_POINT,
    HT,
    HT_ARCHIVE,
    HT_ARCHIVE_ADMIN,
    HT_FOCAL_POINT,
    HT_NGOAI_VU,
    HT_PROVINCE_ADMIN,
    HT_REVIEWER,
    HT_SNV,
    PROVINCE_MERGE,
    add_open_task,
    csrf_of,
    merge_departments,
    sync,
    tenant_id,
    tenant_rows,
)
from tests.support import sign_in

# --- bad lineage ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lineage", "where", "reason"),
    [
        (
            'events:\n  - {kind: rename, date: "01/03/2025", from: ha-tinh/so-ngoai-vu, to: ha-tinh/so-noi-vu}\n'
            '  - {kind: rename, date: "02/03/2025", from: ha-tinh/so-noi-vu, to: ha-tinh/so-ngoai-vu}\n',
            "$.events[1].from",
            "vòng lặp kế thừa: ha-tinh/so-ngoai-vu → ha-tinh/so-noi-vu → ha-tinh/so-ngoai-vu",
        ),
        (
            DEPARTMENT_MERGE
            + '  - {kind: rename, date: "01/04/2025", from: ha-tinh/so-tai-nguyen-moi-truong,'
            + " to: ha-tinh/so-ngoai-vu}\n",
            "$.events[1].from",
            "đơn vị ha-tinh/so-tai-nguyen-moi-truong đã được sắp xếp ở $.events[0]",
        ),
        (
            'events:\n  - {kind: move, date: "01/07/2025", from: ha-tinh/so-ngoai-vu, to: ho-chi-minh/so-noi-vu}\n',
            "$.events[0].from",
            "đơn vị kế tiếp ho-chi-minh/so-noi-vu thuộc tỉnh chưa có nhà cung cấp định danh",
        ),
        (
            'events:\n  - {kind: merge, date: "31/02/2025", from: [ha-tinh/so-ngoai-vu], to: ha-tinh/so-noi-vu}\n',
            "$.events[0].date",
            "ngày '31/02/2025' phải có dạng dd/mm/yyyy",
        ),
        (
            'events:\n  - kind: province_merge\n    date: "01/07/2025"\n'
            "    from: ba-ria-vung-tau\n    to: ho-chi-minh\n",
            "$.events[0].tenants",
            "đơn vị 'so-tai-nguyen-moi-truong' của 'ba-ria-vung-tau' chưa có đơn vị kế tiếp ở 'ho-chi-minh'",
        ),
    ],
    ids=["cycle", "merged-twice", "successor-without-identity-provider", "bad-date", "unmapped-province-merge"],
)
async def test_bad_lineage_is_refused_with_file_path_reason_and_nothing_applied(
    tmp_path: Path, owner_engine: AsyncEngine, lineage: str, where: str, reason: str
) -> None:
    # for one case, Hồ Chí Minh declared without its identity provider yet
    no_provider = "ho-chi-minh" if "chưa có nhà cung cấp định danh" in reason else ""
    root = config_dir(tmp_path, lineage, without_identity_provider=no_provider)
    provinces = load_directory(root)
    with pytest.raises(TenantConfigError) as refused:
        load_lineage(root, provinces)
    text_ = "\n".join(str(p) for p in refused.value.problems)
    assert f"{root / 'lineage.yaml'}: {where}: {reason}" in text_
    # The sync stops at the files: nothing of the lineage reaches the database.
    assert await scalar(owner_engine, "SELECT count(*) FROM tenant_lineage") == 0
    assert await scalar(owner_engine, "SELECT count(*) FROM tenants WHERE archived_on IS NOT NULL") == 0


# --- a merge of two departments --------------------------------------------------------------------------------


async def test_a_merge_of_two_departments(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    await sync(owner_engine, config_dir(tmp_path))  # before the merge
    stnmt = await tenant_id(owner_engine, f"{HT}/so-tai-nguyen-moi-truong")
    async with owner_engine.begin() as db:
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": stnmt})
        await db.execute(
            text(
                "INSERT INTO appraised_results (id, tenant_id, year, areas, bonus, penalty, total, rank, rank_of, "
                "source) VALUES (gen_random_uuid(), :t, 2024, :areas, 1, 0, 80.5, 7, 20, 'test')"
            ),
            {
                "t": stnmt,
                "areas": '{"a": {"name": "Công tác chỉ đạo điều hành CCHC", "achieved": "79.5", "max": "100"}}',
            },
        )
    await add_open_task(owner_engine, f"{HT}/so-tai-nguyen-moi-truong", 1, "Ban hành kế hoạch rà soát TTHC")
    await add_open_task(owner_engine, f"{HT}/so-tai-nguyen-moi-truong", 2, "Việc đã xong", done=True)
    await add_open_task(owner_engine, f"{HT}/so-nong-nghiep-phat-trien-nong-thon", 1, "Cập nhật quy chế một cửa")

    root = config_dir(tmp_path / "after", DEPARTMENT_MERGE)
    preview = await sync(owner_engine, root, preview=True)
    assert any(
        "hợp nhất (01/03/2025): ha-tinh/so-tai-nguyen-moi-truong → ha-tinh/so-nong-nghiep-moi-truong" in line
        for line in preview.lines
    )
    assert await scalar(owner_engine, "SELECT count(*) FROM tenant_lineage") == 0  # a preview changes nothing
    applied = await sync(owner_engine, root)
    assert applied.changes["quan hệ kế thừa mới"] == 2
    assert applied.changes["đơn vị lưu trữ"] == 2
    assert (await sync(owner_engine, root)).summary() == "không có thay đổi"  # re-running changes nothing

    # Memberships moved (same province, same identity provider): the focal point works in the successor now,
    # and keeps the archive's membership to read it.
    successor = f"{HT}/so-nong-nghiep-moi-truong"
    query = "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = :e"
    assert [r.role for r in await tenant_rows(owner_engine, successor, query, e=HT_FOCAL_POINT)] == ["focal_point"]
    archived = f"{HT}/so-tai-nguyen-moi-truong"
    assert [r.role for r in await tenant_rows(owner_engine, archived, query, e=HT_FOCAL_POINT)] == ["focal_point"]

    # History: the successor shows its predecessor's year, labelled with its name.
    await sign_in(client, HT_FOCAL_POINT)
    home = await client.get(f"{successor}/")
    assert home.status_code == 200
    assert "Đơn vị tiền thân" in home.text
    assert 'predecessor-label">Sở Tài nguyên và Môi trường (Tỉnh Hà Tĩnh)' in squash(home.text)
    assert "80,5" in home.text
    assert "2024: kết quả của Sở Tài nguyên và Môi trường (Tỉnh Hà Tĩnh)" in home.text  # the chart's caption

    # The archive: read, with its banner; every write refused with a clear page.
    archive = await client.get(f"{HT}/so-tai-nguyen-moi-truong/")
    assert archive.status_code == 200
    assert "Lưu trữ – chỉ đọc." in archive.text
    assert "Sở Nông nghiệp và Môi trường" in archive.text
    csrf = await csrf_of(client, f"{HT}/so-tai-nguyen-moi-truong/")
    refused = await client.post(
        f"{HT}/so-tai-nguyen-moi-truong/ke-hoach/2025/them", data={"_csrf_token": csrf, "title": "x"}
    )
    assert refused.status_code == 423
    assert "đã được sắp xếp lại từ ngày 01/03/2025 và nay là Sở Nông nghiệp và Môi trường" in refused.text
    assert "chỉ còn để xem" in refused.text

    # Tasks carried over: one action, the open ones only, audited, once.
    csrf = await csrf_of(client, f"{successor}/")
    home = await client.get(f"{successor}/")
    assert "Chuyển 2 nhiệm vụ chưa hoàn thành sang Kế hoạch khắc phục" in home.text
    done = await client.post(f"{successor}/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": csrf})
    assert done.status_code == 200
    assert "Đã chuyển sang Kế hoạch khắc phục" in done.text
    titles = await tenant_rows(owner_engine, successor, "SELECT title, notes FROM tasks ORDER BY number")
    assert [r.title for r in titles] == ["Ban hành kế hoạch rà soát TTHC", "Cập nhật quy chế một cửa"]
    assert titles[0].notes == "Chuyển từ KP-1 của Sở Tài nguyên và Môi trường (Tỉnh Hà Tĩnh)."
    carried = await tenant_rows(owner_engine, successor, "SELECT after FROM audit_log WHERE action = :a", a=ACTION)
    assert len(carried) == 2
    assert {t["from"] for c in carried for t in c.after["tasks"]} == {"KP-1"}
    again = await client.post(f"{successor}/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": csrf})
    assert "không có gì thay đổi" in again.text
    api = await client.post(f"/api/v1{successor}/don-vi-tien-than/chuyen-nhiem-vu", headers={"x-csrftoken": csrf})
    assert (api.status_code, api.json()) == (200, {"carried": {}})  # the API's same action: nothing left to carry
    assert len(await tenant_rows(owner_engine, successor, "SELECT id FROM tasks")) == 2
    # The archive's own tasks stay as they were.
    assert len(await tenant_rows(owner_engine, archived, "SELECT id FROM tasks")) == 2

    # Isolation: a person of the successor only reads the predecessors; nobody else gains access.
    client.cookies.clear()
    await sign_in(client, "cuong.lv@snnmt.hatinh.example.vn")  # the successor's leader, never in the archive
    assert (await client.get(f"{HT}/so-tai-nguyen-moi-truong/")).status_code == 200
    assert (await client.get(f"{HT}/so-tai-nguyen-moi-truong/quan-tri/nhat-ky")).status_code == 200
    client.cookies.clear()
    await sign_in(client, "thao.ntp@sngv.hatinh.example.vn")  # Sở Ngoại vụ's focal point
    assert (await client.get(f"{HT}/so-tai-nguyen-moi-truong/")).status_code == 403
    assert (await client.get(f"{successor}/")).status_code == 403
    csrf = await csrf_of(client, f"{HT}/so-ngoai-vu/")
    alone = await client.post(
        f"/api/v1{HT}/so-ngoai-vu/don-vi-tien-than/chuyen-nhiem-vu", headers={"x-csrftoken": csrf}
    )
    assert (alone.status_code, alone.json()["code"]) == (422, "invalid")  # no predecessor, nothing to carry


# --- a province merge ----------------------------------------------------------------------------------------


async def test_a_province_merge(tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]) -> None:
    root = config_dir(tmp_path)
    await sync(owner_engine, root)
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))  # seed 004, 2019–2023
    await add_open_task(owner_engine, BRVT_STNMT, 1, "Rà soát quy trình nội bộ giải quyết TTHC đất đai")

    (root / "lineage.yaml").write_text(PROVINCE_MERGE, encoding="utf-8")
    applied = await sync(owner_engine, root)
    assert applied.changes["quan hệ kế thừa mới"] == 2  # Sở TN&MT → Sở NN&MT, Sở Nội vụ → Sở Nội vụ
    assert applied.changes["tỉnh sáp nhập"] == 1
    assert (await sync(owner_engine, root)).summary() == "không có thay đổi"
    assert (
        await scalar(
            owner_engine,
            "SELECT m.code FROM provinces p JOIN provinces m ON m.id = p.merged_into_id "
            "WHERE p.code = 'ba-ria-vung-tau'",
        )
        == "ho-chi-minh"
    )

    # Memberships: another province signs in through another identity provider, so its people are re-invited.
    query = "SELECT email, role FROM invitations WHERE accepted_at IS NULL"
    snnmt = [tuple(r) for r in await tenant_rows(owner_engine, f"{HCM}/so-nong-nghiep-moi-truong", query)]
    assert (BRVT_FOCAL_POINT, "focal_point") in snnmt
    snv = [tuple(r) for r in await tenant_rows(owner_engine, f"{HCM}/so-noi-vu", query)]
    assert ("loc.dv@snv.brvt.example.vn", "province_admin") in snv

    # History: seed 004's years, exact, on the successor, labelled with the predecessor's name.
    await sign_in(client, HCM_FOCAL_POINT)
    home = await client.get(f"{HCM}/so-nong-nghiep-moi-truong/")
    assert home.status_code == 200
    for total in ("81,659", "85,625", "84,955", "85,675", "87,225"):
        assert total in home.text
    assert "2019–2023: kết quả của Sở Tài nguyên và Môi trường (Tỉnh Bà Rịa – Vũng Tàu)" in home.text
    assert "10/21" in home.text
    svg = await client.get(f"{HCM}/so-nong-nghiep-moi-truong/bieu-do/diem-qua-cac-nam.svg")
    assert svg.status_code == 200
    assert "2023" in svg.text

    # The successor's people read the archive (its audit log too); nobody writes to it.
    archive = await client.get(f"{BRVT_STNMT}/")
    assert archive.status_code == 200
    assert "Lưu trữ – chỉ đọc." in archive.text
    assert "Thành phố Hồ Chí Minh" in archive.text
    assert (await client.get(f"{BRVT_STNMT}/quan-tri/nhat-ky")).status_code == 200
    # Its 2024, lived through before the merge of 07/2025 though kept nowhere here, is not the successor's year; 2025 is
    lived = squash((await client.get(f"{BRVT_STNMT}/tu-danh-gia/2024")).text)
    assert "Hồ sơ lưu trữ của Sở Tài nguyên và Môi trường không có bản tự đánh giá năm 2024." in lived
    merged = squash((await client.get(f"{BRVT_STNMT}/tu-danh-gia/2025")).text)
    assert (
        "không tự đánh giá Chỉ số CCHC năm 2025 vì đã được sắp xếp lại từ ngày 01/07/2025: công việc năm 2025 thuộc"
        " Sở Nông nghiệp và Môi trường (Thành phố Hồ Chí Minh)."
    ) in merged

    # Tasks carried over from the other province.
    csrf = await csrf_of(client, f"{HCM}/so-nong-nghiep-moi-truong/")
    done = await client.post(
        f"{HCM}/so-nong-nghiep-moi-truong/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": csrf}
    )
    assert "1 nhiệm vụ của Sở Tài nguyên và Môi trường (Tỉnh Bà Rịa – Vũng Tàu)" in done.text

    # A person of the archived tenant still reads its archive (through the old province's provider) and
    # cannot write to it.
    client.cookies.clear()
    await sign_in(client, BRVT_FOCAL_POINT)
    archive = await client.get(f"{BRVT_STNMT}/")
    assert archive.status_code == 200
    assert "81,659" in archive.text
    csrf = await csrf_of(client, f"{BRVT_STNMT}/")
    refused = await client.post(f"{BRVT_STNMT}/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": csrf})
    assert refused.status_code == 423
    assert "nay là Sở Nông nghiệp và Môi trường (Thành phố Hồ Chí Minh)" in refused.text
    # ... and gains nothing in the successor before accepting the invitation there.
    assert (await client.get(f"{HCM}/so-nong-nghiep-moi-truong/")).status_code == 403

    # Nobody else gains access: a Hà Tĩnh person reads neither the archive nor the successor.
    client.cookies.clear()
    await sign_in(client, HT_FOCAL_POINT)
    assert (await client.get(f"{BRVT_STNMT}/")).status_code == 403
    assert (await client.get(f"{HCM}/so-nong-nghiep-moi-truong/")).status_code == 403


# --- the shipped demo map (tenants/lineage.yaml) ---------------------------------------------------------------


async def test_the_demo_map_of_2025_shows_seed_004_on_ho_chi_minh_s_department(
    owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """`make run`'s map: Bà Rịa – Vũng Tàu merged into Thành phố Hồ Chí Minh, whose Sở Nông nghiệp và Môi trường
    shows seed 004's 2019–2023, exact; Hà Tĩnh's Sở Nông nghiệp và Môi trường has its two predecessors."""
    root = PROJECT_ROOT / "tenants"
    applied = await sync(owner_engine, root)
    assert applied.changes["quan hệ kế thừa mới"] == 4
    assert (await sync(owner_engine, root)).summary() == "không có thay đổi"
    await import_histories(owner_engine, load_histories(root))

    await sign_in(client, "ngoc.ptb@snnmt.hcm.example.vn")
    home = await client.get(f"{HCM}/so-nong-nghiep-moi-truong/")
    assert home.status_code == 200
    assert "Dữ liệu mẫu" in home.text
    history = squash(home.text).split('id="history-table"', 1)[1].split("</table>", 1)[0]
    totals = re.findall(r"<td class=\"num\"><strong>([0-9,]+)</strong></td>", history)
    assert totals == ["81,659", "85,625", "84,955", "85,675", "87,225"]  # DOMAIN.md, seed 004
    # one label over the five years (a column group), and the chart's caption says the same
    assert (
        'colspan="5" class="small predecessor-label">Sở Tài nguyên và Môi trường (Tỉnh Bà Rịa – Vũng Tàu)<' in history
    )
    assert "2019–2023: kết quả của Sở Tài nguyên và Môi trường (Tỉnh Bà Rịa – Vũng Tàu)." in home.text
    communes = await scalar(
        owner_engine,
        "SELECT count(*) FROM tenants t JOIN provinces p ON p.id = t.province_id "
        "WHERE p.code = 'ho-chi-minh' AND t.kind = 'commune'",
    )
    assert communes >= 3

    client.cookies.clear()
    await sign_in(client, "cuong.lv@snnmt.hatinh.example.vn")
    home = await client.get(f"{HT}/so-nong-nghiep-moi-truong/")
    predecessors = squash(home.text).split('id="predecessors"', 1)[1].split("</section>", 1)[0]
    assert "Sở Tài nguyên và Môi trường</a> (Tỉnh Hà Tĩnh) · hợp nhất ngày 01/03/2025" in predecessors
    assert "Sở Nông nghiệp và Phát triển nông thôn</a> (Tỉnh Hà Tĩnh)" in predecessors


async def test_the_daily_reminders_leave_archives_alone(
    tmp_path: Path, jobs_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """An archive's overdue task is nobody's to do (its successor has the carried-over copy): no reminder, and its
    recurring deadlines are not moved on (that would write to the archive)."""
    root = config_dir(tmp_path, DEPARTMENT_MERGE)
    await sync(owner_engine, root)
    read, _ = await collect(jobs_engine, date(2026, 12, 5))  # as the worker runs it
    live = await scalar(owner_engine, "SELECT count(*) FROM tenants WHERE is_active AND archived_on IS NULL")
    assert read == live
    assert await scalar(owner_engine, "SELECT count(*) FROM tenants WHERE archived_on IS NOT NULL") == 2


async def test_the_demo_s_year_under_way_goes_to_live_tenants_not_to_archives(
    owner_engine: AsyncEngine, settings: Settings
) -> None:
    """`make run`'s cycle (2025 published, 2026 under way) on the 2025 map: Hà Tĩnh's Sở Ngoại vụ has it; its Sở
    TN&MT, an archive since 01/03/2025, and Bà Rịa – Vũng Tàu's, since 01/07/2025, get no new year."""
    root = PROJECT_ROOT / "tenants"
    await sync(owner_engine, root)
    await import_criteria(owner_engine, load_all(root))
    done = await seed_demo_cycle(
        owner_engine, storage_from_settings(settings), root, settings.paths.templates_dir, today=date(2026, 12, 5)
    )
    assert any(line.startswith("ha-tinh/so-ngoai-vu:") for line in done)
    archives = ("ha-tinh/so-tai-nguyen-moi-truong:", "ba-ria-vung-tau/")
    assert not any(line.startswith(archives) and "đã công bố" in line for line in done)  # only its 2024 plan
    query = "SELECT year FROM assessments WHERE year >= 2025"
    assert await tenant_rows(owner_engine, f"{HT}/so-tai-nguyen-moi-truong", query) == []
    assert len(await tenant_rows(owner_engine, HT_NGOAI_VU, query)) == 2


# --- an archive takes no write, by whatever path -----------------------------------------------------------------

REFUSAL = "đã được sắp xếp lại từ ngày 01/03/2025 và nay là Sở Nông nghiệp và Môi trường (Tỉnh Hà Tĩnh)"
# What the review, the province's decisions and the invitations would write into the archive.
WRITTEN = (
    "SELECT (SELECT count(*) FROM appraisals) + (SELECT count(*) FROM appraisal_items)"
    " + (SELECT count(*) FROM evidence_requests) + (SELECT count(*) FROM invitations)"
    " + (SELECT count(*) FROM external_scores) + (SELECT count(*) FROM not_applicable_decisions)"
    " + (SELECT count(*) FROM memberships) + (SELECT count(*) FROM audit_log) AS n"
)


async def _merged(tmp_path: Path, owner_engine: AsyncEngine) -> int:
    """Hà Tĩnh after its department merge, with its criteria; returns what the archive holds (WRITTEN)."""
    await merge_departments(tmp_path, owner_engine)
    return int((await tenant_rows(owner_engine, HT_ARCHIVE, WRITTEN))[0].n)


async def test_a_claim_mapping_into_an_archive_is_refused_by_sync_with_file_path_reason(
    tmp_path: Path, owner_engine: AsyncEngine
) -> None:
    root = config_dir(tmp_path, DEPARTMENT_MERGE)
    file = root / "ha-tinh" / "province.yaml"
    file.write_text(
        file.read_text(encoding="utf-8").replace(
            "    agency_claim: agency\n",
            "    agency_claim: agency\n    claim_mappings:\n"
            "      - {value: stnmt, tenant: so-tai-nguyen-moi-truong, role: viewer}\n",
            1,
        ),
        encoding="utf-8",
    )
    provinces = load_directory(root)
    with pytest.raises(TenantConfigError) as refused:
        load_lineage(root, provinces)
    assert (
        f"{file}: $.province.identity_provider.claim_mappings[0].tenant: đơn vị 'so-tai-nguyen-moi-truong' đã được "
        "sắp xếp lại từ ngày 01/03/2025"
    ) in "\n".join(str(p) for p in refused.value.problems)
    assert await scalar(owner_engine, "SELECT count(*) FROM tenant_lineage") == 0


async def test_the_so_noi_vu_s_review_of_an_archive_is_refused_and_writes_nothing(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    held = await _merged(tmp_path, owner_engine)
    await sign_in(client, HT_REVIEWER)
    review = f"{HT_SNV}/tham-dinh/2020/so-tai-nguyen-moi-truong"
    page = await client.get(review)
    assert page.status_code == 200
    assert 'id="review-archived"' in page.text
    assert "Lưu trữ – chỉ đọc." in page.text
    assert "/quyet-dinh" not in page.text  # read-only: no decision form, no step
    assert "/cong-bo" not in page.text
    csrf = await csrf_of(client, review)
    steps = {
        "tieu-chi/1.2/quyet-dinh": {"decision": "score", "points": "1", "reason": "Thiếu tài liệu"},
        "tieu-chi/1.2/yeu-cau": {"message": "Bổ sung báo cáo"},
        "tieu-chi/1.2/ky-duyet": {},
        "tieu-chi/1.2/giao": {"agency": ""},
        "vong-2": {},
        "tra-lai": {"reason": "Hồ sơ thiếu"},
        "cong-bo": {},
    }
    for step, form in steps.items():
        refused = await client.post(f"{review}/{step}", data={"_csrf_token": csrf, **form})
        assert refused.status_code == 423, (step, refused.status_code)
        assert REFUSAL in refused.text, step
        assert "Hãy làm việc ở đơn vị kế tiếp" in refused.text
    # The Sở Nội vụ's other writes into a department: a criterion that does not apply, an answer to a claim.
    csrf = await csrf_of(client, f"{HT_SNV}/")
    client.cookies.clear()
    await sign_in(client, HT_PROVINCE_ADMIN)
    csrf = await csrf_of(client, f"{HT_SNV}/")
    for path, form in (
        ("khong-ap-dung", {"tenant": "so-tai-nguyen-moi-truong", "criterion": "3", "reason": "Không có TTHC"}),
        ("khong-ap-dung/bo", {"tenant": "so-tai-nguyen-moi-truong", "criterion": "3"}),
        ("khong-ap-dung/tra-loi", {"tenant": "so-tai-nguyen-moi-truong", "criterion": "3", "action": "chap-nhan"}),
    ):
        refused = await client.post(f"{HT_SNV}/tinh/ket-qua/2020/{path}", data={"_csrf_token": csrf, **form})
        assert refused.status_code == 423, (path, refused.status_code)
        assert REFUSAL in refused.text
    # An invitation into the archive, from the province's administration.
    refused = await client.post(
        f"{HT_SNV}/quan-tri/tinh/moi",
        data={"_csrf_token": csrf, "tenant_code": "so-tai-nguyen-moi-truong", "email": "moi@stnmt.hatinh.example.vn"},
    )
    assert refused.status_code == 423
    assert REFUSAL in refused.text
    # Nothing reached the archive.
    assert int((await tenant_rows(owner_engine, HT_ARCHIVE, WRITTEN))[0].n) == held


async def test_invitations_and_claim_mappings_add_nobody_to_an_archive(
    tmp_path: Path, owner_engine: AsyncEngine
) -> None:
    """At the service, whoever calls it (a page, a future API): an invitation into an archive is refused; a
    sign-in whose claim maps to an archive, or who holds an invitation made before the merge, gets nothing there."""
    held = await _merged(tmp_path, owner_engine)
    archive_id = uuid.UUID(await tenant_id(owner_engine, HT_ARCHIVE))
    async with owner_engine.begin() as db:  # an invitation from before the merge, still pending
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(archive_id)})
        await db.execute(
            text(
                "INSERT INTO invitations (id, tenant_id, email, role, expires_at, created_at) VALUES "
                "(gen_random_uuid(), :t, 'cu@stnmt.hatinh.example.vn', 'viewer', now() + interval '10 days', now())"
            ),
            {"t": str(archive_id)},
        )
    held += 1
    sessions = create_session_maker(owner_engine)
    async with sessions() as db, db.begin():
        archive = await db.get(Tenant, archive_id)
        assert archive is not None
        await bind_tenant(db, archive.id)
        with pytest.raises(ArchivedTenantRefusal) as refused:
            await admin.invite(db, archive, None, {"email": "moi@stnmt.hatinh.example.vn", "role": "viewer"})
        assert refused.value.status_code == 423
        assert REFUSAL in str(refused.value.detail)

        stored = await db.scalar(select(Province).where(Province.code == "ha-tinh"))
        assert stored is not None
        idp = {
            **stored.settings["identity_provider"],
            "claim_mappings": [
                {"claim": "agency", "value": "stnmt", "tenant": "so-tai-nguyen-moi-truong", "role": "viewer"}
            ],
            "trust_email_without_verified": True,
        }
        province = Province(
            id=stored.id, code=stored.code, name=stored.name, settings={**stored.settings, "identity_provider": idp}
        )
        person = await auth.sign_in(
            db, province, {"sub": "cu-stnmt", "email": "cu@stnmt.hatinh.example.vn", "name": "Cũ", "agency": "stnmt"}
        )
        assert archive.id not in person.tenant_ids
    assert int((await tenant_rows(owner_engine, HT_ARCHIVE, WRITTEN))[0].n) == held  # the invitation left pending


@pytest.mark.parametrize("source", ["claim", "invitation"])
async def test_the_database_grants_no_membership_in_an_archive_at_sign_in(
    source: str, tmp_path: Path, owner_engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    """`grant_at_sign_in` itself refuses an archive, called as the application calls it, though the province maps
    the claim to it and the person has accepted an invitation there: no membership, no audit row."""
    await _merged(tmp_path, owner_engine)
    archive = await tenant_id(owner_engine, HT_ARCHIVE)
    await execute(
        owner_engine,
        "UPDATE provinces SET settings = jsonb_set(settings, '{identity_provider,claim_mappings}',"
        ' \'[{"claim": "agency", "value": "stnmt", "tenant": "so-tai-nguyen-moi-truong",'
        ' "role": "viewer"}]\') WHERE code = \'ha-tinh\'',
    )
    async with owner_engine.begin() as db:
        person = await db.scalar(
            text(
                "INSERT INTO users (id, issuer, subject, email, full_name, created_at, updated_at) VALUES"
                " (gen_random_uuid(), 'https://idp.hatinh.example.vn', 'cu-stnmt', 'cu@stnmt.hatinh.example.vn', 'Cũ',"
                " now(), now()) RETURNING id"
            )
        )
    await tenant_rows(  # accepted a moment ago, as the sign-in does before it asks for the membership
        owner_engine,
        HT_ARCHIVE,
        "INSERT INTO invitations (id, tenant_id, email, role, expires_at, created_at, accepted_at, accepted_by)"
        " VALUES (gen_random_uuid(), :t, 'cu@stnmt.hatinh.example.vn', 'viewer', now() + interval '10 days', now(),"
        " now(), :u)",
        t=archive,
        u=person,
    )
    async with app_engine.connect() as db:
        with pytest.raises(DBAPIError, match="the tenant is an archive"):
            await db.execute(
                text(
                    "SELECT grant_at_sign_in(tenant => :t, person => :u, wanted_role => 'viewer', unit => NULL,"
                    " actor => 'user:cu', source => :source)"
                ),
                {"t": archive, "u": person, "source": source},
            )
    granted = "SELECT (SELECT count(*) FROM memberships WHERE user_id = :u) + (SELECT count(*) FROM audit_log"
    granted += " WHERE action = 'grant' AND after ->> 'user' = CAST(:u AS text))"
    assert (await tenant_rows(owner_engine, HT_ARCHIVE, granted, u=person))[0][0] == 0


async def test_an_archive_s_pages_offer_no_form_only_the_banner_naming_its_successor(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """Its own people keep their roles there, yet every page of the archive shows no form or button that writes:
    the banner "Lưu trữ – chỉ đọc" with a link to the successor instead."""
    await _merged(tmp_path, owner_engine)
    await add_open_task(owner_engine, HT_ARCHIVE, 1, "Ban hành kế hoạch rà soát TTHC")
    await tenant_rows(owner_engine, HT_ARCHIVE, "UPDATE tasks SET year = 2020")  # the year of its criteria set
    await tenant_rows(  # a self-assessment under way when the merge came
        owner_engine,
        HT_ARCHIVE,
        "INSERT INTO assessments (id, tenant_id, criteria_set_id, year, status, revision, created_at, updated_at)"
        " SELECT gen_random_uuid(), :t, s.id, 2020, 'draft', 1, now(), now() FROM criteria_sets s"
        " JOIN ranking_groups g ON g.id = s.ranking_group_id"
        " WHERE s.year = 2020 AND g.code = 'so-ban-nganh' AND s.province_id = (SELECT province_id FROM tenants"
        " WHERE id = :t)",
        t=await tenant_id(owner_engine, HT_ARCHIVE),
    )
    for person, pages in (
        (
            HT_FOCAL_POINT,
            [
                "/",
                "/tu-danh-gia/2020",
                "/tu-danh-gia/2020/linh-vuc/1",
                "/ke-hoach/2020",
                "/ke-hoach/2020/the/1",
                "/nop-ho-so/2020",
                "/bao-cao/2026",
            ],
        ),
        (HT_ARCHIVE_ADMIN, ["/quan-tri/thanh-vien"]),
    ):
        client.cookies.clear()
        await sign_in(client, person)
        for page in pages:
            answer = await client.get(f"{HT_ARCHIVE}{page}")
            assert answer.status_code == 200, (page, answer.status_code)
            body = squash(answer.text)
            assert 'id="archive-banner"' in body, page
            assert "Lưu trữ – chỉ đọc." in body
            assert '<a href="/t/ha-tinh/so-nong-nghiep-moi-truong/">Sở Nông nghiệp và Môi trường</a>' in body
            forms = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]*)"', body)  # a GET form only filters
            assert not [f for f in forms if f.startswith(HT_ARCHIVE)], (page, forms)
            for label in ("Thêm nhiệm vụ", "Bắt đầu tự đánh giá", "Nộp hồ sơ cho Sở Nội vụ", "Gửi lời mời", "Khoá"):
                assert f">{label}<" not in body, (page, label)


async def test_an_archive_s_home_says_what_it_is_and_its_pages_open_on_its_own_years(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """Not today's cycle, which its successor works on: the archive's last published year with its score, links to
    its records and its successor, nothing waiting and no year to self-assess; its yearly pages open on its year."""
    await _merged(tmp_path, owner_engine)
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))  # its 2022–2024, demo data
    await sign_in(client, HT_ARCHIVE_ADMIN)
    home = await client.get(f"{HT_ARCHIVE}/")
    assert home.status_code == 200
    body = squash(home.text)
    assert 'id="archive-summary"' in body
    assert "Năm 2024: tổng điểm <strong>89,25</strong>, Chỉ số CCHC <strong>89,25 %</strong>, xếp hạng 4/19" in body
    assert 'id="history-table"' in body
    for link in ("/ke-hoach/2024", "/tu-danh-gia/2024", "/nop-ho-so/2024", "/quan-tri/nhat-ky"):
        assert f'href="{HT_ARCHIVE}{link}"' in body, link
    assert '<a href="/t/ha-tinh/so-nong-nghiep-moi-truong/">Sở Nông nghiệp và Môi trường</a>' in body
    for live in ("Việc đang chờ bạn", "Năm đánh giá 2026", "Tự đánh giá năm 2026", "Hạn báo cáo định kỳ"):
        assert live not in body, live
    for section in ("tu-danh-gia", "ke-hoach", "nop-ho-so", "bao-cao"):
        opened = await client.get(f"{HT_ARCHIVE}/{section}/", follow_redirects=False)
        assert opened.headers["location"] == f"{HT_ARCHIVE}/{section}/2024", section
    sheet = (await client.get(f"{HT_ARCHIVE}/tu-danh-gia/2024")).text
    assert "Lưu trữ đến năm 2024" in sheet
    assert "(hiện tại)" not in sheet
    # the test's province has no criteria set of 2024 (the demo has): either way the page says what the archive has
    assert 'id="archived-year"' in sheet or "hồ sơ lưu trữ không có trang này cho năm 2024" in squash(sheet)


SUCCESSOR_LINK = '<a href="/t/ha-tinh/so-nong-nghiep-moi-truong/">Sở Nông nghiệp và Môi trường</a>'
# What the archive did not do, by the section of the path.
NOT_DONE = {
    "tu-danh-gia": "không tự đánh giá Chỉ số CCHC",
    "ket-qua": "không tự đánh giá Chỉ số CCHC",
    "ke-hoach": "không lập kế hoạch khắc phục",
    "bao-cao": "không báo cáo tiến độ khắc phục",
    "nop-ho-so": "không nộp hồ sơ đánh giá",
    "tai-lieu": "không thu thập tài liệu kiểm chứng",
    "giai-trinh": "không giải trình với Sở Nội vụ",
}


def merged_away(path: str) -> str:
    """What the archive's page (or the API) says of a yearly `path` (/<section>/<year>/…) after its merge."""
    section, year = path.split("/")[1:3]
    return (
        f"Sở Tài nguyên và Môi trường {NOT_DONE[section]} năm {year} vì đã được sắp xếp lại từ ngày 01/03/2025:"
        f" công việc năm {year} thuộc Sở Nông nghiệp và Môi trường (Tỉnh Hà Tĩnh)."
    )


async def test_an_archive_s_years_it_has_nothing_of_say_why_with_no_empty_cards_lanes_or_badges(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """Hà Tĩnh's Sở TN&MT (archived on 01/03/2025, published 2022–2024, one open task on its 2024 plan): its
    self-assessment, board, reports, packages and evidence of a later year say it did not work that year and where
    the work went, linking its successor and its last year, with no empty score card, lane, draft badge or period
    falling due; a year before its first record and a year of its life without such a record say so too."""
    await _merged(tmp_path, owner_engine)
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))
    await add_open_task(owner_engine, HT_ARCHIVE, 1, "Ban hành kế hoạch rà soát TTHC")
    await tenant_rows(owner_engine, HT_ARCHIVE, "UPDATE tasks SET year = 2024")
    await sign_in(client, HT_ARCHIVE_ADMIN)
    later = ("/tu-danh-gia/2025", "/tu-danh-gia/2026", "/ke-hoach/2025", "/bao-cao/2026", "/nop-ho-so/2025")
    for path in (*later, "/tai-lieu/2025/tieu-chi/1.2", "/giai-trinh/2025"):
        answer = await client.get(f"{HT_ARCHIVE}{path}")
        assert answer.status_code == 200, (path, answer.status_code)
        body = squash(answer.text)
        assert 'data-reason="after"' in body, path
        assert merged_away(path) in body, path
        assert SUCCESSOR_LINK in body.split('id="archived-year"', 1)[1], path
        for empty in ('id="sheet-total"', "Chưa bắt đầu", "Dự thảo", 'id="board"', "Quá hạn", "Chưa soạn", "Chưa nộp"):
            assert empty not in body, (path, empty)
        section = path.split("/")[1]
        assert f'href="{HT_ARCHIVE}/{section}/2026"' not in body, path  # the year switcher offers its own years only
    board = squash((await client.get(f"{HT_ARCHIVE}/ke-hoach/2025")).text)
    assert f'href="{HT_ARCHIVE}/ke-hoach/2024" id="archived-year-last">Kế hoạch khắc phục năm 2024</a>' in board
    assert "Kế hoạch năm 2024 còn 1 nhiệm vụ chưa hoàn thành" in board

    before = squash((await client.get(f"{HT_ARCHIVE}/tu-danh-gia/2020")).text)  # the test's one criteria set
    assert 'data-reason="before"' in before
    assert (
        "Sở Tài nguyên và Môi trường không có hồ sơ năm 2020 trên parboard: hồ sơ lưu trữ bắt đầu từ năm 2022."
        in before
    )
    assert 'id="sheet-total"' not in before
    none = await client.get(f"{HT_ARCHIVE}/nop-ho-so/2024")  # its last year, where the page opens: it sent nothing
    assert none.status_code == 200
    assert "Hồ sơ lưu trữ của Sở Tài nguyên và Môi trường không có hồ sơ đã nộp năm 2024." in none.text
    assert 'id="archived-year-none"' in none.text


async def test_the_api_answers_404_with_the_same_sentence_for_an_archive_s_years_it_has_nothing_of(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """No empty object as if work were due: each yearly read of the archive's later years is a 404 `not_found`
    whose message names the successor, as the page says."""
    await _merged(tmp_path, owner_engine)
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))
    await sign_in(client, HT_ARCHIVE_ADMIN)
    for path in (
        "/tu-danh-gia/2025",
        "/tu-danh-gia/2025/tieu-chi",
        "/ket-qua/2026",
        "/ke-hoach/2025",
        "/ke-hoach/2025/nhiem-vu",
        "/bao-cao/2026",
        "/nop-ho-so/2025",
        "/tai-lieu/2025",
        "/giai-trinh/2025",
    ):
        answer = await client.get(f"/api/v1{HT_ARCHIVE}{path}")
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
        error = answer.json()
        assert error["code"] == "not_found", path
        assert error["message"] == merged_away(path), path
    # the self-assessment's spreadsheet of such a year: the same sentence, not an empty sheet "Chưa bắt đầu"
    sheet = await client.get(f"{HT_ARCHIVE}/tu-danh-gia/2020/bang-tu-danh-gia.xlsx")
    assert sheet.status_code == 404
    assert "không có hồ sơ năm 2020 trên parboard: hồ sơ lưu trữ bắt đầu từ năm 2022." in sheet.text
    # a year of its life it sent no package of: the same 404, not an empty list
    none = await client.get(f"/api/v1{HT_ARCHIVE}/nop-ho-so/2024")
    assert none.status_code == 404
    assert none.json()["message"] == "Hồ sơ lưu trữ của Sở Tài nguyên và Môi trường không có hồ sơ đã nộp năm 2024."


async def test_the_so_noi_vu_reads_an_archive_s_review_labelled_read_only_and_never_as_yet_to_submit(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """The inspector's list shows the archive only for a year it has a record of, labelled "Lưu trữ" with its
    successor and its published result, counting nothing; its review page offers no form; the province's results
    do not count it among the departments yet to self-assess."""
    await _merged(tmp_path, owner_engine)
    await sign_in(client, HT_REVIEWER)
    review_list = f"{HT_SNV}/tham-dinh/2020"
    listed = squash((await client.get(review_list)).text)
    assert 'data-tenant="so-ngoai-vu"' in listed
    assert 'data-tenant="so-tai-nguyen-moi-truong"' not in listed  # nothing of 2020: its successor's year
    await publish_result(owner_engine, "ha-tinh", "so-tai-nguyen-moi-truong", 2020, "80.5", 3, 12)
    listed = squash((await client.get(review_list)).text)
    row = listed.split('data-tenant="so-tai-nguyen-moi-truong"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="badge badge-muted">Lưu trữ</span>' in row
    assert "nay là Sở Nông nghiệp và Môi trường" in row
    assert "Không có trên parboard" in row
    assert "Chưa nộp" not in row
    assert "Đã công bố" in row
    assert ">80,5<" in row
    assert ">3/12<" in row
    assert "badge-danger" not in row  # no evidence missing: it sent no package to miss any from

    page = squash((await client.get(f"{review_list}/so-tai-nguyen-moi-truong")).text)
    banner = page.split('id="review-archived"', 1)[1].split("</div>", 1)[0]
    assert "Lưu trữ – chỉ đọc." in banner
    assert SUCCESSOR_LINK in banner
    assert "Kết quả công bố năm 2020: tổng điểm 80,5, xếp hạng 3/12." in banner
    assert "Đơn vị không có hồ sơ nộp, thẩm định hay bảng tự chấm năm 2020 trên parboard." in page
    assert not re.findall(r'<form[^>]*method="post"', page.split("<main", 1)[1])
    for step in ("/quyet-dinh", "/yeu-cau", "/ky-duyet", "/giao", "/vong-2", "/tra-lai", "/cong-bo", "Tự chấm 0"):
        assert step not in page, step

    queue = (await client.get(f"/api/v1{review_list}")).json()
    line = next(i for i in queue["items"] if i["tenant"] == "so-tai-nguyen-moi-truong")
    assert line["archived_on"] == "2025-03-01"
    assert line["successors"] == ["/t/ha-tinh/so-nong-nghiep-moi-truong"]
    assert (line["submission"], line["appraisal"], line["criteria"], line["without_evidence"]) == (
        "Không có trên parboard",
        "Đã công bố",
        0,
        0,
    )

    client.cookies.clear()
    await sign_in(client, HT_PROVINCE_ADMIN)
    results = squash((await client.get(f"{HT_SNV}/tinh/ket-qua/2020")).text)
    yet = results.split("Chưa bắt đầu tự đánh giá:", 1)[1].split("</p>", 1)[0]
    assert "Sở Ngoại vụ" in yet
    assert "Sở Tài nguyên và Môi trường" not in yet
    published = results.split('id="published"', 1)[1].split("</table>", 1)[0]
    assert 'Sở Tài nguyên và Môi trường <span class="badge badge-muted">Lưu trữ</span>' in published
