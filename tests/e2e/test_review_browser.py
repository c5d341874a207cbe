"""From evidence to appraisal in a real browser: the focal point of Hà Tĩnh's Sở Ngoại vụ uploads two files at
once to a criterion of the 2020 self-assessment, submits the (approved) assessment and downloads the package the
job worker built, with the files under their own names; an inspector of the Sở Nội vụ appraises a criterion (a
score without a reason is refused next to the field, then saved with one) and asks for more evidence on another;
the department sees the request on its row, answers it with a file and a text, and the inspector sees the answer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from playwright.async_api import Dialog, FilePayload, Page, expect
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.auth.permissions import Permission
from backend.db.engine import create_session_maker
from backend.db.models import User
from backend.db.rls import bind_tenant
from backend.db.runtime import DatabaseUrls
from backend.domain.assessments import services as assessments
from backend.jobs.worker import Worker
from tests.e2e.conftest import BrowserProblems, LiveStack, sign_in_through_provider
from tests.factories import LEADER, SNGV, STAFF
from tests.support import SEED_001, make_settings, tenant_and_province

pytestmark = pytest.mark.browser

FOCAL = "Nguyễn Thị Phương Thảo"  # thao.ntp@sngv.hatinh.example.vn, focal point: uploads, submits, answers
INSPECTOR = "Nguyễn Văn Toàn"  # toan.nv@snv.hatinh.example.vn, province_reviewer of the Sở Nội vụ
AREA_1 = f"{SNGV}/tu-danh-gia/2020/linh-vuc/1"
SUBMIT = f"{SNGV}/nop-ho-so/2020"
REVIEW = "/t/ha-tinh/so-noi-vu/tham-dinh/2020/so-ngoai-vu"
WAIT = 5_000  # ms, for every expectation about what a click changes
BUILD_WAIT = 20_000  # ms, for the worker to build the package (the status polls every second)

PDF_NAME = "Kế hoạch số 640.pdf"
PNG_NAME = "Ảnh niêm yết TTHC.png"
ANSWER_NAME = "Báo cáo bổ sung.pdf"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = base64.b64decode(  # 1×1 pixel
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
REASON = "Kế hoạch CCHC năm 2020 ban hành muộn so với quy định."
REQUEST = "Bổ sung báo cáo kết quả thực hiện kế hoạch tuyên truyền CCHC năm 2020."
ANSWER = "Đã bổ sung Báo cáo số 51/SNgV-VP ngày 15/01/2021."


@pytest.fixture
async def worker(database: DatabaseUrls, owner_engine: AsyncEngine) -> AsyncIterator[None]:
    """A job worker beside the live stack, as `parboard demo` runs one: it builds the submitted package into the
    live app's storage (the same settings' var directory)."""
    running_worker = Worker(make_settings(env="development"), database, dequeue_timeout=timedelta(seconds=1))
    running = asyncio.create_task(running_worker.run())
    yield
    running_worker.stop()
    await asyncio.wait_for(running, timeout=30)
    async with owner_engine.begin() as db:
        await db.execute(
            text(
                "TRUNCATE pgqueuer.pgqueuer, pgqueuer.pgqueuer_log, pgqueuer.pgqueuer_schedules, "
                "pgqueuer.pgqueuer_statistics RESTART IDENTITY"
            )
        )


async def _change_assessment(owner_engine: AsyncEngine, *, approve: bool) -> None:
    """Sở Ngoại vụ's 2020 self-assessment through the assessment services, as the buttons would: started and
    every row of seed 001 entered by the staff member (a draft); or sent for approval and approved by the leader."""
    async with create_session_maker(owner_engine)() as db, db.begin():
        tenant, province = await tenant_and_province(db, "ha-tinh", "so-ngoai-vu")
        people = dict((await db.execute(select(User.email, User.id).where(User.email.in_([STAFF, LEADER])))).all())
        await bind_tenant(db, tenant.id)
        if not approve:
            await assessments.start(db, tenant, province, 2020, people[STAFF])
            for code, form in SEED_001:
                loaded = await assessments.load(db, province, 2020)
                assert loaded is not None
                row = loaded.sheet.row(code, remainder=form.get("phan") == "con-lai")
                assert not (await assessments.save_row(db, tenant, loaded, row, form, people[STAFF])).errors
        else:
            steps = [("gui-duyet", STAFF, Permission.ASSESSMENT_EDIT), ("duyet", LEADER, Permission.ASSESSMENT_APPROVE)]
            for action, person, permission in steps:
                loaded = await assessments.load(db, province, 2020)
                assert loaded is not None
                await assessments.transition(db, tenant, loaded, action, "", people[person], {permission.value})
        await bind_tenant(db, None)


def _is_post(stack: LiveStack, path: str) -> Callable[..., bool]:
    url = f"{stack.url}{path}"
    return lambda response: response.url == url and response.request.method == "POST"


@pytest.mark.usefixtures("criteria", "worker")
async def test_evidence_uploaded_submitted_in_the_package_appraised_requested_and_answered(
    page: Page,
    new_page: Callable[[], Awaitable[Page]],
    live_stack: LiveStack,
    owner_engine: AsyncEngine,
    problems: BrowserProblems,
) -> None:
    await _change_assessment(owner_engine, approve=False)

    # 1. The focal point uploads two files at once to criterion 1.2, through the row's evidence panel.
    await sign_in_through_provider(page, live_stack, FOCAL)
    await expect(page.locator(".site-header .user-name")).to_have_text(FOCAL)
    await page.goto(AREA_1)
    panel = page.locator("section#ev-2020-1-2")
    await expect(panel.get_by_text("Chưa có tệp kiểm chứng.")).to_be_visible(timeout=WAIT)  # loaded by htmx
    files: list[FilePayload] = [
        {"name": PDF_NAME, "mimeType": "application/pdf", "buffer": PDF},
        {"name": PNG_NAME, "mimeType": "image/png", "buffer": PNG},
    ]
    await panel.locator("summary", has_text="Đính kèm minh chứng").click()  # folded on a self-assessment row
    await panel.locator("input#ev-2020-1-2-files").set_input_files(files)
    async with page.expect_response(_is_post(live_stack, f"{SNGV}/tai-lieu/2020/tieu-chi/1.2")) as info:
        await panel.get_by_role("button", name="Tải lên", exact=True).click()
    response = await info.value
    assert response.status == 201, await response.text()
    assert response.request.headers.get("hx-request") == "true", "the files were not posted by htmx"
    await expect(panel.get_by_role("status")).to_have_text("Đã lưu 2 tệp.", timeout=WAIT)
    await expect(panel.locator("h4.evidence-title")).to_have_text("Tài liệu kiểm chứng (2)")
    for name in (PDF_NAME, PNG_NAME):
        await expect(panel.get_by_role("link", name=name, exact=True)).to_be_visible()

    # 2. Approved by the leader (set up through the services), submitted in the browser, built by the worker.
    await _change_assessment(owner_engine, approve=True)
    await page.goto(SUBMIT)
    asked: list[str] = []

    async def confirm(dialog: Dialog) -> None:  # the button asks first, naming the criteria without evidence
        asked.append(dialog.message)
        await dialog.accept()

    page.once("dialog", confirm)
    await page.get_by_role("button", name="Nộp hồ sơ cho Sở Nội vụ", exact=True).click()
    await expect(page.get_by_role("status").filter(has_text="hồ sơ đang được đóng gói")).to_be_visible(timeout=WAIT)
    assert asked
    assert asked[0].startswith("Nộp hồ sơ tự đánh giá năm")
    assert "tiêu chí chưa có tài liệu kiểm chứng" in asked[0]
    versions = page.locator("#submission-status")
    await expect(versions.locator("tbody tr").first).to_contain_text("Đã nộp", timeout=BUILD_WAIT)
    download_link = versions.get_by_role("link", name=re.compile(r"^Tải về \(ZIP"))
    async with page.expect_download(timeout=WAIT) as downloading:
        await download_link.click()
    download = await downloading.value
    assert download.suggested_filename == "ho-so-cchc-so-ngoai-vu-2020-lan-1.zip"
    with zipfile.ZipFile(await download.path()) as archive:
        names = archive.namelist()
        assert {"manifest.json", "SHA256SUMS"} <= set(names), names
        pdf_path, png_path = f"evidence/1.2/{PDF_NAME}", f"evidence/1.2/{PNG_NAME}"
        assert archive.read(pdf_path) == PDF
        assert archive.read(png_path) == PNG
        sums = archive.read("SHA256SUMS").decode()
        assert f"{hashlib.sha256(PDF).hexdigest()}  {pdf_path}" in sums.splitlines()
        assert f"{hashlib.sha256(PNG).hexdigest()}  {png_path}" in sums.splitlines()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["tenant"]["code"] == "so-ngoai-vu"
    assert manifest["year"] == 2020

    # 3. The inspector opens the review: both files on 1.2.
    inspector = await new_page()
    await sign_in_through_provider(inspector, live_stack, INSPECTOR)
    await expect(inspector.locator(".site-header .user-name")).to_have_text(INSPECTOR)
    await inspector.goto(REVIEW)
    await expect(inspector.get_by_role("heading", level=1)).to_have_text("Thẩm định Chỉ số CCHC năm 2020: Sở Ngoại vụ")
    row = inspector.locator("article#c-1-2")
    for name in (PDF_NAME, PNG_NAME):
        await expect(row.get_by_role("link", name=name, exact=True)).to_be_visible()
    await expect(row.locator("output#appraised-1-2")).to_have_text("chưa quyết định")

    # A score without a reason: refused next to the reason, what was typed kept, nothing saved.
    decide = f"{REVIEW}/tieu-chi/1.2/quyet-dinh"
    problems.expect_status(f"{live_stack.url}{decide}", 422)
    await row.locator('input[name="decision"][value="score"]').check()
    await row.locator("#f-1-2-points").fill("1,2")
    async with inspector.expect_response(_is_post(live_stack, decide)) as info:
        await row.get_by_role("button", name="Lưu quyết định", exact=True).click()
    assert (await info.value).status == 422
    row = inspector.locator("article#c-1-2")
    error = row.locator("p#f-1-2-reason-error")
    await expect(error).to_have_text("Cần ghi lý do cho điểm thẩm định.", timeout=WAIT)
    await expect(row.locator("#f-1-2-reason")).to_have_attribute("aria-invalid", "true")
    await expect(row.locator("#f-1-2-reason")).to_have_attribute("aria-describedby", "f-1-2-reason-error")
    await expect(row.locator("#f-1-2-points")).to_have_value("1,2")
    await expect(row.locator('input[name="decision"][value="score"]')).to_be_checked()
    await expect(row.locator("output#appraised-1-2")).to_have_text("chưa quyết định")
    await inspector.reload()
    await expect(inspector.locator("output#appraised-1-2")).to_have_text("chưa quyết định")

    # With a reason: saved in place.
    row = inspector.locator("article#c-1-2")
    await row.locator('input[name="decision"][value="score"]').check()
    await row.locator("#f-1-2-points").fill("1,2")
    await row.locator("#f-1-2-reason").fill(REASON)
    async with inspector.expect_response(_is_post(live_stack, decide)) as info:
        await row.get_by_role("button", name="Lưu quyết định", exact=True).click()
    assert (await info.value).status == 200
    await expect(row.locator("output#appraised-1-2")).to_have_text("1,2", timeout=WAIT)
    await expect(row.locator("p.saved-note")).to_have_text("Đã lưu.")
    await expect(row.locator("p.field-error")).to_have_count(0)
    await expect(row).to_contain_text(REASON)

    # More evidence asked for on 1.7.
    asked = inspector.locator("article#c-1-7")
    await asked.locator("#f-1-7-message").fill(REQUEST)
    async with inspector.expect_response(_is_post(live_stack, f"{REVIEW}/tieu-chi/1.7/yeu-cau")) as info:
        await asked.get_by_role("button", name="Gửi yêu cầu", exact=True).click()
    assert (await info.value).status == 200
    exchange = asked.locator("ol.review-exchanges > li")
    await expect(exchange).to_have_count(1, timeout=WAIT)
    await expect(exchange).to_contain_text(REQUEST)
    await expect(exchange).to_contain_text("Chờ giải trình")

    # 4. The department sees the request on its row 1.7, and answers it with a file and a text.
    await page.goto(AREA_1)
    on_row = page.locator("article#row-1-7 .review-requests")
    await expect(on_row).to_contain_text("Sở Nội vụ yêu cầu bổ sung", timeout=WAIT)
    await expect(on_row).to_contain_text(REQUEST)
    await on_row.get_by_role("link", name="Giải trình", exact=True).click()
    await expect(page).to_have_url(re.compile(re.escape(f"{SNGV}/giai-trinh/2020#yc-")))
    request_id = page.url.rpartition("#yc-")[2]
    answer = page.locator(f"article#yc-{request_id}")
    await expect(answer).to_contain_text(REQUEST)
    await expect(answer).to_contain_text("Chờ giải trình")
    attach = answer.locator(f"section#ev-{request_id}")
    report: FilePayload = {"name": ANSWER_NAME, "mimeType": "application/pdf", "buffer": PDF}
    await attach.locator("input[type=file]").set_input_files(report)
    async with page.expect_response(_is_post(live_stack, f"{SNGV}/tai-lieu/yeu-cau/{request_id}")) as info:
        await attach.get_by_role("button", name="Tải lên", exact=True).click()
    assert (await info.value).status == 201
    await expect(attach.get_by_role("link", name=ANSWER_NAME, exact=True)).to_be_visible(timeout=WAIT)
    await answer.locator("textarea[name=answer]").fill(ANSWER)
    async with page.expect_response(_is_post(live_stack, f"{SNGV}/giai-trinh/2020/{request_id}")) as info:
        await answer.get_by_role("button", name="Gửi giải trình", exact=True).click()
    assert (await info.value).status == 200
    await expect(answer.get_by_role("status").filter(has_text="Đã gửi giải trình.")).to_be_visible(timeout=WAIT)
    await expect(answer).to_contain_text("Đã giải trình")
    await expect(answer).to_contain_text(ANSWER)
    await expect(answer.locator("textarea[name=answer]")).to_have_count(0)

    # Recorded: the department's page after a reload, and the inspector's review with the answer and its file.
    await page.reload()
    await expect(page.locator(f"article#yc-{request_id}")).to_contain_text(ANSWER)
    await inspector.reload()
    exchange = inspector.locator("article#c-1-7 ol.review-exchanges > li")
    await expect(exchange).to_contain_text("Đã giải trình")
    await expect(exchange.locator(".review-answer")).to_contain_text(ANSWER)
    await expect(exchange.get_by_role("link", name=ANSWER_NAME, exact=True)).to_be_visible()
    await expect(inspector.locator("output#appraised-1-2")).to_have_text("1,2")
    problems.assert_clean()
