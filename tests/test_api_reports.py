"""Progress reports over the JSON API: the year's periods with their due dates as the province sets them, one
period's report, saving its narratives with the version read (409 with the fresh report on a stale one) and
submitting it, by the people the report page lets; bad input on its field with nothing saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import FOCAL, LEADER, STAFF, create_task, sngv_rows
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

REPORTS = "/api/v1/t/ha-tinh/so-ngoai-vu/bao-cao/2021"


async def test_a_department_reads_its_report_periods(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, "lien.ct@sngv.hatinh.example.vn")  # a viewer
    response = await client.get(REPORTS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["year"], body["plan_year"], body["plan_tasks"]) == (2021, 2020, 0)
    assert body["items"]
    first = body["items"][0]
    assert first["status"] is None
    assert first["due"].startswith("2021-")
    assert first["page_url"] == f"/t/ha-tinh/so-ngoai-vu/bao-cao/2021/{first['period']}"


async def test_another_tenant_s_reports_are_refused(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, "kien.tv@thanhsen.hatinh.example.vn")
    response = await client.get(REPORTS)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


async def test_a_report_is_saved_with_its_version_and_submitted_through_the_pages_rules(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    report = f"{REPORTS}/6-thang"
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc quá hạn", deadline_text="10/03/2020")
    headers = {"x-csrftoken": await csrf()}
    fresh = await client.get(report)
    assert fresh.status_code == 200, fresh.text
    assert (fresh.json()["status"], fresh.json()["version"], fresh.json()["figures"]["total"]) == (None, 0, 1)

    refused = [
        ({"version": 0, "narratives": {"1": "x" * 8001}}, 422, "narratives.1", "Mỗi phần tối đa 8.000 ký tự."),
        ({"version": 0, "narratives": {"99": "x"}}, 422, "narratives.99", "Không có lĩnh vực «99» trong kế hoạch."),
        ({"narratives": {"1": "x"}}, 400, "version", "Thiếu trường bắt buộc «version»."),
    ]
    for body, status, field, message in refused:
        response = await client.put(report, json=body, headers=headers)
        assert (response.status_code, response.json()["field"], response.json()["message"]) == (
            status,
            field,
            message,
        ), response.text
    assert await sngv_rows(owner_engine, "SELECT status FROM progress_reports") == []  # not even a draft

    saved = await client.put(
        report, json={"version": 0, "narratives": {"1": "Đã ban hành.", "2": " "}}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert (saved.json()["status"], saved.json()["narratives"]) == ("draft", {"1": "Đã ban hành."})
    version = saved.json()["version"]
    stale = await client.put(report, json={"version": 0, "narratives": {"1": "Cũ"}}, headers=headers)
    assert (stale.status_code, stale.json()["code"]) == (409, "conflict")
    assert stale.json()["current"]["narratives"] == {"1": "Đã ban hành."}

    await sign_in(client, STAFF)  # a unit's staff may neither save nor submit
    headers = {"x-csrftoken": await csrf()}
    body = {"version": version, "narratives": {"1": "x"}}
    assert (await client.put(report, json=body, headers=headers)).status_code == 403
    assert (await client.post(f"{report}/nop", json={"version": version}, headers=headers)).status_code == 403

    await sign_in(client, LEADER)
    headers = {"x-csrftoken": await csrf()}
    stale_submit = await client.post(f"{report}/nop", json={"version": version - 1}, headers=headers)
    assert stale_submit.status_code == 409
    submitted = await client.post(f"{report}/nop", json={"version": version}, headers=headers)
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert (body["status"], body["figures"]["total"], body["figures"]["narratives"]) == (
        "submitted",
        1,
        {"1": "Đã ban hành."},
    )
    again = await client.post(f"{report}/nop", json={"version": body["version"]}, headers=headers)
    assert (again.status_code, again.json()["message"]) == (422, "Báo cáo đã nộp.")
    edit = await client.put(report, json={"version": body["version"], "narratives": {"1": "sửa"}}, headers=headers)
    assert (edit.status_code, edit.json()["message"]) == (422, "Báo cáo đã nộp: không sửa được nữa.")
    rows = await sngv_rows(owner_engine, "SELECT status, narratives FROM progress_reports")
    assert [(r.status, r.narratives) for r in rows] == [("submitted", {"1": "Đã ban hành."})]


async def test_an_empty_report_is_refused_and_nothing_is_written(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, LEADER)
    response = await client.post(f"{REPORTS}/nam/nop", json={"version": 0}, headers={"x-csrftoken": await csrf()})
    assert response.status_code == 422, response.text
    assert response.json()["message"].startswith("Báo cáo trống: Kế hoạch khắc phục sau kết quả năm 2020")
    assert await sngv_rows(owner_engine, "SELECT status FROM progress_reports") == []
    unknown = await client.get(f"{REPORTS}/quy-9")
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Tỉnh không có kỳ báo cáo này.")
