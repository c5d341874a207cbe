"""The demo set with bonus and penalty areas (Bà Rịa – Vũng Tàu 2024: seed 004 Phụ lục 2 part III, capped) carried
through every surface that shows a total, on real PostgreSQL: the self-assessment page, its XLSX, the submission
package (manifest, index, XLSX inside), the inspectors' review, the published result, the province results, the
read API and the history beside seed 004's published years. Every one shows the same total, worked out here
from the entries: seed 004's 2023 components (87,225) + the bonus counted within its cap − the penalty."""

from __future__ import annotations

import json
import re
import zipfile
from decimal import Decimal
from io import BytesIO
from typing import Any

import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db.engine import create_session_maker
from backend.domain.assessments.history import import_histories, load_histories
from backend.domain.evidence.storage import LocalStorage
from backend.settings import PROJECT_ROOT
from tests.factories import (
    BONUS_PENALTY_ROWS,
    BONUS_PENALTY_YEAR,
    add_external_scores,
    build_all,
    drop_the_2024_calendar,
    multipart,
    submission_rows,
)
from tests.fixtures.submissions import _empty_queue  # noqa: F401 - the fixture
from tests.html_support import squash
from tests.samples import PDF_BYTES
from tests.support import HTMX, TEST_VAR, sign_in, tenant_and_province

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

STNMT = "/t/ba-ria-vung-tau/so-tai-nguyen-moi-truong"
SNV = "/t/ba-ria-vung-tau/so-noi-vu"
ASSESS = f"{STNMT}/tu-danh-gia/{BONUS_PENALTY_YEAR}"
PAGE = f"{STNMT}/nop-ho-so/{BONUS_PENALTY_YEAR}"
REVIEW = f"{SNV}/tham-dinh/{BONUS_PENALTY_YEAR}/so-tai-nguyen-moi-truong"
STAFF = "bao.vq@stnmt.brvt.example.vn"
LEADER = "hung.pv@stnmt.brvt.example.vn"
FOCAL = "lan.nt@stnmt.brvt.example.vn"
REVIEWER = "tam.mtt@snv.brvt.example.vn"

TOTAL = Decimal("87.225") + Decimal(2) - Decimal("1.5")  # 87,725: a subtracted bonus gives 83,725, no cap 88,225
TOTAL_VN = "87,725"
INDEX_VN = "87,73"  # of 100 applicable points, rounded once, half-up
SECTION = "Điều 1, khoản 2, trang 3"  # where in its document the evidence of 10.4 is


@pytest.fixture
def storage() -> LocalStorage:
    return LocalStorage(TEST_VAR / "blobs")


