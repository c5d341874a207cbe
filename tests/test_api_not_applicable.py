"""The review's assignment to another appraising agency and "không áp dụng" over the JSON API, through the services
the pages call: the Sở Nội vụ assigns a criterion; a department claims a criterion does not apply and the province
accepts, refuses, decides and revokes. Each refused for the roles without the right, 404 for another province, bad
input a 4xx with a Vietnamese message and its field, and nothing of a refused write saved; an archived tenant 423."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import VIEWER
from tests.review_support import scalar as _scalar
from tests.review_support import self_assess_and_submit as _self_assess_and_submit
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

INSPECTOR = "toan.nv@snv.hatinh.example.vn"
ADMIN = "nghia.tv@snv.hatinh.example.vn"  # province_admin of Hà Tĩnh
FOCAL = "thao.ntp@sngv.hatinh.example.vn"
OTHER_PROVINCE = "tam.mtt@snv.brvt.example.vn"
CRITERION = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/tieu-chi/2.5"
CLAIMS = "/api/v1/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2020/khong-ap-dung"
DECISIONS = "/api/v1/t/ha-tinh/so-noi-vu/tinh/ket-qua/2020/khong-ap-dung"

Csrf = Callable[..., Awaitable[str]]


async def _count(engine: AsyncEngine, sql: str) -> int:
    return int(await _scalar(engine, "so-ngoai-vu", sql) or 0)  # type: ignore[call-overload]


async def test_the_inspector_assigns_a_criterion_to_another_agency_and_back(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, FOCAL)
    refused = await client.post(
        f"{CRITERION}/giao", json={"agency": "so-tu-phap"}, headers={"x-csrftoken": await csrf()}
    )
    assert refused.status_code == 403  # a department has no review right
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    for body, status, field in (
        ({"agency": "so-ngoai-vu"}, 422, "agency"),  # the reviewed department itself
        ({"agency": "khong-co"}, 422, "agency"),
        ({"agency": 5}, 400, "agency"),
        ({"agency": "x", "other": 1}, 400, None),
    ):
        bad = await client.post(f"{CRITERION}/giao", json=body, headers=headers)
        assert bad.status_code == status, bad.text
        assert bad.json()["field"] == field
        assert not bad.json()["message"].isascii()
    assert await _count(owner_engine, "SELECT count(*) FROM appraisal_items WHERE agency_tenant_id IS NOT NULL") == 0
    missing = await client.post(
        "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/tieu-chi/9.9/giao", json={}, headers=headers
    )
    assert missing.status_code == 404
    # a NUL, which PostgreSQL cannot store, is refused on its field before anything runs
    refused = await client.post(f"{CRITERION}/giao", json={"agency": "so-tai-nguyen-moi-truong\x00"}, headers=headers)
    assert (refused.status_code, refused.json()["field"]) == (400, "agency")
    agency = "so-tai-nguyen-moi-truong"
    assigned = await client.post(f"{CRITERION}/giao", json={"agency": agency}, headers=headers)
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["key"], assigned.json()["agency"]) == ("2.5", "so-tai-nguyen-moi-truong")
    assert (await client.get(CRITERION)).json()["agency"] == "so-tai-nguyen-moi-truong"
    back = await client.post(f"{CRITERION}/giao", json={"agency": None}, headers=headers)
    assert back.status_code == 200, back.text
    assert back.json()["agency"] is None
    assert await _count(owner_engine, "SELECT count(*) FROM audit_log WHERE action = 'review.assign'") == 2

    await sign_in(client, OTHER_PROVINCE)
    headers = {"x-csrftoken": await csrf()}
    other = await client.post(f"{CRITERION}/giao", json={"agency": ""}, headers=headers)
    assert other.status_code == 403  # not a member of Hà Tĩnh's Sở Nội vụ
    own = "/api/v1/t/ba-ria-vung-tau/so-noi-vu/tham-dinh/2020/phuong-thanh-sen/tieu-chi/2.5/giao"
    elsewhere = await client.post(own, json={"agency": ""}, headers=headers)
    assert elsewhere.status_code == 404  # a Hà Tĩnh commune through its own province's URL


async def test_a_department_claims_and_the_province_refuses_accepts_and_revokes(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await csrf()}
    for body, status, field in (
        ({"criterion": "9.9", "reason": "x"}, 422, "criterion"),
        ({"criterion": "8", "reason": "  "}, 422, "reason"),
        ({"criterion": "8", "reason": "x" * 2001}, 422, "reason"),
        ({"criterion": "8"}, 400, "reason"),
        ({"criterion": "9\x00", "reason": "x"}, 400, "criterion"),
    ):
        bad = await client.post(CLAIMS, json=body, headers=headers)
        assert bad.status_code == status, bad.text
        assert bad.json()["field"] == field
        assert not bad.json()["message"].isascii()
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 0
    for code in ("8", "3"):
        claimed = await client.post(CLAIMS, json={"criterion": code, "reason": "Không có TTHC"}, headers=headers)
        assert claimed.status_code == 201, claimed.text
        assert (claimed.json()["criterion"], claimed.json()["status"]) == (code, "claimed")
    listed = await client.get(CLAIMS)
    assert [c["criterion"] for c in listed.json()["items"]] == ["3", "8"]
    assert (await client.get(DECISIONS)).status_code in (403, 404)  # the province's list is not the department's
    refused = await client.post(
        f"{DECISIONS}/tra-loi", json={"tenant": "so-ngoai-vu", "criterion": "8", "accept": True}
    )
    assert refused.status_code == 403  # without the CSRF header
    refused = await client.post(
        f"{DECISIONS}/tra-loi", json={"tenant": "so-ngoai-vu", "criterion": "8", "accept": True}, headers=headers
    )
    assert refused.status_code == 403

    await sign_in(client, VIEWER)  # a department's reader reads its claims, does not claim
    assert (await client.get(CLAIMS)).status_code == 200
    viewer = await client.post(CLAIMS, json={"criterion": "7", "reason": "x"}, headers={"x-csrftoken": await csrf()})
    assert viewer.status_code == 403

    await sign_in(client, ADMIN)
    headers = {"x-csrftoken": await csrf()}
    listing = await client.get(DECISIONS)
    assert listing.status_code == 200, listing.text
    assert {(d["tenant"], d["criterion"], d["status"]) for d in listing.json()["items"]} == {
        ("so-ngoai-vu", "3", "claimed"),
        ("so-ngoai-vu", "8", "claimed"),
    }
    accepted = await client.post(
        f"{DECISIONS}/tra-loi", json={"tenant": "so-ngoai-vu", "criterion": "8", "accept": True}, headers=headers
    )
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["status_label"]) == ("decided", "Không áp dụng")
    with_nul = {"tenant": "so-ngoai-vu", "criterion": "3", "accept": False, "note": "Đơn vị có\x00 TTHC"}
    refused_note = await client.post(f"{DECISIONS}/tra-loi", json=with_nul, headers=headers)
    assert (refused_note.status_code, refused_note.json()["field"]) == (400, "note")
    answer = {"tenant": "so-ngoai-vu", "criterion": "3", "accept": False, "note": "Đơn vị có TTHC"}
    declined = await client.post(f"{DECISIONS}/tra-loi", json=answer, headers=headers)
    assert (declined.status_code, declined.json()["status"], declined.json()["answer"]) == (
        200,
        "refused",
        "Đơn vị có TTHC",
    )
    again = await client.post(f"{DECISIONS}/tra-loi", json=answer, headers=headers)
    assert (again.status_code, again.json()["message"]) == (404, "Không có đề nghị này đang chờ trả lời.")
    bad_answer = await client.post(f"{DECISIONS}/tra-loi", json={**answer, "accept": "có"}, headers=headers)
    assert (bad_answer.status_code, bad_answer.json()["field"]) == (400, "accept")
    revoked = await client.post(f"{DECISIONS}/bo", json={"tenant": "so-ngoai-vu", "criterion": "8"}, headers=headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] is True
    gone = await client.post(f"{DECISIONS}/bo", json={"tenant": "so-ngoai-vu", "criterion": "8"}, headers=headers)
    assert gone.status_code == 404
    actions = "SELECT string_agg(action, ',' ORDER BY action) FROM audit_log WHERE action LIKE 'not_applicable.%'"
    assert await _scalar(owner_engine, "so-ngoai-vu", actions) == (
        "not_applicable.accept,not_applicable.claim,not_applicable.claim,not_applicable.refuse,not_applicable.revoke"
    )
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 1


async def test_the_province_decides_not_applicable_and_bad_decisions_save_nothing(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, INSPECTOR)  # the review right is not the province's management right
    inspector = await client.post(
        DECISIONS,
        json={"tenant": "so-ngoai-vu", "criterion": "8", "reason": "x"},
        headers={"x-csrftoken": await csrf()},
    )
    assert inspector.status_code == 403
    await sign_in(client, ADMIN)
    headers = {"x-csrftoken": await csrf()}
    for body, status, field in (
        ({"tenant": "khong-co", "criterion": "8", "reason": "x"}, 422, "tenant"),
        ({"tenant": "so-ngoai-vu", "criterion": "", "reason": "x"}, 422, "criterion"),
        ({"tenant": "so-ngoai-vu", "criterion": "8", "reason": ""}, 422, "reason"),
        ({"tenant": "so-ngoai-vu", "criterion": "9.9", "reason": "x"}, 422, "criterion"),
        ({"tenant": "so-ngoai-vu", "criterion": "8"}, 400, "reason"),
    ):
        bad = await client.post(DECISIONS, json=body, headers=headers)
        assert bad.status_code == status, bad.text
        assert bad.json()["field"] == field
        assert not bad.json()["message"].isascii()
    no_set = await client.post(
        "/api/v1/t/ha-tinh/so-noi-vu/tinh/ket-qua/2031/khong-ap-dung",
        json={"tenant": "so-ngoai-vu", "criterion": "8", "reason": "x"},
        headers=headers,
    )
    assert no_set.status_code == 404
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 0
    with_nul = {"tenant": "so-ngoai-vu", "criterion": " 8 ", "reason": "Dưới 10\x00 phiếu"}
    refused = await client.post(DECISIONS, json=with_nul, headers=headers)
    assert (refused.status_code, refused.json()["field"]) == (400, "reason")
    decided = await client.post(
        DECISIONS, json={"tenant": "so-ngoai-vu", "criterion": " 8 ", "reason": "Dưới 10 phiếu"}, headers=headers
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["criterion"], decided.json()["status"]) == ("8", "decided")
    assert decided.json()["title"]
    assert decided.json()["reason"] == "Dưới 10 phiếu"

    await sign_in(client, FOCAL)  # the department cannot claim over the decision
    claim = await client.post(CLAIMS, json={"criterion": "8", "reason": "x"}, headers={"x-csrftoken": await csrf()})
    assert (claim.status_code, claim.json()["field"]) == (422, "criterion")

    await sign_in(client, OTHER_PROVINCE)
    other = await client.post(
        DECISIONS,
        json={"tenant": "so-ngoai-vu", "criterion": "8", "reason": "x"},
        headers={"x-csrftoken": await csrf()},
    )
    assert other.status_code == 403  # not a member of Hà Tĩnh's Sở Nội vụ
    assert (await client.get(DECISIONS)).status_code == 403
    assert (await client.get(CLAIMS)).status_code == 403


async def test_an_archived_tenant_refuses_the_decision_with_423(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    async with owner_engine.begin() as db:
        await db.execute(text("UPDATE tenants SET archived_on = '2025-07-01' WHERE code = 'so-ngoai-vu'"))
    await sign_in(client, ADMIN)
    archived = await client.post(
        DECISIONS,
        json={"tenant": "so-ngoai-vu", "criterion": "8", "reason": "x"},
        headers={"x-csrftoken": await csrf()},
    )
    assert archived.status_code == 423, archived.text
    assert archived.json()["code"] == "archived"
    assert await _count(owner_engine, "SELECT count(*) FROM not_applicable_decisions") == 0


async def test_the_review_s_texts_from_json_with_a_nul_are_refused_on_their_field_and_save_nothing(
    client: AsyncTestClient[Litestar], csrf: Csrf, owner_engine: AsyncEngine
) -> None:
    """A NUL in a JSON string reached PostgreSQL and answered 500; it is refused at the edge (backend.web.input)."""
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    step = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/buoc"
    for path, body, field in (
        (f"{CRITERION}/yeu-cau", {"message": "Bổ sung\x00 quyết định"}, "message"),
        (f"{CRITERION}/quyet-dinh", {"decision": "score", "points": "0,5\x00", "reason": "x"}, "points"),
        (f"{CRITERION}/quyet-dinh", {"decision": "score", "points": "0,5", "reason": "Thiếu\x00"}, "reason"),
        (step, {"step": "tra-lai", "reason": "Thiếu\x00 hồ sơ"}, "reason"),
    ):
        refused = await client.post(path, json=body, headers=headers)
        assert (refused.status_code, refused.json()["code"], refused.json()["field"]) == (400, "invalid_request", field)
        assert not refused.json()["message"].isascii()
    assert await _count(owner_engine, "SELECT count(*) FROM audit_log WHERE action LIKE 'review.%'") == 0
