"""An archive's open tasks carried over to its successor's board (tenants/lineage.yaml, `carried_tasks`): the
archive's board and API say where each went, linking the task it became for a reader who may open it there, and
when, by whom, how many; the successor's cards and API say where theirs came from. Nobody else gains access."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.criteria.importer import import_criteria, load_all
from backend.settings import PROJECT_ROOT
from tests.factories import config_dir
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
    PROVINCE_MERGE,
    add_open_task,
    csrf_of,
    merge_departments,
    sync,
    tenant_id,
    tenant_rows,
)
from tests.support import session_cookie_for, sign_in

HT_SUCCESSOR = f"{HT}/so-nong-nghiep-moi-truong"
HCM_SUCCESSOR = f"{HCM}/so-nong-nghiep-moi-truong"
NGOAI_VU_FOCAL_POINT = "thao.ntp@sngv.hatinh.example.vn"
YEAR = 2020  # the year of the test's criteria set: the boards have lanes
MIGRATION = PROJECT_ROOT / "migrations" / "versions" / "20261206_0037_a_carried_task_knows_where_it_went.py"


async def _carry_over(client: AsyncTestClient[Litestar], successor: str) -> None:
    """The successor's home button, as its focal point."""
    csrf = await csrf_of(client, f"{successor}/")
    done = await client.post(f"{successor}/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": csrf})
    assert done.status_code == 200, done.text[:300]


async def _merged_with_tasks(tmp_path: Path, owner_engine: AsyncEngine) -> None:
    """Hà Tĩnh's merge, the archive's board of 2020 with two open tasks and a done one."""
    await merge_departments(tmp_path, owner_engine)
    await add_open_task(owner_engine, HT_ARCHIVE, 1, "Ban hành kế hoạch rà soát TTHC")
    await add_open_task(owner_engine, HT_ARCHIVE, 2, "Số hoá hồ sơ đất đai")
    await add_open_task(owner_engine, HT_ARCHIVE, 3, "Việc đã xong", done=True)
    await tenant_rows(owner_engine, HT_ARCHIVE, f"UPDATE tasks SET year = {YEAR}, area_code = '1'")  # a lane of 2020


def _card(body: str, number: int) -> str:
    """The card KP-`number` of a board's markup."""
    return body.split(f">KP-{number}</a>", 1)[1].split("</li>", 1)[0]


