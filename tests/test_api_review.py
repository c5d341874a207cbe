"""The review over the JSON API: the Sở Nội vụ's inspector reads the province's departments as the review list
shows them, decides a criterion and asks for evidence through the same services as the review page; the
department answers. A department's own people are refused the inspector's operations, bad input is a 4xx with a
Vietnamese message and its field, and nothing of a refused write is saved."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import VIEWER
from tests.review_support import KEYS, survey_part_not_applicable
from tests.review_support import scalar as _scalar
from tests.review_support import self_assess_and_submit as _self_assess_and_submit
from tests.samples import PDF_BYTES
from tests.support import sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

QUEUE = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020"
INSPECTOR = "toan.nv@snv.hatinh.example.vn"
FOCAL = "thao.ntp@sngv.hatinh.example.vn"


async def test_the_inspector_reads_the_queue_with_a_started_department(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]]
) -> None:
    await sign_in(client, FOCAL)
    started = await client.post(
        "/api/v1/t/ha-tinh/so-ngoai-vu/tu-danh-gia/2020/bat-dau", headers={"x-csrftoken": await csrf()}
    )
    assert started.status_code == 200, started.text
    assert (await client.get(QUEUE)).status_code == 403  # a department's focal point has no review right
    await sign_in(client, INSPECTOR)
    queue = await client.get(QUEUE)
    assert queue.status_code == 200, queue.text
    lines = {line["tenant"]: line for line in queue.json()["items"]}
    assert lines["so-ngoai-vu"]["submission"] == "Chưa nộp"
    assert lines["so-ngoai-vu"]["submission_version"] is None
    assert lines["so-ngoai-vu"]["page_url"] == "/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu"
    no_set = await client.get("/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2031")
    assert (no_set.status_code, no_set.json()["message"]) == (404, "Tỉnh chưa ban hành bộ chỉ số năm 2031.")


async def test_without_a_session_the_queue_answers_401(client: AsyncTestClient[Litestar]) -> None:
    assert (await client.get(QUEUE)).status_code == 401


CRITERION = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/tieu-chi/1.7"
ANSWERS = "/api/v1/t/ha-tinh/so-ngoai-vu/giai-trinh/2020"


async def _count(engine: AsyncEngine, table: str) -> object:
    return await _scalar(engine, "so-ngoai-vu", f"SELECT count(*) FROM {table}")


async def test_the_inspector_decides_a_criterion_and_bad_decisions_save_nothing(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    early = await client.post(f"{CRITERION}/quyet-dinh", json={"decision": "accept"}, headers=headers)
    assert early.status_code == 422, early.text
    assert early.json()["message"].startswith("Đơn vị chưa nộp hồ sơ")
    await _self_assess_and_submit(owner_engine)
    before = await client.get(CRITERION)
    assert before.status_code == 200, before.text
    assert (before.json()["decided"], Decimal(before.json()["self_score"])) == (False, Decimal(1))
    refused = [
        ({"decision": "score", "points": "7", "reason": "Vượt"}, "points", "Điểm 7 vượt quá điểm tối đa 1."),
        ({"decision": "score", "points": "0,5"}, "reason", "Cần ghi lý do cho điểm thẩm định."),
        ({"decision": "score", "points": "abc", "reason": "x"}, "points", None),
        ({"decision": "maybe"}, "decision", "Chọn giữ điểm tự chấm hoặc nhập điểm thẩm định."),
    ]
    for body, field, message in refused:
        response = await client.post(f"{CRITERION}/quyet-dinh", json=body, headers=headers)
        assert (response.status_code, response.json()["field"]) == (422, field), (body, response.text)
        assert not response.json()["message"].isascii()
        if message is not None:
            assert response.json()["message"] == message
    unknown = await client.post(f"{CRITERION}/quyet-dinh", json={"decision": "accept", "x": 1}, headers=headers)
    assert unknown.status_code == 400, unknown.text
    assert await _count(owner_engine, "appraisal_items") == 0

    scored = await client.post(
        f"{CRITERION}/quyet-dinh",
        json={"decision": "score", "points": "0,5", "reason": "Sáng kiến chưa được công nhận cấp tỉnh"},
        headers=headers,
    )
    assert scored.status_code == 200, scored.text
    body = scored.json()
    assert (body["decided"], body["accepted"], Decimal(body["points"])) == (True, False, Decimal("0.5"))
    assert body["points"] == "0.500"
    assert body["reason"] == "Sáng kiến chưa được công nhận cấp tỉnh"
    accepted = await client.post(f"{CRITERION}/quyet-dinh", json={"decision": "accept"}, headers=headers)
    assert (accepted.json()["accepted"], Decimal(accepted.json()["points"])) == (True, Decimal(1))
    assert await _count(owner_engine, "appraisal_items") == 1
    missing = await client.post(
        "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/tieu-chi/9.99/quyet-dinh",
        json={"decision": "accept"},
        headers=headers,
    )
    assert missing.status_code == 404

    await sign_in(client, FOCAL)  # the department cannot appraise itself
    focal = await client.post(
        f"{CRITERION}/quyet-dinh", json={"decision": "accept"}, headers={"x-csrftoken": await csrf()}
    )
    assert focal.status_code == 403
    assert (await client.get(CRITERION)).status_code == 403


async def test_an_evidence_request_is_answered_once_by_the_department(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    blank = await client.post(f"{CRITERION}/yeu-cau", json={"message": "  "}, headers=headers)
    assert (blank.status_code, blank.json()["field"]) == (422, "message")
    assert blank.json()["message"] == "Nhập nội dung yêu cầu bổ sung tài liệu."
    assert await _count(owner_engine, "evidence_requests") == 0
    asked = await client.post(
        f"{CRITERION}/yeu-cau", json={"message": "Bổ sung quyết định công nhận sáng kiến"}, headers=headers
    )
    assert asked.status_code == 201, asked.text
    [request] = asked.json()["requests"]
    assert (request["status"], request["round"]) == ("open", 1)
    assert (await client.post(f"{ANSWERS}/{request['id']}", json={"answer": "x"}, headers=headers)).status_code == 403

    await sign_in(client, VIEWER)  # reads the requests, cannot answer
    headers = {"x-csrftoken": await csrf()}
    listing = await client.get(ANSWERS)
    assert listing.status_code == 200, listing.text
    assert (listing.json()["open"], listing.json()["items"][0]["message"]) == (
        1,
        "Bổ sung quyết định công nhận sáng kiến",
    )
    assert (await client.post(f"{ANSWERS}/{request['id']}", json={"answer": "x"}, headers=headers)).status_code == 403

    await sign_in(client, FOCAL)
    headers = {"x-csrftoken": await csrf()}
    empty = await client.post(f"{ANSWERS}/{request['id']}", json={"answer": ""}, headers=headers)
    assert (empty.status_code, empty.json()["field"], empty.json()["message"]) == (
        422,
        "answer",
        "Nhập nội dung giải trình.",
    )
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT status FROM evidence_requests") == "open"
    unknown = await client.post(f"{ANSWERS}/{uuid.uuid4()}", json={"answer": "x"}, headers=headers)
    assert unknown.status_code == 404
    answered = await client.post(
        f"{ANSWERS}/{request['id']}", json={"answer": "Đã bổ sung quyết định"}, headers=headers
    )
    assert answered.status_code == 200, answered.text
    assert (answered.json()["status"], answered.json()["answer"]) == ("answered", "Đã bổ sung quyết định")
    again = await client.post(f"{ANSWERS}/{request['id']}", json={"answer": "Sửa lại"}, headers=headers)
    assert (again.status_code, again.json()["field"]) == (422, "answer")
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT answer FROM evidence_requests") == "Đã bổ sung quyết định"


async def test_the_sign_off_and_the_steps_on_the_whole_package_are_the_pages(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    steps = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/buoc"
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    unsigned = await client.post(f"{CRITERION}/ky-duyet", headers=headers)
    assert (unsigned.status_code, unsigned.json()["message"]) == (
        422,
        "Chưa có quyết định điểm ở vòng này để ký duyệt.",
    )
    assert (await client.post(f"{CRITERION}/quyet-dinh", json={"decision": "accept"}, headers=headers)).is_success
    signed = await client.post(f"{CRITERION}/ky-duyet", headers=headers)
    assert (signed.status_code, signed.json()["signed_off"]) == (200, True)

    unknown = await client.post(steps, json={"step": "xoa"}, headers=headers)
    assert (unknown.status_code, unknown.json()["field"]) == (422, "step")
    no_reason = await client.post(steps, json={"step": "tra-lai", "reason": " "}, headers=headers)
    assert (no_reason.status_code, no_reason.json()["field"]) == (422, "reason")
    assert no_reason.json()["message"] == "Cần ghi lý do trả lại hồ sơ."
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT status FROM submissions") == "submitted"

    round_2 = await client.post(steps, json={"step": "vong-2"}, headers=headers)
    assert round_2.status_code == 200, round_2.text
    assert (round_2.json()["round"], round_2.json()["appraisal"]) == (2, "round_2")
    again = await client.post(steps, json={"step": "vong-2"}, headers=headers)
    assert (again.status_code, again.json()["message"]) == (422, "Đã ở vòng 2.")

    await sign_in(client, FOCAL)  # the department cannot step its own review
    focal = await client.post(steps, json={"step": "tra-lai", "reason": "x"}, headers={"x-csrftoken": await csrf()})
    assert focal.status_code == 403

    await sign_in(client, INSPECTOR)
    returned = await client.post(
        steps, json={"step": "tra-lai", "reason": "Thiếu tài liệu kiểm chứng"}, headers={"x-csrftoken": await csrf()}
    )
    assert returned.status_code == 200, returned.text
    assert (returned.json()["submission"], returned.json()["submission_version"]) == ("returned", 1)
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT error FROM submissions") == "Thiếu tài liệu kiểm chứng"


async def test_publishing_over_the_api_needs_every_criterion_decided_then_publishes_the_appraisal(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await survey_part_not_applicable(owner_engine)  # the survey part does not apply here
    steps = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/buoc"
    base = "/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu/tieu-chi"
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    for key in KEYS[1:]:
        decided = await client.post(f"{base}/{key}/quyet-dinh", json={"decision": "accept"}, headers=headers)
        assert decided.status_code == 200, (key, decided.text)
    early = await client.post(steps, json={"step": "cong-bo"}, headers=headers)
    assert (early.status_code, early.json()["message"]) == (
        422,
        f"Còn 1 tiêu chí chưa có quyết định ở vòng 1: {KEYS[0]}",
    )
    assert await _count(owner_engine, "appraised_results") == 0
    first = await client.post(f"{base}/{KEYS[0]}/quyet-dinh", json={"decision": "accept"}, headers=headers)
    assert first.status_code == 200, first.text
    published = await client.post(steps, json={"step": "cong-bo"}, headers=headers)
    assert published.status_code == 200, published.text
    assert (published.json()["finalised"], published.json()["appraisal"]) == (True, "finalised")
    # every self-score kept: the appraisal publishes the self-assessed 75,75 (of 80, the survey not applying)
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT total::text FROM appraised_results") == "75.750"
    late = await client.post(f"{base}/1.7/quyet-dinh", json={"decision": "accept"}, headers=headers)
    assert (late.status_code, late.json()["message"]) == (422, "Kết quả thẩm định đã công bố: không sửa được nữa.")


async def test_the_inspector_reads_one_department_as_its_review_page_shows_it(
    client: AsyncTestClient[Litestar], csrf: Callable[..., Awaitable[str]], owner_engine: AsyncEngine
) -> None:
    """`api:review_department`: the review page's data from its services, its files downloadable by the inspector;
    the department itself, an unknown one and a year without a criteria set are refused."""
    overview = f"{QUEUE}/so-ngoai-vu"
    await sign_in(client, FOCAL)
    uploaded = await client.post(
        "/api/v1/t/ha-tinh/so-ngoai-vu/tai-lieu/2020/tieu-chi/1.7",
        files={"files": ("quyet-dinh.pdf", PDF_BYTES)},
        headers={"x-csrftoken": await csrf()},
    )
    assert uploaded.status_code == 201, uploaded.text
    await _self_assess_and_submit(owner_engine)
    assert (await client.get(overview)).status_code == 403  # a department does not review itself
    await sign_in(client, INSPECTOR)
    headers = {"x-csrftoken": await csrf()}
    decided = await client.post(f"{CRITERION}/quyet-dinh", json={"decision": "accept"}, headers=headers)
    assert decided.status_code == 200, decided.text

    response = await client.get(overview)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["tenant"], body["name"], body["year"], body["round"]) == ("so-ngoai-vu", "Sở Ngoại vụ", 2020, 1)
    assert (body["submission"], body["finalised"]) == ("submitted", False)
    criteria = {c["key"]: c for c in body["criteria"]}
    assert body["undecided"] == len(criteria) - 1
    page_only = {"explanation", "evidence_refs", "files"}  # what the criterion's own operation leaves out
    assert {k: v for k, v in criteria["1.7"].items() if k not in page_only} == (await client.get(CRITERION)).json()
    [evidence] = criteria["1.7"]["files"]
    assert (evidence["filename"], evidence["request"]) == ("quyet-dinh.pdf", None)
    download = await client.get(evidence["url"])
    assert (download.status_code, download.content) == (200, PDF_BYTES)
    assert Decimal(body["self_total"]) <= Decimal(body["total_max"])

    unknown = await client.get(f"{QUEUE}/khong-co")
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Không có đơn vị này trong tỉnh.")
    no_set = await client.get("/api/v1/t/ha-tinh/so-noi-vu/tham-dinh/2031/so-ngoai-vu")
    assert (no_set.status_code, no_set.json()["message"]) == (404, "Tỉnh chưa ban hành bộ chỉ số năm 2031.")
