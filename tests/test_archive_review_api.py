"""The inspector's review of an archived department (tenants/lineage.yaml) over the API says what the review page
shows: that it is an archive, since when, its successors (code, name, province) and its published result; a year it
has nothing of answers 404 `not_found` with the sentence the page shows."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.assessments.history import import_histories, load_histories
from backend.settings import PROJECT_ROOT
from tests.auth_support import publish_result
from tests.html_support import squash
from tests.lineage_support import HT_REVIEWER, HT_SNV, merge_departments
from tests.support import sign_in

REVIEW = f"{HT_SNV}/tham-dinh/2020"  # the year of the test's criteria set
ARCHIVE = "so-tai-nguyen-moi-truong"


async def _page_sentence(client: AsyncTestClient[Litestar]) -> tuple[str, str]:
    page = await client.get(f"{REVIEW}/{ARCHIVE}")
    assert page.status_code == 200
    lead = squash(page.text).split('id="review-archived-empty"', 1)[1].split("</p>", 1)[0]
    reason = lead.split('data-reason="', 1)[1].split('"', 1)[0]
    return reason, lead.split(">", 1)[1].strip()


async def test_a_year_the_archive_has_nothing_of_answers_404_with_the_page_s_sentence(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    await merge_departments(tmp_path, owner_engine)
    await sign_in(client, HT_REVIEWER)
    reason, sentence = await _page_sentence(client)
    assert (reason, sentence) == (
        "none",
        "Hồ sơ lưu trữ của Sở Tài nguyên và Môi trường không có hồ sơ thẩm định năm 2020.",
    )
    answer = await client.get(f"/api/v1{REVIEW}/{ARCHIVE}")
    assert answer.status_code == 404
    assert answer.json() == {"code": "not_found", "message": sentence, "field": None}

    # with its history (2022–2024) on parboard, 2020 is before its first record: the page and the API say so
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))
    reason, sentence = await _page_sentence(client)
    assert (reason, sentence) == (
        "before",
        "Sở Tài nguyên và Môi trường không có hồ sơ năm 2020 trên parboard: hồ sơ lưu trữ bắt đầu từ năm 2022.",
    )
    answer = await client.get(f"/api/v1{REVIEW}/{ARCHIVE}")
    assert (answer.status_code, answer.json()["message"]) == (404, sentence)


async def test_the_department_overview_marks_an_archive_with_its_successor_date_and_result(
    tmp_path: Path, owner_engine: AsyncEngine, client: AsyncTestClient[Litestar]
) -> None:
    await merge_departments(tmp_path, owner_engine)
    await publish_result(owner_engine, "ha-tinh", ARCHIVE, 2020, "80.5", 3, 12)
    await sign_in(client, HT_REVIEWER)
    page = squash((await client.get(f"{REVIEW}/{ARCHIVE}")).text)
    assert "Kết quả công bố năm 2020: tổng điểm 80,5, xếp hạng 3/12." in page

    answer = await client.get(f"/api/v1{REVIEW}/{ARCHIVE}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["archive"] == {
        "archived_on": "2025-03-01",
        "successors": [
            {
                "province": "ha-tinh",
                "province_name": "Tỉnh Hà Tĩnh",
                "tenant": "so-nong-nghiep-moi-truong",
                "name": "Sở Nông nghiệp và Môi trường",
            }
        ],
        "published": {"total": "80.500", "rank": 3, "rank_of": 12},
    }
    # a year it sent nothing of: no sheet to total, no criteria, as the page shows none
    assert (body["submission"], body["appraisal"], body["self_total"], body["criteria"], body["undecided"]) == (
        None,
        None,
        None,
        [],
        0,
    )

    live = (await client.get(f"/api/v1{REVIEW}/so-ngoai-vu")).json()
    assert live["archive"] is None
    assert live["self_total"] is not None
    assert live["criteria"]


async def test_the_schema_describes_the_archive_and_the_carried_over_tasks(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    components = schema["components"]["schemas"]
    overview = components["DepartmentOverviewOut"]["properties"]
    assert "archive" in overview
    assert {"archived_on", "successors", "published"} == set(components["ArchiveOut"]["properties"])
    assert {"province", "province_name", "tenant", "name"} == set(components["SuccessorOut"]["properties"])
    task = components["TaskOut"]["properties"]
    assert {"carried_from", "carried_to"} <= set(task)
    assert {"number", "tenant", "province", "carried_at", "url"} <= set(components["CarriedToOut"]["properties"])
    operation = schema["paths"]["/api/v1/t/{province_code}/{tenant_code}/tham-dinh/{year}/{department_code}"]["get"]
    assert "404" in operation["responses"]
