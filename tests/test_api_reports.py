"""Progress reports over the JSON API (read): the year's periods with their due dates as the province sets them."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

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