async def _csrf(client: AsyncTestClient[Litestar], path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text[:500]
    match = re.search(r'name="_csrf_token" value="([^"]+)"', squash(response.text)) or re.search(
        r'name="csrf-token" content="([^"]+)"', response.text
    )
    assert match
    return match.group(1)


async def _post(client: AsyncTestClient[Litestar], path: str, data: dict[str, str], *, token_from: str) -> Any:
    token = await _csrf(client, token_from)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def _self_assess_approve_submit(client: AsyncTestClient[Litestar]) -> None:
    await sign_in(client, STAFF)
    assert (await _post(client, f"{ASSESS}/bat-dau", {}, token_from=ASSESS)).status_code in (302, 303)
    for code, form in BONUS_PENALTY_ROWS:
        saved = await _post(client, f"{ASSESS}/tieu-chi/{code}", {**form, "version": "0"}, token_from=ASSESS)
        assert saved.status_code in (302, 303), (code, re.findall(r"(?:alert|error)[^>]*>([^<]+)", squash(saved.text)))
    # the bonus 10.4's evidence, naming where in the decision it is
    evidence = f"{STNMT}/tai-lieu/{BONUS_PENALTY_YEAR}/tieu-chi/10.4"
    body, content_type = multipart(
        [("Quyết định tự chủ.pdf", PDF_BYTES)], {"document": "Số 12/QĐ-STNMT ngày 05/03/2024", "section": SECTION}
    )
    token = await _csrf(client, evidence)
    uploaded = await client.post(
        evidence, content=body, headers={"content-type": content_type, "x-csrftoken": token, **HTMX}
    )
    assert uploaded.status_code == 201, uploaded.text[:500]
    assert "Đã lưu 1 tệp." in uploaded.text
    sent = await _post(client, f"{ASSESS}/trang-thai", {"action": "gui-duyet"}, token_from=ASSESS)
    assert sent.status_code in (302, 303)
    await sign_in(client, LEADER)
    approved = await _post(client, f"{ASSESS}/trang-thai", {"action": "duyet"}, token_from=ASSESS)
    assert "Đã duyệt bản tự đánh giá." in (await client.get(approved.headers["location"])).text
    await sign_in(client, FOCAL)
    assert (await _post(client, PAGE, {}, token_from=ASSESS)).status_code in (302, 303)


def _total_row(workbook_bytes: bytes) -> tuple[Decimal, Decimal, str]:
    """(max, score) of the XLSX's "Tổng điểm" row and the index printed under it."""
    ws = openpyxl.load_workbook(BytesIO(workbook_bytes)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    at = next(i for i, row in enumerate(rows) if row[1] == "Tổng điểm")
    total_max, score = rows[at][2], rows[at][3]
    assert isinstance(total_max, int | float)
    assert isinstance(score, int | float)
    return Decimal(str(total_max)), Decimal(str(score)), str(rows[at + 1][3])


async def test_a_capped_bonus_and_a_penalty_give_one_total_on_every_surface(
    client: AsyncTestClient[Litestar], jobs_engine: AsyncEngine, owner_engine: AsyncEngine, storage: LocalStorage
) -> None:
    await import_histories(owner_engine, load_histories(PROJECT_ROOT / "tenants"))  # seed 004, 2019–2023
    await drop_the_2024_calendar(owner_engine)
    await add_external_scores(owner_engine)
    await _self_assess_approve_submit(client)

    # the self-assessment page: the total, the bonus counted at its cap, the penalty, the index
    overview = await client.get(ASSESS)
    assert f'<output id="sheet-total">{TOTAL_VN}</output>' in squash(overview.text)
    assert "gồm điểm cộng 2, điểm trừ 1,5" in overview.text
    assert f'<output id="sheet-index">{INDEX_VN} %</output>' in squash(overview.text)
    assert "tính 2 (tối đa 2)" in overview.text  # the bonus area scored 2,5, counted 2

    # its XLSX: the total row, and the counted bonus and penalty lines above it
    export = await client.get(f"{ASSESS}/bang-tu-danh-gia.xlsx")
    assert export.status_code == 200
    assert _total_row(export.content) == (Decimal(100), TOTAL, f"{INDEX_VN} %")
    ws = openpyxl.load_workbook(BytesIO(export.content)).active
    assert ws is not None
    lines = {row[1]: row[3] for row in ws.iter_rows(values_only=True) if str(row[1]).endswith("được tính")}
    lines |= {row[1]: row[3] for row in ws.iter_rows(values_only=True) if "được tính (tối đa" in str(row[1])}
    assert lines == {"Điểm cộng được tính (tối đa 2 điểm)": 2, "Điểm trừ được tính (tối đa 3 điểm)": 1.5}
    assert {row[0]: row[3] for row in ws.iter_rows(values_only=True)}["10"] == 2.5  # the area as scored

    # the submission package: manifest, index page and the XLSX inside
    async with create_session_maker(owner_engine)() as db:
        stnmt = (await tenant_and_province(db, "ba-ria-vung-tau", "so-tai-nguyen-moi-truong"))[0].id
    assert await build_all(jobs_engine, storage, stnmt) == ["submitted"]  # as the worker builds it
    [submission] = await submission_rows(owner_engine, stnmt)
    download = await client.get(f"{PAGE}/lan/{submission.version}/tai-ve")
    assert download.status_code == 200
    archive = zipfile.ZipFile(BytesIO(download.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert Decimal(manifest["assessment"]["total_self_score"]) == TOTAL
    assert manifest["assessment"]["adjustments"] == [
        {"label": "Điểm cộng được tính (tối đa 2 điểm)", "points": "2.000"},
        {"label": "Điểm trừ được tính (tối đa 3 điểm)", "points": "1.500"},
    ]
    index_page = squash(archive.read("index.html").decode())
    assert f"{TOTAL_VN}/100" in index_page
    assert "<dt>Điểm cộng được tính (tối đa 2 điểm)</dt><dd>2</dd>" in index_page
    assert "<dt>Điểm trừ được tính (tối đa 3 điểm)</dt><dd>1,5</dd>" in index_page
    assert f"Số 12/QĐ-STNMT ngày 05/03/2024 – {SECTION}</li>" in index_page
    [evidence] = manifest["files"]
    assert (evidence["criterion"], evidence["document_section"]) == ("10.4", SECTION)
    inner = next(n for n in archive.namelist() if n.startswith("tu-danh-gia-") and n.endswith(".xlsx"))
    assert _total_row(archive.read(inner)) == (Decimal(100), TOTAL, f"{INDEX_VN} %")

    # the inspectors' review: the self-score, then the appraised total as every row is accepted
    await sign_in(client, REVIEWER)
    review = await client.get(REVIEW)
    assert f"Tự chấm {TOTAL_VN}/100" in review.text
    assert (
        f'Quyết định tự chủ.pdf</a> · Số 12/QĐ-STNMT ngày 05/03/2024 · <span class="evidence-section">{SECTION}</span>'
        in squash(review.text)
    )
    token = await _csrf(client, REVIEW)
    for code, _ in BONUS_PENALTY_ROWS:
        decided = await client.post(
            f"{REVIEW}/tieu-chi/{code}/quyet-dinh", data={"decision": "accept", "_csrf_token": token}, headers=HTMX
        )
        assert decided.status_code == 200, (code, decided.text[:500])
    review = await client.get(REVIEW)
    assert f'<output id="appraised-total">{TOTAL_VN}</output>' in squash(review.text)
    published = await client.post(f"{REVIEW}/cong-bo", data={"_csrf_token": token}, follow_redirects=False)
    assert published.status_code == 303, published.text[:500]
    async with owner_engine.begin() as db:
        await db.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(stnmt)})
        result = (
            await db.execute(
                text("SELECT bonus, penalty, total FROM appraised_results WHERE year = :y"), {"y": BONUS_PENALTY_YEAR}
            )
        ).one()
    assert tuple(result) == (Decimal(2), Decimal("1.5"), TOTAL)

    # the province results (page and API)
    results = await client.get(f"{SNV}/tinh/ket-qua/{BONUS_PENALTY_YEAR}")
    line = re.search(
        r"<tr><td[^>]*>[^<]*</td><td>Sở Tài nguyên và Môi trường</td>(.*?)</tr>", squash(results.text), re.S
    )
    assert line, results.text[:2000]
    assert f'<td class="num">{TOTAL_VN}</td>' in line.group(1)
    assert f"{INDEX_VN} %" in line.group(1)

    # the department's own API and its history, beside seed 004's published years (still exact)
    await sign_in(client, FOCAL)
    api = (await client.get(f"/api/v1{STNMT}/ket-qua/{BONUS_PENALTY_YEAR}")).json()
    assert (Decimal(str(api["points"])), Decimal(str(api["index"]))) == (TOTAL, Decimal(INDEX_VN.replace(",", ".")))
    dashboard = await client.get(f"{STNMT}/")
    dashboard_html = squash(dashboard.text)
    history = dashboard_html[dashboard_html.index('id="history-table"') :]
    assert f"<strong>{TOTAL_VN}</strong>" in history
    assert "<strong>87,225</strong>" in history  # 2023 as published
