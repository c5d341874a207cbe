"""The inspectors' review (thẩm định) through the app on real PostgreSQL: who may see what, decisions with
their reasons and bad input refused next to the field, evidence requests answered by the department
before the explanation deadline, round 2, returning a package, finalising into the published result and
the ranking, and the remedy plan generated from the appraisal."""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.db.models import (
    Appraisal,
    AppraisedResult,
    Assessment,
)
from backend.db.rls import bind_tenant
from backend.domain.assessments import services as assessments
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.remedies import tasks
from backend.settings import Settings
from tests.factories import FOCAL, REVIEWER, SNGV, VIEWER, add_evidence, add_person, submitted
from tests.fixtures.csrf import csrf_token
from tests.html_support import squash
from tests.review_support import KEYS, survey_part_not_applicable
from tests.review_support import scalar as _scalar
from tests.review_support import self_assess_and_submit as _self_assess_and_submit
from tests.support import HTMX, sign_in, tenant_and_province

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

HOME = "/t/ha-tinh/so-noi-vu"
LIST = f"{HOME}/tham-dinh/2020"
SNGV_REVIEW = f"{LIST}/so-ngoai-vu"
OTHER_PROVINCE_REVIEWER = "tam.mtt@snv.brvt.example.vn"


async def _post(client: AsyncTestClient[Litestar], path: str, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    token = await csrf_token(client, LIST if "/tham-dinh/" in path else f"{SNGV}/giai-trinh/2020")
    return await client.post(path, data={**data, "_csrf_token": token}, **kwargs)  # type: ignore[arg-type]


def _criterion(key: str) -> str:
    return f"{SNGV_REVIEW}/tieu-chi/{key}"


async def _decide_all(client: AsyncTestClient[Litestar], overrides: dict[str, tuple[str, str]]) -> None:
    """Accept every self-score except `overrides` (key → (points, reason))."""
    token = await csrf_token(client, LIST)
    for key in KEYS:
        data = {"decision": "accept", "_csrf_token": token}
        if key in overrides:
            data = {"decision": "score", "points": overrides[key][0], "reason": overrides[key][1], "_csrf_token": token}
        response = await client.post(f"{_criterion(key)}/quyet-dinh", data=data, headers=HTMX)
        assert response.status_code == 200, (key, response.text)


async def _audited(owner_engine: AsyncEngine, tenant_code: str, action: str) -> int:
    """How many audit entries of `action` the tenant has."""
    count = await _scalar(owner_engine, tenant_code, f"SELECT count(*) FROM audit_log WHERE action = '{action}'")
    assert isinstance(count, int)
    return count


async def test_reviewer_sees_the_departments_of_their_province_only(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    listing = await client.get(LIST)
    assert listing.status_code == 200, listing.text
    assert 'href="/t/ha-tinh/so-noi-vu/tham-dinh/"' in listing.text  # the nav link for reviewers
    table = squash(listing.text[listing.text.index('id="review-list"') :])
    assert "Sở Ngoại vụ" in table
    assert "Sở Tài nguyên và Môi trường" in table
    assert "Đã nộp v1" in table
    assert "Chưa nộp" in table
    assert "Sở Nội vụ</a>" not in table  # the reviewers' own Sở is not reviewed
    # every one of Sở Ngoại vụ's 18 criteria has no evidence file yet: flagged
    sngv_line = re.search(r'<tr data-tenant="so-ngoai-vu">(.*?)</tr>', table, re.S)
    assert sngv_line
    assert '<span class="badge badge-danger">18</span>' in sngv_line.group(1)
    page = await client.get(SNGV_REVIEW)
    assert page.status_code == 200
    assert 'id="c-1-7"' in page.text
    assert "Chưa có tệp kiểm chứng" in page.text
    # another province's Sở Nội vụ, a department of another province, the reviewers' own Sở, nonsense
    assert (await client.get("/t/ba-ria-vung-tau/so-noi-vu/tham-dinh/2023")).status_code == 403
    assert (await client.get(f"{HOME}/tham-dinh/2020/khong-co")).status_code == 404
    assert (await client.get(f"{HOME}/tham-dinh/2020/so-noi-vu")).status_code == 404
    await sign_in(client, OTHER_PROVINCE_REVIEWER)
    assert (await client.get(LIST)).status_code == 403
    assert (await client.get(SNGV_REVIEW)).status_code == 403
    brvt = await client.get("/t/ba-ria-vung-tau/so-noi-vu/tham-dinh/2023")
    assert brvt.status_code == 200
    assert "Sở Ngoại vụ" not in brvt.text


async def test_a_department_member_cannot_reach_the_reviewer_pages(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, FOCAL)
    assert (await client.get(LIST)).status_code == 403
    assert (await client.get(SNGV_REVIEW)).status_code == 403
    assert (await client.get(f"{SNGV}/tham-dinh/2020")).status_code == 403
    token = await csrf_token(client, f"{SNGV}/giai-trinh/2020")
    response = await client.post(
        f"{_criterion('1.7')}/quyet-dinh", data={"decision": "accept", "_csrf_token": token}, headers=HTMX
    )
    assert response.status_code == 403
    home = await client.get(f"{SNGV}/")
    assert "/tham-dinh/" not in home.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM appraisal_items") == 0


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"decision": "score", "points": "0,5", "reason": "  "}, "reason", "Cần ghi lý do"),
        ({"decision": "score", "points": "1,5", "reason": "x"}, "points", "vượt quá điểm tối đa 1"),
        ({"decision": "score", "points": "-0,5", "reason": "x"}, "points", "không được âm"),
        ({"decision": "score", "points": "abc", "reason": "x"}, "points", "phải là một số"),
        ({"decision": "score", "points": "0,1234", "reason": "x"}, "points", "3 chữ số thập phân"),
        ({"decision": "score", "points": "", "reason": "x"}, "points", "Nhập điểm thẩm định"),
        ({"decision": "score", "points": "NaN", "reason": "x"}, "points", "hữu hạn"),
        ({"decision": "score", "points": "0,5", "reason": "x" * 4001}, "reason", "Tối đa 4.000"),
        ({"decision": ""}, "decision", "Chọn giữ điểm"),
    ],
)
async def test_bad_decisions_are_refused_next_to_the_field_and_nothing_is_saved(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, form: dict[str, str], field: str, message: str
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    response = await _post(client, f"{_criterion('1.7')}/quyet-dinh", form, headers=HTMX)
    assert response.status_code == 422, response.text
    error = re.search(rf'<p class="field-error" id="f-1-7-{field}-error">([^<]*)</p>', squash(response.text))
    assert error, response.text
    assert message in error.group(1)
    if form.get("points"):
        assert f'value="{form["points"]}"' in response.text  # what was typed comes back
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM appraisal_items") == 0
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM appraisals") == 0
    assert (
        await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM audit_log WHERE action LIKE 'review.%'") == 0
    )
    # without JavaScript: the whole page, with the same message next to the field
    plain = await _post(client, f"{_criterion('1.7')}/quyet-dinh", form)
    assert plain.status_code == 422
    assert "<html" in squash(plain.text)
    assert message in plain.text


async def test_decisions_are_exact_audited_in_both_tenants_and_cannot_start_before_submission(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine, submit=False)
    await sign_in(client, REVIEWER)
    early = await _post(client, f"{_criterion('1.7')}/quyet-dinh", {"decision": "accept"}, headers=HTMX)
    assert early.status_code == 422
    assert "chưa nộp hồ sơ" in early.text
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, _ = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        assessment = await db.scalar(select(Assessment))
        assert assessment is not None
        db.add(submitted(tenant.id, assessment.id))
    response = await _post(
        client,
        f"{_criterion('1.7')}/quyet-dinh",
        {"decision": "score", "points": "0.5", "reason": "Không có sáng kiến cấp tỉnh"},
        headers=HTMX,
    )
    assert response.status_code == 200, response.text
    assert 'id="appraised-1-7">0,5<' in squash(response.text)
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT points::text FROM appraisal_items") == "0.500"
    signed = await _post(client, f"{_criterion('1.7')}/ky-duyet", {}, headers=HTMX)
    assert signed.status_code == 200
    assert "Đã ký duyệt" in signed.text
    assert await _audited(owner_engine, "so-ngoai-vu", "review.decide") == 1
    assert await _audited(owner_engine, "so-noi-vu", "review.decide") == 1
    assert await _audited(owner_engine, "so-ngoai-vu", "review.sign-off") == 1


async def test_request_answered_by_the_department_shows_in_round_2(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    empty = await _post(client, f"{_criterion('1.7')}/yeu-cau", {"message": " "}, headers=HTMX)
    assert empty.status_code == 422
    assert 'id="f-1-7-message-error"' in empty.text
    asked = await _post(
        client, f"{_criterion('1.7')}/yeu-cau", {"message": "Bổ sung quyết định công nhận sáng kiến"}, headers=HTMX
    )
    assert asked.status_code == 200
    await _decide_all(client, {"1.7": ("0,5", "Sáng kiến chưa được công nhận cấp tỉnh")})

    request_id = await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_requests")
    await sign_in(client, VIEWER)
    seen = await client.get(f"{SNGV}/giai-trinh/2020")
    assert "Bổ sung quyết định công nhận sáng kiến" in seen.text
    assert 'name="answer"' not in seen.text
    viewer_answer = await _post(client, f"{SNGV}/giai-trinh/2020/{request_id}", {"answer": "x"}, headers=HTMX)
    assert viewer_answer.status_code == 403

    await sign_in(client, FOCAL)
    listing = await client.get(f"{SNGV}/giai-trinh/2020")
    assert "Bổ sung quyết định công nhận sáng kiến" in listing.text
    assert f'hx-get="/t/ha-tinh/so-ngoai-vu/tai-lieu/yeu-cau/{request_id}"' in listing.text  # files of the answer
    board = await client.get(f"{SNGV}/ke-hoach/2020")
    assert board.status_code == 200
    assert 'hx-get="/t/ha-tinh/so-ngoai-vu/giai-trinh/2020/tom-tat"' in board.text
    on_row = await client.get(f"{SNGV}/giai-trinh/2020/tieu-chi/1.7", headers=HTMX)
    assert "Bổ sung quyết định công nhận sáng kiến" in on_row.text
    assert "Bổ sung" not in (await client.get(f"{SNGV}/giai-trinh/2020/tieu-chi/1.2", headers=HTMX)).text
    on_board = await client.get(f"{SNGV}/giai-trinh/2020/tom-tat", headers=HTMX)
    assert "1 yêu cầu chờ giải trình" in on_board.text
    area = await client.get(f"{SNGV}/tu-danh-gia/2020/linh-vuc/1")
    assert 'hx-get="/t/ha-tinh/so-ngoai-vu/giai-trinh/2020/tieu-chi/1.7"' in area.text
    blank = await _post(client, f"{SNGV}/giai-trinh/2020/{request_id}", {"answer": ""}, headers=HTMX)
    assert blank.status_code == 422
    assert "Nhập nội dung giải trình" in blank.text
    answered = await _post(
        client,
        f"{SNGV}/giai-trinh/2020/{request_id}",
        {"answer": "Đã có Quyết định 12/QĐ-UBND công nhận"},
        headers=HTMX,
    )
    assert answered.status_code == 200, answered.text
    assert "Đã gửi giải trình" in answered.text
    again = await _post(client, f"{SNGV}/giai-trinh/2020/{request_id}", {"answer": "sửa lại"}, headers=HTMX)
    assert again.status_code == 422
    assert "không sửa lại" in again.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT answer FROM evidence_requests") == (
        "Đã có Quyết định 12/QĐ-UBND công nhận"
    )
    assert "0 yêu cầu" not in (await client.get(f"{SNGV}/giai-trinh/2020/tom-tat", headers=HTMX)).text

    await sign_in(client, REVIEWER)
    assert (await _post(client, f"{SNGV_REVIEW}/vong-3", {}, follow_redirects=False)).status_code == 404
    moved = await _post(client, f"{SNGV_REVIEW}/vong-2", {}, follow_redirects=False)
    assert moved.status_code == 303
    page = await client.get(SNGV_REVIEW)
    assert "Đang thẩm định vòng 2" in page.text
    html = squash(page.text)
    row = html[html.index('id="c-1-7"') :]
    row = row[: row.index("</article>")]
    assert "Đã có Quyết định 12/QĐ-UBND công nhận" in row
    assert "Vòng 1</dt><dd>0,5/1" in row
    assert 'id="appraised-1-7"><span class="muted">chưa quyết định' in row  # asked about: decided again
    assert 'id="appraised-1-2">1,42<' in html  # not asked about: carried over
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM appraisal_items WHERE round = 2") == 18
    refused = await _post(client, f"{SNGV_REVIEW}/cong-bo", {}, follow_redirects=False)
    assert refused.status_code == 303
    assert 'class="alert alert-error" role="alert"' in squash((await client.get(refused.headers["location"])).text)
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM appraised_results") == 0


async def _set_calendar(owner_engine: AsyncEngine, explanation_deadline: str) -> None:
    """Hà Tĩnh's 2020 calendar in the province's settings, as `tenants sync` stores it (ISO dates)."""
    calendar = {
        "self_assessment": {"from": "2020-10-01", "to": "2020-11-15"},
        "submission_deadline": "2020-11-20",
        "round_1": {"from": "2020-11-21", "to": "2020-11-30"},
        "explanation_deadline": explanation_deadline,
        "round_2": {"from": "2020-12-11", "to": "2020-12-20"},
    }
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "UPDATE provinces SET settings = jsonb_set(settings, '{calendar}', "
                "coalesce(settings->'calendar', '{}'::jsonb) || jsonb_build_object('2020', CAST(:cal AS jsonb)))"
                " WHERE code = 'ha-tinh'"
            ),
            {"cal": json.dumps(calendar)},
        )


