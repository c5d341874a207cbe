"""The self-assessment over the JSON API: the same services as the pages (rows saved and scored exactly, a stale
version refused with the fresh row, bad input refused on its field with nothing saved, the workflow by role)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.auth_support import in_tenant, tenant_id
from tests.factories import COMMUNE_FOCAL, FOCAL, LEADER, STAFF, VIEWER
from tests.fixtures.csrf import Csrf
from tests.support import sign_in, signed_in_headers

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

API = "/api/v1/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2020"
# Seed 001: Sở Ngoại vụ, Hà Tĩnh 2020, 75,25/80, every editable row entered.
SEED_001: list[tuple[str, dict[str, Any]]] = [
    ("1.2", {"achieved": "94,76", "target": "100"}),
    ("1.5", {"event": "31/12/2020", "done": "15/03/2021"}),
    ("1.7", {"points": "0,5"}),
    ("1?con_lai=true", {"points": "6,5"}),
    ("2.5", {"value": "90"}),
    ("2.6.1", {"points": "0"}),
    ("2?con_lai=true", {"points": "7.5"}),
    ("3", {"points": "14,5"}),
    ("4.1.5", {"points": "2"}),
    ("4?con_lai=true", {"points": "10"}),
    ("5.10", {"points": "0,5"}),
    ("5?con_lai=true", {"points": "12,5"}),
    ("6.2.1", {"points": "1"}),
    ("6?con_lai=true", {"points": "5"}),
    ("7.1.5", {"achieved": "88,7", "target": "100"}),
    ("7.1.8", {"points": "0"}),
    ("7.1?con_lai=true", {"points": "6,5"}),
    ("7.2", {"points": "5"}),
]


async def _in_sngv(owner_engine: AsyncEngine, sql: str) -> Any:
    """One value read as the owner with the Sở Ngoại vụ bound (row-level security applies to the owner too)."""
    rows = await in_tenant(owner_engine, await tenant_id(owner_engine, "ha-tinh", "so-ngoai-vu"), sql)
    return rows[0][0] if rows else None


async def _item_count(owner_engine: AsyncEngine) -> int:
    return int(await _in_sngv(owner_engine, "SELECT count(*) FROM assessment_items"))


async def test_a_row_is_saved_with_its_version_and_a_stale_version_gets_the_fresh_row(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    started = await client.post(f"{API}/bat-dau", headers=headers)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "draft"
    row = (await client.get(f"{API}/tieu-chi/3")).json()
    assert (row["version"], row["points"], row["max_points"], row["editable"]) == (0, None, "14.500", True)

    saved = await client.put(f"{API}/tieu-chi/3", json={"version": 0, "points": "14"}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["points"], saved.json()["score"], saved.json()["version"]) == ("14.000", "14.000", 1)

    stale = await client.put(f"{API}/tieu-chi/3", json={"version": 0, "points": "3"}, headers=headers)
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "conflict"
    assert "vừa được người khác lưu" in body["message"]
    assert (body["current"]["points"], body["current"]["version"]) == ("14.000", 1)
    assert await _in_sngv(owner_engine, "SELECT points::text FROM assessment_items") == "14.000"

    again = await client.put(f"{API}/tieu-chi/3", json={"version": 1, "points": "14,5"}, headers=headers)
    assert (again.status_code, again.json()["version"]) == (200, 2)
    overview = (await client.get(API)).json()
    assert overview["points"] == "14.500"


@pytest.mark.parametrize(
    ("body", "status", "field", "message"),
    [
        ({"version": 0, "points": "mười"}, 422, "points", "Giá trị phải là một số (ví dụ 75,25)."),
        ({"version": 0, "points": "15"}, 422, "points", None),
        ({"points": "1"}, 400, "version", "Thiếu trường bắt buộc «version»."),
        ({"version": "một", "points": "1"}, 400, "version", "Giá trị của «version» không hợp lệ."),
        ({"version": 0, "diem": "1"}, 400, None, None),
    ],
)
async def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar],
    csrf: Csrf,
    owner_engine: AsyncEngine,
    body: dict[str, Any],
    status: int,
    field: str | None,
    message: str | None,
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await client.post(f"{API}/bat-dau", headers=headers)
    response = await client.put(f"{API}/tieu-chi/3", json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()
    assert error["field"] == field
    assert not error["message"].isascii()
    if message:
        assert error["message"] == message
    assert await _item_count(owner_engine) == 0


async def test_an_unknown_criterion_or_year_is_a_404(client: AsyncTestClient[Litestar], csrf: Csrf) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await client.post(f"{API}/bat-dau", headers=headers)
    unknown = await client.put(f"{API}/tieu-chi/99", json={"version": 0, "points": "1"}, headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "Không có tiêu chí này trong bộ chỉ số."
    no_set = await client.get("/api/v1/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2031")
    assert no_set.status_code == 404
    assert no_set.json()["message"] == "Tỉnh chưa ban hành bộ chỉ số năm 2031."


async def test_a_write_needs_the_session_s_csrf_token(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    refused = await client.post(f"{API}/bat-dau")
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert await _in_sngv(owner_engine, "SELECT count(*) FROM assessments") == 0


async def test_the_workflow_by_role_submit_then_approve_then_locked(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    headers = await signed_in_headers(client, csrf, FOCAL)
    await client.post(f"{API}/bat-dau", headers=headers)
    early = await client.post(f"{API}/trang-thai", json={"action": "gui-duyet"}, headers=headers)
    assert early.status_code == 422
    assert early.json()["message"].startswith("Còn ")
    for code, inputs in SEED_001:
        path, _, query = code.partition("?")
        saved = await client.put(
            f"{API}/tieu-chi/{path}" + (f"?{query}" if query else ""), json={"version": 0, **inputs}, headers=headers
        )
        assert saved.status_code == 200, (code, saved.text)
    overview = (await client.get(API)).json()
    assert (overview["points"], overview["to_enter"]) == ("75.250", 0)
    assert [a["action"] for a in overview["actions"]] == ["gui-duyet"]

    submitted = await client.post(f"{API}/trang-thai", json={"action": "gui-duyet"}, headers=headers)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "ready"
    approve_by_focal = await client.post(f"{API}/trang-thai", json={"action": "duyet"}, headers=headers)
    assert approve_by_focal.status_code == 403
    assert approve_by_focal.json()["message"] == "Bạn không có quyền thực hiện thao tác này."

    headers = await signed_in_headers(client, csrf, LEADER)
    unknown = await client.post(f"{API}/trang-thai", json={"action": "xoa"}, headers=headers)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "action")
    approved = await client.post(f"{API}/trang-thai", json={"action": "duyet"}, headers=headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert [a["action"] for a in approved.json()["actions"]] == ["mo-lai"]

    headers = await signed_in_headers(client, csrf, FOCAL)
    locked = await client.put(f"{API}/tieu-chi/3", json={"version": 1, "points": "1"}, headers=headers)
    assert locked.status_code == 422
    assert "đã được lãnh đạo duyệt" in locked.json()["message"]
    assert await _in_sngv(owner_engine, "SELECT status FROM assessments") == "approved"
    assert await _in_sngv(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'assessment.duyet'") == 1


@pytest.mark.parametrize(
    ("email", "read", "write"),
    [(VIEWER, 200, 403), (STAFF, 200, 200), (FOCAL, 200, 200), (LEADER, 200, 403), (COMMUNE_FOCAL, 403, 403)],
)
async def test_each_role_reads_and_writes_as_the_matrix_says(
    client: AsyncTestClient[Litestar], csrf: Csrf, email: str, read: int, write: int
) -> None:
    headers = await signed_in_headers(client, csrf, email)
    assert (await client.get(f"{API}/tieu-chi")).status_code == read
    response = await client.post(f"{API}/bat-dau", headers=headers)
    assert response.status_code == write, response.text
    if write == 403:
        assert response.json()["code"] == "forbidden"


async def test_without_a_session_the_api_answers_401(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(f"{API}/tieu-chi")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
