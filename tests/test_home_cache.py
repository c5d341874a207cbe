"""The tenant home is kept rendered between changes (issue 20 item 5) and never shown stale: every kind of write the
page shows makes the next home a new one, whoever makes it (the department, the Sở Nội vụ into the department, the
board's one-statement move, an import), and so does the day; no two tenants or people share a page; a flash message
is shown once and never kept."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from backend.auth import sessions
from backend.auth.principal import Principal
from backend.auth.sessions import HOME_VERSIONS, HomeVersions
from backend.db.engine import driver_connection
from backend.db.models import Role
from backend.domain.assessments.history import import_histories, load_histories
from backend.domain.tenants import home_cache
from backend.settings import PROJECT_ROOT
from tests.factories import (
    BIND_SNGV,
    BOARD,
    FOCAL,
    LEADER,
    OTHER_FOCAL,
    SNGV,
    VIEWER,
    board_tasks,
    create_task,
    sngv_rows,
)
from tests.html_support import squash
from tests.support import (
    HTMX,
    SEED_001,
    freeze,
    get_counting_round_trips,
    make_settings,
    session_cookie_for,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

HOME = f"{SNGV}/"
STNMT_HOME = "/t/ha-tinh/so-tai-nguyen-moi-truong/"
ADMIN = "nghia.tv@snv.hatinh.example.vn"  # Hà Tĩnh's province admin (Sở Nội vụ)
TENANT_ADMIN = "truong.dx@sngv.hatinh.example.vn"
ASSESSMENT = f"{SNGV}/tu-danh-gia/2020"
RESULTS = "/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020"
EXTERNAL = "/t/ha-tinh/so-noi-vu/quan-tri/tinh/diem-ngoai/2020"
# Thursday 25/06/2020 in Hà Tĩnh: the 2020 cycle, a task due "Quý II/2020" (30/06) is due within the week
TODAY = date(2020, 6, 25)
MEMBERS = r'Thành viên</h2>\s*<p class="stat">(\d+)</p>'


@pytest.fixture(autouse=True)
def _in_2020(monkeypatch: pytest.MonkeyPatch) -> None:
    freeze(monkeypatch, TODAY)


def _token(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def _home(client: AsyncTestClient[Litestar], path: str = HOME, **kwargs: Any) -> str:
    response = await client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    return squash(response.text)


async def _cached_home(client: AsyncTestClient[Litestar], app: Litestar, path: str = HOME) -> str:
    """The home, asked twice: the second answer comes from the cache, after the session's one statement (one
    connection of the pool, no transaction: no statement of SQLAlchemy's)."""
    first = await _home(client, path)
    second, statements, connections = await get_counting_round_trips(client, app, path)
    assert (statements, connections) == ([], 1), "\n\n".join(statements)
    assert _without_token(squash(second.text)) == _without_token(first)
    return squash(second.text)


def _without_token(html: str) -> str:
    return re.sub(r"[0-9a-f]{64,}", "TOKEN", html)


def _index(html: str) -> str:
    match = re.search(r'id="dashboard-index">([^<]*)<', html)
    assert match, html
    return match.group(1)


async def _save_rows(client: AsyncTestClient[Litestar], rows: list[tuple[str, dict[str, str]]]) -> None:
    token = _token((await client.get(ASSESSMENT)).text)
    await client.post(f"{ASSESSMENT}/bat-dau", data={"_csrf_token": token})  # its page shows the flash
    for criterion, form in rows:
        data = {"version": "0", **form, "_csrf_token": token}
        response = await client.post(f"{ASSESSMENT}/tieu-chi/{criterion}", data=data, headers=HTMX)
        assert response.status_code == 200, (criterion, response.text)


