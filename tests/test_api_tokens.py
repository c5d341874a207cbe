"""API tokens (issue 21): created by a tenant admin for their tenant or by a province admin for the province, shown
once, stored hashed, scoped, expiring, revocable, rate-limited, audited by name; the permission guard and the
database's row-level security both check them, as they check a browser's session."""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from io import BytesIO
from typing import Any

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.asgi import create_app
from backend.auth.sessions import COOKIE
from backend.db.runtime import DatabaseUrls
from backend.settings import AuthSettings
from tests.factories import NEXT_MONTH, create_api_token
from tests.html_support import squash
from tests.samples import PDF_BYTES
from tests.support import make_settings, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

SNGV = "/t/ha-tinh/so-ngoai-vu"
SNV = "/t/ha-tinh/so-noi-vu"
TENANT_ADMIN = "truong.dx@sngv.hatinh.example.vn"  # Sở Ngoại vụ's tenant admin
FOCAL_POINT = "thao.ntp@sngv.hatinh.example.vn"
PROVINCE_ADMIN = "nghia.tv@snv.hatinh.example.vn"
TOKENS = f"{SNGV}/quan-tri/ma-api"
PROVINCE_TOKENS = f"{SNV}/quan-tri/tinh/ma-api"

Csrf = Callable[..., Awaitable[str]]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _owner_rows(owner_engine: AsyncEngine, sql: str, tenant_path: str, **params: Any) -> list[Any]:
    """Rows read as the owner inside the tenant of `tenant_path` (row-level security binds the owner too)."""
    province, tenant = tenant_path.split("/")[2:4]
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "SELECT set_config('app.tenant_id', (SELECT t.id::text FROM tenants t JOIN provinces p "
                "ON p.id = t.province_id WHERE p.code = :p AND t.code = :t), true)"
            ),
            {"p": province, "t": tenant},
        )
        return list(await db.execute(text(sql), params))


# ---- the pages: create, show once, list, revoke -----------------------------------------------------------------


async def test_a_tenant_admin_creates_a_token_shown_once_and_stored_only_as_its_hash(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, TENANT_ADMIN)
    home = await client.get(f"{SNGV}/")
    assert f'href="{TOKENS}/"' in home.text  # reachable from the admin's menu
    scopes = ["evidence:upload", "evidence:read"]
    token = await create_api_token(client, csrf, TOKENS, "Hệ thống quản lý văn bản", scopes)
    assert token.startswith("pbt_")
    assert len(token) >= 40

    (row,) = await _owner_rows(owner_engine, "SELECT * FROM api_tokens", SNGV)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(tuple(row))
    assert row.prefix == token[:10]
    assert row.kind == "tenant"
    assert sorted(row.scopes) == ["evidence:read", "evidence:upload"]

    listing = await client.get(f"{TOKENS}/")
    assert listing.status_code == 200
    assert token not in listing.text  # shown once, never again
    assert f"{token[:10]}…" in listing.text
    assert "Hệ thống quản lý văn bản" in listing.text
    assert "31/01/2027" in listing.text
    assert "Chưa dùng" in listing.text
    (audit,) = await _owner_rows(
        owner_engine, "SELECT actor, after FROM audit_log WHERE action = 'api_token.create'", SNGV
    )
    assert audit.after["name"] == "Hệ thống quản lý văn bản"
    assert token not in str(audit.after)


async def test_the_creation_form_says_what_is_wrong_next_to_each_field_and_saves_nothing(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, TENANT_ADMIN)
    token = await csrf(f"{TOKENS}/")
    for form, field, message in [
        ({"ten": " ", "quyen": ["results:read"], "het-han": NEXT_MONTH}, "token-name", "Nhập tên gợi nhớ"),
        ({"ten": "x" * 121, "quyen": ["results:read"], "het-han": NEXT_MONTH}, "token-name", "tối đa 120 ký tự"),
        ({"ten": "Cổng", "het-han": NEXT_MONTH}, "token-scopes", "Chọn ít nhất một quyền"),
        ({"ten": "Cổng", "quyen": ["external-scores:write"], "het-han": NEXT_MONTH}, "token-scopes", "Chọn ít nhất"),
        ({"ten": "Cổng", "quyen": ["results:read"], "het-han": "31/13/2027"}, "token-expiry", "ngày/tháng/năm"),
        ({"ten": "Cổng", "quyen": ["results:read"], "het-han": "01/01/2020"}, "token-expiry", "phải sau hôm nay"),
        ({"ten": "Cổng", "quyen": ["results:read"], "het-han": "01/01/2030"}, "token-expiry", "tối đa một năm"),
    ]:
        response = await client.post(f"{TOKENS}/", data={"_csrf_token": token, **form})
        assert response.status_code == 422, form
        error = re.search(rf'id="{field}-error">([^<]+)<', squash(response.text))
        assert error, (form, response.text[:3000])
        assert message in html.unescape(error.group(1)), form
    assert await _owner_rows(owner_engine, "SELECT 1 FROM api_tokens", SNGV) == []


