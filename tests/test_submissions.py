"""Submitting a department's approved self-assessment: the endpoint and its API, the race of two submits,
versions, retry after a crashed build, withdraw, permissions, the calendar's deadline and edit lock."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.sessions import COOKIE
from backend.db.engine import create_session_maker
from backend.db.models import Province, Submission, Tenant
from backend.db.rls import bind_tenant, remember_session
from backend.db.runtime import DatabaseUrls
from backend.domain.evidence.storage import LocalStorage
from backend.domain.submissions import services
from backend.domain.submissions.services import SubmissionError, build_package
from backend.jobs.worker import Worker
from backend.settings import Settings
from backend.web.metrics import PACKAGES
from tests.factories import (
    ASSESS,
    FOCAL,
    LEADER,
    OTHER_FOCAL,
    PAGE,
    SNGV,
    STAFF,
    TEMPLATES,
    VIEWER,
    add_evidence,
    approve_2020,
    build_all,
    post,
    submission_csrf,
    submission_rows,
    tenant_id,
)
from tests.fixtures.submissions import _empty_queue  # noqa: F401 - the fixture
from tests.html_support import squash
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

STNMT = "/t/ha-tinh/so-tai-nguyen-moi-truong"
API = f"/api/v1{SNGV}/nop-ho-so/2020"


async def set_calendar(engine: AsyncEngine, year: int, calendar: dict[str, Any] | None) -> None:
    async with engine.begin() as db:
        value = "{}" if calendar is None else json.dumps({str(year): calendar})
        await db.execute(
            text(
                "UPDATE provinces SET settings = jsonb_set(settings, '{calendar}', CAST(:v AS jsonb)) "
                "WHERE code = 'ha-tinh'"
            ),
            {"v": value},
        )


def calendar_ending(submission: str, self_assessment: str) -> dict[str, Any]:
    return {
        "self_assessment": {"from": "2020-10-01", "to": self_assessment},
        "submission_deadline": submission,
        "round_1": {"from": "2099-11-21", "to": "2099-11-30"},
        "explanation_deadline": "2099-12-10",
        "round_2": {"from": "2099-12-11", "to": "2099-12-20"},
    }


# --- submitting -------------------------------------------------------------------------------------------


async def submitted_2020(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> uuid.UUID:
    """001's approved self-assessment submitted by the focal point, who stays signed in, and its package built
    (version 1); the department's tenant id."""
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    await sign_in(client, FOCAL)
    assert (await post(client, PAGE)).status_code in (302, 303)
    assert await build_all(jobs_engine, storage, sngv) == ["submitted"]
    return sngv


