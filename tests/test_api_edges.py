"""The API's edges (issue 21): what PostgreSQL's text cannot hold (NUL, a lone surrogate) is refused on its field
before any service runs, in every operation of the schema and in the pages' forms; a failure at commit is never a
500 nor a "saved" answer; and every error status answers the stable shape {"code", "message", "field"}."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.asgi import create_app
from backend.auth.permissions import PUBLIC
from backend.db.models import Province
from backend.db.runtime import DatabaseUrls
from backend.settings import AuthSettings
from backend.web.api import CODES
from backend.web.errors import refused_input_status
from tests.auth_support import in_tenant, tenant_id
from tests.factories import create_api_token, multipart
from tests.samples import PDF_BYTES
from tests.support import make_settings, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

Csrf = Callable[..., Awaitable[str]]
SNGV = "/t/ha-tinh/so-ngoai-vu"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
TENANT_ADMIN = "truong.dx@sngv.hatinh.example.vn"
WRITES = ("post", "put", "patch", "delete")
# A path's parameters, filled so that the request reaches the app's input check (the tenant is resolved after it).
FILLED = {"province_code": "ha-tinh", "tenant_code": "so-ngoai-vu", "year": "2020"}


def _is_stable_error(body: Any, status: int) -> bool:
    extra = {"current"} if status == 409 and "current" in body else set()
    return (
        set(body) == {"code", "message", "field"} | extra
        and body["code"] == CODES[status]
        and isinstance(body["message"], str)
        and not body["message"].isascii()  # Vietnamese
    )


def _url(path: str, parameters: list[dict[str, Any]], nul_in: str | None = None) -> str:
    """`path` with its parameters filled in (`nul_in`: that one with a NUL, percent-encoded)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        kind = next((p["schema"] for p in parameters if p["name"] == name and p["in"] == "path"), {})
        filled = FILLED.get(name) or (str(uuid.uuid4()) if kind.get("format") == "uuid" else "1")
        return f"{filled}%00" if name == nul_in else filled

    return re.sub(r"\{([^}]+)\}", value, path)


def _is_text(schema: Any) -> bool:
    """A free text (not a uuid, a date or a file: a NUL in those is no such value, a 404 or a 400 of their own)."""
    dumped = json.dumps(schema)
    return '"string"' in dumped and '"format"' not in dumped