async def test_only_admins_reach_the_token_pages(client: AsyncTestClient[Litestar], csrf: Csrf) -> None:
    await sign_in(client, FOCAL_POINT)
    assert (await client.get(f"{TOKENS}/")).status_code == 403
    await sign_in(client, TENANT_ADMIN)
    assert (await client.get(f"{SNGV}/quan-tri/tinh/ma-api/")).status_code == 403  # no province right
    await sign_in(client, PROVINCE_ADMIN)
    page = await client.get(f"{PROVINCE_TOKENS}/")
    assert page.status_code == 200
    assert "Gửi điểm khảo sát và chỉ số bên ngoài" in page.text
    assert "Tải lên tài liệu" not in page.text
    assert f'href="{PROVINCE_TOKENS}/"' in page.text


# ---- the token at the API: the guard, the database, revocation, expiry ---------------------------------------------


async def test_a_tenant_token_reads_its_results_with_its_scope_and_nothing_else(
    client: AsyncTestClient[Litestar], csrf: Csrf
) -> None:
    await sign_in(client, TENANT_ADMIN)
    results = await create_api_token(client, csrf, TOKENS, "Cổng kết quả", ["results:read"])
    files = await create_api_token(client, csrf, TOKENS, "Văn bản", ["evidence:read"])
    client.cookies.clear()

    ok = await client.get(f"/api/v1{SNGV}/ket-qua/2020", headers=_bearer(results))
    assert ok.status_code == 200, ok.text
    assert ok.json()["tenant"] == "so-ngoai-vu"
    refused = await client.get(f"/api/v1{SNGV}/ket-qua/2020", headers=_bearer(files))
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert refused.json()["message"] == "Mã truy cập API không được cấp quyền cho thao tác này"
    assert (await client.get(f"/api/v1{SNGV}/tai-lieu/2020", headers=_bearer(files))).status_code == 200
    assert (await client.get(f"/api/v1{SNGV}/tai-lieu/2020", headers=_bearer(results))).status_code == 403
    # another tenant of the same province, the province's results, and any page: refused
    assert (await client.get("/api/v1/t/ha-tinh/so-tu-phap/ket-qua/2020", headers=_bearer(results))).status_code == 403
    assert (await client.get(f"/api/v1{SNV}/ket-qua/tinh/2020", headers=_bearer(results))).status_code == 403
    assert (await client.get(f"{SNGV}/", headers=_bearer(results))).status_code == 403
    assert (await client.get(f"{SNGV}/tu-danh-gia/2020", headers=_bearer(results))).status_code == 403
    # the self-assessment's steps write: no token scope reaches them, results:read included
    step = await client.post(
        f"/api/v1{SNGV}/tu-danh-gia/2020/trang-thai", headers=_bearer(results), json={"action": "gui-duyet"}
    )
    assert (step.status_code, step.json()["code"]) == (403, "forbidden"), step.text