async def test_the_archive_s_board_says_where_each_open_task_went_and_the_successor_s_cards_where_from(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    await _merged_with_tasks(tmp_path, owner_engine)
    await sign_in(client, HT_ARCHIVE_ADMIN)
    before = squash((await client.get(f"{HT_ARCHIVE}/ke-hoach/{YEAR}")).text)
    assert "2 nhiệm vụ chưa hoàn thành chưa được chuyển sang đơn vị kế tiếp." in before
    assert "Đã chuyển sang" not in before

    client.cookies.clear()
    await sign_in(client, HT_FOCAL_POINT)  # Trần Thị Hoài Thương, the successor's focal point since the merge
    await _carry_over(client, HT_SUCCESSOR)
    successor_board = squash((await client.get(f"{HT_SUCCESSOR}/ke-hoach/{YEAR}")).text)
    assert "Chuyển từ Sở Tài nguyên và Môi trường KP-1" in _card(successor_board, 1)
    assert "Chuyển từ Sở Tài nguyên và Môi trường KP-2" in _card(successor_board, 2)

    client.cookies.clear()
    await sign_in(client, HT_ARCHIVE_ADMIN)  # Nguyễn Đình Quang, tenant admin of both since the merge
    board = squash((await client.get(f"{HT_ARCHIVE}/ke-hoach/{YEAR}")).text)
    link = f'<a href="{HT_SUCCESSOR}/ke-hoach/{YEAR}/the/1">KP-1</a>'
    assert f"Đã chuyển sang Sở Nông nghiệp và Môi trường: {link}" in _card(board, 1)
    assert f'<a href="{HT_SUCCESSOR}/ke-hoach/{YEAR}/the/2">KP-2</a>' in _card(board, 2)
    assert "Đã chuyển sang" not in _card(board, 3)  # done: nothing to carry
    summary = board.split('id="carried-over"', 1)[1].split("</section>", 1)[0]
    assert (
        f"2 nhiệm vụ chưa hoàn thành của kế hoạch năm {YEAR} đã được chuyển sang Kế hoạch khắc phục của"
        f' <a href="{HT_SUCCESSOR}/">Sở Nông nghiệp và Môi trường</a> ngày '
    ) in summary
    assert ", do Trần Thị Hoài Thương thực hiện." in summary
    assert "chưa được chuyển" not in summary
    # the card's page says the same, and the link opens the task it became, whose page says where it came from
    task_page = squash((await client.get(f"{HT_ARCHIVE}/ke-hoach/{YEAR}/the/1")).text)
    assert f"Đã chuyển sang Sở Nông nghiệp và Môi trường: {link}" in task_page
    opened = await client.get(f"{HT_SUCCESSOR}/ke-hoach/{YEAR}/the/1")
    assert opened.status_code == 200
    assert "Ban hành kế hoạch rà soát TTHC" in opened.text
    back = f'<a href="{HT_ARCHIVE}/ke-hoach/{YEAR}/the/1">KP-1</a>'
    assert f"Chuyển từ Sở Tài nguyên và Môi trường: {back}" in squash(opened.text)


async def test_the_api_reads_say_where_a_task_went_and_where_from(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    await _merged_with_tasks(tmp_path, owner_engine)
    await sign_in(client, HT_FOCAL_POINT)
    await _carry_over(client, HT_SUCCESSOR)

    archived = (await client.get(f"/api/v1{HT_ARCHIVE}/ke-hoach/{YEAR}/nhiem-vu/")).json()["items"]
    by_number = {item["number"]: item for item in archived}
    went = by_number[1]["carried_to"]
    assert len(went) == 1
    assert {k: went[0][k] for k in ("province", "province_name", "tenant", "name", "number", "url")} == {
        "province": "ha-tinh",
        "province_name": "Tỉnh Hà Tĩnh",
        "tenant": "so-nong-nghiep-moi-truong",
        "name": "Sở Nông nghiệp và Môi trường",
        "number": 1,
        "url": f"/api/v1{HT_SUCCESSOR}/ke-hoach/{YEAR}/nhiem-vu/1",
    }
    assert went[0]["carried_at"]
    assert by_number[3]["carried_to"] == []
    assert by_number[1]["carried_from"] is None
    one = (await client.get(f"/api/v1{HT_ARCHIVE}/ke-hoach/{YEAR}/nhiem-vu/2")).json()
    assert [w["number"] for w in one["carried_to"]] == [2]

    came = (await client.get(went[0]["url"])).json()
    assert came["carried_from"] == {
        "province": "ha-tinh",
        "province_name": "Tỉnh Hà Tĩnh",
        "tenant": "so-tai-nguyen-moi-truong",
        "name": "Sở Tài nguyên và Môi trường",
        "number": 1,
    }
    assert came["carried_to"] == []


async def test_a_reader_of_the_archive_who_cannot_open_the_successor_s_task_sees_its_number_without_a_link(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """Bà Rịa – Vũng Tàu into Thành phố Hồ Chí Minh: its Sở TN&MT's focal point is only invited to the successor
    (another identity provider), so the archive's board names the task it became, with no link, and the API no URL;
    the successor's task names the archive with its province."""
    root = config_dir(tmp_path)
    await sync(owner_engine, root)
    await import_criteria(owner_engine, load_all(PROJECT_ROOT / "tenants"))
    await add_open_task(owner_engine, BRVT_STNMT, 1, "Rà soát quy trình nội bộ giải quyết TTHC đất đai")
    await tenant_rows(owner_engine, BRVT_STNMT, "UPDATE tasks SET year = 2024")  # its last criteria set's year
    (root / "lineage.yaml").write_text(PROVINCE_MERGE, encoding="utf-8")
    await sync(owner_engine, root)

    await sign_in(client, HCM_FOCAL_POINT)
    await _carry_over(client, HCM_SUCCESSOR)
    number = (await tenant_rows(owner_engine, HCM_SUCCESSOR, "SELECT max(number) AS n FROM tasks"))[0].n
    came = (await client.get(f"/api/v1{HCM_SUCCESSOR}/ke-hoach/2024/nhiem-vu/{number}")).json()["carried_from"]
    assert (came["tenant"], came["province_name"], came["number"]) == (
        "so-tai-nguyen-moi-truong",
        "Tỉnh Bà Rịa – Vũng Tàu",
        1,
    )
    label = await tenant_rows(owner_engine, HCM_SUCCESSOR, "SELECT source_label FROM carried_tasks")
    assert [r.source_label for r in label] == ["Sở Tài nguyên và Môi trường (Tỉnh Bà Rịa – Vũng Tàu)"]

    client.cookies.clear()
    await sign_in(client, BRVT_FOCAL_POINT)
    board = squash((await client.get(f"{BRVT_STNMT}/ke-hoach/2024")).text)
    card = _card(board, 1)
    assert f"Đã chuyển sang Sở Nông nghiệp và Môi trường (Thành phố Hồ Chí Minh): KP-{number}" in card
    assert HCM_SUCCESSOR not in card
    assert "1 nhiệm vụ chưa hoàn thành của kế hoạch năm 2024" in board
    item = (await client.get(f"/api/v1{BRVT_STNMT}/ke-hoach/2024/nhiem-vu/1")).json()
    assert [(w["number"], w["url"]) for w in item["carried_to"]] == [(number, None)]
    assert (await client.get(f"{HCM_SUCCESSOR}/ke-hoach/2024/the/{number}")).status_code == 403


async def test_nobody_else_reads_the_links_pages_api_or_database(
    tmp_path: Path,
    owner_engine: AsyncEngine,
    app_engine: AsyncEngine,
    app: Litestar,
    client: AsyncTestClient[Litestar],
) -> None:
    """Another department of the province reads neither board nor the links; in the database a link is read bound to
    the successor or to the archive by their people only, and reading it bound to the archive shows none of the
    successor's tasks."""
    await _merged_with_tasks(tmp_path, owner_engine)
    await sign_in(client, HT_FOCAL_POINT)
    await _carry_over(client, HT_SUCCESSOR)

    # the successor's leader, never a member of the archive: the task's page names where it came from, no link to it
    client.cookies.clear()
    await sign_in(client, "cuong.lv@snnmt.hatinh.example.vn")
    page = squash((await client.get(f"{HT_SUCCESSOR}/ke-hoach/{YEAR}/the/1")).text)
    assert "Chuyển từ Sở Tài nguyên và Môi trường: KP-1" in page
    assert f"{HT_ARCHIVE}/ke-hoach" not in page
    assert (await client.get(f"{HT_ARCHIVE}/ke-hoach/{YEAR}/the/1")).status_code == 404

    client.cookies.clear()
    await sign_in(client, NGOAI_VU_FOCAL_POINT)
    for path in (f"{HT_ARCHIVE}/ke-hoach/{YEAR}", f"{HT_SUCCESSOR}/ke-hoach/{YEAR}"):
        assert (await client.get(path)).status_code == 403, path
        assert (await client.get(f"/api/v1{path}/nhiem-vu/")).status_code == 403, path

    archive = uuid.UUID(await tenant_id(owner_engine, HT_ARCHIVE))
    successor = uuid.UUID(await tenant_id(owner_engine, HT_SUCCESSOR))
    ngoai_vu = uuid.UUID(await tenant_id(owner_engine, HT_NGOAI_VU))
    member = await session_cookie_for(app, HT_ARCHIVE_ADMIN)
    outsider = await session_cookie_for(app, NGOAI_VU_FOCAL_POINT)

    async def seen(tenant: uuid.UUID, session: str, sql: str) -> int:
        async with app_engine.connect() as connection:
            await connection.execute(
                text("SELECT set_config('app.tenant_id', :t, true), set_config('app.session', :s, true)"),
                {"t": str(tenant), "s": session},
            )
            return int(await connection.scalar(text(sql)) or 0)

    links = "SELECT count(*) FROM carried_tasks"
    assert await seen(archive, member, links) == 2  # the archive's people read where its tasks went
    assert await seen(successor, member, links) == 2
    assert await seen(archive, member, f"SELECT count(*) FROM tasks WHERE tenant_id = '{successor}'") == 0
    assert await seen(archive, outsider, links) == 0
    assert await seen(successor, outsider, links) == 0
    assert await seen(ngoai_vu, outsider, links) == 0
    assert await seen(archive, "", links) == 0


async def test_a_carried_over_card_keeps_its_origin_when_moved_on_the_successor_s_board(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """A move's answer re-renders its cells: read in one statement (`board_cells_as`) for someone who sees and moves
    every card, or by the board's query with a filter; either way the moved card still says where it came from."""
    await _merged_with_tasks(tmp_path, owner_engine)
    await sign_in(client, HT_FOCAL_POINT)
    await _carry_over(client, HT_SUCCESSOR)
    board = f"{HT_SUCCESSOR}/ke-hoach/{YEAR}"
    query = "SELECT t.id, t.version, t.area_code, c.code FROM tasks t JOIN board_columns c ON c.id = t.column_id"
    for number, extra in ((1, {}), (2, {"f-linh-vuc": "1"})):
        [task] = await tenant_rows(owner_engine, HT_SUCCESSOR, f"{query} WHERE t.number = {number}")
        [column] = await tenant_rows(owner_engine, HT_SUCCESSOR, "SELECT id FROM board_columns WHERE position = 1")
        csrf = await csrf_of(client, board)
        data = {"task": str(task.id), "version": str(task.version), "column": str(column.id), "area": task.area_code}
        moved = await client.post(
            f"{board}/di-chuyen",
            data={**data, "place": "end", "_csrf_token": csrf, **extra},
            headers={"HX-Request": "true"},
        )
        assert moved.status_code == 200, moved.text[:300]
        assert f"Chuyển từ Sở Tài nguyên và Môi trường KP-{number}" in squash(moved.text), number


async def test_migration_0037_writes_the_links_of_carry_overs_made_before_it_from_the_audit_log(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    """A carry-over made before the links existed left only its audit entry (`after.tasks`: KP-numbers); the
    migration's backfill writes the same links the carry-over writes now."""
    await _merged_with_tasks(tmp_path, owner_engine)
    await sign_in(client, HT_FOCAL_POINT)
    await _carry_over(client, HT_SUCCESSOR)
    columns = "number, source_number, source_label, carried_by, carried_at, task_id, source_task_id, predecessor_id"
    written = f"SELECT {columns} FROM carried_tasks ORDER BY number"
    made = [tuple(r) for r in await tenant_rows(owner_engine, HT_SUCCESSOR, written)]
    assert len(made) == 2
    await tenant_rows(owner_engine, HT_SUCCESSOR, "DELETE FROM carried_tasks")  # as before migration 0037

    spec = importlib.util.spec_from_file_location("migration_0037", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    async with owner_engine.begin() as db:
        await db.execute(text(migration.BACKFILL))
        await db.execute(text(migration.BACKFILL))  # twice: nothing written twice
    assert [tuple(r) for r in await tenant_rows(owner_engine, HT_SUCCESSOR, written)] == made