async def test_a_saved_assessment_row_shows_on_the_next_home(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    await sign_in(client, FOCAL)
    before = await _cached_home(client, app)
    assert "Chưa bắt đầu tự đánh giá." in before
    await _save_rows(client, SEED_001[:1])
    after = await _cached_home(client, app)
    assert "Chưa bắt đầu tự đánh giá." not in after
    assert "Dự thảo · tổng điểm tự chấm" in after
    await _save_rows(client, SEED_001[1:2])  # a second row, the assessment already started
    assert _index(await _home(client)) != _index(after)


async def test_a_task_created_then_moved_to_done_shows_at_once(
    client: AsyncTestClient[Litestar], app: Litestar, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    assert "Không có nhiệm vụ nào quá hạn hoặc đến hạn" in await _cached_home(client, app)
    created = await create_task(client, title="Rà soát thủ tục hành chính")
    assert created.status_code in (302, 303), created.text
    await client.get(created.headers["location"])  # the page that shows its flash message
    home = await _cached_home(client, app)
    assert "Rà soát thủ tục hành chính" in home
    assert "1 đến hạn đến" in home

    # the board's move is one statement in a function of the database (`board_move_as`): it bumps too
    task = (await board_tasks(owner_engine))[0]
    done = (await sngv_rows(owner_engine, "SELECT id FROM board_columns WHERE is_done"))[0].id
    page = (await client.get(BOARD)).text
    data = {"task": str(task.id), "version": str(task.version), "column": str(done), "area": task.area_code}
    moved = await client.post(f"{BOARD}/di-chuyen", data={**data, "_csrf_token": _token(page)}, headers=HTMX)
    assert moved.status_code == 200, moved.text
    home = await _home(client)
    assert "Rà soát thủ tục hành chính" not in home
    assert "Không có nhiệm vụ nào quá hạn hoặc đến hạn" in home


async def test_the_day_changing_makes_a_task_overdue_on_the_next_home(
    client: AsyncTestClient[Litestar], app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, FOCAL)
    created = await create_task(client, title="Công khai kết quả")
    assert created.status_code in (302, 303), created.text
    await client.get(created.headers["location"])
    home = await _cached_home(client, app)
    assert "1 đến hạn đến" in home
    assert "quá hạn</span>" not in home
    freeze(monkeypatch, date(2020, 7, 1))
    home = await _home(client)
    assert '<span class="badge badge-danger">1 quá hạn</span>' in home


async def test_an_external_score_the_province_enters_shows_on_the_departments_home(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    await sign_in(client, FOCAL)
    await _save_rows(client, SEED_001)
    before = _index(await _cached_home(client, app))

    await sign_in(client, ADMIN)  # the Sở Nội vụ writes into the department's tenant
    token = _token((await client.get(EXTERNAL)).text)
    saved = await client.post(EXTERNAL, data={"so-ngoai-vu:8": "15", "_csrf_token": token}, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text

    await sign_in(client, FOCAL)
    assert _index(await _home(client)) != before


async def test_a_not_applicable_decision_of_the_province_shows_on_the_departments_home(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    await sign_in(client, FOCAL)
    await _save_rows(client, SEED_001)
    before = await _cached_home(client, app)
    assert "75,25 %" in _index(before)

    await sign_in(client, ADMIN)
    token = _token((await client.get(RESULTS)).text)
    form = {"tenant": "so-ngoai-vu", "criterion": "8", "reason": "Không đủ phiếu khảo sát", "_csrf_token": token}
    decided = await client.post(f"{RESULTS}/khong-ap-dung", data=form, follow_redirects=False)
    assert decided.status_code in (302, 303), decided.text

    await sign_in(client, FOCAL)
    assert _index(await _home(client)) == "94,06 %"


async def test_a_published_result_shows_on_the_next_home(
    client: AsyncTestClient[Litestar], app: Litestar, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, OTHER_FOCAL)  # Hà Tĩnh's Sở TN&MT: the demo's published years 2019-2023
    assert 'id="history-heading"' not in await _cached_home(client, app, STNMT_HOME)
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))
    assert 'id="history-heading"' in await _home(client, STNMT_HOME)


async def test_what_the_province_declares_shows_at_once_a_renamed_tenant(
    client: AsyncTestClient[Litestar], app: Litestar, owner_engine: AsyncEngine
) -> None:
    """`tenants sync` renames a tenant as the owner: `home_config_revision`, read in the tenant's own statement."""
    await sign_in(client, FOCAL)
    assert "Sở Ngoại vụ · Tỉnh Hà Tĩnh" in await _cached_home(client, app)
    async with owner_engine.begin() as db:
        await db.execute(text("UPDATE tenants SET name = 'Sở Ngoại vụ và Hợp tác quốc tế' WHERE code = 'so-ngoai-vu'"))
    home = await _home(client)
    assert "Sở Ngoại vụ và Hợp tác quốc tế · Tỉnh Hà Tĩnh" in home


async def test_a_membership_change_shows_on_the_next_home(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    await sign_in(client, FOCAL)
    members = re.search(MEMBERS, await _cached_home(client, app))
    assert members, "the home shows the members' count"

    await sign_in(client, TENANT_ADMIN)
    page = (await client.get(f"{SNGV}/quan-tri/thanh-vien")).text
    viewer = re.search(r"lien\.ct@sngv\.hatinh\.example\.vn.*?/quan-tri/thanh-vien/([0-9a-f-]{36})/khoa", page, re.S)
    assert viewer, page
    disabled = await client.post(
        f"{SNGV}/quan-tri/thanh-vien/{viewer.group(1)}/khoa", data={"_csrf_token": _token(page)}, follow_redirects=False
    )
    assert disabled.status_code in (302, 303), disabled.text

    await sign_in(client, FOCAL)
    after = re.search(MEMBERS, await _home(client))
    assert after
    assert int(after.group(1)) == int(members.group(1)) - 1


async def test_a_write_another_connection_commits_shows_on_the_next_home_and_not_before(
    client: AsyncTestClient[Litestar], app: Litestar, app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    """The counters are written at the writer's commit (migration 0035), with its rows: while another connection of
    the application's role holds the write uncommitted, the home is still the stored one, which shows nothing of
    it; once it commits, the next home shows it."""
    await sign_in(client, FOCAL)
    members = re.search(MEMBERS, await _cached_home(client, app))
    assert members, "the home shows the members' count"
    session = await session_cookie_for(app, TENANT_ADMIN)
    viewer = (await sngv_rows(owner_engine, "SELECT user_id FROM memberships WHERE role = 'viewer'"))[0].user_id
    async with driver_connection(app_engine) as db:
        transaction = db.transaction()
        await transaction.start()
        try:
            await db.execute(BIND_SNGV)
            await db.execute("SELECT set_config('app.session', $1, true)", session)
            assert await db.execute("UPDATE memberships SET is_active = false WHERE user_id = $1", viewer) == "UPDATE 1"
            meanwhile = re.search(MEMBERS, await _cached_home(client, app))
            assert meanwhile
            assert meanwhile.group(1) == members.group(1)
        finally:
            await transaction.commit()
    after = re.search(MEMBERS, await _home(client))
    assert after
    assert int(after.group(1)) == int(members.group(1)) - 1


async def test_a_role_change_gives_the_person_their_new_links_at_once(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    await sign_in(client, VIEWER)
    assert "Chưa bắt đầu tự đánh giá." in await _cached_home(client, app)
    await sign_in(client, TENANT_ADMIN)
    page = (await client.get(f"{SNGV}/quan-tri/thanh-vien")).text
    membership = re.search(r"lien\.ct@sngv\.hatinh\.example\.vn.*?/quan-tri/vai-tro/([0-9a-f-]{36})", page, re.S)
    assert membership, page
    changed = await client.post(
        f"{SNGV}/quan-tri/vai-tro/{membership.group(1)}",
        data={"_csrf_token": _token(page), "role": "tenant_admin", "unit_id": ""},
        follow_redirects=False,
    )
    assert changed.status_code in (302, 303), changed.text
    await sign_in(client, VIEWER)
    assert f'href="{SNGV}/quan-tri/thanh-vien"' in await _home(client)


async def test_two_people_of_a_tenant_and_two_tenants_never_share_a_page(
    client: AsyncTestClient[Litestar], app: Litestar
) -> None:
    await sign_in(client, FOCAL)
    focal = await _cached_home(client, app)
    assert '<span class="user-name">Nguyễn Thị Phương Thảo</span>' in focal
    assert f'href="{SNGV}/quan-tri/thanh-vien"' not in focal or "Đinh Xuân Trường" not in focal

    await sign_in(client, LEADER)
    leader = await _cached_home(client, app)
    assert '<span class="user-name">Trần Quang Vinh</span>' in leader
    assert "Nguyễn Thị Phương Thảo" not in leader

    await sign_in(client, OTHER_FOCAL)
    other = await _cached_home(client, app, STNMT_HOME)
    assert "Sở Tài nguyên và Môi trường" in other
    assert "Sở Ngoại vụ · " not in other
    keys = list(home_cache._homes)
    assert len({(key[0], key[3]) for key in keys}) == len({key[3] for key in keys}) >= 3


async def test_the_fragment_and_the_whole_page_are_kept_apart(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    await sign_in(client, FOCAL)
    whole = await _cached_home(client, app)
    fragment = await _home(client, headers=HTMX)
    assert "<html" in whole
    assert "<html" not in fragment
    assert "<html" in await _home(client)


async def test_each_browser_gets_its_own_csrf_token_from_a_kept_page(app: Litestar) -> None:
    tokens = []
    for _ in range(2):
        async with AsyncTestClient(app=app) as browser:
            await sign_in(browser, FOCAL)
            page = (await browser.get(HOME)).text
            tokens.append(_token(page))
            assert home_cache._CSRF.decode() not in page
            # the token of the kept page is this browser's: a form posted with it is accepted
            carried = await browser.post(
                f"{SNGV}/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": tokens[-1]}, follow_redirects=False
            )
            assert carried.status_code in (302, 303)
    assert tokens[0] != tokens[1]


async def test_a_flash_message_is_shown_once_and_never_kept(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    await sign_in(client, FOCAL)
    token = _token(await _cached_home(client, app))
    # Sở Ngoại vụ has no predecessor: the action answers with a refusal on the home
    refused = await client.post(f"{SNGV}/don-vi-tien-than/chuyen-nhiem-vu", data={"_csrf_token": token})
    assert refused.status_code == 200
    assert "Đơn vị không có đơn vị tiền thân" in refused.text
    assert "Đơn vị không có đơn vị tiền thân" not in await _cached_home(client, app)
    assert not any("Đơn vị không có đơn vị tiền thân".encode() in page.html for page in home_cache._homes.values())


async def test_every_tenant_table_bumps_the_home_revision_but_the_api_tokens(
    owner_engine: AsyncEngine,
) -> None:
    """A table added later with a tenant_id gets the trigger, or is named here with the reason the home does not
    read it."""
    not_shown = {"api_tokens", "home_revisions", "board_revisions"}  # each API request counts its use in its token
    async with owner_engine.connect() as connection:
        tables = set(
            (
                await connection.execute(
                    text(
                        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
                        " WHERE a.attname = 'tenant_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
                    )
                )
            ).scalars()
        )
        triggered = set(
            (
                await connection.execute(
                    text(
                        "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                        " WHERE t.tgname = 'a_home_revision'"
                    )
                )
            ).scalars()
        )
    assert triggered == tables - not_shown


async def test_a_write_bumps_only_its_own_tenant(owner_engine: AsyncEngine) -> None:
    """The revision is the writing transaction's id; another tenant's stays as it was."""
    revision = "SELECT coalesce((SELECT revision FROM home_revisions), 0) AS revision"
    stnmt = BIND_SNGV.replace("so-ngoai-vu", "so-tai-nguyen-moi-truong")
    async with owner_engine.begin() as db:
        await db.execute(text(stnmt))
        other = await db.scalar(text(revision))
    async with owner_engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        await db.execute(text("UPDATE units SET name = name"))
        xid = await db.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    assert (await sngv_rows(owner_engine, revision))[0].revision == xid
    async with owner_engine.begin() as db:
        await db.execute(text(stnmt))
        assert await db.scalar(text(revision)) == other


# --- what a kept page's answer checks: the next request after an ending is refused --------------------------------

_FOCAL_ID = "(SELECT id FROM users WHERE email = :email)"
ENDINGS = [
    pytest.param(f"UPDATE memberships SET is_active = false WHERE user_id = {_FOCAL_ID}", 403, id="membership-ended"),
    pytest.param(f"DELETE FROM memberships WHERE user_id = {_FOCAL_ID}", 403, id="membership-deleted"),
    pytest.param(f"UPDATE user_sessions SET revoked_at = now() WHERE user_id = {_FOCAL_ID}", 401, id="session-revoked"),
    pytest.param(
        f"UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE user_id = {_FOCAL_ID}",
        401,
        id="session-expired",
    ),
    pytest.param("UPDATE users SET is_active = false WHERE email = :email", 401, id="person-disabled"),
    pytest.param("UPDATE tenants SET is_active = false WHERE code = 'so-ngoai-vu'", 404, id="tenant-closed"),
]
_KEPT = 'id="cycle-heading"'  # the home's own content (an error page also shows the person's name)


@pytest.mark.parametrize(("ending", "status"), ENDINGS)
async def test_a_kept_home_is_refused_on_the_very_next_request_after(
    client: AsyncTestClient[Litestar], app: Litestar, owner_engine: AsyncEngine, ending: str, status: int
) -> None:
    """The owner ends it, bound to the tenant (the memberships' policy), then puts the home's revision back: the
    page's key alone would still match, the checks of the session's statement refuse it."""
    await sign_in(client, FOCAL)
    assert _KEPT in await _cached_home(client, app)
    async with owner_engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        revision = await db.scalar(text("SELECT revision FROM home_revisions"))
    async with owner_engine.begin() as db:
        await db.execute(text(BIND_SNGV))
        await db.execute(text(ending), {"email": FOCAL})
        await db.execute(text("UPDATE home_revisions SET revision = :r"), {"r": revision})
    refused = await client.get(HOME, follow_redirects=False)
    assert refused.status_code == status
    assert _KEPT not in refused.text


async def test_an_idle_session_is_refused_a_kept_home(
    client: AsyncTestClient[Litestar], app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, FOCAL)
    await _cached_home(client, app)
    later = sessions.now() + timedelta(minutes=app.state["settings"].auth.session_idle_minutes + 1)
    monkeypatch.setattr(sessions, "now", lambda: later)
    refused = await client.get(HOME, follow_redirects=False)
    assert refused.status_code == 401
    assert _KEPT not in refused.text


async def test_a_tenant_archived_shows_its_archive_not_the_kept_home(
    client: AsyncTestClient[Litestar], app: Litestar, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    assert 'id="archive-heading"' not in await _cached_home(client, app)
    async with owner_engine.begin() as db:
        await db.execute(text("UPDATE tenants SET archived_on = DATE '2020-06-01' WHERE code = 'so-ngoai-vu'"))
    archive = await _home(client)
    assert 'id="archive-heading"' in archive
    assert 'id="archive-heading"' in await _home(client)  # and built again: an archive is never kept


async def test_another_tenants_person_is_refused_a_kept_home(client: AsyncTestClient[Litestar], app: Litestar) -> None:
    await sign_in(client, FOCAL)
    await _cached_home(client, app)
    await sign_in(client, OTHER_FOCAL)  # Sở TN&MT's focal point, of the same province
    refused = await client.get(HOME, follow_redirects=False)
    assert refused.status_code == 403
    assert _KEPT not in refused.text


_SESSION_HOME = text(
    "SELECT * FROM session_home(session_token => :token, province_code => 'ha-tinh', tenant_code => :tenant)"
)


async def test_the_session_statement_reads_a_homes_versions_under_row_level_security(
    client: AsyncTestClient[Litestar], app: Litestar, owner_engine: AsyncEngine
) -> None:
    """`session_home` as the application's role: the member reads the revision; another tenant's person is told
    the tenant is not theirs, and reads no revision; codes of no tenant give no home."""
    focal, other = [await session_cookie_for(app, email) for email in (FOCAL, OTHER_FOCAL)]
    store = app.state["sessions"]
    engine = create_async_engine(store.engine.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            seen = {}
            for name, token, tenant in [
                ("focal", focal, "so-ngoai-vu"),
                ("other", other, "so-ngoai-vu"),
                ("x", focal, "x"),
            ]:
                seen[name] = (await connection.execute(_SESSION_HOME, {"token": token, "tenant": tenant})).first()
    finally:
        await engine.dispose()
    revision = (await sngv_rows(owner_engine, "SELECT revision FROM home_revisions"))[0].revision
    assert (seen["focal"].home_readable, seen["focal"].home_revision) == (True, revision)
    assert (seen["other"].home_readable, seen["other"].home_revision) == (False, None)
    assert seen["other"].home_tenant == seen["focal"].home_tenant
    assert (seen["x"].email, seen["x"].home_tenant, seen["x"].home_readable) == (FOCAL, None, False)


# --- the kept answer: the same headers as a built one, the client's content-coding, the cache off ----------------

_PER_REQUEST = {"x-request-id", "date", "content-length"}  # the length: two builds may differ in a byte


def _headers(response: Any) -> list[tuple[str, str]]:
    return sorted(
        (name.lower(), value) for name, value in response.headers.multi_items() if name.lower() not in _PER_REQUEST
    )


@pytest.mark.parametrize("encoding", ["gzip, deflate, br", "gzip", "identity"])
async def test_a_kept_answer_has_the_headers_and_bytes_of_a_built_one(
    client: AsyncTestClient[Litestar], app: Litestar, make_app: Any, encoding: str
) -> None:
    """The same headers, whether the page was built with the cache off, built and kept, or served kept, and the
    same page once decoded, in each content-coding the app chooses."""
    headers = {"accept-encoding": encoding}
    await sign_in(client, FOCAL)
    await client.get(HOME)  # the answer that sets the session's csrftoken cookie, as a browser's first
    home_cache._homes.clear()
    built = await client.get(HOME, headers=headers)
    kept, statements, _ = await get_counting_round_trips(client, app, HOME, headers=headers)
    assert statements == []
    async with AsyncTestClient(app=make_app(make_settings(home_cache=False))) as uncached:
        await sign_in(uncached, FOCAL)
        await uncached.get(HOME)  # the answer that sets the session's csrftoken cookie
        plain = await uncached.get(HOME, headers=headers)
    expected = {"gzip, deflate, br": "br", "gzip": "gzip", "identity": None}[encoding]
    for response in (built, kept, plain):
        assert response.status_code == 200
        assert response.headers.get("content-encoding") == expected
    assert _headers(built) == _headers(kept) == _headers(plain)
    assert built.headers["content-length"] == kept.headers["content-length"]
    assert _without_token(squash(kept.text)) == _without_token(squash(plain.text)) == _without_token(squash(built.text))
    assert _token(kept.text) == _token(built.text)


async def test_the_home_cache_off_builds_every_home(make_app: Any) -> None:
    app = make_app(make_settings(home_cache=False))
    home_cache._homes.clear()
    async with AsyncTestClient(app=app) as browser:
        await sign_in(browser, FOCAL)
        for _ in range(2):
            _, statements, _ = await get_counting_round_trips(browser, app, HOME)
            assert len(statements) > 1
    assert not home_cache._homes


def test_a_home_the_database_does_not_let_the_session_read_is_never_kept() -> None:
    """The database's word (`app_tenant()` in `session_home`) is a wall of its own beside the person's roles."""
    tenant = uuid.uuid4()
    principal = Principal(
        user_id=uuid.uuid4(), display_name="Nguyễn Văn A", roles={tenant: frozenset({Role.FOCAL_POINT})}
    )

    def key(readable: bool) -> object:
        versions = HomeVersions(tenant_id=tenant, archived=False, readable=readable, config_revision=2, revision=1)
        scope: Any = {"headers": [(b"cookie", b"csrftoken=t0k3n")], HOME_VERSIONS: versions}
        return home_cache.home_key(
            scope, principal, tenant, archived=False, config_revision=2, settings=make_settings(), today=TODAY
        )

    assert key(readable=True) is not None
    assert key(readable=False) is None