async def test_answer_after_the_explanation_deadline_is_refused(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    await _post(client, f"{_criterion('2.5')}/yeu-cau", {"message": "Bổ sung báo cáo thi hành"}, headers=HTMX)
    # The province's calendar says the explanations were due on 10/12/2020.
    await _set_calendar(owner_engine, "2020-12-10")
    assert "Hạn giải trình: <strong>10/12/2020</strong>" in squash((await client.get(LIST)).text)
    await sign_in(client, FOCAL)
    listing = await client.get(f"{SNGV}/giai-trinh/2020")
    assert "Đã quá hạn giải trình (10/12/2020)" in listing.text
    assert 'name="answer"' not in listing.text
    request_id = await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_requests")
    late = await _post(client, f"{SNGV}/giai-trinh/2020/{request_id}", {"answer": "muộn"}, headers=HTMX)
    assert late.status_code == 422
    assert "Đã quá hạn giải trình (10/12/2020)" in late.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT status FROM evidence_requests") == "open"
    assert await _audited(owner_engine, "so-ngoai-vu", "review.answer") == 0


async def test_returning_the_package_needs_a_reason_and_stops_the_review(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    blank = await _post(client, f"{SNGV_REVIEW}/tra-lai", {"reason": ""})
    assert blank.status_code == 422
    assert 'id="f-tra-lai-reason-error">Cần ghi lý do trả lại hồ sơ.' in squash(blank.text)
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT status FROM submissions") == "submitted"
    done = await _post(
        client, f"{SNGV_REVIEW}/tra-lai", {"reason": "Thiếu tài liệu lĩnh vực 3"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT status FROM submissions") == "returned"
    assert await _audited(owner_engine, "so-ngoai-vu", "review.return") == 1
    assert await _audited(owner_engine, "so-noi-vu", "review.return") == 1
    refused = await _post(client, f"{_criterion('1.7')}/quyet-dinh", {"decision": "accept"}, headers=HTMX)
    assert refused.status_code == 422
    assert "bị trả lại" in refused.text
    listing = await client.get(LIST)
    assert "Trả lại" in listing.text


async def _publish_stnmt(owner_engine: AsyncEngine, total: str) -> None:
    """The other department's 2020 appraisal, finalised earlier with this total."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, _ = await tenant_and_province(db, "ha-tinh", "so-tai-nguyen-moi-truong")
        await bind_tenant(db, tenant.id)
        db.add(Appraisal(id=uuid.uuid4(), tenant_id=tenant.id, year=2020, status="finalised", round=1))
        db.add(
            AppraisedResult(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                year=2020,
                areas={"1": {"name": "Chỉ đạo", "achieved": total, "max": "80", "merged_into": None}},
                bonus=Decimal(0),
                penalty=Decimal(0),
                total=Decimal(total),
                source="test",
            )
        )
        await bind_tenant(db, None)


async def test_finalising_publishes_exact_totals_ranks_and_the_plan_starts_from_the_appraisal(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await _publish_stnmt(owner_engine, "76")
    # Hà Tĩnh 2020 has a 20-point survey part; here it does not apply to the Sở Ngoại vụ (seed 001 publishes
    # its criteria part alone, out of 80): finalising needs no survey score and publishes out of 80.
    await survey_part_not_applicable(owner_engine)
    await sign_in(client, REVIEWER)
    await _decide_all(
        client,
        {
            "1.7": ("0,5", "Không có sáng kiến cấp tỉnh"),
            "4.1.5": ("1.75", "Chưa hoàn thành 2 nhiệm vụ trọng tâm"),
        },
    )
    published = await _post(client, f"{SNGV_REVIEW}/cong-bo", {}, follow_redirects=False)
    assert published.status_code == 303, published.text
    assert "Đã công bố kết quả thẩm định." in (await client.get(published.headers["location"])).text
    # 75,75 self-scored (1.7 claimed in full) − 0,5 (1.7) − 0,25 (4.1.5) = 75
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT total::text FROM appraised_results") == "75.000"
    areas = await _scalar(owner_engine, "so-ngoai-vu", "SELECT areas FROM appraised_results")
    assert isinstance(areas, dict)
    assert areas["1"]["achieved"] == "8.920"
    assert areas["1"]["max"] == "10.000"
    assert areas["4"]["achieved"] == "11.750"
    assert sum(Decimal(a["achieved"]) for a in areas.values()) == Decimal(75)
    assert sum(Decimal(a["max"]) for a in areas.values()) == Decimal(80)  # the survey part did not apply
    # ranked among the province's published departments: 75 < 76
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT rank || '/' || rank_of FROM appraised_results") == "2/2"
    assert (
        await _scalar(owner_engine, "so-tai-nguyen-moi-truong", "SELECT rank || '/' || rank_of FROM appraised_results")
        == "1/2"
    )
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT status FROM appraisals") == "finalised"
    assert await _audited(owner_engine, "so-ngoai-vu", "review.finalise") == 1
    assert await _audited(owner_engine, "so-noi-vu", "review.finalise") == 1
    # nothing changes after publication
    late = await _post(client, f"{_criterion('1.2')}/quyet-dinh", {"decision": "accept"}, headers=HTMX)
    assert late.status_code == 422
    assert "đã công bố" in late.text
    listing = await client.get(LIST)
    line = re.search(r'<tr data-tenant="so-ngoai-vu">(.*?)</tr>', squash(listing.text), re.S)
    assert line
    assert "Đã công bố" in line.group(1)
    assert '<td class="num">75</td>' in line.group(1)
    assert '<td class="num">2/2</td>' in line.group(1)

    await sign_in(client, FOCAL)
    dashboard = await client.get(f"{SNGV}/")
    history = squash(dashboard.text[dashboard.text.index('id="history-table"') :])
    assert "<strong>75</strong>" in history
    assert '<td class="num">2/2</td>' in history

    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        await bind_tenant(db, tenant.id)
        loaded = await assessments.load(db, province, 2020)
        assert loaded is not None
        proposals = {p.criterion_code: p for p in await tasks.plan_proposals(db, 2020, loaded.sheet, [], set())}
        from_self = {p.criterion_code for p in tasks.proposals(loaded.sheet, [], set())}
        await bind_tenant(db, None)
    assert "1.7" not in from_self  # the department gave itself full marks …
    lowered = proposals["1.7"]  # … the appraisal did not
    assert lowered.points_lost == Decimal("0.500")
    assert lowered.points_max == Decimal(1)
    assert "Đạt 0,5/1 điểm (thẩm định)" in lowered.deficiency
    assert "Không có sáng kiến cấp tỉnh" in lowered.deficiency
    assert proposals["4.1.5"].points_lost == Decimal("1.250")
    assert "Chưa hoàn thành 2 nhiệm vụ trọng tâm" in proposals["4.1.5"].deficiency
    assert proposals["1.2"].points_lost == Decimal("0.080")  # accepted self-score: 1,42/1,5


AGENCY_REVIEWER = "tham-dinh.tp@stnmt.hatinh.example.vn"
AGENCY = "/t/ha-tinh/so-tai-nguyen-moi-truong"


async def _agency_reviewer(owner_engine: AsyncEngine) -> None:
    """A reviewer of another appraising agency of the province (here Sở Tài nguyên và Môi trường)."""
    await add_person(
        owner_engine,
        "ha-tinh",
        "so-tai-nguyen-moi-truong",
        AGENCY_REVIEWER,
        "province_reviewer",
        full_name="Thẩm định viên cơ quan khác",
        subject="agency-reviewer",
    )


async def test_a_criterion_assigned_to_another_agency_is_decided_by_its_reviewers_only(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await _agency_reviewer(owner_engine)
    await sign_in(client, REVIEWER)
    unknown = await _post(client, f"{_criterion('2.5')}/xoa", {}, headers=HTMX)
    assert unknown.status_code == 404  # only the four steps exist
    itself = await _post(client, f"{_criterion('2.5')}/giao", {"agency": "so-ngoai-vu"}, headers=HTMX)
    assert itself.status_code == 422
    assert 'id="f-2-5-agency-error"' in itself.text
    assigned = await _post(client, f"{_criterion('2.5')}/giao", {"agency": "so-tai-nguyen-moi-truong"}, headers=HTMX)
    assert assigned.status_code == 200, assigned.text
    assert "Giao: Sở Tài nguyên và Môi trường" in assigned.text

    await sign_in(client, AGENCY_REVIEWER)
    listing = await client.get(f"{AGENCY}/tham-dinh/2020")
    assert listing.status_code == 200
    assert "Sở Ngoại vụ" in listing.text
    page = await client.get(f"{AGENCY}/tham-dinh/2020/so-ngoai-vu")
    assert page.status_code == 200
    assert 'id="c-2-5"' in page.text
    assert 'id="c-1-7"' not in page.text
    assert "Hoàn tất và công bố" not in page.text
    token = await csrf_token(client, f"{AGENCY}/tham-dinh/2020")
    base = f"{AGENCY}/tham-dinh/2020/so-ngoai-vu"
    other = await client.post(
        f"{base}/tieu-chi/1.7/quyet-dinh", data={"decision": "accept", "_csrf_token": token}, headers=HTMX
    )
    assert other.status_code == 403
    decided = await client.post(
        f"{base}/tieu-chi/2.5/quyet-dinh",
        data={"decision": "score", "points": "0,5", "reason": "Theo Sở Tư pháp: đạt 90 %", "_csrf_token": token},
        headers=HTMX,
    )
    assert decided.status_code == 200, decided.text
    assert 'id="appraised-2-5">0,5<' in squash(decided.text)
    finalise = await client.post(f"{base}/cong-bo", data={"_csrf_token": token}, follow_redirects=False)
    assert finalise.status_code == 403
    assert await _audited(owner_engine, "so-tai-nguyen-moi-truong", "review.decide") == 1
    # a reviewer of another province cannot reach the agency's pages
    await sign_in(client, OTHER_PROVINCE_REVIEWER)
    assert (await client.get(f"{AGENCY}/tham-dinh/2020/so-ngoai-vu")).status_code == 403


async def _evidence_file(
    owner_engine: AsyncEngine, settings: Settings, code: str, name: str, data: bytes, request_id: str | None = None
) -> str:
    """An evidence file of Sở Ngoại vụ on a criterion: the blob in storage, then its row."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant = (await tenant_and_province(db, "ha-tinh", "so-ngoai-vu"))[0].id
    [file] = await add_evidence(
        owner_engine,
        storage_from_settings(settings),
        tenant,
        [(code, name, data)],
        document_number="175/KH-SNgV",
        document_date=None,
        request_id=uuid.UUID(request_id) if request_id else None,
    )
    return str(file.id)


async def test_the_reviewer_opens_the_evidence_inline_and_completeness_counts_it(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, settings: Settings
) -> None:
    await _self_assess_and_submit(owner_engine)
    data = b"%PDF-1.4\n% ke hoach\n" + uuid.uuid4().bytes
    file_id = await _evidence_file(owner_engine, settings, "1.2", "Kế hoạch CCHC năm 2020.pdf", data)
    await sign_in(client, REVIEWER)
    listing = await client.get(LIST)
    line = re.search(r'<tr data-tenant="so-ngoai-vu">(.*?)</tr>', squash(listing.text), re.S)
    assert line
    assert '<span class="badge badge-danger">17</span>' in line.group(1)
    page = await client.get(SNGV_REVIEW)
    assert f'href="{SNGV_REVIEW}/tep/{file_id}"' in page.text
    assert "Kế hoạch CCHC năm 2020.pdf" in page.text
    opened = await client.get(f"{SNGV_REVIEW}/tep/{file_id}")
    assert opened.status_code == 200
    assert opened.content == data
    assert opened.headers["content-disposition"].startswith("inline;")
    assert "K%E1%BA%BF%20ho%E1%BA%A1ch" in opened.headers["content-disposition"]
    assert (await client.get(f"{SNGV_REVIEW}/tep/{uuid.uuid4()}")).status_code == 404
    downloaded = await client.get(f"/api/v1{SNGV_REVIEW}/tep/{file_id}")  # the API's: a download, the same checks
    assert (downloaded.status_code, downloaded.content) == (200, data), downloaded.text
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    unknown = await client.get(f"/api/v1{SNGV_REVIEW}/tep/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    # a file sent with the department's answer shows under that exchange, and opens the same way
    await _post(client, f"{_criterion('1.2')}/yeu-cau", {"message": "Bổ sung báo cáo"}, headers=HTMX)
    request_id = str(await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_requests"))
    answer_id = await _evidence_file(owner_engine, settings, "1.2", "Báo cáo bổ sung.pdf", data + b"2", request_id)
    page = await client.get(SNGV_REVIEW)
    page_html = squash(page.text)
    exchange = page_html[page_html.index(f'id="yc-{request_id}"') :]
    assert f'href="{SNGV_REVIEW}/tep/{answer_id}"' in exchange[: exchange.index("</li>")]
    assert (await client.get(f"{SNGV_REVIEW}/tep/{answer_id}")).content == data + b"2"
    line = re.search(r'<tr data-tenant="so-ngoai-vu">(.*?)</tr>', squash((await client.get(LIST)).text), re.S)
    assert line
    assert '<span class="badge badge-danger">17</span>' in line.group(1)  # an answer is not the evidence
    await sign_in(client, FOCAL)
    assert (await client.get(f"{SNGV_REVIEW}/tep/{file_id}")).status_code == 403
    assert (await client.get(f"/api/v1{SNGV_REVIEW}/tep/{file_id}")).status_code == 403
    await sign_in(client, OTHER_PROVINCE_REVIEWER)
    assert (await client.get(f"{SNGV_REVIEW}/tep/{file_id}")).status_code == 403
    assert (await client.get(f"/api/v1{SNGV_REVIEW}/tep/{file_id}")).status_code == 403


async def _upload_answer_file(client: AsyncTestClient[Litestar], request_id: str, name: str, data: bytes):  # type: ignore[no-untyped-def]
    from tests.factories import multipart

    path = f"{SNGV}/tai-lieu/yeu-cau/{request_id}"
    token = await csrf_token(client, path)
    body, content_type = multipart([(name, data)])
    return await client.post(path, content=body, headers={"content-type": content_type, "x-csrftoken": token, **HTMX})


async def _evidence_requested(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, code: str, message: str
) -> str:
    """The submitted self-assessment, on whose criterion `code` the reviewer asked for evidence; the request's id,
    with the department's focal point signed in to answer it."""
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    await _post(client, f"{_criterion(code)}/yeu-cau", {"message": message}, headers=HTMX)
    request_id = str(await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_requests"))
    await sign_in(client, FOCAL)
    return request_id


async def test_a_file_after_the_explanation_deadline_is_refused_like_the_text(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    request_id = await _evidence_requested(client, owner_engine, "2.5", "Bổ sung báo cáo thi hành")
    early = await _upload_answer_file(client, request_id, "Báo cáo.pdf", b"%PDF-1.4\nsom\n%%EOF\n")
    assert early.status_code == 201, early.text
    await _set_calendar(owner_engine, "2020-12-10")
    panel = await client.get(f"{SNGV}/tai-lieu/yeu-cau/{request_id}")
    assert "Đã quá hạn giải trình (10/12/2020)" in panel.text
    assert 'type="file"' not in panel.text
    late = await _upload_answer_file(client, request_id, "Muộn.pdf", b"%PDF-1.4\nmuon\n%%EOF\n")
    assert late.status_code == 422
    assert "Đã quá hạn giải trình (10/12/2020)" in late.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM evidence_files") == 1
    assert await _audited(owner_engine, "so-ngoai-vu", "evidence.upload") == 1


async def test_files_of_a_sent_answer_cannot_be_deleted_and_the_review_keeps_them(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    request_id = await _evidence_requested(client, owner_engine, "1.7", "Bổ sung quyết định")
    draft = await _upload_answer_file(client, request_id, "Nháp.pdf", b"%PDF-1.4\nnhap\n%%EOF\n")
    assert draft.status_code == 201, draft.text
    draft_id = str(await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_files"))
    token = await csrf_token(client, f"{SNGV}/giai-trinh/2020")
    removed = await client.post(f"{SNGV}/tai-lieu/tep/{draft_id}/xoa", data={"_csrf_token": token}, headers=HTMX)
    assert removed.status_code == 200  # before the answer is sent, a draft file may still go
    sent = await _upload_answer_file(client, request_id, "Quyết định 12.pdf", b"%PDF-1.4\nqd\n%%EOF\n")
    assert sent.status_code == 201, sent.text
    file_id = str(
        await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_files WHERE deleted_at IS NULL")
    )
    answered = await _post(
        client, f"{SNGV}/giai-trinh/2020/{request_id}", {"answer": "Gửi kèm quyết định"}, headers=HTMX
    )
    assert answered.status_code == 200, answered.text
    panel = await client.get(f"{SNGV}/tai-lieu/yeu-cau/{request_id}")
    assert f"/tai-lieu/tep/{file_id}/xoa" not in panel.text
    criterion_panel = await client.get(f"{SNGV}/tai-lieu/2020/tieu-chi/1.7")
    assert "Quyết định 12.pdf" in criterion_panel.text
    assert f"/tai-lieu/tep/{file_id}/xoa" not in criterion_panel.text
    token = await csrf_token(client, f"{SNGV}/giai-trinh/2020")
    refused = await client.post(f"{SNGV}/tai-lieu/tep/{file_id}/xoa", data={"_csrf_token": token}, headers=HTMX)
    assert refused.status_code == 422
    assert "đã gửi" in refused.text
    plain = await client.post(f"{SNGV}/tai-lieu/tep/{file_id}/xoa", data={"_csrf_token": token})
    assert plain.status_code == 409
    assert (
        await _scalar(owner_engine, "so-ngoai-vu", f"SELECT deleted_at FROM evidence_files WHERE id = '{file_id}'")
        is None
    )
    await sign_in(client, REVIEWER)
    page = await client.get(SNGV_REVIEW)
    page_html = squash(page.text)
    exchange = page_html[page_html.index(f'id="yc-{request_id}"') :]
    assert f'href="{SNGV_REVIEW}/tep/{file_id}"' in exchange[: exchange.index("</li>")]


async def test_a_nul_in_review_forms_is_refused_on_a_clear_page_and_other_control_characters_are_dropped(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await _self_assess_and_submit(owner_engine)
    await sign_in(client, REVIEWER)
    for path, form, field in (
        (f"{_criterion('1.7')}/yeu-cau", {"message": "Bổ sung\x00 quyết định"}, "message"),
        (f"{_criterion('2.5')}/giao", {"agency": "so-tai-nguyen-moi-truong\x00"}, "agency"),
        (f"{_criterion('1.2')}/quyet-dinh", {"decision": "score", "points": "0,5", "reason": "Thiếu\x00"}, "reason"),
        (f"{SNGV_REVIEW}/tra-lai", {"reason": "\x00\x00"}, "reason"),
    ):
        refused = await _post(client, path, form, headers=HTMX)
        assert refused.status_code == 400, (path, refused.text)
        assert f"ký tự không lưu được ở «{field}»" in refused.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT count(*) FROM evidence_requests") == 0
    asked = await _post(
        client, f"{_criterion('1.7')}/yeu-cau", {"message": "Bổ sung quyết\x1b định\tcông nhận"}, headers=HTMX
    )
    assert asked.status_code == 200, asked.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT message FROM evidence_requests") == (
        "Bổ sung quyết định\tcông nhận"
    )
    decided = await _post(
        client,
        f"{_criterion('1.2')}/quyet-dinh",
        {"decision": "score", "points": "0,5", "reason": "Thiếu\x07 báo cáo\r\nquý 4"},
        headers=HTMX,
    )
    assert decided.status_code == 200, decided.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT reason FROM appraisal_items WHERE reason <> ''") == (
        "Thiếu báo cáo\nquý 4"
    )
    await sign_in(client, FOCAL)
    request_id = await _scalar(owner_engine, "so-ngoai-vu", "SELECT id::text FROM evidence_requests")
    answer = f"{SNGV}/giai-trinh/2020/{request_id}"
    assert (await _post(client, answer, {"answer": "Đã\x00 bổ sung"}, headers=HTMX)).status_code == 400
    answered = await _post(client, answer, {"answer": "Đã\x1f bổ sung"}, headers=HTMX)
    assert answered.status_code == 200, answered.text
    assert await _scalar(owner_engine, "so-ngoai-vu", "SELECT answer FROM evidence_requests") == "Đã bổ sung"