async def test_a_tenant_token_with_tasks_read_lists_the_whole_board_and_one_without_is_refused(
    client: AsyncTestClient[Litestar], csrf: Csrf
) -> None:
    tasks = f"/api/v1{SNGV}/ke-hoach/2020/nhiem-vu"
    await sign_in(client, FOCAL_POINT)
    body = {"area_code": "1", "title": "Ban hành kế hoạch", "deadline_text": "Quý II/2020"}
    created = await client.post(f"{tasks}/", json=body, headers={"x-csrftoken": await csrf()})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    await sign_in(client, TENANT_ADMIN)
    reader = await create_api_token(client, csrf, TOKENS, "Hệ thống theo dõi", ["tasks:read"])
    results = await create_api_token(client, csrf, TOKENS, "Cổng kết quả", ["results:read"])
    client.cookies.clear()

    listed = await client.get(f"{tasks}/", headers=_bearer(reader))
    assert listed.status_code == 200, listed.text
    assert [task["title"] for task in listed.json()["items"]] == ["Ban hành kế hoạch"]
    one = await client.get(f"{tasks}/{number}", headers=_bearer(reader))
    assert (one.status_code, one.json()["number"]) == (200, number)
    for path in (f"{tasks}/", f"{tasks}/{number}"):
        refused = await client.get(path, headers=_bearer(results))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    # reading is all it does: no write, and no other tenant's board
    assert (await client.post(f"{tasks}/", json=body, headers=_bearer(reader))).status_code == 403
    other = "/api/v1/t/ha-tinh/so-tu-phap/ke-hoach/2020/nhiem-vu/"
    assert (await client.get(other, headers=_bearer(reader))).status_code == 403


async def test_a_token_reads_the_plan_s_documents_with_tasks_read_and_no_administration_with_any_scope(
    client: AsyncTestClient[Litestar], csrf: Csrf
) -> None:
    await sign_in(client, TENANT_ADMIN)
    reader = await create_api_token(client, csrf, TOKENS, "Hệ thống theo dõi", ["tasks:read"])
    every = await create_api_token(
        client, csrf, TOKENS, "Mọi quyền", ["results:read", "evidence:read", "evidence:upload"]
    )
    await sign_in(client, PROVINCE_ADMIN)
    province = await create_api_token(
        client, csrf, PROVINCE_TOKENS, "Cổng của tỉnh", ["province-results:read", "external-scores:write"]
    )
    client.cookies.clear()

    plan = f"/api/v1{SNGV}/ke-hoach/2020/xuat/ke-hoach"
    for suffix in (".docx", ".xlsx"):
        assert (await client.get(plan + suffix, headers=_bearer(reader))).status_code == 200
        assert (await client.get(plan + suffix, headers=_bearer(every))).status_code == 403
    # what only people do: the audit log, importing a plan, deleting evidence, carrying tasks over, the province's
    # administration; refused to a token whatever its scopes, and to a province token in another province too
    for token, method, path in (
        (every, "GET", f"/api/v1{SNGV}/quan-tri/nhat-ky"),
        (reader, "POST", f"/api/v1{SNGV}/ke-hoach/2020/nhap/xem-truoc"),
        (every, "DELETE", f"/api/v1{SNGV}/tai-lieu/tep/{uuid.uuid4()}"),
        (every, "POST", f"/api/v1{SNGV}/don-vi-tien-than/chuyen-nhiem-vu"),
        (province, "GET", f"/api/v1{SNV}/quan-tri/nhat-ky"),
        (province, "GET", f"/api/v1{SNV}/quan-tri/tinh/don-vi"),
        (province, "POST", f"/api/v1{SNV}/quan-tri/tinh/moi"),
        (province, "GET", "/api/v1/t/ba-ria-vung-tau/so-noi-vu/quan-tri/tinh/don-vi"),
    ):
        refused = await client.request(method, path, headers=_bearer(token))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), (method, path, refused.text)


async def test_a_token_request_never_acts_with_a_session_cookie_beside_it(client: AsyncTestClient[Litestar]) -> None:
    """A bearer request is judged by its token alone: a browser session sent with an unknown token is no help."""
    await sign_in(client, FOCAL_POINT)
    assert (await client.get(f"/api/v1{SNGV}/ket-qua/2020")).status_code == 200  # the session alone reads it
    forged = await client.get(f"/api/v1{SNGV}/ket-qua/2020", headers=_bearer("pbt_" + "x" * 43))
    assert forged.status_code == 401
    assert forged.json()["code"] == "unauthenticated"


