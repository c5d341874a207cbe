"""Communes and wards as tenants (issue 20, item 2): a UBND phường with its own unit structure (Văn phòng HĐND
và UBND, Phòng Kinh tế, Phòng Văn hóa – Xã hội, Trung tâm Phục vụ hành chính công), its own ranking group and
criteria set, walked through the same self-assessment, remedy board, evidence and submission as a department."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.evidence.storage import LocalStorage
from tests.factories import REVIEWER, add_evidence, build_all, submission_rows
from tests.fixtures.submissions import _empty_queue  # noqa: F401 - the fixture
from tests.html_support import squash
from tests.support import COMMUNE_ROWS, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

BASE = "/t/ha-tinh/phuong-thanh-sen"
ASSESS = f"{BASE}/tu-danh-gia/2020"
STAFF = "vy.tt@thanhsen.hatinh.example.vn"  # Trung tâm Phục vụ hành chính công
FOCAL = "kien.tv@thanhsen.hatinh.example.vn"  # Văn phòng HĐND và UBND phường
LEADER = "phuc.lh@thanhsen.hatinh.example.vn"  # Chủ tịch UBND phường


async def post(client: AsyncTestClient[Litestar], path: str, data: dict[str, str] | None = None) -> object:
    page = await client.get(f"{BASE}/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', squash(page.text))
    assert token, page.text[:300]
    return await client.post(path, data={**(data or {}), "_csrf_token": token.group(1)}, follow_redirects=False)


async def commune_id(owner_engine: AsyncEngine) -> uuid.UUID:
    async with owner_engine.connect() as db:
        found = await db.scalar(text("SELECT id FROM tenants WHERE code = 'phuong-thanh-sen'"))
    return uuid.UUID(str(found))


async def test_a_ward_has_its_own_units_group_and_criteria_set(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    home = await client.get(f"{BASE}/")
    assert home.status_code == 200
    assert "UBND phường Thành Sen" in home.text
    assert "Xã, phường" in home.text  # its kind
    members = await client.get(f"{BASE}/quan-tri/thanh-vien")  # the focal point is no tenant admin
    assert members.status_code == 403
    await sign_in(client, "hoa.nt@thanhsen.hatinh.example.vn")  # the ward's tenant admin
    units = squash((await client.get(f"{BASE}/quan-tri/thanh-vien")).text)
    for unit in (
        "Văn phòng HĐND và UBND phường",
        "Phòng Kinh tế, Hạ tầng và Đô thị",
        "Phòng Văn hóa – Xã hội",
        "Trung tâm Phục vụ hành chính công",
    ):
        assert unit in units
    await sign_in(client, FOCAL)
    sheet = squash((await client.get(ASSESS)).text)
    assert "tối đa 100 điểm" in sheet  # the commune set: 70 criteria points + 30 survey points
    assert "Điều tra xã hội học (mức độ hài lòng của người dân, tổ chức)" in sheet


async def test_a_ward_self_assesses_makes_its_board_and_submits_its_package(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    # Self-assessment: the staff of the Trung tâm Phục vụ hành chính công enter it, the chairman approves it.
    await sign_in(client, STAFF)
    assert (await post(client, f"{ASSESS}/bat-dau")).status_code in (302, 303)  # type: ignore[attr-defined]
    for code, form in COMMUNE_ROWS:
        saved = await post(client, f"{ASSESS}/tieu-chi/{code}", {"version": "0", **form})
        assert saved.status_code in (302, 303), code  # type: ignore[attr-defined]
    sent = await post(client, f"{ASSESS}/trang-thai", {"action": "gui-duyet"})
    assert sent.status_code in (302, 303)  # type: ignore[attr-defined]
    await sign_in(client, LEADER)
    approved = await post(client, f"{ASSESS}/trang-thai", {"action": "duyet"})
    assert "Đã duyệt bản tự đánh giá." in (await client.get(approved.headers["location"])).text  # type: ignore[attr-defined]

    # Board: the focal point makes the remedy tasks from what lost points (criterion 1: 9,5 of 10).
    await sign_in(client, FOCAL)
    made = await post(client, f"{BASE}/ke-hoach/2020/tao-tu-tu-danh-gia")
    assert made.status_code in (302, 303)  # type: ignore[attr-defined]
    board = await client.get(f"{BASE}/ke-hoach/2020")
    assert board.status_code == 200
    assert "Đã tạo" in board.text
    assert re.search(r"KP-1\b", board.text)
    ward = await commune_id(owner_engine)
    async with owner_engine.begin() as db:
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(ward)})
        tasks = (await db.execute(text("SELECT criterion_code FROM tasks ORDER BY number"))).scalars().all()
    assert tasks
    assert all(str(code).split(".")[0] == "1" for code in tasks)  # only criterion 1 lost points

    # Evidence and submission to the province's Sở Nội vụ, built into its package.
    await add_evidence(owner_engine, storage, ward, [("1", "Kế hoạch CCHC phường.pdf", b"%PDF-1.4 ke hoach phuong")])
    page = await client.get(f"{BASE}/nop-ho-so/2020")
    assert page.status_code == 200
    submitted = await post(client, f"{BASE}/nop-ho-so/2020")
    assert submitted.status_code in (302, 303)  # type: ignore[attr-defined]
    assert await build_all(jobs_engine, storage, ward) == ["submitted"]  # as the worker builds it
    [row] = await submission_rows(owner_engine, ward)
    assert (row.version, row.status) == (1, "submitted")
    assert row.manifest is not None

    # The Sở Nội vụ sees the ward's package among those to appraise.
    await sign_in(client, REVIEWER)
    review = await client.get("/t/ha-tinh/so-noi-vu/tham-dinh/2020")
    assert review.status_code == 200
    assert "UBND phường Thành Sen" in review.text
