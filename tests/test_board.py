"""The remedy board: tasks created and edited through their form, moves that keep positions dense and
never lose an update, unit scoping, confirmation and WIP rules, filters, and a fixed number of queries."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from datetime import date, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.sessions import COOKIE, SessionStore
from backend.db.engine import create_session_maker, driver_connection
from backend.db.rls import bind_tenant, remember_session
from backend.domain.remedies import board as boards
from backend.domain.tenants.deps import TenantContext
from backend.settings import Settings
from tests.factories import (
    BIND_SNGV,
    BOARD,
    FOCAL,
    LEADER,
    SNGV,
    STAFF,
    VIEWER,
    board_tasks,
    board_token,
    create_task,
    sngv_rows,
    sngv_units,
)
from tests.html_support import squash
from tests.support import HTMX, SEED_001, sign_in, tenant_and_province

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")


async def _columns(engine: AsyncEngine) -> dict[str, str]:
    return {row.code: str(row.id) for row in await sngv_rows(engine, "SELECT code, id FROM board_columns")}


async def _move(client: AsyncTestClient[Litestar], task: Any, column: str, area: str, place: str = "end") -> Any:
    token = await board_token(client)
    data = {"task": str(task.id), "version": str(task.version), "column": column, "area": area, "place": place}
    return await client.post(f"{BOARD}/di-chuyen", data={**data, "_csrf_token": token}, headers=HTMX)


async def test_a_task_is_created_with_its_deadline_resolved_and_shown_on_the_board(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    units = await sngv_units(owner_engine)
    response = await create_task(
        client,
        criterion_code="1.2",
        deficiency="Tỷ lệ hoàn thành kế hoạch đạt 94,76 %",
        points_lost="0,08",
        points_max="1,5",
        lead_unit_id=units["van-phong-thanh-tra"],
        expected_output="Kế hoạch",
        labels="kế hoạch, quý",
    )
    assert response.status_code in (302, 303), response.text
    [task] = await board_tasks(owner_engine)
    assert str(task.due_date) == "2020-06-30"  # Quý II/2020: 30/06/2020 is a Tuesday
    board = await client.get(BOARD)
    assert "KP-1" in board.text
    assert "Hạn 30/06/2020" in board.text
    assert "−0,08 điểm" in board.text
    assert re.search(rf'id="cell-[0-9a-f-]+-1"[^>]*>\s*<li class="card[^"]*" id="card-{task.id}"', squash(board.text))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"title": ""}, "title", "Nhập giải pháp"),
        ({"deadline_text": ""}, "deadline_text", "Nhập thời hạn"),
        ({"deadline_text": "31/02/2020"}, "deadline_text", "không phải là một ngày có thật"),
        ({"deadline_text": "Quý V"}, "deadline_text", ""),
        ({"area_code": "42"}, "area_code", "không có trong bộ chỉ số"),
        ({"criterion_code": "9.9"}, "criterion_code", "không có trong bộ chỉ số"),
        ({"criterion_code": "2.5"}, "criterion_code", "không thuộc lĩnh vực 1"),
        ({"points_lost": "abc"}, "points_lost", "phải là một số"),
        ({"points_lost": "2", "points_max": "1,5"}, "points_lost", "không được lớn hơn"),
        ({"points_lost": "0,0001"}, "points_lost", "3 chữ số thập phân"),
        ({"lead_unit_id": str(uuid.uuid4())}, "lead_unit_id", "Chọn một phòng"),
        ({"lead_unit_id": "không-phải-uuid"}, "lead_unit_id", "Chọn một phòng"),
        ({"coordinating": "unit:" + str(uuid.uuid4())}, "coordinating", "không hợp lệ"),
        ({"assignees": str(uuid.uuid4())}, "assignees", "thành viên"),
        ({"title": "x" * 4001}, "title", "Tối đa 4.000"),
        ({"kind": "other"}, "kind", "Chọn loại"),
    ],
)
async def test_bad_task_input_is_refused_next_to_the_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, fields: dict[str, str], field: str, message: str
) -> None:
    await sign_in(client, FOCAL)
    response = await create_task(client, **fields)
    assert response.status_code == 422, response.text
    error = re.search(rf'<p class="field-error" id="t-{field}-error">([^<]*)</p>', squash(response.text))
    assert error, response.text
    assert message in error.group(1)
    assert await board_tasks(owner_engine) == []


async def test_moves_keep_positions_dense_and_a_stale_move_gets_a_conflict(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    for n in range(3):
        assert (await create_task(client, title=f"Nhiệm vụ {n}")).status_code in (302, 303)
    columns = await _columns(owner_engine)
    first, second, third = await board_tasks(owner_engine)
    assert [t.position for t in (first, second, third)] == [0, 1, 2]
    moved = await _move(client, third, columns["chua-thuc-hien"], "1", f"before:{first.id}")
    assert moved.status_code == 200, moved.text
    assert 'hx-swap-oob="true"' in moved.text
    assert moved.headers["hx-trigger"] == "board-changed"
    assert moved.headers["x-task-version"] == str(third.version + 1)  # what the move wrote
    assert [(t.number, t.position) for t in await board_tasks(owner_engine)] == [(1, 1), (2, 2), (3, 0)]
    across = await _move(client, first, columns["dang-thuc-hien"], "2")
    assert across.status_code == 200
    assert [(t.number, t.col, t.area_code, t.position) for t in await board_tasks(owner_engine)] == [
        (1, "dang-thuc-hien", "2", 0),
        (2, "chua-thuc-hien", "1", 1),
        (3, "chua-thuc-hien", "1", 0),
    ]
    # `first` still carries version 1: the board it came from is stale
    stale = await _move(client, first, columns["chua-thuc-hien"], "1")
    assert stale.status_code == 409
    assert "vừa được người khác thay đổi" in stale.text
    assert 'id="board"' in stale.text
    assert (await board_tasks(owner_engine))[0].col == "dang-thuc-hien"
    # keyboard moves: up/down within the cell
    fresh = {t.number: t for t in await board_tasks(owner_engine)}
    assert (await _move(client, fresh[2], columns["chua-thuc-hien"], "1", "up")).status_code == 200
    assert [(t.number, t.position) for t in (await board_tasks(owner_engine))[1:]] == [(2, 0), (3, 1)]
    moves = await sngv_rows(owner_engine, "SELECT count(*) AS n FROM audit_log WHERE action = 'task.move'")
    assert moves[0].n == 3


async def test_the_database_refuses_a_second_move_from_the_same_version_under_the_lock(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app_engine: AsyncEngine
) -> None:
    """Two moves checked against the same version (both passed the application's check before either took the
    board's lock): `board_move_as` applies the first and refuses the second, which would silently undo it."""
    await sign_in(client, FOCAL)
    assert (await create_task(client)).status_code in (302, 303)
    [task] = await board_tasks(owner_engine)
    columns = await _columns(owner_engine)
    [person] = await sngv_rows(owner_engine, "SELECT id FROM users WHERE email = :email", email=FOCAL)
    async with create_session_maker(owner_engine)() as db:
        tenant, _ = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
    apply = """
        SELECT outcome, placed FROM board_move_as(
          session_token => $1, tenant => $2, person => $3, board_year => 2020, lock_key => $4, moving => $5,
          expected => $6, to_column => $7, to_area => '1', place => 'end', anchor => NULL, edits_any => true,
          edits_units => '{}', confirms => true, actor => $8
        )
    """
    actor = f"user:{person.id}"
    session_token = client.cookies.get(COOKIE)

    async def move(column: str) -> tuple[str, int | None]:
        async with driver_connection(app_engine) as driver:
            row = await driver.fetchrow(
                apply, session_token, tenant.id, person.id, f"board:{tenant.id}", task.id, task.version,
                uuid.UUID(columns[column]), actor,
            )  # fmt: skip
        return row["outcome"], row["placed"]

    assert await move("dang-thuc-hien") == ("moved", 0)
    assert await move("hoan-thanh") == ("changed", None)
    [after] = await board_tasks(owner_engine)
    assert (after.col, after.version, after.position) == ("dang-thuc-hien", task.version + 1, 0)
    moves = await sngv_rows(owner_engine, "SELECT count(*) AS n FROM audit_log WHERE action = 'task.move'")
    assert moves[0].n == 1


async def test_another_departments_board_shows_none_of_this_ones_cards(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    stnmt = "/t/ha-tinh/so-tai-nguyen-moi-truong"
    await sign_in(client, FOCAL)
    secret = "Rà soát hồ sơ mật của Sở Ngoại vụ"
    assert (await create_task(client, title=secret, labels="riêng-sngv")).status_code in (302, 303)
    [task] = await board_tasks(owner_engine)
    assert secret in (await client.get(BOARD)).text

    await sign_in(client, "thuong.tth@stnmt.hatinh.example.vn")  # the focal point of Sở Tài nguyên và Môi trường
    own = await client.get(f"{stnmt}/ke-hoach/2020")
    assert own.status_code == 200, own.text
    assert 'id="board"' in own.text
    for trace in (secret, "riêng-sngv", str(task.id), "KP-1"):
        assert trace not in own.text
    searched = await client.get(f"{stnmt}/ke-hoach/2020", params={"q": "mật"})
    assert searched.status_code == 200
    assert secret not in searched.text
    assert (await client.get(BOARD)).status_code == 403  # nor through the other department's address


async def test_a_cards_move_form_places_it_before_or_after_another_card_of_any_column(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    for n in range(3):
        assert (await create_task(client, title=f"Nhiệm vụ {n}")).status_code in (302, 303)
    assert (await create_task(client, title="Lĩnh vực khác", area_code="2")).status_code in (302, 303)
    columns = await _columns(owner_engine)
    first, second, third, other_lane = await board_tasks(owner_engine)
    assert (await _move(client, second, columns["dang-thuc-hien"], "1")).status_code == 200
    form = await client.get(f"{BOARD}/the/{third.number}/di-chuyen")
    assert form.status_code == 200
    doing = columns["dang-thuc-hien"]
    assert f'value="before:{first.id}@{columns["chua-thuc-hien"]}"' in form.text
    assert f'value="after:{second.id}@{doing}"' in form.text  # a card of another column, with that column
    assert f"before:{third.id}@" not in form.text  # not next to itself
    assert f"before:{other_lane.id}@" not in form.text  # another lane's cards: move to that lane first
    # the form's column select still names the card's own column: the anchor's column wins
    moved = await _move(client, third, columns["chua-thuc-hien"], "1", f"after:{second.id}@{doing}")
    assert moved.status_code == 200, moved.text
    assert [(t.number, t.col, t.position) for t in await board_tasks(owner_engine)][:3] == [
        (1, "chua-thuc-hien", 0),
        (2, "dang-thuc-hien", 0),
        (3, "dang-thuc-hien", 1),
    ]
    bad = await _move(client, first, columns["chua-thuc-hien"], "1", f"before:{second.id}@not-a-column")
    assert bad.status_code == 422
    assert "Vị trí không hợp lệ." in bad.text


async def test_every_place_and_every_refusal_of_a_move(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """The places a move can name, and what it refuses (nothing written then: no version, no audit row)."""
    await sign_in(client, FOCAL)
    for n in range(4):
        await create_task(client, title=f"Việc {n}")
    await create_task(client, title="Việc lĩnh vực 2", area_code="2")
    columns = await _columns(owner_engine)
    todo, doing = columns["chua-thuc-hien"], columns["dang-thuc-hien"]

    async def cell() -> list[int]:
        return [
            t.number for t in sorted(await board_tasks(owner_engine), key=lambda t: t.position) if t.area_code == "1"
        ]

    async def card(number: int) -> Any:
        return next(t for t in await board_tasks(owner_engine) if t.number == number)

    async def refused(number: int, column: str, area: str, place: str, status: int, message: str) -> None:
        before = [(t.number, t.version, t.position) for t in await board_tasks(owner_engine)]
        audit = await sngv_rows(owner_engine, "SELECT count(*) AS n FROM audit_log WHERE action = 'task.move'")
        response = await _move(client, await card(number), column, area, place)
        assert response.status_code == status, response.text
        assert message in response.text
        assert [(t.number, t.version, t.position) for t in await board_tasks(owner_engine)] == before
        assert await sngv_rows(owner_engine, "SELECT count(*) AS n FROM audit_log WHERE action = 'task.move'") == audit

    assert await cell() == [1, 2, 3, 4]
    await refused(1, todo, "1", "top", 422, "Thẻ đã ở đầu cột.")
    await refused(1, todo, "1", "up", 422, "Thẻ đã ở đầu hoặc cuối cột.")
    await refused(4, todo, "1", "down", 422, "Thẻ đã ở đầu hoặc cuối cột.")
    await refused(2, doing, "1", "down", 422, "chỉ dùng trong cùng một cột")
    await refused(2, todo, "1", f"before:{(await card(5)).id}", 409, "Thẻ làm mốc đã đổi chỗ")
    await refused(2, todo, "1", f"after:{(await card(2)).id}", 422, "Không thể đặt thẻ cạnh chính nó.")

    assert (await _move(client, await card(1), todo, "1", f"after:{(await card(3)).id}")).status_code == 200
    assert await cell() == [2, 3, 1, 4]  # the anchor moved up when the card left its place
    assert (await _move(client, await card(4), todo, "1", f"before:{(await card(2)).id}")).status_code == 200
    assert await cell() == [4, 2, 3, 1]
    assert (await _move(client, await card(2), todo, "1", "down")).status_code == 200
    assert await cell() == [4, 3, 2, 1]
    assert (await _move(client, await card(1), todo, "1", "top")).status_code == 200
    assert await cell() == [1, 4, 3, 2]
    assert (await _move(client, await card(5), todo, "1", f"after:{(await card(4)).id}")).status_code == 200
    assert await cell() == [1, 4, 5, 3, 2]  # from another lane, placed after its anchor
    moved = await sngv_rows(
        owner_engine,
        "SELECT before, after, actor FROM audit_log WHERE action = 'task.move' AND entity_id = 'KP-5'",
    )
    assert [(row.before, row.after) for row in moved] == [
        ({"column": todo, "area": "2"}, {"column": todo, "area": "1", "position": "2"})
    ]
    assert moved[0].actor.startswith("user:")
    assert [t.version for t in await board_tasks(owner_engine)] == [3, 2, 1, 2, 2]  # one per successful move


async def test_editing_a_tasks_area_keeps_both_lanes_dense(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    for n in range(3):
        await create_task(client, title=f"Việc {n}")
    first = (await board_tasks(owner_engine))[0]
    token = await board_token(client)
    data = {"kind": "fix", "area_code": "2", "title": "Việc 0", "deadline_text": "Quý II/2020", "version": "1"}
    edited = await client.post(
        f"{BOARD}/the/{first.number}", data={**data, "_csrf_token": token}, follow_redirects=False
    )
    assert edited.status_code in (302, 303), edited.text
    assert [(t.number, t.area_code, t.position) for t in await board_tasks(owner_engine)] == [
        (1, "2", 0),
        (2, "1", 0),
        (3, "1", 1),
    ]


async def test_a_stale_edit_of_a_card_gets_a_conflict_with_the_fresh_values_and_saves_nothing(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """Two people opened the same card's form at version 1; the first saves, the second's save is refused."""
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc ban đầu")
    task = (await board_tasks(owner_engine))[0]
    token = await board_token(client)
    base = {"kind": "fix", "area_code": "1", "deadline_text": "Quý II/2020", "version": str(task.version)}
    first = await client.post(
        f"{BOARD}/the/{task.number}",
        data={**base, "title": "Sửa của người thứ nhất", "_csrf_token": token},
        follow_redirects=False,
    )
    assert first.status_code in (302, 303), first.text
    second = await client.post(
        f"{BOARD}/the/{task.number}",
        data={**base, "title": "Sửa của người thứ hai", "notes": "mất?", "_csrf_token": token},
        follow_redirects=False,
    )
    assert second.status_code == 409
    assert "vừa được người khác sửa" in second.text
    assert "Sửa của người thứ nhất" in second.text  # the fresh state, to edit again
    rows = await sngv_rows(owner_engine, "SELECT title, notes, version FROM tasks")
    assert [(r.title, r.notes, r.version) for r in rows] == [("Sửa của người thứ nhất", "", task.version + 1)]


@pytest.mark.parametrize(
    "data",
    [
        {"task": "x", "version": "1", "column": "y", "area": "1"},
        {"task": str(uuid.uuid4()), "version": "abc", "column": str(uuid.uuid4()), "area": "1"},
        {"place": "before:nope"},
        {"place": "sideways"},
        {"column": str(uuid.uuid4())},
        {"area": "99"},
    ],
)
async def test_bad_moves_are_refused_with_a_message(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, data: dict[str, str]
) -> None:
    await sign_in(client, FOCAL)
    await create_task(client)
    [task] = await board_tasks(owner_engine)
    columns = await _columns(owner_engine)
    token = await board_token(client)
    base = {"task": str(task.id), "version": str(task.version), "column": columns["dang-thuc-hien"], "area": "1"}
    response = await client.post(f"{BOARD}/di-chuyen", data={**base, **data, "_csrf_token": token}, headers=HTMX)
    assert response.status_code in (409, 422), response.text
    assert 'role="alert"' in response.text
    assert f'data-task="{task.id}"' in response.text  # the board, read afresh with the tenant bound
    assert (await board_tasks(owner_engine))[0].version == 1


async def test_unit_staff_see_and_move_only_their_units_tasks_and_cannot_confirm(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    units = await sngv_units(owner_engine)
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc của phòng Hợp tác quốc tế", lead_unit_id=units["phong-hop-tac-quoc-te"])
    await create_task(client, title="Việc của Văn phòng", lead_unit_id=units["van-phong-thanh-tra"])
    own, other = await board_tasks(owner_engine)
    columns = await _columns(owner_engine)
    await sign_in(client, STAFF)
    board = await client.get(BOARD)
    assert "Việc của phòng Hợp tác quốc tế" in board.text
    assert "Việc của Văn phòng" not in board.text
    assert (await client.get(f"{BOARD}/the/{other.number}")).status_code == 404
    assert (await _move(client, other, columns["dang-thuc-hien"], "1")).status_code == 403
    assert (await _move(client, own, columns["dang-thuc-hien"], "1")).status_code == 200
    own = (await board_tasks(owner_engine))[0]
    assert (await _move(client, own, columns["hoan-thanh"], "1")).status_code == 403
    await sign_in(client, LEADER)
    assert (await _move(client, own, columns["hoan-thanh"], "1")).status_code == 200
    await sign_in(client, VIEWER)
    assert "Việc của Văn phòng" in (await client.get(BOARD)).text
    assert (await _move(client, other, columns["dang-thuc-hien"], "1")).status_code == 403


async def test_a_coordinating_unit_edits_and_moves_the_card_its_assignee_only_sees(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """One rule (the database's `task_editable`) for a card's form, its checklist and its move."""
    units = await sngv_units(owner_engine)
    staff_id = (await sngv_rows(owner_engine, f"SELECT id FROM users WHERE email = '{STAFF}'"))[0].id
    await sign_in(client, FOCAL)
    await create_task(
        client,
        title="Việc phối hợp",
        lead_unit_id=units["van-phong-thanh-tra"],
        coordinating=f"unit:{units['phong-hop-tac-quoc-te']}",
    )
    await create_task(client, title="Việc được giao", lead_unit_id=units["van-phong-thanh-tra"], assignees=staff_id)
    shared, assigned = await board_tasks(owner_engine)
    columns = await _columns(owner_engine)
    await sign_in(client, STAFF)
    token = await board_token(client)
    assert "Thêm việc cần làm" in (await client.get(f"{BOARD}/the/{shared.number}")).text
    added = await client.post(f"{BOARD}/the/{shared.number}/viec-can-lam", data={"text": "Góp ý", "_csrf_token": token})
    assert "Góp ý" in added.text
    assert (await _move(client, shared, columns["dang-thuc-hien"], "1")).status_code == 200
    page = await client.get(f"{BOARD}/the/{assigned.number}")
    assert "Việc được giao" in page.text
    assert "Thêm việc cần làm" not in page.text
    refused = await client.post(
        f"{BOARD}/the/{assigned.number}/viec-can-lam", data={"text": "x", "_csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 403
    moved = await _move(client, assigned, columns["dang-thuc-hien"], "1")
    assert moved.status_code == 403
    assert boards.REFUSALS["not-yours"] in moved.text


async def test_a_full_column_refuses_more_cards(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    await sign_in(client, FOCAL)
    await create_task(client, title="A")
    await create_task(client, title="B")
    async with owner_engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        await db.execute(text("UPDATE board_columns SET wip_limit = 1 WHERE code = 'dang-thuc-hien'"))
    columns = await _columns(owner_engine)
    first, second = await board_tasks(owner_engine)
    assert (await _move(client, first, columns["dang-thuc-hien"], "1")).status_code == 200
    refused = await _move(client, second, columns["dang-thuc-hien"], "1")
    assert refused.status_code == 422
    assert "đã đủ 1 nhiệm vụ" in refused.text


async def test_filters_find_tasks_with_or_without_diacritics_and_live_in_the_url(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await create_task(client, title="Rà soát thủ tục đất đai", area_code="3", deadline_text="10/03/2020")
    await create_task(client, title="Cập nhật Cổng thông tin", area_code="7", deadline_text="31/12/2099")
    for query in ("đất đai", "dat dai", "DAT DAI"):
        page = squash((await client.get(BOARD, params={"q": query})).text)
        assert "Rà soát thủ tục đất đai" in page
        assert "Cập nhật Cổng thông tin" not in page
    area = squash((await client.get(BOARD, params={"linh-vuc": "7"})).text)
    assert "Cập nhật Cổng thông tin" in area
    assert "Rà soát thủ tục" not in area
    overdue = (await client.get(BOARD, params={"qua-han": "1"})).text  # 10/03/2020 is long past
    assert "Rà soát thủ tục đất đai" in overdue
    assert "Cập nhật Cổng thông tin" not in overdue
    assert "Quá hạn" in overdue
    weird = await client.get(BOARD, params={"don-vi": "not-a-uuid", "q": "%_\\", "linh-vuc": "<x>"})
    assert weird.status_code == 200


async def test_filters_by_unit_assignee_status_and_label(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    units = await sngv_units(owner_engine)
    [focal] = await sngv_rows(owner_engine, "SELECT id FROM users WHERE email = :email", email=FOCAL)
    await create_task(
        client, title="Việc Văn phòng có nhãn", lead_unit_id=units["van-phong-thanh-tra"], labels="số hóa"
    )
    await create_task(
        client, title="Việc giao người", lead_unit_id=units["phong-hop-tac-quoc-te"], assignees=str(focal.id)
    )
    await create_task(client, title="Việc sẽ đang làm")
    columns = await _columns(owner_engine)
    doing = (await board_tasks(owner_engine))[2]
    assert (await _move(client, doing, columns["dang-thuc-hien"], "1")).status_code == 200
    titles = ("Việc Văn phòng có nhãn", "Việc giao người", "Việc sẽ đang làm")

    async def shown(params: dict[str, str]) -> list[str]:
        page = await client.get(BOARD, params=params)
        assert page.status_code == 200
        return [title for title in titles if title in page.text]

    assert await shown({"don-vi": units["van-phong-thanh-tra"]}) == ["Việc Văn phòng có nhãn"]
    assert await shown({"nguoi": str(focal.id)}) == ["Việc giao người"]
    assert await shown({"trang-thai": "dang-thuc-hien"}) == ["Việc sẽ đang làm"]
    assert await shown({"nhan": "số hóa"}) == ["Việc Văn phòng có nhãn"]
    assert await shown({"nhan": "số hóa", "don-vi": units["phong-hop-tac-quoc-te"]}) == []
    assert await shown({}) == list(titles)


async def test_the_board_loads_in_a_fixed_number_of_queries(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app: Litestar
) -> None:
    await sign_in(client, FOCAL)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    target = app.state["sessions"].engine.sync_engine

    async def measure() -> int:
        statements.clear()
        event.listen(target, "before_cursor_execute", count)
        try:
            assert (await client.get(BOARD)).status_code == 200
        finally:
            event.remove(target, "before_cursor_execute", count)
        return len(statements)

    await create_task(client, title="Một")
    few = await measure()
    for n in range(12):
        await create_task(client, title=f"Thêm {n}", area_code=str(1 + n % 7))
    many = await measure()
    assert few == many, (few, many)


async def test_concurrent_random_moves_keep_every_card_once_and_positions_dense(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    for n in range(8):
        await create_task(client, title=f"Việc {n}", area_code=str(1 + n % 2))
    columns = list((await _columns(owner_engine)).values())
    rng = random.Random(7)  # noqa: S311 - a reproducible test, not a secret

    async def one() -> int:
        task = rng.choice(await board_tasks(owner_engine))
        response = await _move(
            client, task, rng.choice(columns[:3]), rng.choice(["1", "2"]), rng.choice(["end", "top"])
        )
        return response.status_code

    results = await asyncio.gather(*(one() for _ in range(40)))
    assert set(results) <= {200, 409, 422}  # 422: "top" for a card already on top
    rows = await board_tasks(owner_engine)
    assert sorted(t.number for t in rows) == list(range(1, 9))
    cells: dict[tuple[str, str], list[int]] = {}
    for t in rows:
        cells.setdefault((t.col, t.area_code), []).append(t.position)
    for positions in cells.values():
        assert sorted(positions) == list(range(len(positions)))


async def test_the_plan_is_generated_from_the_criteria_that_lost_points(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    base = f"{SNGV}/tu-danh-gia/2020"
    token = await board_token(client)
    await client.post(f"{base}/bat-dau", data={"_csrf_token": token})
    for code, form in SEED_001:
        await client.post(f"{base}/tieu-chi/{code}", data={**form, "_csrf_token": token}, headers=HTMX)
    response = await client.post(f"{BOARD}/tao-tu-tu-danh-gia", data={"_csrf_token": token}, follow_redirects=False)
    assert "Đã tạo 10 nhiệm vụ từ các tiêu chí bị trừ điểm." in (await client.get(response.headers["location"])).text
    rows = await sngv_rows(owner_engine, "SELECT criterion_code, points_lost, points_max FROM tasks ORDER BY number")
    assert [r.criterion_code for r in rows] == [
        "1.2",
        "1.5",
        "1.7",
        "2.5",
        "2.6.1",
        "4.1.5",
        "5.10",
        "6.2.1",
        "7.1.5",
        "7.1.8",
    ]
    assert str(rows[0].points_lost) == "0.080"
    again = await client.post(f"{BOARD}/tao-tu-tu-danh-gia", data={"_csrf_token": token}, follow_redirects=False)
    assert "Đã tạo 0 nhiệm vụ" in (await client.get(again.headers["location"])).text
    await sign_in(client, STAFF)
    assert (
        await client.post(f"{BOARD}/tao-tu-tu-danh-gia", data={"_csrf_token": await board_token(client)})
    ).status_code == 403


async def test_the_plan_clock_counts_fifteen_days_from_the_appraisal_result(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    token = await board_token(client)
    bad = await client.post(
        f"{BOARD}/ke-hoach", data={"action": "ngay-ket-qua", "result_date": "31/02/2020", "_csrf_token": token}
    )
    assert "Ngày không hợp lệ" in bad.text
    empty = await client.post(f"{BOARD}/ke-hoach", data={"action": "duyet", "_csrf_token": token})
    assert "chưa có nhiệm vụ" in empty.text
    page = await client.post(
        f"{BOARD}/ke-hoach", data={"action": "ngay-ket-qua", "result_date": "31/12/2020", "_csrf_token": token}
    )
    assert "phải ban hành trước 15/01/2021" in squash(page.text)
    assert "Quá hạn" in page.text  # long past today
    await create_task(client)
    approved = await client.post(f"{BOARD}/ke-hoach", data={"action": "duyet", "_csrf_token": token})
    assert "Đã duyệt kế hoạch" in approved.text
    assert "Ban hành quá hạn" in approved.text
    rows = await sngv_rows(owner_engine, "SELECT status, result_date FROM remedy_plans")
    assert rows[0].status == "approved"
    await sign_in(client, STAFF)
    refused = await client.post(
        f"{BOARD}/ke-hoach", data={"action": "mo-lai", "_csrf_token": await board_token(client)}
    )
    assert refused.status_code == 403


async def test_checklist_and_comments_on_a_card(client: AsyncTestClient[Litestar], owner_engine: AsyncEngine) -> None:
    units = await sngv_units(owner_engine)
    await sign_in(client, FOCAL)
    await create_task(client, lead_unit_id=units["van-phong-thanh-tra"])
    card = f"{BOARD}/the/1"
    token = await board_token(client)
    assert "Nhập nội dung" in (await client.post(f"{card}/viec-can-lam", data={"text": " ", "_csrf_token": token})).text
    page = await client.post(f"{card}/viec-can-lam", data={"text": "Dự thảo kế hoạch", "_csrf_token": token})
    assert "Việc cần làm (" in page.text
    assert "Dự thảo kế hoạch" in page.text
    assert "(0/1)" in page.text
    [item] = await sngv_rows(owner_engine, "SELECT id FROM task_checklist_items")
    toggled = await client.post(f"{card}/viec-can-lam/{item.id}", data={"_csrf_token": token})
    assert "(1/1)" in toggled.text
    commented = await client.post(f"{card}/trao-doi", data={"body": "Đề nghị <b>gấp</b>", "_csrf_token": token})
    assert "Đề nghị &lt;b&gt;gấp&lt;/b&gt;" in commented.text
    assert "x" * 10 not in (await client.post(f"{card}/trao-doi", data={"body": "x" * 4001, "_csrf_token": token})).text
    # a staff member of another unit cannot see the card, so can neither tick nor comment
    await sign_in(client, STAFF)
    token = await board_token(client)
    assert (await client.post(f"{card}/trao-doi", data={"body": "x", "_csrf_token": token})).status_code == 404
    assert (await client.post(f"{card}/viec-can-lam/{item.id}", data={"_csrf_token": token})).status_code == 404
    assert (
        await client.post(f"{BOARD}/the/1/viec-can-lam/{uuid.uuid4()}", data={"_csrf_token": token})
    ).status_code == 404


async def _signed_in_context(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app_engine: AsyncEngine, settings: Settings
) -> TenantContext:
    """The signed-in person's context in Sở Ngoại vụ, as a request of theirs builds it."""
    token = client.cookies.get(COOKIE)
    assert token
    principal = await SessionStore(app_engine, settings).resolve(token)
    assert principal is not None
    async with create_session_maker(owner_engine)() as db:
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
    return TenantContext(tenant=tenant, province=province, principal=principal, session_token=token)


async def test_a_moves_answer_read_in_one_statement_is_what_the_board_shows(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app_engine: AsyncEngine, settings: Settings
) -> None:
    """A focal point's move answer comes from `read_cells` (one statement, `board_cells_as`); everyone else's from
    `load_board` with the cells. For the same cards both read the same lanes, columns, cells, badges, people and
    counts."""
    await sign_in(client, FOCAL)
    units = await sngv_units(owner_engine)
    [focal] = await sngv_rows(owner_engine, "SELECT id FROM users WHERE email = :email", email=FOCAL)
    for n in range(6):
        fields: dict[str, Any] = {"title": f"Việc {n}", "area_code": str(1 + n % 2)}
        if n % 2 == 0:  # the cards of area 1
            fields |= {"lead_unit_id": units["van-phong-thanh-tra"], "assignees": str(focal.id)}
        if n == 1:
            fields["deadline_text"] = "31/12/2020"
        assert (await create_task(client, **fields)).status_code in (302, 303)
    columns = await _columns(owner_engine)
    moved = (await board_tasks(owner_engine))[0]
    assert (await _move(client, moved, columns["dang-thuc-hien"], moved.area_code)).status_code == 200

    from backend.domain.remedies.board_reading import areas as _areas

    ctx = await _signed_in_context(client, owner_engine, app_engine, settings)
    tenant, principal = ctx.tenant, ctx.principal
    assert boards.reads_cells_whole(ctx, boards.Filters())
    assert not boards.reads_cells_whole(ctx, boards.Filters(overdue=True))
    today = date(2020, 12, 20)  # "31/12/2020" is due soon, the quarter deadlines are overdue
    for cells in (
        {(uuid.UUID(columns["dang-thuc-hien"]), "1"), (uuid.UUID(columns["chua-thuc-hien"]), "2")},
        {(uuid.UUID(columns["chua-thuc-hien"]), "1")},
        {(uuid.UUID(columns["hoan-thanh"]), "1")},  # an empty cell: the counts still come
    ):
        async with create_session_maker(app_engine)() as db:
            remember_session(db, ctx.session_token)  # the person's own session: the policies check it
            await bind_tenant(db, tenant.id, principal.user_id)
            async with db.begin():
                board_columns = await boards.read_columns(db)
                lanes = await _areas(db, ctx, 2020)
                slow = await boards.load_board(
                    db, ctx, 2020, lanes, boards.Filters(), today, cells=cells, columns=board_columns
                )
        async with driver_connection(app_engine) as driver:
            answer = await boards.read_cells(driver, ctx, 2020, cells, today)
        fast = answer.board
        assert (answer.lanes, answer.columns) == (lanes, board_columns)
        assert fast.cells == slow.cells
        assert (
            fast.counts
            == slow.counts
            == {
                uuid.UUID(columns["chua-thuc-hien"]): 5,
                uuid.UUID(columns["dang-thuc-hien"]): 1,
            }
        )
        assert fast.lanes == slow.lanes
    assert not fast.cells  # the last cell was empty
    todo = (uuid.UUID(columns["chua-thuc-hien"]), "1")
    async with driver_connection(app_engine) as driver:
        cards = (await boards.read_cells(driver, ctx, 2020, {todo}, today)).board.cells[todo]
    assert any(card.lead_unit and card.assignees for card in cards)  # the subqueries were exercised
    assert any(card.due_soon for card in cards) or any(card.overdue for card in cards)


async def test_the_database_refuses_a_move_of_no_card_of_this_board_or_for_another_tenant(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, app_engine: AsyncEngine, settings: Settings
) -> None:
    """`board_move_as` decides on the card as it is under the board's lock: a card it does not find, or one of
    another year, is not on this board; a year without criteria has no board; a session that is not a member's
    in the tenant is refused by the database, before anything is read."""
    await sign_in(client, FOCAL)
    assert (await create_task(client)).status_code in (302, 303)
    [task] = await board_tasks(owner_engine)
    ctx = await _signed_in_context(client, owner_engine, app_engine, settings)
    async with create_session_maker(owner_engine)() as db:
        other, _ = await tenant_and_province(db, "ha-tinh", "so-tai-nguyen-moi-truong")
    foreign = TenantContext(
        tenant=other, province=ctx.province, principal=ctx.principal, session_token=ctx.session_token
    )
    columns = await _columns(owner_engine)
    move = boards.Move(task.id, task.version, uuid.UUID(columns["dang-thuc-hien"]), task.area_code)
    async with driver_connection(app_engine) as driver:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await boards.move_card(driver, foreign, 2020, move)
        with pytest.raises(boards.NoCriteria):
            await boards.move_card(driver, ctx, 2019, move)  # no criteria set that year
        with pytest.raises(boards.MoveError) as gone:
            await boards.move_card(driver, ctx, 2020, boards.Move(uuid.uuid4(), 1, move.column_id, "1"))
        assert gone.value.conflict
    data = {"task": str(task.id), "version": str(task.version), "column": columns["dang-thuc-hien"], "area": "1"}
    no_board = BOARD.removesuffix("2020") + "2019/di-chuyen"
    response = await client.post(no_board, data={**data, "_csrf_token": await board_token(client)}, headers=HTMX)
    assert response.status_code == 404

    # the card moves to another year: the 2020 board no longer has it
    assert await sngv_rows(owner_engine, "UPDATE tasks SET year = 2019 WHERE id = :id RETURNING id", id=task.id)
    response = await _move(client, task, columns["dang-thuc-hien"], task.area_code)
    assert response.status_code == 409
    [after] = await board_tasks(owner_engine)
    assert (after.version, after.col) == (task.version, task.col)
    assert not await sngv_rows(owner_engine, "SELECT 1 FROM audit_log WHERE action = 'task.move'")


async def test_a_cards_code_opens_its_form_in_the_side_panel(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """Clicking KP-n on the board asks for the card as htmx: the panel alone, with its form, not a 500."""
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc mở trong khung bên")
    [task] = await board_tasks(owner_engine)
    panel = await client.get(f"{BOARD}/the/{task.number}", headers=HTMX)
    assert panel.status_code == 200, panel.text
    assert "Việc mở trong khung bên" in panel.text
    assert "<html" not in squash(panel.text)
    assert 'class="task-form"' in panel.text


async def test_a_move_refused_for_want_of_a_right_answers_with_the_message_and_the_fresh_board(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """A unit's staff may not confirm a task: their drag to "Hoàn thành" is refused (403) with the reason in an
    alert and the board as it is, so the browser puts the card back and the counts stay true."""
    units = await sngv_units(owner_engine)
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc của phòng Hợp tác quốc tế", lead_unit_id=units["phong-hop-tac-quoc-te"])
    [task] = await board_tasks(owner_engine)
    columns = await _columns(owner_engine)
    await sign_in(client, STAFF)
    refused = await _move(client, task, columns["hoan-thanh"], "1")
    assert refused.status_code == 403
    assert re.search(r'role="alert">[^<]*Chỉ đầu mối CCHC hoặc lãnh đạo mới chuyển', squash(refused.text))
    assert 'id="board" class="board" data-move-form="move-form" hx-swap-oob="true"' in squash(refused.text)
    todo = re.search(rf'id="cell-{columns["chua-thuc-hien"]}-1"[^>]*>(.*?)</ol>', squash(refused.text), re.S)
    assert todo
    assert f'data-task="{task.id}"' in todo.group(1)  # back where it was
    assert f'<span class="column-count" id="count-{columns["hoan-thanh"]}">0</span>' in squash(refused.text)
    assert (await board_tasks(owner_engine))[0].version == task.version

    token = await board_token(client)
    data = {"task": str(task.id), "version": str(task.version), "column": columns["hoan-thanh"], "area": "1"}
    plain = await client.post(f"{BOARD}/di-chuyen", data={**data, "_csrf_token": token})
    assert plain.status_code == 403
    assert "Chỉ đầu mối CCHC hoặc lãnh đạo mới chuyển" in plain.text
    assert "<h1>Kế hoạch khắc phục" in squash(plain.text)  # the board, not an error page


async def test_a_comments_time_is_shown_in_vietnam_time(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc có trao đổi")
    token = await board_token(client)
    await client.post(f"{BOARD}/the/1/trao-doi", data={"body": "Đã giao.", "_csrf_token": token})
    [row] = await sngv_rows(owner_engine, "SELECT created_at FROM task_comments")
    vietnam = row.created_at.astimezone(timezone(timedelta(hours=7)))
    card = await client.get(f"{BOARD}/the/1")
    assert f"{vietnam:%H:%M %d/%m/%Y}" in card.text


async def test_the_new_task_form_groups_criteria_by_area_and_lists_each_checkbox_on_its_own_line(
    client: AsyncTestClient[Litestar],
) -> None:
    await sign_in(client, FOCAL)
    form = squash((await client.get(f"{BOARD}/them")).text)
    criterion = re.search(r'<select id="t-criterion"[^>]*data-follows-area="t-area"[^>]*>(.*?)</select>', form, re.S)
    assert criterion
    groups = re.findall(r'<optgroup label="([^"]+)" data-area="([^"]+)">(.*?)</optgroup>', criterion.group(1), re.S)
    assert [area for _, area, _ in groups][:2] == ["1", "2"]  # areas in order; one without listed criteria has none
    for _, area, options in groups:
        codes = re.findall(r'<option value="([^"]+)"', options)
        assert codes
        assert all(code.split(".")[0] == area for code in codes), (area, codes)
    for legend, name in (("Đơn vị phối hợp", "coordinating"), ("Người thực hiện", "assignees")):
        fieldset = re.search(rf"<legend>{legend}.*?</fieldset>", form, re.S)
        assert fieldset
        boxes = re.findall(
            rf'<li class="field-check"><input type="checkbox" id="([^"]+)" name="{name}"[^>]*>'
            r'<label for="\1">[^<]+</label></li>',
            fieldset.group(0),
        )
        assert len(boxes) >= 4, fieldset.group(0)


async def test_the_board_says_how_to_move_a_card_with_the_keyboard(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """Alt+arrows are written on the board, and a card that may be moved points to them (a screen reader reads
    them with the card); a card that may not be moved does not."""
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc có thể chuyển")
    [task] = await board_tasks(owner_engine)
    board = squash((await client.get(BOARD)).text)
    keys = re.search(r'<p class="small" id="board-keys">(.*?)</p>', board, re.S)
    assert keys
    assert "<kbd>Alt</kbd>+<kbd>←</kbd>" in keys.group(1)
    assert "<kbd>Alt</kbd>+<kbd>↑</kbd>" in keys.group(1)
    assert f'id="card-{task.id}"' in board
    assert f'aria-describedby="card-{task.id}-meta board-keys"' in board
    await sign_in(client, VIEWER)
    assert f'aria-describedby="card-{task.id}-meta"' in (await client.get(BOARD)).text