async def test_a_revoked_or_expired_token_gets_401(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, TENANT_ADMIN)
    revoked = await create_api_token(client, csrf, TOKENS, "Thu hồi", ["results:read"])
    expired = await create_api_token(client, csrf, TOKENS, "Hết hạn", ["results:read"])
    url = f"/api/v1{SNGV}/ket-qua/2020"
    assert (await client.get(url, headers=_bearer(revoked))).status_code == 200

    (row,) = await _owner_rows(owner_engine, "SELECT id FROM api_tokens WHERE name = 'Thu hồi'", SNGV)
    token = await csrf(f"{TOKENS}/")
    done = await client.post(f"{TOKENS}/{row.id}/thu-hoi", data={"_csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "Đã thu hồi mã «Thu hồi»" in (await client.get(f"{TOKENS}/")).text
    again = await client.post(f"{TOKENS}/{row.id}/thu-hoi", data={"_csrf_token": token}, follow_redirects=False)
    assert again.status_code == 404  # a revoked token stays revoked
    assert (await client.get(url, headers=_bearer(revoked))).status_code == 401

    async with owner_engine.begin() as db:  # the owner moves the expiry into the past (the app's role may not)
        await db.execute(text("SELECT set_config('app.checking_session', 'on', true)"))
        await db.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE name = 'Hết hạn'"))
    assert (await client.get(url, headers=_bearer(expired))).status_code == 401


async def test_a_province_token_reads_its_province_and_no_other(client: AsyncTestClient[Litestar], csrf: Csrf) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    token = await create_api_token(client, csrf, PROVINCE_TOKENS, "Cổng của tỉnh", ["province-results:read"])
    client.cookies.clear()
    ours = await client.get(f"/api/v1{SNV}/ket-qua/tinh/2020", headers=_bearer(token))
    assert ours.status_code == 200, ours.text
    assert ours.json()["province"] == "ha-tinh"
    theirs = await client.get("/api/v1/t/ba-ria-vung-tau/so-noi-vu/ket-qua/tinh/2023", headers=_bearer(token))
    assert theirs.status_code == 403
    assert (await client.get(f"/api/v1{SNGV}/ket-qua/2020", headers=_bearer(token))).status_code == 403


async def test_the_database_accepts_a_token_where_the_token_reaches_and_nowhere_else(
    client: AsyncTestClient[Litestar], csrf: Csrf, app_engine: AsyncEngine
) -> None:
    """The second wall: `app_tenant()` (every tenant policy) asks `session_person` about the token itself."""
    await sign_in(client, PROVINCE_ADMIN)
    province = await create_api_token(client, csrf, PROVINCE_TOKENS, "Tỉnh", ["province-results:read"])
    await sign_in(client, TENANT_ADMIN)
    tenant = await create_api_token(client, csrf, TOKENS, "Sở", ["results:read"])

    async def tenants_seen(token: str, province_code: str, tenant_code: str) -> int:
        async with app_engine.begin() as db:
            await db.execute(
                text(
                    "SELECT set_config('app.session', :s, true), set_config('app.tenant_id', (SELECT t.id::text "
                    "FROM tenants t JOIN provinces p ON p.id = t.province_id WHERE p.code = :p AND t.code = :t), true)"
                ),
                {"s": token, "p": province_code, "t": tenant_code},
            )
            return int(await db.scalar(text("SELECT count(*) FROM units")) or 0)

    assert await tenants_seen(province, "ha-tinh", "so-ngoai-vu") > 0  # a province token: the province's tenants
    assert await tenants_seen(province, "ba-ria-vung-tau", "so-noi-vu") == 0  # not another province's
    assert await tenants_seen(tenant, "ha-tinh", "so-ngoai-vu") > 0
    assert await tenants_seen(tenant, "ha-tinh", "so-tu-phap") == 0  # a tenant token: its tenant only
    assert await tenants_seen(tenant[:-1] + ("A" if tenant[-1] != "A" else "B"), "ha-tinh", "so-ngoai-vu") == 0
    async with app_engine.begin() as db:  # the application's role cannot read the hashes of other tenants either
        assert await db.scalar(text("SELECT count(*) FROM api_tokens")) == 0


# ---- audit and rate limit ------------------------------------------------------------------------------------------


async def test_every_write_and_the_first_read_of_the_day_are_audited_with_the_tokens_name(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, TENANT_ADMIN)
    token = await create_api_token(client, csrf, TOKENS, "QLVB", ["evidence:upload", "evidence:read"])
    client.cookies.clear()
    for _ in range(3):
        assert (await client.get(f"/api/v1{SNGV}/tai-lieu/2020", headers=_bearer(token))).status_code == 200
    for name in ("a.pdf", "b.pdf"):
        uploaded = await client.post(
            f"/api/v1{SNGV}/tai-lieu/2020/tieu-chi/1.2",
            headers=_bearer(token),
            files={"files": (name, PDF_BYTES, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
    rows = await _owner_rows(
        owner_engine,
        "SELECT actor, action, after FROM audit_log WHERE entity = 'api-token' AND action LIKE 'api.%'",
        SNGV,
    )
    assert sorted(r.action for r in rows) == ["api.read", "api.write", "api.write"]
    assert {r.actor for r in rows} == {"token:QLVB"}
    assert {r.after["path"] for r in rows if r.action == "api.write"} == {f"/api/v1{SNGV}/tai-lieu/2020/tieu-chi/1.2"}
    (used,) = await _owner_rows(owner_engine, "SELECT last_used_at FROM api_tokens", SNGV)
    assert used.last_used_at is not None


async def test_two_servers_share_one_limit_per_token_and_the_request_over_it_gets_429_with_retry_after(
    csrf: Csrf, database: DatabaseUrls, client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """Two app instances, each with its own connection pool (two server processes), count into one limit: the
    database counts each token's requests of the minute in the statement that checks the token (migration 0030)."""
    await sign_in(client, TENANT_ADMIN)
    token = await create_api_token(client, csrf, TOKENS, "Vội", ["results:read"])
    settings = make_settings(auth=replace(AuthSettings(), api_token_rate_per_minute=3))
    url = f"/api/v1{SNGV}/ket-qua/2020"
    async with (
        AsyncTestClient(app=create_app(settings, database)) as one,
        AsyncTestClient(app=create_app(settings, database)) as two,
    ):
        for _ in range(3):  # a round that a new minute cut in two counted in two windows: it is played again
            await _owner_rows(owner_engine, "UPDATE api_tokens SET rate_count = 0 RETURNING id", SNGV)
            answers = await asyncio.gather(*(c.get(url, headers=_bearer(token)) for c in (one, two) * 3))
            (counted,) = await _owner_rows(owner_engine, "SELECT rate_count FROM api_tokens", SNGV)
            if counted.rate_count == len(answers):
                break
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 429, 429, 429]
        for answer in answers:
            assert answer.headers["ratelimit-limit"] == "3"
            assert 1 <= int(answer.headers["ratelimit-reset"]) <= 60
        over = next(a for a in answers if a.status_code == 429)
        assert over.json() == {
            "code": "rate_limited",
            "message": over.json()["message"],
            "field": None,
        }
        assert "3 yêu cầu trong một phút" in over.json()["message"]
        assert over.headers["retry-after"] == over.headers["ratelimit-reset"]
        assert over.headers["ratelimit-remaining"] == "0"
        # sessions are not counted
        one.cookies.set(COOKIE, client.cookies[COOKIE])
        assert (await one.get(url)).status_code == 200
    rows = await _owner_rows(owner_engine, "SELECT action FROM audit_log WHERE actor = 'token:Vội'", SNGV)
    assert [r.action for r in rows] == ["api.read"]  # the day's first read; a refused request is not audited


# ---- the integrations: evidence from a document system, a survey from the province's system -------------------------


async def test_a_document_system_uploads_lists_and_downloads_evidence_with_the_pages_checks(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, TENANT_ADMIN)
    token = await create_api_token(client, csrf, TOKENS, "QLVB", ["evidence:upload", "evidence:read"])
    reader = await create_api_token(client, csrf, TOKENS, "Chỉ đọc", ["evidence:read"])
    client.cookies.clear()
    url = f"/api/v1{SNGV}/tai-lieu/2020/tieu-chi/1.2"
    uploaded = await client.post(
        url,
        headers=_bearer(token),
        data={"document": "640/KH-UBND ngày 24/02/2020", "description": "Kế hoạch CCHC"},
        files={"files": ("Kế hoạch.pdf", PDF_BYTES, "application/octet-stream")},
    )
    assert uploaded.status_code == 201, uploaded.text
    (stored,) = uploaded.json()["files"]
    assert stored["content_type"] == "application/pdf"
    assert stored["criterion"] == "1.2"
    assert stored["document_number"] == "640/KH-UBND"
    assert stored["document_date"] == "2020-02-24"

    listing = await client.get(f"/api/v1{SNGV}/tai-lieu/2020", headers=_bearer(reader), params={"tieu-chi": "1.2"})
    assert [f["id"] for f in listing.json()["files"]] == [stored["id"]]
    content = await client.get(stored["download"], headers=_bearer(reader))
    assert content.status_code == 200
    assert content.content == PDF_BYTES

    # what the pages refuse, the API refuses, and nothing is saved
    fake = await client.post(
        url, headers=_bearer(token), files={"files": ("x.pdf", b"<html>no</html>", "application/pdf")}
    )
    assert fake.status_code == 422
    assert "Không tệp nào được lưu" in fake.json()["message"]
    assert fake.json()["field"] == "files"
    assert (await client.post(url, headers=_bearer(reader), files={"files": ("a.pdf", PDF_BYTES)})).status_code == 403
    count = "SELECT count(*) FROM evidence_files"
    assert (await _owner_rows(owner_engine, count, SNGV))[0][0] == 1


def _answers_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["Phiếu,Đơn vị,Tiêu chí,Trả lời", *(",".join(row) for row in rows)]
    return "\n".join(lines).encode("utf-8")


async def test_the_provinces_survey_system_pushes_answers_all_or_nothing(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, PROVINCE_ADMIN)
    token = await create_api_token(client, csrf, PROVINCE_TOKENS, "Khảo sát", ["external-scores:write"])
    reader = await create_api_token(client, csrf, PROVINCE_TOKENS, "Cổng", ["province-results:read"])
    client.cookies.clear()
    url = f"/api/v1{SNV}/diem-ngoai/2020/phieu-khao-sat"
    bad = _answers_csv([("01", "xa-khong-co", "8", "A"), ("01", "phuong-thanh-sen", "8", "F")])
    refused = await client.post(
        url, headers=_bearer(token), params={"nhom": "xa-phuong"}, files={"tep": ("p.csv", bad, "text/csv")}
    )
    assert refused.status_code == 422
    assert "Dòng 2: đơn vị 'xa-khong-co' không có" in refused.json()["message"]
    assert refused.json()["field"] == "tep"
    scores = "SELECT count(*) FROM external_scores"
    assert (await _owner_rows(owner_engine, scores, "/t/ha-tinh/phuong-thanh-sen"))[0][0] == 0

    good = _answers_csv([(f"{i:02}", "phuong-thanh-sen", "8", a) for i, a in enumerate("AAAAABBBBBE", start=1)])
    files = {"tep": ("p.csv", good, "text/csv")}
    denied = await client.post(url, headers=_bearer(reader), params={"nhom": "xa-phuong"}, files=files)
    assert denied.status_code == 403
    saved = await client.post(url, headers=_bearer(token), params={"nhom": "xa-phuong"}, files=files)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {
        "year": 2020,
        "group": "xa-phuong",
        "tenants": ["phuong-thanh-sen"],
        "changed": 1,
        "not_applicable": [],
    }
    (row,) = await _owner_rows(
        owner_engine, "SELECT points, source FROM external_scores", "/t/ha-tinh/phuong-thanh-sen"
    )
    assert (str(row.points), row.source) == ("24.000", "api-survey")


BRVT_SNV = "/t/ba-ria-vung-tau/so-noi-vu"


async def _brvt_index_token(client: AsyncTestClient[Litestar], csrf: Csrf) -> str:
    """A token for Bà Rịa - Vũng Tàu's index system, made by its province admin (left signed in)."""
    await sign_in(client, "loc.dv@snv.brvt.example.vn")
    return await create_api_token(client, csrf, f"{BRVT_SNV}/quan-tri/tinh/ma-api", "Chỉ số", ["external-scores:write"])


async def test_the_provinces_index_system_pushes_the_filled_in_workbook(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    """DTI, SIPAS: the external-scores template of the page, filled in by the province's system."""
    brvt = BRVT_SNV
    token = await _brvt_index_token(client, csrf)
    page_template = await client.get(f"{brvt}/quan-tri/tinh/diem-ngoai/2023/mau.xlsx")
    client.cookies.clear()
    # the same blank workbook from the API, with the token
    template = await client.get(f"/api/v1{brvt}/diem-ngoai/2023/mau.xlsx", headers=_bearer(token))
    assert template.status_code == 200, template.text
    assert template.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "diem-ngoai-ba-ria-vung-tau-2023.xlsx" in template.headers["content-disposition"]
    workbook = openpyxl.load_workbook(BytesIO(template.content))
    page_sheet = openpyxl.load_workbook(BytesIO(page_template.content)).worksheets[0]
    assert [[c.value for c in r] for r in workbook.worksheets[0].iter_rows()] == [
        [c.value for c in r] for r in page_sheet.iter_rows()
    ]
    elsewhere = await client.get(
        "/api/v1/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong/diem-ngoai/2023/mau.xlsx", headers=_bearer(token)
    )
    assert elsewhere.status_code in {403, 404}, elsewhere.text
    sheet = workbook.worksheets[0]
    sheet["C2"], sheet["D2"], sheet["E2"] = 93.76, "mười ba", 19
    url = f"/api/v1{brvt}/diem-ngoai/2023/bang-tinh"
    refused = await client.post(url, headers=_bearer(token), files={"tep": ("d.xlsx", _saved(workbook))})
    assert refused.status_code == 422
    assert "Ô D2: " in refused.json()["message"]
    assert "Ô E2: " in refused.json()["message"]
    sheet["D2"], sheet["E2"] = 13.245, "17,375"
    saved = await client.post(url, headers=_bearer(token), files={"tep": ("d.xlsx", _saved(workbook))})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["tenants"], saved.json()["changed"]) == (["so-tai-nguyen-moi-truong"], 1)
    department = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
    rows = await _owner_rows(owner_engine, "SELECT points, source FROM external_scores ORDER BY points", department)
    assert [(str(r.points), r.source) for r in rows] == [
        ("9.376", "api-xlsx"),
        ("13.245", "api-xlsx"),
        ("17.375", "api-xlsx"),
    ]
    unknown = await client.post(url, headers=_bearer("pbt_" + "y" * 43), files={"tep": ("d.xlsx", b"x")})
    assert unknown.status_code == 401


async def test_the_provinces_index_system_puts_the_grid_s_cells_all_or_none(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    """The page's grid typed in over the API: one wrong cell and nothing is saved; a cell left out stays as it is."""
    token = await _brvt_index_token(client, csrf)
    client.cookies.clear()
    url = f"/api/v1{BRVT_SNV}/diem-ngoai/2023"
    department = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
    for cells, field in (
        ({"so-tai-nguyen-moi-truong": {"7": "93,76", "9.1": "13,2455"}}, "scores.so-tai-nguyen-moi-truong.9.1"),
        ({"so-tai-nguyen-moi-truong": {"1.1": "1"}}, "scores.so-tai-nguyen-moi-truong.1.1"),  # not entered here
        ({"so-ngoai-vu": {"7": "90"}}, "scores.so-ngoai-vu"),  # another province's department
    ):
        refused = await client.put(url, headers=_bearer(token), json={"scores": cells})
        assert (refused.status_code, refused.json()["field"]) == (422, field), refused.text
    stored = "SELECT points, source FROM external_scores ORDER BY points"
    assert await _owner_rows(owner_engine, stored, department) == []
    cells = {"so-tai-nguyen-moi-truong": {"7": "93,76", "9.1": "13.245", "9.2": "17,375"}}
    saved = await client.put(url, headers=_bearer(token), json={"scores": cells})
    assert saved.status_code == 200, saved.text
    assert (saved.json()["tenants"], saved.json()["changed"]) == (["so-tai-nguyen-moi-truong"], 1)
    cleared = await client.put(
        url, headers=_bearer(token), json={"scores": {"so-tai-nguyen-moi-truong": {"9.2": None}}}
    )
    assert cleared.status_code == 200, cleared.text
    rows = await _owner_rows(owner_engine, stored, department)
    assert [(str(r.points), r.source) for r in rows] == [("9.376", "api-form"), ("13.245", "api-form")]
    grid = await client.get(url, headers=_bearer(token))
    assert grid.status_code == 200, grid.text
    cells = grid.json()["scores"]["so-tai-nguyen-moi-truong"]
    assert {code: (cell["points"], cell["source"]) for code, cell in cells.items()} == {
        "7": ("9.376", "api-form"),
        "9.1": ("13.245", "api-form"),
    }
    assert cells["7"]["entered"].startswith("93.76")  # an index: the value typed, the points it gives
    assert {"7", "9.1", "9.2"} <= {c["code"] for c in grid.json()["criteria"]}
    assert "so-ngoai-vu" not in grid.json()["tenants"]
    other = await client.put("/api/v1/t/ha-tinh/so-noi-vu/diem-ngoai/2020", headers=_bearer(token), json={"scores": {}})
    assert other.status_code == 403  # another province's Sở Nội vụ


def _saved(workbook: openpyxl.Workbook) -> bytes:
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
