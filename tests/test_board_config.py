"""What a province configures for the remedy board in tenants/: status columns (names, order, WIP limits) per
province or per department, holiday overrides of the working-day calendar; and recurring deadlines that keep their
whole series and move on to the next date as each passes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import BoardColumn, Province, Task, Tenant
from backend.db.rls import bind_tenant
from backend.domain.remedies.board import roll_recurring
from backend.domain.remedies.deadlines import default_calendar, parse_deadline, working_days
from backend.domain.tenants.config import TenantConfigError, load_directory
from tests.factories import BIND_SNGV, BOARD, FOCAL, board_tasks, create_task, sngv_rows, sync_dir
from tests.province_files import rejection, sample_province, write_province
from tests.support import sign_in

COLUMNS = [
    {"code": "moi", "name": "Mới giao"},
    {"code": "dang-lam", "name": "Đang làm", "wip_limit": 5},
    {"code": "xong", "name": "Đã xong", "done": True, "needs_confirmation": True},
]


def _with(**province: Any) -> dict[str, Any]:
    data = sample_province()
    data["province"].update(province)
    return data


# --- configuration files ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "path", "reason"),
    [
        ([COLUMNS[0]], "$.province.board_columns", "bảng cần từ 2 đến 8 cột, có 1"),
        ([COLUMNS[0], COLUMNS[1]], "$.province.board_columns", "cần một cột hoàn thành (done: true)"),
        ([COLUMNS[0], COLUMNS[0], COLUMNS[2]], "$.province.board_columns[1].code", "mã 'moi' bị trùng"),
        ([COLUMNS[0], {**COLUMNS[1], "wip_limit": 0}, COLUMNS[2]], "$.province.board_columns[1].wip_limit", "từ 1"),
        ([COLUMNS[0], {**COLUMNS[1], "name": " "}, COLUMNS[2]], "$.province.board_columns[1].name", "để trống"),
        ([{**COLUMNS[0], "code": "Mới"}, COLUMNS[2]], "$.province.board_columns[0].code", ""),
    ],
    ids=["one_column", "no_done_column", "duplicate_code", "wip_zero", "blank_name", "bad_code"],
)
def test_bad_board_columns_are_rejected_with_path_and_reason(
    tmp_path: Path, columns: list[dict[str, Any]], path: str, reason: str
) -> None:
    write_province(tmp_path, _with(board_columns=columns))
    problems = rejection(tmp_path)
    assert any(p.path == path and reason in p.reason for p in problems), problems


@pytest.mark.parametrize(
    ("holidays", "reason"),
    [
        ({2025: {"holidays": ["31/02"]}}, "31/02"),
        ({2025: {"working_weekends": ["05/05"]}}, "không phải thứ Bảy hoặc Chủ nhật"),
        ({2025: {"holidays": ["03/05"], "working_weekends": ["03/05"]}}, "vừa là ngày nghỉ vừa là ngày làm bù"),
    ],
    ids=["no_such_day", "make_up_on_a_weekday", "both_off_and_worked"],
)
def test_bad_holidays_are_rejected(tmp_path: Path, holidays: dict[int, Any], reason: str) -> None:
    write_province(tmp_path, _with(holidays=holidays))
    problems = rejection(tmp_path)
    assert any(p.path == "$.province.holidays" and reason in p.reason for p in problems), problems


def test_a_province_holiday_moves_a_deadline_to_the_working_day_before(tmp_path: Path) -> None:
    # Friday 15/11/2024 is a working day nationally; a province that gives it off moves the deadline to Thursday
    written = "15/11/2024"
    assert parse_deadline(written, year=2024, calendar=default_calendar()).due == date(2024, 11, 15)
    write_province(tmp_path, _with(holidays={2024: {"holidays": ["15/11"]}}))
    load_directory(tmp_path)  # valid
    settings = {"holidays": {"2024": {"holidays": ["15/11"], "working_weekends": []}}}
    assert parse_deadline(written, year=2024, calendar=working_days(settings)).due == date(2024, 11, 14)
    assert working_days({}) is default_calendar()


# --- tenants sync ----------------------------------------------------------------------------------------------------


async def _columns(owner_engine: AsyncEngine, tenant_code: str) -> list[tuple[str, str, int | None, bool, bool]]:
    async with create_session_maker(owner_engine)() as session:
        tenant = (await session.scalars(select(Tenant).where(Tenant.code == tenant_code))).one()
        await bind_tenant(session, tenant.id)
        rows = await session.scalars(select(BoardColumn).order_by(BoardColumn.position))
        return [(c.code, c.name, c.wip_limit, c.is_done, c.needs_confirmation) for c in rows]


@pytest.mark.usefixtures("database")
async def test_columns_follow_the_configuration_per_province_and_per_department(
    owner_engine: AsyncEngine, tmp_path: Path
) -> None:
    data = sample_province()
    write_province(tmp_path, data)
    await sync_dir(owner_engine, tmp_path, demo_people=False)
    stc = data["tenants"][1]["code"]
    assert [c[0] for c in await _columns(owner_engine, stc)] == [
        "chua-thuc-hien",
        "dang-thuc-hien",
        "cho-xac-nhan",
        "hoan-thanh",
    ]

    data["province"]["board_columns"] = COLUMNS
    data["tenants"][0]["board_columns"] = [COLUMNS[2], {**COLUMNS[0], "wip_limit": 3}]
    write_province(tmp_path, data)
    report = await sync_dir(owner_engine, tmp_path, demo_people=False)
    assert "cột bảng mới" in report.summary()
    assert await _columns(owner_engine, stc) == [
        ("moi", "Mới giao", None, False, False),
        ("dang-lam", "Đang làm", 5, False, False),
        ("xong", "Đã xong", None, True, True),
    ]
    assert await _columns(owner_engine, data["tenants"][0]["code"]) == [
        ("xong", "Đã xong", None, True, True),
        ("moi", "Mới giao", 3, False, False),
    ]
    assert (await sync_dir(owner_engine, tmp_path, demo_people=False)).summary() == "không có thay đổi"


@pytest.mark.usefixtures("database")
async def test_a_column_with_cards_is_never_dropped(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    data = _with(board_columns=COLUMNS)
    write_province(tmp_path, data)
    await sync_dir(owner_engine, tmp_path, demo_people=False)
    stc = data["tenants"][1]["code"]
    async with create_session_maker(owner_engine)() as session, session.begin():
        tenant = (await session.scalars(select(Tenant).where(Tenant.code == stc))).one()
        await bind_tenant(session, tenant.id)
        column = (await session.scalars(select(BoardColumn).where(BoardColumn.code == "dang-lam"))).one()
        session.add(
            Task(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                number=1,
                year=2024,
                area_code="1",
                title="Rà soát quy chế",
                column_id=column.id,
                position=0,
                version=1,
                search_text="",
            )
        )
    data["province"]["board_columns"] = [COLUMNS[0], COLUMNS[2]]
    write_province(tmp_path, data)
    with pytest.raises(TenantConfigError) as refused:
        await sync_dir(owner_engine, tmp_path, demo_people=False)
    assert "không bỏ được cột 'dang-lam' (Đang làm) vì còn 1 nhiệm vụ" in str(refused.value)
    assert [c[0] for c in await _columns(owner_engine, stc)] == ["moi", "dang-lam", "xong"]  # nothing applied


@pytest.mark.usefixtures("database")
async def test_holidays_reach_the_province_settings(owner_engine: AsyncEngine, tmp_path: Path) -> None:
    write_province(tmp_path, _with(holidays={2024: {"holidays": ["15/11", "18/11-19/11"]}}))
    await sync_dir(owner_engine, tmp_path, demo_people=False)
    async with create_session_maker(owner_engine)() as session:
        province = (await session.scalars(select(Province))).one()
    assert province.settings["holidays"] == {"2024": {"holidays": ["15/11", "18/11-19/11"], "working_weekends": []}}
    calendar = working_days(province.settings)
    assert not calendar.is_working_day(date(2024, 11, 18))
    assert calendar.is_working_day(date(2024, 11, 20))


# --- recurring deadlines ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_tenants", "criteria")
async def test_a_recurring_task_keeps_its_series_and_moves_on_as_dates_pass(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, jobs_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    response = await create_task(client, deadline_text="Hằng quý")
    assert response.status_code in (302, 303), response.text
    [task] = await board_tasks(owner_engine)
    async with create_session_maker(owner_engine)() as session, session.begin():
        tenant_id = (await session.scalars(select(Tenant.id).where(Tenant.code == "so-ngoai-vu"))).one()
        await bind_tenant(session, tenant_id)
        stored = await session.get(Task, task.id)
        assert stored is not None
        # "Hằng quý" of 2020: the quarter ends, each on a working day (30/06 and 30/09 are weekdays)
        assert [d.month for d in stored.due_series] == [3, 6, 9, 12]
        first, second = stored.due_series[0], stored.due_series[1]
        stored.due_date = first
    page = await client.get(f"{BOARD}/the/{task.number}")
    assert "cả năm:" in page.text
    assert second.strftime("%d/%m/%Y") in page.text

    async with create_session_maker(jobs_engine)() as session, session.begin():  # the reminders job rolls them
        await bind_tenant(session, tenant_id)
        assert await roll_recurring(session, first) == 0  # not passed yet
        assert await roll_recurring(session, first + timedelta(days=1)) == 1
        assert (await session.get(Task, task.id)).due_date == second  # type: ignore[union-attr]


# --- the board read cache --------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("demo_tenants", "criteria")
async def test_the_cached_board_changes_with_what_it_shows(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    """Every change the board shows reaches the next page, whichever process or role made it: a unit renamed,
    a person renamed, a card edited directly in the database, a file attached."""
    await sign_in(client, FOCAL)
    units = {row.code: row.id for row in await sngv_rows(owner_engine, "SELECT code, id FROM units")}
    members = {row.email: row.id for row in await sngv_rows(owner_engine, "SELECT email, id FROM users")}
    response = await create_task(
        client, lead_unit_id=str(units["van-phong-thanh-tra"]), assignees=str(members[FOCAL]), title="Rà soát"
    )
    assert response.status_code in (302, 303), response.text
    [task] = await board_tasks(owner_engine)
    assert "Đã thêm KP-1." in (await client.get(BOARD)).text  # the creation's flash message, shown once
    first = (await client.get(BOARD)).text
    assert "Rà soát" in first
    assert "Đã thêm KP-1." not in first
    assert (await client.get(BOARD)).text == first  # nothing changed: the same page

    async with owner_engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        await db.execute(text("UPDATE units SET name = 'Văn phòng Sở (mới)' WHERE code = 'van-phong-thanh-tra'"))
        await db.execute(text("UPDATE tasks SET title = 'Rà soát lại' WHERE id = :id"), {"id": task.id})
    page = (await client.get(BOARD)).text
    assert "Văn phòng Sở (mới)" in page
    assert "Rà soát lại" in page

    async with owner_engine.begin() as db:  # a person's name, outside any tenant
        await db.execute(
            text("UPDATE users SET full_name = 'Nguyễn Thị Phương Thảo (mới)' WHERE email = :e"), {"e": FOCAL}
        )
    assert "Nguyễn Thị Phương Thảo (mới)" in (await client.get(BOARD)).text

    assert "0 tài liệu" in page
    async with owner_engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        await db.execute(
            text(
                "INSERT INTO evidence_files (id, tenant_id, year, task_id, sha256, size, content_type, filename,"
                " description, document_number, document_section) SELECT gen_random_uuid(), tenant_id, 2020, id,"
                " repeat('a', 64), 1, 'application/pdf', 'a.pdf', '', '', '' FROM tasks WHERE id = :id"
            ),
            {"id": task.id},
        )
    assert "1 tài liệu" in (await client.get(BOARD)).text
