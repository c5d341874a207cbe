"""The JSON API's base: every error under /api/v1 is {"code", "message", "field"} in Vietnamese, pages keep their
HTML errors, and a cursor walk sees every row exactly once."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import msgspec
import pytest
from litestar import Litestar, Router, get, post
from litestar.params import FromPath, JSONBody
from litestar.testing import AsyncTestClient

from backend.web.api import (
    API_EXCEPTION_HANDLERS,
    ApiConflict,
    ApiError,
    ApiProblem,
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    error_responses,
    page_of,
)
from tests.support import sign_in


class Row(msgspec.Struct):
    id: int
    version: int


class RowConflict(ApiError, kw_only=True):
    current: Row


class RowIn(msgspec.Struct):
    points: str
    version: int


class RowsPage(msgspec.Struct):
    items: list[Row]
    next_cursor: str | None


ROWS = [Row(i, 1) for i in range(1, 24)]


@post("/rows/{row_id:int}", responses=error_responses((409, RowConflict)), sync_to_thread=False)
def save_row(row_id: FromPath[int], data: JSONBody[RowIn]) -> Row:
    if data.version != 1:
        raise ApiConflict(Row(row_id, 1))
    if data.points == "x":
        raise ApiProblem("Điểm phải là số, ví dụ 1,5.", field="points")
    return Row(row_id, 2)


@get("/rows", responses=error_responses(), sync_to_thread=False)
def list_rows(limit: Limit = 5, cursor: Cursor = None) -> RowsPage:
    after = decode_cursor(cursor, tuple[int]) if cursor else (0,)
    rows = [r for r in ROWS if r.id > after[0]][: limit + 1]
    items, next_cursor = page_of(rows, limit, lambda r: (r.id,))
    return RowsPage(items, next_cursor)


@get("/boom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("not for the client")


@pytest.fixture
async def bare() -> Any:
    api = Router("/api/v1", route_handlers=[save_row, list_rows, boom], exception_handlers=API_EXCEPTION_HANDLERS)
    async with AsyncTestClient(app=Litestar([api], debug=False)) as client:
        yield client


async def test_a_stale_version_answers_409_with_the_fresh_object(bare: AsyncTestClient[Litestar]) -> None:
    response = await bare.post("/api/v1/rows/7", json={"points": "1", "version": 0})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert body["field"] is None
    assert "thay đổi" in body["message"]
    assert body["current"] == {"id": 7, "version": 1}


async def test_a_missing_or_mistyped_field_is_a_400_naming_the_field_in_vietnamese(
    bare: AsyncTestClient[Litestar],
) -> None:
    missing = await bare.post("/api/v1/rows/7", json={"version": 1})
    assert missing.status_code == 400
    assert missing.json() == {
        "code": "invalid_request",
        "message": "Thiếu trường bắt buộc «points».",
        "field": "points",
    }
    mistyped = await bare.post("/api/v1/rows/7", json={"points": "1", "version": "một"})
    assert mistyped.status_code == 400
    assert mistyped.json()["field"] == "version"
    assert mistyped.json()["message"] == "Giá trị của «version» không hợp lệ."
    not_json = await bare.post("/api/v1/rows/7", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.json()["code"] == "invalid_request"


async def test_a_rule_of_the_service_is_a_422_with_its_own_message(bare: AsyncTestClient[Litestar]) -> None:
    response = await bare.post("/api/v1/rows/7", json={"points": "x", "version": 1})
    assert response.status_code == 422
    assert response.json() == {"code": "invalid", "message": "Điểm phải là số, ví dụ 1,5.", "field": "points"}


async def test_litestar_s_english_errors_become_vietnamese_and_a_crash_shows_no_traceback(
    bare: AsyncTestClient[Litestar],
) -> None:
    unknown = await bare.get("/api/v1/khong-co")  # no route: answered by the app-level handler in the real app
    assert unknown.status_code == 404
    crash = await bare.get("/api/v1/boom")
    assert crash.status_code == 500
    assert crash.json()["code"] == "internal_error"
    assert "not for the client" not in crash.text
    assert not crash.json()["message"].isascii()


async def test_a_cursor_walk_sees_every_row_exactly_once(bare: AsyncTestClient[Litestar]) -> None:
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        response = await bare.get("/api/v1/rows", params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [row["id"] for row in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [row.id for row in ROWS]
    assert pages == 5


@pytest.mark.parametrize("limit", ["0", "201", "nhiều"])
async def test_a_limit_out_of_bounds_is_refused_on_its_field(bare: AsyncTestClient[Litestar], limit: str) -> None:
    response = await bare.get("/api/v1/rows", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["field"] == "limit"


async def test_a_cursor_not_ours_is_refused_on_its_field(bare: AsyncTestClient[Litestar]) -> None:
    for cursor in ("!!!", encode_cursor("a", "b"), "e30"):
        response = await bare.get("/api/v1/rows", params={"cursor": cursor})
        assert response.status_code == 400
        assert response.json()["field"] == "cursor"
        assert response.json()["message"] == "Con trỏ phân trang không hợp lệ."


def test_a_cursor_carries_typed_sort_keys() -> None:
    key = (date(2026, 12, 6), uuid.UUID(int=5))
    assert decode_cursor(encode_cursor(*key), tuple[date, uuid.UUID]) == key


# --- in the real app ---------------------------------------------------------------------------------------------


async def test_the_app_answers_api_errors_in_the_api_shape(client: AsyncTestClient[Litestar]) -> None:
    unauthenticated = await client.get("/api/v1/t/ha-tinh/so-ngoai-vu/ket-qua/2020")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"code": "unauthenticated", "message": "Cần đăng nhập", "field": None}
    no_route = await client.get("/api/v1/khong-co")
    assert no_route.status_code == 404
    assert no_route.json()["code"] == "not_found"
    assert not no_route.json()["message"].isascii()
    wrong_method = await client.delete("/api/v1/t/ha-tinh/so-ngoai-vu/ket-qua/2020")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    page = await client.get("/t/ha-tinh/khong-co/", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.usefixtures("demo_tenants")
async def test_another_tenant_and_an_unknown_tenant_in_the_api_shape(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, "thao.ntp@sngv.hatinh.example.vn")
    other = await client.get("/api/v1/t/ha-tinh/phuong-thanh-sen/ket-qua/2020")
    assert other.status_code == 403
    assert other.json() == {"code": "forbidden", "message": "Không có quyền trong đơn vị này", "field": None}
    unknown = await client.get("/api/v1/t/ha-tinh/khong-co/ket-qua/2020")
    assert unknown.status_code == 404
    assert unknown.json() == {"code": "not_found", "message": "Không tìm thấy đơn vị", "field": None}


@pytest.mark.usefixtures("demo_tenants", "criteria")
async def test_a_multipart_text_field_that_is_not_utf8_is_a_400_in_the_api_shape(
    client: AsyncTestClient[Litestar],
) -> None:
    """The page side answers its HTML 400 (tests/test_input.py); under /api/v1 the same input is the JSON error."""
    await sign_in(client, "nghia.tv@snv.hatinh.example.vn")  # the province admin, who may push survey answers
    page = await client.get("/")
    token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="ghi-chu"\r\n\r\n'.encode()
        + b"\xc7\xfa\r\n"
        + f"--{boundary}--\r\n".encode()
    )
    for headers in ({"X-CSRFToken": token}, {}):  # the token in a header, or looked for in the form
        response = await client.post(
            "/api/v1/t/ha-tinh/so-noi-vu/diem-ngoai/2020/phieu-khao-sat",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **headers},
        )
        assert response.status_code == 400, (headers, response.text)
        assert response.json()["code"] == "invalid_request"
        assert response.json()["message"] == "Dữ liệu gửi lên không phải văn bản UTF-8 hợp lệ."


async def test_the_error_model_is_in_the_schema(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/t/{province_code}/{tenant_code}/ket-qua/{year}"]["get"]
    assert operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith("ApiError")
    assert set(schema["components"]["schemas"]["ApiError"]["properties"]) == {"code", "message", "field"}


def _sends_a_version(schema: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether an operation's JSON body carries the `version` it was read at (an edit that may conflict)."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref:
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return "version" in body.get("properties", {})


async def test_every_api_operation_documents_its_errors_and_its_models(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) >= 15
    missing = []
    for path, method, operation in operations:
        responses = operation["responses"]
        for status in ("401", "403", "404"):
            content = responses.get(status, {}).get("content", {}).get("application/json", {})
            if not content.get("schema", {}).get("$ref", "").endswith("ApiError"):
                missing.append(f"{method} {path} {status}")
        if not operation.get("summary"):
            missing.append(f"{method} {path}: no summary")
        if _sends_a_version(schema, operation) and "409" not in responses:
            missing.append(f"{method} {path}: no 409 with the fresh object")
    assert missing == []
    # the edits that carry a version: a row's save, a task's edit and move, a report's save and submit
    assert sum(_sends_a_version(schema, operation) for _, _, operation in operations) >= 5
    for name in ("RowConflict", "TaskConflict", "ReportConflict"):
        conflict = schema["components"]["schemas"][name]
        assert {"code", "message", "field", "current"} <= set(conflict["properties"])
        # a conflict the database raises at commit (backend.core.commit_before_answering) carries no fresh object
        assert "current" not in conflict.get("required", []), name
    conflicts = [operation["responses"]["409"] for _, _, operation in operations if "409" in operation["responses"]]
    assert len(conflicts) >= 5
    assert all("khi có; không kèm thì đọc lại" in conflict["description"] for conflict in conflicts)


@pytest.mark.parametrize(
    ("path", "fields", "described"),
    [
        # the evidence upload: its files and text fields, its limits
        ("/tai-lieu/{year}/tieu-chi/{code}", {"files", "description", "document", "section"}, ("50 MB", "PDF, DOCX")),
        # the package verify: its one file
        ("/nop-ho-so/kiem-tra", {"tep"}, ("1 GiB",)),
    ],
)
async def test_a_streamed_upload_s_multipart_body_and_its_limits_are_in_the_schema(
    client: AsyncTestClient[Litestar], path: str, fields: set[str], described: tuple[str, ...]
) -> None:
    """The evidence upload and the package verify stream their own body (no `data` argument Litestar could
    describe): a client generator and the schema fuzz still see their fields."""
    schema = (await client.get("/schema/openapi.json")).json()
    operation = schema["paths"][f"/api/v1/t/{{province_code}}/{{tenant_code}}{path}"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    form = body["content"]["multipart/form-data"]["schema"]
    assert set(form["properties"]) == fields
    [file_field] = form["required"]
    file_schema = form["properties"][file_field]
    one_file = file_schema.get("items", file_schema)  # the evidence upload takes several, the verify one
    assert (one_file["type"], one_file["format"]) == ("string", "binary")
    assert file_schema.get("maxItems", 1) == (20 if file_field == "files" else 1)
    assert all(text in body["description"] for text in described)
    assert {"413", "415"} <= set(operation["responses"])
