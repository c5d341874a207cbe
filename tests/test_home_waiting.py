"""Each role's home starts with what waits for them (issue 17 item 10): the leader's approvals, the inspector's
queue of submissions and answers, the department's open evidence requests and tasks due or overdue (Vietnam's
day, the province's working days), the focal point's unscored criteria; the self-assessment total names the
parts the Sở Nội vụ enters."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.clock import vietnam_today
from backend.db.engine import create_session_maker
from backend.db.models import Appraisal, AppraisalItem, Assessment, BoardColumn, EvidenceRequest, Task
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.criteria.importer import import_criteria, load_all
from backend.domain.tenants.waiting import department_waiting
from backend.settings import PROJECT_ROOT
from tests.factories import submitted
from tests.html_support import squash
from tests.support import sign_in, tenant_and_province

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

SNGV = "/t/ha-tinh/so-ngoai-vu"
SNV = "/t/ha-tinh/so-noi-vu"
STNMT = "/t/ha-tinh/so-tai-nguyen-moi-truong"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
LEADER = "vinh.tq@sngv.hatinh.example.vn"
INSPECTOR = "toan.nv@snv.hatinh.example.vn"
STNMT_STAFF = "duc.hv@stnmt.hatinh.example.vn"
STP = "/t/ha-tinh/so-tu-phap"
AGENCY_REVIEWER = "binh.pt@stp.hatinh.example.vn"  # a reviewer of another appraising agency (Sở Tư pháp)


@pytest.fixture
async def criteria(owner_engine: AsyncEngine) -> None:
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))


def _task(tenant_id: uuid.UUID, column: uuid.UUID, number: int, due: date | None) -> Task:
    return Task(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        number=number,
        year=2020,
        kind="fix",
        area_code="1",
        title=f"Nhiệm vụ {number}",
        due_date=due,
        column_id=column,
        position=number,
        search_text="",
        labels=[],
        due_series=[],
    )


async def _sngv_waits(owner_engine: AsyncEngine, today: date) -> None:
    """Sở Ngoại vụ's 2020: a self-assessment awaiting approval and submitted, an open and an answered evidence
    request, a task overdue, one due tomorrow, one due in a month and one awaiting confirmation."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        assessment = await assessments.start(db, tenant, province, 2020, None)
        assessment.status = "ready"
        db.add(submitted(tenant.id, assessment.id))
        for status in ("open", "answered"):
            db.add(
                EvidenceRequest(
                    id=uuid.uuid4(), tenant_id=tenant.id, year=2020, criterion_code="1.2", round=1,
                    message="Bổ sung kế hoạch.", status=status, answer="",
                )
            )  # fmt: skip
        columns = {c.code: c.id for c in await db.scalars(select(BoardColumn))}
        db.add_all(
            [
                _task(tenant.id, columns["chua-thuc-hien"], 1, today - timedelta(days=3)),
                _task(tenant.id, columns["dang-thuc-hien"], 2, today + timedelta(days=1)),
                _task(tenant.id, columns["dang-thuc-hien"], 3, today + timedelta(days=40)),
                _task(tenant.id, columns["cho-xac-nhan"], 4, None),
                _task(tenant.id, columns["hoan-thanh"], 5, today - timedelta(days=10)),  # done: waits for nobody
            ]
        )
        await bind_tenant(db, None)


