"""The year's remedy plan over the JSON API: tasks generated from the self-assessment's lost points, the appraisal
result's date and its 15 days, approving and reopening; refused for those who do not run the plan, bad input on its
field with nothing saved, and another tenant's plan out of reach."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import COMMUNE_FOCAL, FOCAL, LEADER, STAFF, VIEWER, sngv_rows
from tests.fixtures.csrf import Csrf
from tests.support import HTMX, SEED_001, assert_refused_on_field, signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

PLAN = "/api/v1/t/ha-tinh/so-ngoai-vu/ke-hoach/2020"
COMMUNE_PLAN = "/api/v1/t/ha-tinh/phuong-thanh-sen/ke-hoach/2020"


async def _self_assess(client: AsyncTestClient[Litestar], headers: dict[str, str]) -> None:
    base = "/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2020"
    await client.post(f"{base}/bat-dau", data={"_csrf_token": headers["x-csrftoken"]})
    for code, form in SEED_001:
        saved = await client.post(
            f"{base}/tieu-chi/{code}", data={**form, "_csrf_token": headers["x-csrftoken"]}, headers=HTMX
        )
        assert saved.status_code == 200, saved.text


async def test_the_plan_is_generated_dated_approved_and_reopened(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    fresh = (await client.get(PLAN)).json()
    assert (fresh["status"], fresh["version"], fresh["result_date"], fresh["on_time"]) == ("draft", 0, None, None)
    missing = await client.post(f"{PLAN}/tao-tu-tu-danh-gia", headers=headers)
    assert (missing.status_code, missing.json()["message"]) == (422, "Chưa có bản tự đánh giá năm này.")

    await _self_assess(client, headers)
    generated = await client.post(f"{PLAN}/tao-tu-tu-danh-gia", headers=headers)
    assert generated.status_code == 200, generated.text
    assert generated.json()["created"] == 10
    again = await client.post(f"{PLAN}/tao-tu-tu-danh-gia", headers=headers)
    assert again.json()["created"] == 0  # a criterion that has its task gets no second one
    rows = await sngv_rows(owner_engine, "SELECT criterion_code, points_lost FROM tasks ORDER BY number")
    assert (len(rows), rows[0].criterion_code, str(rows[0].points_lost)) == (10, "1.2", "0.080")

    dated = await client.put(f"{PLAN}/ngay-ket-qua", json={"result_date": "2020-12-31"}, headers=headers)
    assert dated.status_code == 200, dated.text
    plan = dated.json()
    assert (plan["result_date"], plan["due"], plan["version"]) == ("2020-12-31", "2021-01-15", 2)
    assert plan["days_left"] < 0  # long past today

    approved = await client.post(f"{PLAN}/duyet", headers=headers)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["on_time"]) == ("approved", False)
    twice = await client.post(f"{PLAN}/duyet", headers=headers)
    assert (twice.status_code, twice.json()["message"]) == (422, "Kế hoạch đã được duyệt.")

    headers = await signed_in_headers(client, csrf, LEADER)
    reopened = await client.post(f"{PLAN}/mo-lai", headers=headers)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["approved_at"]) == ("draft", None)
    again_reopen = await client.post(f"{PLAN}/mo-lai", headers=headers)
    assert (again_reopen.status_code, again_reopen.json()["message"]) == (422, "Kế hoạch chưa được duyệt.")
    rows = await sngv_rows(owner_engine, "SELECT status, result_date::text AS d, version FROM remedy_plans")
    assert [tuple(r) for r in rows] == [("draft", "2020-12-31", 4)]


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"result_date": "2020-02-31"}, 400, "result_date", ""),
        ({"result_date": "31/12/2020"}, 400, "result_date", ""),
        ({"result_date": "1999-12-31"}, 422, "result_date", "từ 2000 đến 2100"),
        ({}, 400, "result_date", ""),
        ({"result_date": "2020-12-31", "màu": "đỏ"}, 400, None, ""),
    ],
)
async def test_a_bad_result_date_is_refused_on_its_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
    owner_engine: AsyncEngine,
    body: dict[str, Any],
    status: int,
    field: str | None,
    message: str,
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    response = await client.put(f"{PLAN}/ngay-ket-qua", json=body, headers=headers)
    assert_refused_on_field(response, status, field, message)
    assert await sngv_rows(owner_engine, "SELECT id FROM remedy_plans") == []


async def test_an_empty_plan_is_not_approved_and_nothing_is_saved(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    empty = await client.post(f"{PLAN}/duyet", headers=headers)
    assert (empty.status_code, empty.json()["message"]) == (422, "Kế hoạch chưa có nhiệm vụ nào.")
    assert await sngv_rows(owner_engine, "SELECT id FROM remedy_plans") == []
    unknown_year = await client.get("/api/v1/t/ha-tinh/so-ngoai-vu/ke-hoach/1990")
    assert (unknown_year.status_code, unknown_year.json()["code"]) == (404, "not_found")


async def test_only_those_who_run_the_plan_change_it_and_another_tenant_s_is_out_of_reach(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    for email in (STAFF, VIEWER):
        headers = await signed_in_headers(client, csrf, email)
        assert (await client.get(PLAN)).status_code == 200  # they see the plan's clock
        for response in (
            await client.post(f"{PLAN}/tao-tu-tu-danh-gia", headers=headers),
            await client.put(f"{PLAN}/ngay-ket-qua", json={"result_date": "2020-12-31"}, headers=headers),
            await client.post(f"{PLAN}/duyet", headers=headers),
            await client.post(f"{PLAN}/mo-lai", headers=headers),
        ):
            assert (response.status_code, response.json()["code"]) == (403, "forbidden"), email

    headers = await signed_in_headers(client, csrf, COMMUNE_FOCAL)
    assert (await client.get(PLAN)).status_code == 403
    dated = await client.put(f"{PLAN}/ngay-ket-qua", json={"result_date": "2020-12-31"}, headers=headers)
    assert dated.status_code == 403
    own = await client.put(f"{COMMUNE_PLAN}/ngay-ket-qua", json={"result_date": "2020-12-31"}, headers=headers)
    assert own.status_code == 200, own.text  # the commune's own plan, not the department's
    assert await sngv_rows(owner_engine, "SELECT id FROM remedy_plans") == []