def _string_field(schema: dict[str, Any], components: dict[str, Any]) -> str:
    """A string property of a body's schema (a required one first), or a name of our own when it has none."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    properties = schema.get("properties", {})
    strings = [name for name, prop in properties.items() if _is_text(prop)]
    required = [name for name in strings if name in schema.get("required", [])]
    return (required or strings or ["ghi-chu"])[0]


async def test_a_nul_in_any_operation_s_body_path_or_query_is_refused_on_its_field_before_any_service_runs(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    """Generated from the schema: a new operation is covered as soon as it is in the schema."""
    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await csrf()}
    schema = (await client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    audited = await _audit_rows(owner_engine)
    checked: dict[str, int] = {"body": 0, "path": 0, "query": 0}
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            parameters = operation.get("parameters", [])
            expectations: list[tuple[str, dict[str, Any], str]] = []  # (url, request arguments, field)
            text_paths = [p["name"] for p in parameters if p["in"] == "path" and _is_text(p["schema"])]
            if text_paths:
                expectations.append((_url(path, parameters, nul_in=text_paths[-1]), {}, text_paths[-1]))
                checked["path"] += 1
            for query in (p for p in parameters if p["in"] == "query" and _is_text(p["schema"])):
                arguments = {"params": {query["name"]: "a\x00"}}
                expectations.append((_url(path, parameters), arguments, query["name"]))
                checked["query"] += 1
            content = operation.get("requestBody", {}).get("content", {})
            if method in WRITES and "application/json" in content:
                field = _string_field(content["application/json"]["schema"], components)
                expectations.append((_url(path, parameters), {"json": {field: "a\x00b"}}, field))
                checked["body"] += 1
            elif method in WRITES and "multipart/form-data" in content:
                field = _string_field(content["multipart/form-data"]["schema"], components)
                body, content_type = multipart([("a.pdf", PDF_BYTES)], {field: "a\x00b"})
                arguments = {"content": body, "headers": {"content-type": content_type}}
                expectations.append((_url(path, parameters), arguments, field))
                checked["body"] += 1
            for url, arguments, field in expectations:
                sent = {**arguments, "headers": {**headers, **arguments.get("headers", {})}}
                response = await client.request(method.upper(), url, **sent)
                assert response.status_code == 400, (label, url, field, response.text[:300])
                assert response.json()["field"] == field, (label, response.json())
                assert _is_stable_error(response.json(), 400), (label, response.json())
    assert checked["body"] >= 20, checked
    assert checked["path"] >= 10, checked
    assert checked["query"] >= 3, checked
    assert await _audit_rows(owner_engine) == audited  # no service ran: nothing written


async def _audit_rows(owner_engine: AsyncEngine) -> int:
    (row,) = await in_tenant(
        owner_engine, await tenant_id(owner_engine, "ha-tinh", "so-ngoai-vu"), "SELECT count(*) AS n FROM audit_log"
    )
    return int(row.n)


async def test_a_lone_surrogate_or_a_nul_anywhere_in_a_json_body_is_refused_but_an_emoji_is_not(
    client: AsyncTestClient[Litestar], csrf: Csrf
) -> None:
    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await csrf(), "content-type": "application/json"}
    tasks = f"/api/v1{SNGV}/ke-hoach/2020/nhiem-vu"
    for raw, field in (
        (rb'{"area_code": "1", "title": "K\ud800", "deadline_text": "x"}', "title"),
        (rb'{"area_code": "1", "title": "K\uDFFF", "deadline_text": "x"}', "title"),
        (rb'{"area_code": "1", "title": "x", "deadline_text": "x", "labels": ["a", "b\u0000"]}', "labels[1]"),
        (rb'{"area_code": "1", "title": "x", "deadline_text": "x", "\u0000": 1}', None),
    ):
        response = await client.post(tasks, content=raw, headers=headers)
        assert response.status_code == 400, (raw, response.text)
        assert _is_stable_error(response.json(), 400)
        assert response.json()["field"] == field
    # unescaped, a NUL is no JSON and a surrogate no UTF-8: the body as a whole is refused
    for raw in (b'{"area_code": "1", "title": "K\x00", "deadline_text": "x"}', b'{"title": "K\xed\xa0\x80"}'):
        response = await client.post(tasks, content=raw, headers=headers)
        assert response.status_code == 400, (raw, response.text)
        assert _is_stable_error(response.json(), 400)
    # a pair of surrogates is one character (an emoji), and an escaped backslash before "u0000" is text
    fine = rb'{"area_code": "1", "title": "K\ud83d\ude00 \\u0000", "deadline_text": "Qu\u00fd II/2020"}'
    created = await client.post(tasks, content=fine, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["title"] == "K\U0001f600 \\u0000"


async def test_a_nul_in_a_page_s_form_is_refused_with_a_clear_page_and_saves_nothing(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, TENANT_ADMIN)
    tokens = f"{SNGV}/quan-tri/ma-api/"
    token = await csrf(tokens)
    fields = {"_csrf_token": token, "ten": "Cổng\x00 kết quả", "quyen": "results:read", "het-han": "31/01/2027"}
    as_form = await client.post(tokens, data=fields)
    body, content_type = multipart([], fields)
    as_multipart = await client.post(tokens, content=body, headers={"content-type": content_type})
    for response in (as_form, as_multipart):
        assert response.status_code == 400
        assert "text/html" in response.headers["content-type"]
        assert "ký tự không lưu được ở «ten»" in response.text
        assert "chưa có gì được lưu" in response.text
    sngv = await tenant_id(owner_engine, "ha-tinh", "so-ngoai-vu")
    assert await in_tenant(owner_engine, sngv, "SELECT id FROM api_tokens") == []


# ---- a failure at commit ---------------------------------------------------------------------------------------------


async def _store_later(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    """Adds a row the database refuses, left for the commit to send (as a service that never flushes)."""
    db_session.add(Province(id=uuid.uuid4(), code="nul\x00", name="Tỉnh"))
    return {"saved": "yes"}


@pytest.fixture
async def committing(database: DatabaseUrls) -> Any:
    app = create_app(make_settings(), database)
    for path in ("/api/v1/luu-sau", "/luu-sau"):
        app.register(post(path, opt={"access": PUBLIC, "exclude_from_csrf": True}, name=path)(_store_later))
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_a_failure_at_commit_is_a_4xx_in_the_request_s_language_never_a_500_or_a_saved_answer(
    committing: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    api = await committing.post("/api/v1/luu-sau")
    assert api.status_code == 400, api.text
    assert _is_stable_error(api.json(), 400)
    page = await committing.post("/luu-sau")
    assert page.status_code == 400
    assert "Yêu cầu không hợp lệ" in page.text
    async with owner_engine.connect() as db:
        assert await db.scalar(text("SELECT count(*) FROM provinces WHERE code LIKE 'nul%'")) == 0


# ---- every error in one shape ----------------------------------------------------------------------------------------


async def test_every_error_status_of_the_api_answers_code_message_and_field(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine, database: DatabaseUrls
) -> None:
    """400, 401, 403, 404, 405, 409, 413, 415, 422, 423 and 429, each reached the way a client reaches it."""
    tasks = f"/api/v1{SNGV}/ke-hoach/2020/nhiem-vu"
    task = {"area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"}
    walked: dict[int, Any] = {}
    walked[401] = await client.get(f"/api/v1{SNGV}/ket-qua/2020")  # nobody
    unknown_token = await client.get(f"/api/v1{SNGV}/ket-qua/2020", headers={"Authorization": "Bearer pbt_khong-co"})
    assert unknown_token.status_code == 401
    assert _is_stable_error(unknown_token.json(), 401)

    await sign_in(client, TENANT_ADMIN)
    token = await create_api_token(client, csrf, f"{SNGV}/quan-tri/ma-api", "Cổng", ["results:read"])
    walked[403] = await client.get(tasks, headers={"Authorization": f"Bearer {token}"})  # not the token's scope
    limited = create_app(make_settings(auth=replace(AuthSettings(), api_token_rate_per_minute=1)), database)
    async with AsyncTestClient(app=limited) as other:
        # three in a row: a new minute may begin between two of them, not between all three
        bearer = {"Authorization": f"Bearer {token}"}
        answers = [await other.get(f"/api/v1{SNGV}/ket-qua/2020", headers=bearer) for _ in range(3)]
        walked[429] = next(a for a in answers if a.status_code == 429)

    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await csrf()}
    walked[404] = await client.get("/api/v1/khong-co")
    walked[405] = await client.delete(f"/api/v1{SNGV}/ket-qua/2020", headers=headers)
    walked[400] = await client.post(tasks, json={**task, "title": "a\x00"}, headers=headers)
    walked[422] = await client.post(tasks, json={**task, "title": ""}, headers=headers)
    created = await client.post(tasks, json=task, headers=headers)
    assert created.status_code == 201, created.text
    edit = {"version": 1, "area_code": "1", "title": "Sửa", "deadline_text": "Quý II/2020"}
    assert (await client.patch(f"{tasks}/1", json=edit, headers=headers)).status_code == 200
    walked[409] = await client.patch(f"{tasks}/1", json=edit, headers=headers)  # version 1 again
    large = b'{"note": "' + b"a" * 20_000 + b'"}'  # the submission takes 16 KiB at most
    as_json = {**headers, "content-type": "application/json"}
    walked[413] = await client.post(f"/api/v1{SNGV}/nop-ho-so/2020/", content=large, headers=as_json)
    walked[415] = await client.post(f"/api/v1{SNGV}/nop-ho-so/kiem-tra/", json={"tep": "x"}, headers=headers)
    async with owner_engine.begin() as db:
        await db.execute(text("UPDATE tenants SET archived_on = '2025-07-01' WHERE code = 'so-ngoai-vu'"))
    walked[423] = await client.post(tasks, json=task, headers=headers)

    assert sorted(walked) == [400, 401, 403, 404, 405, 409, 413, 415, 422, 423, 429]
    for status, response in walked.items():
        assert response.status_code == status, (status, response.text[:300])
        assert response.headers["content-type"].startswith("application/json"), status
        assert _is_stable_error(response.json(), status), (status, response.json())
    assert walked[409].json()["current"]["title"] == "Sửa"  # a stale version: the fresh object beside the error
    assert walked[400].json()["field"] == "title"
    assert walked[422].json()["field"] == "title"
    assert 1 <= int(walked[429].headers["retry-after"]) <= 60


class _Orig(Exception):
    sqlstate: str | None = None


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [
        ("22021", 400),  # a NUL in text
        ("22P02", 400),  # no such value of the type
        ("23505", 409),  # a duplicate (two requests at once)
        ("23503", 409),  # a row a concurrent request removed
        ("40001", 409),
        ("40P01", 409),
        ("42501", None),  # refused by row-level security: ours to explain, a 500
        (None, None),
    ],
)
def test_database_errors_the_input_causes_are_a_400_or_a_409(sqlstate: str | None, status: int | None) -> None:
    orig = _Orig()
    orig.sqlstate = sqlstate
    assert refused_input_status(DBAPIError("INSERT …", None, orig)) == status