async def test_focal_point_home_starts_with_requests_due_tasks_and_unscored_criteria(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    today = vietnam_today()
    await _sngv_waits(owner_engine, today)
    await sign_in(client, FOCAL)
    page = squash((await client.get(f"{SNGV}/")).text)
    waiting = page[page.index("Việc đang chờ bạn") : page.index("Phòng, đơn vị</h2>")]
    assert "1 yêu cầu bổ sung tài liệu, giải trình chưa trả lời" in waiting
    assert f'href="{SNGV}/giai-trinh/2020"' in waiting
    assert "1 quá hạn" in waiting
    assert "1 đến hạn đến" in waiting
    assert f'href="{SNGV}/ke-hoach/2020/the/1">KP-1</a>' in waiting
    assert "quá hạn 3 ngày" in waiting
    assert "KP-2" in waiting
    assert "KP-3" not in waiting  # due in a month
    assert "KP-5" not in waiting  # done
    assert "tiêu chí chưa chấm" in waiting
    assert f'<a href="{SNGV}/tu-danh-gia/2020/linh-vuc/1">1. ' in waiting  # where they are, area by area
    assert "chờ duyệt</a>" not in waiting  # the focal point approves no self-assessment
    assert "Hồ sơ chờ thẩm định" not in waiting
    # the total says which parts the Sở Nội vụ enters
    assert "Phần do Sở Nội vụ nhập, đơn vị không tự chấm" in page


async def test_leader_home_starts_with_approvals(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    await _sngv_waits(owner_engine, vietnam_today())
    await sign_in(client, LEADER)
    page = squash((await client.get(f"{SNGV}/")).text)
    waiting = page[page.index("Việc đang chờ bạn") : page.index("Phòng, đơn vị</h2>")]
    assert f'<a href="{SNGV}/tu-danh-gia/2020">Bản tự đánh giá năm 2020 chờ duyệt</a>' in waiting
    assert "1 nhiệm vụ chờ xác nhận hoàn thành" in waiting


async def test_inspector_home_lists_submissions_waiting_and_answers_to_read(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _sngv_waits(owner_engine, vietnam_today())
    await sign_in(client, INSPECTOR)
    page = squash((await client.get(f"{SNV}/")).text)
    queue = page[page.index("Hồ sơ chờ thẩm định") : page.index("Phòng, đơn vị</h2>")]
    assert f'<a href="{SNV}/tham-dinh/2020/so-ngoai-vu">Sở Ngoại vụ</a>' in queue
    assert "chưa mở thẩm định" in queue
    assert "1 giải trình mới cần đọc" in queue
    assert "Sở Tài nguyên" not in queue  # submitted nothing


async def test_nothing_waiting_is_said_plainly(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    await _sngv_waits(owner_engine, vietnam_today())  # another department's: not this one's
    await sign_in(client, STNMT_STAFF)
    page = squash((await client.get(f"{STNMT}/")).text)
    assert "Không có yêu cầu nào chưa trả lời." in page
    assert "Không có nhiệm vụ nào quá hạn hoặc đến hạn" in page


async def test_due_soon_counts_working_days_of_the_province(owner_engine: AsyncEngine) -> None:
    """Friday 04/12/2026: five working days ahead is Friday 11/12, so a task due on Saturday 12/12 is not yet
    due soon, one due on Friday 11/12 is; overdue counts days before today only."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        todo = await db.scalar(select(BoardColumn.id).where(BoardColumn.code == "chua-thuc-hien"))
        assert todo is not None
        friday = date(2026, 12, 4)
        db.add_all(
            [
                _task(tenant.id, todo, 1, date(2026, 12, 3)),
                _task(tenant.id, todo, 2, friday),
                _task(tenant.id, todo, 3, date(2026, 12, 11)),
                _task(tenant.id, todo, 4, date(2026, 12, 12)),
            ]
        )
        await db.flush()
        waiting = await department_waiting(db, province, friday)
        assert waiting.horizon == date(2026, 12, 11)
        assert (waiting.overdue, waiting.due_soon) == (1, 2)
        assert [t.code for t in waiting.tasks] == ["KP-1", "KP-2", "KP-3"]
        assert waiting.tasks[1].note(friday) == "đến hạn hôm nay"
        assert not await db.scalar(select(Assessment.id))
        await bind_tenant(db, None)


async def test_self_assessment_total_names_the_parts_the_province_enters(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _sngv_waits(owner_engine, vietnam_today())
    await sign_in(client, FOCAL)
    page = squash((await client.get(f"{SNGV}/tu-danh-gia/2020")).text)
    total = page[page.index("Tổng điểm tự chấm") : page.index("Chỉ số CCHC</h2>")]
    assert "Phần do Sở Nội vụ nhập, đơn vị không tự chấm" in total
    assert "chưa nhập" in total  # nothing entered by the province yet


async def test_inspector_menu_keeps_seven_entries_and_groups_the_rest_under_more(
    client: AsyncTestClient[Litestar],
) -> None:
    """Nine entries wrapped onto two lines at 1366 px: the department's own pages go under "Thêm" (a <details>,
    no script), which names the current page when it is one of them."""
    await sign_in(client, INSPECTOR)
    page = squash((await client.get(f"{SNV}/nop-ho-so/", follow_redirects=True)).text)
    nav = page[page.index('aria-label="Điều hướng chính"') : page.index("</nav>", page.index("Điều hướng chính"))]
    top, _, more = nav.partition('<li class="nav-more">')
    assert top.count("<li>") == 6  # Tổng quan, Tự đánh giá, Kế hoạch, Điểm khảo sát, Thẩm định, Kết quả
    assert "Thẩm định" in top
    assert "Kết quả toàn tỉnh" in top
    assert '<summary class="current">Thêm: Nộp hồ sơ</summary>' in more
    assert more.count("<li>") == 3  # Việc của tôi, Báo cáo định kỳ, Nộp hồ sơ


async def test_another_agencys_reviewer_sees_only_submissions_with_criteria_assigned_to_it(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _sngv_waits(owner_engine, vietnam_today())
    await sign_in(client, AGENCY_REVIEWER)
    page = squash((await client.get(f"{STP}/")).text)
    assert "Không có hồ sơ nào chờ thẩm định." in page
    async with create_session_maker(owner_engine)() as db, db.begin():
        agency, _ = await tenant_and_province(db, "ha-tinh", "so-tu-phap")
        tenant, _ = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        appraisal = Appraisal(id=uuid.uuid4(), tenant_id=tenant.id, year=2020, status="round_1", round=1)
        db.add(appraisal)
        await db.flush()
        for code, agency_id in (("1.2", agency.id), ("1.7", None)):
            db.add(
                AppraisalItem(
                    id=uuid.uuid4(), tenant_id=tenant.id, appraisal_id=appraisal.id, criterion_code=code, round=1,
                    agency_tenant_id=agency_id, reason="", accepted=False, signed_off=False,
                )
            )  # fmt: skip
        await bind_tenant(db, None)
    page = squash((await client.get(f"{STP}/")).text)
    queue = page[page.index("Hồ sơ chờ thẩm định") : page.index("Phòng, đơn vị</h2>")]
    assert f'<a href="{STP}/tham-dinh/2020/so-ngoai-vu">Sở Ngoại vụ</a>' in queue
    assert "vòng 1" in queue
    assert "1 tiêu chí giao cho đơn vị bạn" in queue
