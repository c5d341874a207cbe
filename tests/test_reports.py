"""Periodic progress reports: the province's periods and deadlines, a live summary while a draft, narratives
per area, and a submission that freezes the snapshot for good."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import FOCAL, LEADER, STAFF, create_task, sngv_rows
from tests.html_support import squash
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

# A year's reports are on the plan carried out during it: the board of the previous year's results (2020's).
REPORTS = "/t/ha-tinh/so-ngoai-vu/bao-cao/2021"


async def _token(client: AsyncTestClient[Litestar], path: str) -> str:
    page = await client.get(path)
    match = re.search(r'name="_csrf_token" value="([^"]+)"', squash(page.text)) or re.search(
        r'name="csrf-token" content="([^"]+)"', page.text
    )
    assert match
    return match.group(1)


async def test_periods_come_from_the_province_with_their_deadlines(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc của kế hoạch", deadline_text="10/03/2021")
    page = await client.get(REPORTS)
    assert page.status_code == 200
    for text in ("Báo cáo quý I", "Báo cáo 6 tháng", "Báo cáo quý III", "Báo cáo năm"):
        assert text in page.text
    assert "Kế hoạch khắc phục sau kết quả Chỉ số CCHC năm 2020" in squash(page.text)
    assert "Quá hạn, chưa nộp" in page.text  # 2021 is long past
    assert (await client.get(f"{REPORTS}/quy-9")).status_code == 404


async def test_a_year_whose_plan_has_no_task_has_nothing_overdue(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, FOCAL)
    page = await client.get("/t/ha-tinh/so-ngoai-vu/bao-cao/2020")  # on the plan after 2019's results: none
    assert page.status_code == 200
    assert "Quá hạn, chưa nộp" not in page.text
    assert page.text.count("Chưa có kế hoạch") == 4
    assert "Kế hoạch khắc phục sau kết quả năm 2019 chưa có nhiệm vụ nào" in page.text


async def test_the_year_report_is_named_once_and_an_empty_report_is_refused(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, LEADER)
    report = f"{REPORTS}/nam"
    page = await client.get(report)
    assert "<h1>Báo cáo năm 2021</h1>" in squash(page.text)
    assert "năm năm" not in page.text
    assert "Không nộp được báo cáo trống" in squash(page.text)
    refused = await client.post(f"{report}/nop", data={"_csrf_token": await _token(client, report)})
    assert "Báo cáo trống: Kế hoạch khắc phục sau kết quả năm 2020 chưa có nhiệm vụ nào" in refused.text
    assert await sngv_rows(owner_engine, "SELECT status FROM progress_reports") == []  # not even a draft left
    # a narrative alone is something to report
    await sign_in(client, FOCAL)
    saved = await client.post(
        report, data={"area-1": "Không có tồn tại phải khắc phục.", "_csrf_token": await _token(client, report)}
    )
    assert "Đã lưu nội dung báo cáo" in saved.text
    await sign_in(client, LEADER)
    sent = await client.post(f"{report}/nop", data={"_csrf_token": await _token(client, report)})
    assert "Đã nộp báo cáo" in sent.text


async def test_a_report_summarises_the_board_and_freezes_on_submission(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc quá hạn", deadline_text="10/03/2020")
    await create_task(client, title="Việc còn hạn", deadline_text="31/12/2099", area_code="2")
    report = f"{REPORTS}/6-thang"
    page = await client.get(report)
    assert "Việc quá hạn" in page.text
    assert "Việc còn hạn" not in squash(page.text).split("Nhiệm vụ quá hạn")[1][:400]
    token = await _token(client, report)
    saved = await client.post(report, data={"area-1": "Đã ban hành kế hoạch.", "area-2": "", "_csrf_token": token})
    assert "Đã lưu nội dung báo cáo" in saved.text
    assert "Đã ban hành kế hoạch." in saved.text
    too_long = await client.post(report, data={"area-1": "x" * 8001, "_csrf_token": token})
    assert "tối đa 8.000" in too_long.text
    await sign_in(client, STAFF)
    assert (await client.post(f"{report}/nop", data={"_csrf_token": await _token(client, report)})).status_code == 403
    await sign_in(client, LEADER)
    submitted = await client.post(f"{report}/nop", data={"_csrf_token": await _token(client, report)})
    assert "Đã nộp báo cáo" in submitted.text
    # the board changes; the submitted report does not
    await sign_in(client, FOCAL)
    await create_task(client, title="Việc mới sau khi nộp", deadline_text="10/03/2020")
    frozen = await client.get(report)
    assert "Việc mới sau khi nộp" not in frozen.text
    assert "Việc quá hạn" in frozen.text
    again = await client.post(report, data={"area-1": "sửa", "_csrf_token": await _token(client, report)})
    assert "không sửa được nữa" in again.text
    rows = await sngv_rows(owner_engine, "SELECT status, snapshot FROM progress_reports")
    assert rows[0].status == "submitted"
    assert rows[0].snapshot["total"] == 2
    assert rows[0].snapshot["narratives"] == {"1": "Đã ban hành kế hoạch."}