async def test_focal_point_submits_an_approved_assessment_and_the_job_builds_it(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    await add_evidence(owner_engine, storage, sngv, [("1.2", "Kế hoạch CCHC.pdf", b"%PDF-1.4 ke hoach")])
    await sign_in(client, FOCAL)
    page = await client.get(PAGE)
    assert "Tỉnh chưa đặt lịch cho năm 2020" in page.text
    # before submitting: which criteria have no evidence, on the page and in the confirmation the button asks
    warning = re.search(r'<div class="alert alert-warn" role="note">(.*?)</div>', squash(page.text), re.S)
    assert warning
    missing = re.findall(r"<li>([0-9.]+) ", warning.group(1))
    assert "1.2" not in missing
    assert "1.7" in missing
    assert f"{len(missing)}/{len(missing) + 1} tiêu chí chưa có tài liệu kiểm chứng" in warning.group(1)
    confirm = re.search(r'<form method="post" action="[^"]+" data-confirm="([^"]+)">', squash(page.text))
    assert confirm
    assert confirm.group(1).startswith("Nộp hồ sơ tự đánh giá năm 2020 cho Sở Nội vụ?")
    assert f"Lưu ý: {len(missing)}/{len(missing) + 1} tiêu chí chưa có tài liệu kiểm chứng (" in confirm.group(1)
    submitted = await post(client, PAGE)
    assert submitted.status_code in (302, 303)
    assert "Đã gửi yêu cầu nộp" in (await client.get(submitted.headers["location"])).text

    [row] = await submission_rows(owner_engine, sngv)
    assert (row.version, row.status) == (1, "building")
    async with owner_engine.connect() as db:
        jobs = (
            await db.execute(text("SELECT payload FROM pgqueuer.pgqueuer WHERE entrypoint = 'submission.build'"))
        ).all()
    assert [bytes(j.payload).decode() for j in jobs] == [f"{sngv}:{row.id}"]

    building = await client.get(PAGE)
    fragment = await client.get(PAGE, headers={"HX-Request": "true", "HX-Target": "submission-status"})
    assert fragment.text.lstrip().startswith('<div id="submission-status"')
    assert "<html" not in squash(fragment.text)
    # the submit box is refreshed with the table: both say the same
    assert 'id="submit-heading"' in fragment.text
    assert "Hồ sơ đang đóng gói (lần 1)" in fragment.text
    assert 'hx-trigger="every 1s"' in building.text
    assert "Đang đóng gói" in building.text
    assert "Đang chuẩn bị…" in building.text  # the build has not counted its items yet: no "0/0 mục"
    assert "0/0 mục" not in building.text

    built_before = PACKAGES.labels("built")._value.get()
    assert await build_all(jobs_engine, storage, sngv) == ["submitted"]
    assert PACKAGES.labels("built")._value.get() == built_before + 1  # the operator's metric counts it
    [row] = await submission_rows(owner_engine, sngv)
    assert row.status == "submitted"
    assert row.package_sha256
    assert row.package_size
    assert row.built_at
    assert row.progress_done == row.progress_total == 5
    assert row.manifest is not None
    assert row.manifest["schema"] == "parboard.submission/1"

    done = await client.get(PAGE, headers={"HX-Request": "true", "HX-Target": "submission-status"})
    assert "every 1s" not in done.text
    assert "Đã nộp" in done.text
    assert "Hồ sơ đã nộp (lần 1)" in done.text  # the box no longer says it is being packaged
    assert re.search(r"Tải về \(ZIP, [0-9,]+ KB\)", done.text)  # not "0 MB"
    download = await client.get(f"{PAGE}/lan/1/tai-ve")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert hashlib.sha256(download.content).hexdigest() == row.package_sha256

    again = await post(client, PAGE)
    assert again.status_code == 409
    assert "đã nộp" in again.text


async def test_refused_before_approval_and_for_people_without_the_right(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    refused = await post(client, PAGE)
    assert refused.status_code == 422
    assert "Chưa có bản tự đánh giá năm 2020" in refused.text
    await approve_2020(client)
    for person in (STAFF, VIEWER):
        await sign_in(client, person)
        assert (await post(client, PAGE)).status_code == 403
    await sign_in(client, OTHER_FOCAL)  # another department's focal point
    assert (await post(client, PAGE)).status_code == 403
    assert (await client.get(PAGE)).status_code == 403
    assert await submission_rows(owner_engine, await tenant_id(owner_engine)) == []


async def test_two_simultaneous_submits_make_exactly_one_submission(
    client: AsyncTestClient[Litestar], app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    sessions = create_session_maker(app_engine)
    barrier = asyncio.Barrier(2)
    finished: list[str] = []

    async def other_is_waiting_or_done() -> None:
        """Until the other attempt waits for this one's uncommitted row (its insert blocked on a lock), or has
        already answered without waiting; bounded."""
        deadline = asyncio.get_running_loop().time() + 20
        while not finished:
            async with owner_engine.connect() as db:
                waiting = await db.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted"
                        " AND (database IS NULL OR database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database()))"
                    )
                )
            if waiting:
                return
            assert asyncio.get_running_loop().time() < deadline, "the other submit neither waited nor answered"
            await asyncio.sleep(0.01)

    async def attempt() -> str:
        async with sessions() as db:
            remember_session(db, client.cookies.get(COOKIE))  # the signed-in person's session, as a request's
            await bind_tenant(db, sngv)
            async with db.begin():
                tenant = await db.get(Tenant, sngv)
                assert tenant is not None
                province = await db.get(Province, tenant.province_id)
                assert province is not None
                await barrier.wait()  # both have read "no live submission" before either inserts
                try:
                    await services.submit(db, tenant, province, 2020, None)
                except SubmissionError as exc:
                    finished.append(f"{exc.status} {exc}")
                    return finished[-1]
                await other_is_waiting_or_done()  # hold the row uncommitted while the other one inserts
            finished.append("ok")
            return "ok"

    results = sorted(await asyncio.gather(attempt(), attempt()))
    assert results[0].startswith("409"), results
    assert results[1] == "ok", results
    rows = await submission_rows(owner_engine, sngv)
    assert len(rows) == 1
    async with owner_engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM pgqueuer.pgqueuer"))).scalar_one() == 1


async def test_the_database_refuses_a_second_live_submission(
    owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    async with create_session_maker(owner_engine)() as db:
        await bind_tenant(db, sngv)
        async with db.begin():
            assessment = (await db.execute(text("SELECT id FROM assessments WHERE year = 2020"))).scalar_one()
            for version in (1, 2):
                db.add(
                    Submission(id=uuid.uuid4(), tenant_id=sngv, assessment_id=assessment, year=2020, version=version)
                )
            with pytest.raises(IntegrityError):
                await db.flush()


async def test_a_crashed_build_is_failed_and_retried_into_a_package(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    [evidence] = await add_evidence(owner_engine, storage, sngv, [("1.5", "Quyết định.pdf", b"%PDF quyet dinh " * 10)])
    await storage.delete(evidence.sha256)  # the blob vanished: the build must fail, not "submit"
    await sign_in(client, FOCAL)
    await post(client, PAGE)
    assert await build_all(jobs_engine, storage, sngv) == ["failed"]
    [row] = await submission_rows(owner_engine, sngv)
    assert row.status == "failed"
    assert row.package_sha256 is None
    assert row.error
    page = await client.get(PAGE)
    assert "Đóng gói lỗi" in page.text
    assert "Thử lại" in page.text
    assert "Đã nộp" not in page.text
    assert (await client.get(f"{PAGE}/lan/1/tai-ve")).status_code == 404

    async def data() -> AsyncIterator[bytes]:
        yield b"%PDF quyet dinh " * 10

    await storage.put(data())  # the blob is back
    retried = await post(client, f"{PAGE}/lan/1/thu-lai")
    assert retried.status_code in (302, 303)
    assert await build_all(jobs_engine, storage, sngv) == ["submitted"]
    [row] = await submission_rows(owner_engine, sngv)
    assert (row.version, row.status) == (1, "submitted")
    assert (await post(client, f"{PAGE}/lan/1/thu-lai")).status_code == 409


async def test_a_build_killed_midway_stays_building_and_is_offered_a_retry(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    # big enough that the writer's read-ahead (a few 2 MiB chunks) cannot reach the end before the first report
    files = [("1.2", f"tệp {i}.pdf", bytes([i]) * 1_000_000) for i in range(40)]
    await add_evidence(owner_engine, storage, sngv, files)
    await sign_in(client, FOCAL)
    await post(client, PAGE)
    [row] = await submission_rows(owner_engine, sngv)

    async def killed(done: int) -> None:
        raise asyncio.CancelledError  # the worker dies: no exception handler of ours runs

    with pytest.raises(asyncio.CancelledError):
        await build_package(jobs_engine, storage, sngv, row.id, templates_dir=TEMPLATES, on_progress=killed)
    assert list(storage.tmp.glob("*")) == []  # the half-written package (and its parts) removed on the way out
    [row] = await submission_rows(owner_engine, sngv)
    assert row.status == "building"
    assert row.package_sha256 is None
    assert 0 < row.progress_done < row.progress_total
    assert "Thử lại" not in (await client.get(PAGE)).text  # not stale yet
    async with create_session_maker(owner_engine)() as db:
        await bind_tenant(db, sngv)
        async with db.begin():
            await db.execute(update(Submission).values(updated_at=text("now() - interval '10 minutes'")))
    assert "Thử lại" in (await client.get(PAGE)).text
    assert (await post(client, f"{PAGE}/lan/1/thu-lai")).status_code in (302, 303)
    assert await build_all(jobs_engine, storage, sngv) == ["submitted"]


async def test_withdraw_then_resubmit_makes_version_2_and_keeps_version_1(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    sngv = await submitted_2020(client, jobs_engine, owner_engine, storage)
    assert (await post(client, f"{PAGE}/lan/1/xoa")).status_code == 404  # no such step
    withdrawn = await post(client, f"{PAGE}/lan/1/rut")
    assert "Đã rút hồ sơ." in (await client.get(withdrawn.headers["location"])).text
    assert (await post(client, f"{PAGE}/lan/1/rut")).status_code == 409
    await post(client, PAGE)
    await build_all(jobs_engine, storage, sngv)
    first, second = await submission_rows(owner_engine, sngv)
    assert (first.version, first.status, second.version, second.status) == (1, "withdrawn", 2, "submitted")
    assert (await client.get(f"{PAGE}/lan/1/tai-ve")).status_code == 200
    assert (await client.get(f"{PAGE}/lan/2/tai-ve")).status_code == 200
    async with create_session_maker(owner_engine)() as db:
        await bind_tenant(db, sngv)
        async with db.begin():
            found = await db.execute(text("SELECT action FROM audit_log WHERE entity = 'submission' ORDER BY id"))
            actions = list(found.scalars())
    assert actions.count("submission.submit") == 2
    assert "submission.withdraw" in actions

    # Returned by the reviewers: submitting again makes version 3.
    async with create_session_maker(owner_engine)() as db:
        await bind_tenant(db, sngv)
        async with db.begin():
            await db.execute(update(Submission).where(Submission.version == 2).values(status="returned"))
    await post(client, PAGE)
    assert [s.version for s in await submission_rows(owner_engine, sngv)] == [1, 2, 3]


async def test_a_live_submission_freezes_the_assessment_until_it_is_withdrawn(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    sngv = await submitted_2020(client, jobs_engine, owner_engine, storage)
    await sign_in(client, LEADER)
    refused = await post(client, f"{ASSESS}/trang-thai", {"action": "mo-lai", "reason": "Sửa số liệu"})
    page = await client.get(refused.headers["location"])
    assert "rút bản nộp trước khi mở lại để sửa" in page.text
    async with create_session_maker(owner_engine)() as db:
        await bind_tenant(db, sngv)
        async with db.begin():
            status = (await db.execute(text("SELECT status FROM assessments WHERE year = 2020"))).scalar_one()
    assert status == "approved"  # what was packaged is what the inspectors review
    await sign_in(client, FOCAL)
    withdrawn = await post(client, f"{PAGE}/lan/1/rut")
    assert "Đã rút hồ sơ." in (await client.get(withdrawn.headers["location"])).text
    await sign_in(client, LEADER)
    reopened = await post(client, f"{ASSESS}/trang-thai", {"action": "mo-lai", "reason": "Sửa số liệu"})
    assert "Đã mở lại để sửa." in (await client.get(reopened.headers["location"])).text


async def test_past_the_deadline_nothing_is_submitted_or_withdrawn(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await submitted_2020(client, jobs_engine, owner_engine, storage)
    await set_calendar(owner_engine, 2020, calendar_ending("2020-11-20", "2020-11-15"))
    page = await client.get(PAGE)
    assert "20/11/2020" in page.text
    assert "Rút hồ sơ" not in page.text
    refused = await post(client, f"{PAGE}/lan/1/rut")
    assert refused.status_code == 422
    assert "Đã quá hạn nộp hồ sơ (20/11/2020)" in refused.text


async def test_past_the_self_assessment_window_rows_are_read_only(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    assert (await post(client, f"{ASSESS}/bat-dau")).status_code in (302, 303)
    await set_calendar(owner_engine, 2020, calendar_ending("2099-11-20", "2020-11-15"))
    overview = await client.get(ASSESS)
    assert "Đã hết hạn tự đánh giá (15/11/2020)" in overview.text
    refused = await post(client, f"{ASSESS}/tieu-chi/1.7", {"points": "0,5"})
    assert refused.status_code == 422
    assert "Đã hết hạn tự đánh giá (15/11/2020)" in refused.text
    async with owner_engine.connect() as db:
        assert (await db.execute(text("SELECT count(*) FROM assessment_items"))).scalar_one() == 0


# --- the JSON API ----------------------------------------------------------------------------------------


async def _api(client: AsyncTestClient[Litestar], body: bytes | None) -> Any:
    token = await submission_csrf(client)
    return await client.post(
        API, content=body or b"", headers={"x-csrftoken": token, "content-type": "application/json"}
    )


async def test_api_submits_with_202_and_a_status_url(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await approve_2020(client)
    await sign_in(client, LEADER)
    accepted = await _api(client, b"{}")
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "building"
    assert body["version"] == 1
    assert body["status_url"] == f"{API}/{body['id']}"
    await build_all(jobs_engine, storage, await tenant_id(owner_engine))
    status = await client.get(body["status_url"])
    assert status.status_code == 200
    assert status.json()["status"] == "submitted"
    listed = (await client.get(API)).json()
    assert [(s["version"], s["status"]) for s in listed["items"]] == [(1, "submitted")]
    package = await client.get(status.json()["download_url"])
    assert package.status_code == 200
    assert package.headers["x-content-sha256"] == status.json()["package_sha256"]
    conflict = await _api(client, b"{}")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
    assert "đã nộp" in conflict.json()["message"]


async def test_api_withdraws_a_version_with_the_page_s_step_and_refuses_it_twice(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await approve_2020(client)
    await sign_in(client, FOCAL)
    assert (await _api(client, b"{}")).status_code == 202
    await build_all(jobs_engine, storage, await tenant_id(owner_engine))
    headers = {"x-csrftoken": await submission_csrf(client)}
    unknown = await client.post(f"{API}/lan/1/xoa", headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (await client.post(f"{API}/lan/7/rut", headers=headers)).status_code == 404
    withdrawn = await client.post(f"{API}/lan/1/rut", headers=headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert (withdrawn.json()["version"], withdrawn.json()["status"]) == (1, "withdrawn")
    again = await client.post(f"{API}/lan/1/rut", headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    retried = await client.post(f"{API}/lan/1/thu-lai", headers=headers)
    assert retried.status_code == 409  # a withdrawn version is not built again
    await sign_in(client, VIEWER)
    refused = await client.post(f"{API}/lan/1/rut", headers={"x-csrftoken": await submission_csrf(client)})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


async def test_api_refuses_bad_input_with_vietnamese_messages(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    cases = [
        (b"{not json", 400, None, "JSON"),
        (b"[1, 2]", 400, None, "không hợp lệ"),
        (b'{"year": 2020}', 400, None, "không hợp lệ"),
        (b'{"confirm": "yes"}', 400, "confirm", "«confirm» không hợp lệ"),
        (b'{"confirm": false}', 422, "confirm", "confirm phải là true"),
        (b"{}", 422, None, "Chưa có bản tự đánh giá"),
    ]
    for body, status, field, message in cases:
        response = await _api(client, body)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["message"], (body, response.text)
        assert response.json()["field"] == field
    too_big = await _api(client, b'{"confirm": true, "x": "' + b"a" * 20000 + b'"}')
    assert too_big.status_code == 413
    token = await submission_csrf(client)
    assert (
        await client.post(f"/api/v1{SNGV}/nop-ho-so/1999", content=b"{}", headers={"x-csrftoken": token})
    ).status_code == 422
    assert (
        await client.post(f"/api/v1{SNGV}/nop-ho-so/abc", content=b"{}", headers={"x-csrftoken": token})
    ).status_code in (400, 404)
    missing = await client.get(f"{API}/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert await submission_rows(owner_engine, await tenant_id(owner_engine)) == []


async def test_api_of_another_department_is_refused(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, OTHER_FOCAL)
    token = await submission_csrf(client, f"{STNMT}/")
    response = await client.post(API, content=b"{}", headers={"x-csrftoken": token})
    assert response.status_code == 403


async def test_the_worker_builds_the_package_through_the_queue(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings, database: DatabaseUrls
) -> None:
    await approve_2020(client)
    sngv = await tenant_id(owner_engine)
    await sign_in(client, FOCAL)
    await post(client, PAGE)
    worker = Worker(settings, database, dequeue_timeout=timedelta(seconds=1))
    running = asyncio.create_task(worker.run())
    try:
        for _ in range(200):
            [row] = await submission_rows(owner_engine, sngv)
            if row.status != "building":
                break
            await asyncio.sleep(0.1)
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=30)
    assert row.status == "submitted", row.error
    assert (await client.get(f"{PAGE}/lan/1/tai-ve")).status_code == 200


async def test_a_unit_s_staff_cannot_download_the_package_that_holds_every_unit_s_task_files(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    """The package carries the evidence of every task, those the board hides from a unit's staff included."""
    await submitted_2020(client, jobs_engine, owner_engine, storage)
    assert (await client.get(f"{PAGE}/lan/1/tai-ve")).status_code == 200
    await sign_in(client, STAFF)
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert "Đã nộp" in page.text
    assert "/lan/1/tai-ve" not in page.text
    refused = await client.get(f"{PAGE}/lan/1/tai-ve")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "đầu mối CCHC tải về" in page.text
