"""The remedy plan in and out of the app: the Word plan and the Excel table of the board's tasks, read back (a unit's
staff get their unit's tasks only), and an existing plan's table imported through a preview: every row shown with
its mapped values and errors, nothing saved until a confirmation that creates every task or none, and a confirmation
whose file was changed on the way refused."""

from __future__ import annotations

import base64
import re
import time
import uuid
from io import BytesIO
from typing import Any

import docx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.domain.assessments.xlsx import NOT_XLSX
from backend.domain.remedies.plan_io import sign_upload
from tests.factories import (
    BOARD,
    FOCAL,
    LEADER,
    STAFF,
    VIEWER,
    board_token,
    create_task,
    plan_workbook,
    sngv_rows,
    sngv_units,
)
from tests.html_support import squash
from tests.support import make_settings, sign_in

pytestmark = pytest.mark.usefixtures("demo_tenants", "criteria")

IMPORT = f"{BOARD}/nhap"
CONFIRM = f"{BOARD}/nhap/xac-nhan"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OFFICE = "Văn phòng – Thanh tra Sở"
INTERNATIONAL = "Phòng Hợp tác quốc tế"
CONSULAR = "Phòng Lãnh sự và Người Việt Nam ở nước ngoài"
BORDER = "Phòng Quản lý biên giới"
ALL_UNITS = "Các phòng, đơn vị thuộc Sở"


async def _group(engine: AsyncEngine) -> str:
    [row] = await sngv_rows(engine, "SELECT id FROM unit_groups WHERE code = 'phong-don-vi-thuoc-so'")
    return str(row.id)


async def _three_tasks(client: AsyncTestClient[Litestar], engine: AsyncEngine) -> None:
    units = await sngv_units(engine)
    created = [
        await create_task(
            client,
            criterion_code="1.2",
            title="Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC năm 2021",
            deficiency="Tỷ lệ hoàn thành kế hoạch CCHC đạt 94,76 %",
            points_lost="0,08",
            points_max="1,5",
            deadline_text="Quý II/2020",
            lead_unit_id=units["van-phong-thanh-tra"],
            coordinating=f"group:{await _group(engine)}",
            monitoring_unit_id=units["van-phong-thanh-tra"],
            expected_output="Kế hoạch",
        ),
        await create_task(
            client,
            area_code="2",
            title="Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại",
            deadline_text="Thường xuyên",
            lead_unit_id=units["phong-hop-tac-quoc-te"],
            expected_output="Báo cáo",
        ),
        await create_task(
            client,
            kind="keep",
            area_code="7",
            title="Duy trì cập nhật Cổng thông tin điện tử của Sở",
            deadline_text="15/11/2020",
            lead_unit_id=units["phong-lanh-su"],
        ),
    ]
    assert [response.status_code for response in created] == [302, 302, 302], [r.text for r in created]


def _docx_rows(data: bytes) -> list[list[str]]:
    document = docx.Document(BytesIO(data))
    appendix = document.tables[-1]
    return [[cell.text for cell in row.cells] for row in appendix.rows]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    workbook = load_workbook(BytesIO(data))
    sheet = workbook.worksheets[0]
    return [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]


def _row_with(rows: list[list[str]], title: str) -> list[str]:
    found = [row for row in rows if title in row]
    assert len(found) == 1, (title, rows)
    return found[0]


async def test_the_plan_exports_as_word_and_excel_with_every_task_of_the_board(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _three_tasks(client, owner_engine)
    board = await client.get(BOARD)
    assert f'href="{BOARD}/xuat/ke-hoach.docx"' in board.text
    assert f'href="{BOARD}/xuat/ke-hoach.xlsx"' in board.text

    word = await client.get(f"{BOARD}/xuat/ke-hoach.docx")
    assert word.status_code == 200, word.text
    assert word.headers["content-type"].startswith(DOCX_TYPE)
    disposition = word.headers["content-disposition"]
    assert 'attachment; filename="ke-hoach-khac-phuc-so-ngoai-vu-2020.docx"' in disposition
    assert "filename*=UTF-8''K%E1%BA%BF%20ho%E1%BA%A1ch%20kh%E1%BA%AFc%20ph%E1%BB%A5c%202020" in disposition
    text = "\n".join(p.text for p in docx.Document(BytesIO(word.content)).paragraphs)
    assert "Số:       /KH-SNgV" in "\n".join(
        c.text for t in docx.Document(BytesIO(word.content)).tables for r in t.rows for c in r.cells
    )
    assert "Khắc phục kịp thời những tồn tại, hạn chế" in text
    assert "Các phòng, đơn vị thuộc Sở căn cứ nhiệm vụ được giao" in text
    assert "- Sở Nội vụ;" in "\n".join(
        c.text for t in docx.Document(BytesIO(word.content)).tables for r in t.rows for c in r.cells
    )
    rows = _docx_rows(word.content)
    header = rows[0]
    first = _row_with(rows, "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC năm 2021")
    assert first[header.index("Thời hạn hoàn thành")] == "Quý II/2020"
    assert first[header.index("Đơn vị chủ trì")] == OFFICE
    assert first[header.index("Đơn vị phối hợp")] == ALL_UNITS
    assert first[header.index("Đơn vị theo dõi, đôn đốc")] == OFFICE
    assert first[header.index("Điểm đạt/tối đa")] == "1,42/1,5"
    assert first[header.index("Tiêu chí")] == "1.2"
    second = _row_with(rows, "Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại")
    assert second[header.index("Thời hạn hoàn thành")] == "Thường xuyên"
    assert second[header.index("Đơn vị chủ trì")] == INTERNATIONAL
    third = _row_with(rows, "Duy trì cập nhật Cổng thông tin điện tử của Sở")
    assert third[header.index("Thời hạn hoàn thành")] == "15/11/2020"
    assert third[header.index("Đơn vị chủ trì")] == CONSULAR
    flat = [cell for row in rows for cell in row]
    assert "NHIỆM VỤ CẦN DUY TRÌ VÀ NÂNG CAO" in flat  # a kept task: the two kinds are grouped

    excel = await client.get(f"{BOARD}/xuat/ke-hoach.xlsx")
    assert excel.status_code == 200, excel.text
    assert excel.headers["content-type"].startswith(XLSX_TYPE)
    assert 'filename="ke-hoach-khac-phuc-so-ngoai-vu-2020.xlsx"' in excel.headers["content-disposition"]
    rows = _xlsx_rows(excel.content)
    header = next(row for row in rows if "Giải pháp, nhiệm vụ" in row)
    for title, deadline, lead in (
        ("Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC năm 2021", "Quý II/2020", OFFICE),
        ("Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại", "Thường xuyên", INTERNATIONAL),
        ("Duy trì cập nhật Cổng thông tin điện tử của Sở", "15/11/2020", CONSULAR),
    ):
        row = _row_with(rows, title)
        assert row[header.index("Thời hạn hoàn thành")] == deadline
        assert row[header.index("Đơn vị chủ trì")] == lead
        assert row[header.index("Trạng thái")] == "Chưa thực hiện"
    assert (
        _row_with(rows, "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC năm 2021")[header.index("Điểm đạt/tối đa")]
        == "1,42/1,5"
    )

    await sign_in(client, VIEWER)  # anyone who sees the board may download it
    assert (await client.get(f"{BOARD}/xuat/ke-hoach.xlsx")).status_code == 200
    assert (await client.get(f"{BOARD.removesuffix('2020')}1999/xuat/ke-hoach.docx")).status_code == 404


async def test_a_unit_staff_members_export_holds_only_what_they_see(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    await _three_tasks(client, owner_engine)
    await sign_in(client, STAFF)  # Phòng Hợp tác quốc tế
    for suffix, read in (("docx", _docx_rows), ("xlsx", _xlsx_rows)):
        response = await client.get(f"{BOARD}/xuat/ke-hoach.{suffix}")
        assert response.status_code == 200, response.text
        cells = [cell for row in read(response.content) for cell in row]
        assert "Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại" in cells
        assert "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC năm 2021" not in cells
        assert "Duy trì cập nhật Cổng thông tin điện tử của Sở" not in cells


# --- import ---------------------------------------------------------------------------------------------------


async def _upload(client: AsyncTestClient[Litestar], content: bytes, name: str = "ke-hoach-2020.xlsx") -> Any:
    token = await board_token(client)
    return await client.post(
        IMPORT, data={"_csrf_token": token}, files={"tep": (name, content, XLSX_TYPE)}, follow_redirects=False
    )


def _signed_fields(html: str) -> dict[str, str]:
    form = re.search(r'<form method="post" action="[^"]*/nhap/xac-nhan".*?</form>', html, re.DOTALL)
    assert form, html
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))
    assert {"ten_tep", "luc", "chu_ky", "du_lieu"} <= fields.keys()
    return fields


async def _confirm(client: AsyncTestClient[Litestar], fields: dict[str, str]) -> Any:
    data = {**fields, "_csrf_token": await board_token(client)}
    return await client.post(CONFIRM, files={key: (None, value) for key, value in data.items()}, follow_redirects=False)


async def _imported(engine: AsyncEngine) -> list[Any]:
    return await sngv_rows(
        engine,
        "SELECT t.number, t.area_code, t.criterion_code, t.title, t.deadline_text, t.due_date, t.notes, t.labels,"
        " t.points_lost, t.points_max, u.name AS lead, c.code AS col,"
        " (SELECT string_agg(coalesce(cu.name, g.name), '; ' ORDER BY coalesce(cu.name, g.name)) FROM task_units tu"
        "  LEFT JOIN units cu ON cu.id = tu.unit_id LEFT JOIN unit_groups g ON g.id = tu.unit_group_id"
        "  WHERE tu.task_id = t.id AND tu.role = 'coordinating') AS coordinating"
        " FROM tasks t LEFT JOIN units u ON u.id = t.lead_unit_id JOIN board_columns c ON c.id = t.column_id"
        " ORDER BY t.number",
    )


async def test_an_imported_plan_is_previewed_row_by_row_and_created_only_when_every_row_is_right(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    board = await client.get(BOARD)
    assert f'href="{IMPORT}"' in board.text
    form = await client.get(IMPORT)
    assert form.status_code == 200
    assert 'name="tep"' in form.text
    assert 'accept=".xlsx' in form.text

    preview = await _upload(client, plan_workbook())
    assert preview.status_code == 200, preview.text
    html = squash(preview.text)
    assert "<caption>" in html
    for title in (
        "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC",
        "Ban hành kế hoạch khắc phục trong 15 ngày kể từ khi có kết quả",
        "Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại",
    ):
        assert title in html
    assert 'id="dong-5"' in html
    assert 'id="dong-6"' in html
    assert 'id="dong-8"' in html
    assert "30/06/2020" in html  # Quý II/2020, resolved
    assert "1. Chỉ đạo, điều hành công tác cải cách hành chính" in html  # "I." against the year's set
    assert "«31/02/2020» không phải là một ngày có thật" in html
    alert = re.search(r'<div class="form-errors" role="alert" id="preview-errors">(.*?)</div>', html, re.DOTALL)
    assert alert, html
    assert "Dòng 6" in alert.group(1)
    assert "1 dòng có lỗi" in alert.group(1)
    assert "/nhap/xac-nhan" not in html  # nothing to confirm while a row is wrong
    assert await _imported(owner_engine) == []

    fixed = await _upload(client, plan_workbook(bad_deadline="31/03/2020"))
    assert fixed.status_code == 200, fixed.text
    assert 'role="alert"' not in squash(fixed.text).split('id="preview-heading"')[1]
    assert "Phòng Tuyên truyền đối ngoại" in fixed.text  # kept in the notes, shown as a warning
    assert await _imported(owner_engine) == []
    fields = _signed_fields(fixed.text)
    assert fields["ten_tep"] == "ke-hoach-2020.xlsx"

    done = await _confirm(client, fields)
    assert done.status_code in (302, 303), done.text
    assert done.headers["location"].endswith("/ke-hoach/2020")
    assert "Đã nhập 3 nhiệm vụ từ tệp." in (await client.get(done.headers["location"])).text
    tasks = await _imported(owner_engine)
    assert [(t.area_code, t.criterion_code, t.title) for t in tasks] == [
        ("1", "1.2", "Ban hành và thực hiện đúng tiến độ Kế hoạch CCHC"),
        ("1", "1.5", "Ban hành kế hoạch khắc phục trong 15 ngày kể từ khi có kết quả"),
        ("2", None, "Theo dõi thi hành pháp luật trong lĩnh vực đối ngoại"),
    ]
    assert [str(t.due_date) for t in tasks] == ["2020-06-30", "2020-03-31", "None"]
    assert [t.lead for t in tasks] == [OFFICE, OFFICE, INTERNATIONAL]
    assert [t.coordinating for t in tasks] == [ALL_UNITS, INTERNATIONAL, f"{CONSULAR}; {BORDER}"]
    assert [t.col for t in tasks] == ["chua-thuc-hien"] * 3
    assert (str(tasks[0].points_lost), str(tasks[0].points_max)) == ("0.080", "1.500")
    assert "Phòng Tuyên truyền đối ngoại" in tasks[1].notes
    assert tasks[2].notes == "Định kỳ 6 tháng/năm"
    assert all(t.labels == ["nhập từ tệp"] for t in tasks)
    audit = await sngv_rows(
        owner_engine, "SELECT action, after FROM audit_log WHERE entity IN ('task', 'plan') ORDER BY id"
    )
    assert [a.action for a in audit] == ["task.create"] * 3 + ["plan.import"]
    assert audit[-1].after["tasks"] == 3
    assert audit[-1].after["file"] == "ke-hoach-2020.xlsx"
    assert "Đã nhập 3 nhiệm vụ" not in (await client.get(done.headers["location"])).text  # shown once

    again = await _confirm(client, fields)  # a second click on the same preview
    assert again.status_code == 409, again.text
    assert "đã được nhập" in again.text
    assert len(await _imported(owner_engine)) == 3


async def test_a_confirmation_whose_file_or_signature_changed_is_refused_and_nothing_is_saved(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    fields = _signed_fields((await _upload(client, plan_workbook(bad_deadline="31/03/2020"))).text)
    signature = fields["chu_ky"]
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    other_file = base64.b64encode(plan_workbook(bad_deadline="30/04/2020")).decode()
    for changed in (
        {"chu_ky": forged},
        {"du_lieu": other_file},
        {"ten_tep": "khac.xlsx"},
        {"luc": str(int(fields["luc"]) + 1)},
        {"du_lieu": "không phải base64"},
        {"chu_ky": ""},
    ):
        response = await _confirm(client, {**fields, **changed})
        assert response.status_code == 400, (changed, response.text)
        assert "không hợp lệ hoặc đã bị thay đổi" in response.text
        assert 'role="alert"' in response.text
    assert await _imported(owner_engine) == []


async def test_a_signed_file_with_a_wrong_row_is_refused_whole_on_confirmation(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    """All or nothing, even for a confirmation the page never offered (a file with an error, signed)."""
    await sign_in(client, FOCAL)
    [ids] = await sngv_rows(
        owner_engine,
        "SELECT current_setting('app.tenant_id') AS tenant, (SELECT id FROM users WHERE email = :email) AS user_id",
        email=FOCAL,
    )
    data = plan_workbook()
    issued_at = int(time.time())
    fields = {
        "ten_tep": "loi.xlsx",
        "luc": str(issued_at),
        "du_lieu": base64.b64encode(data).decode(),
        "chu_ky": sign_upload(
            make_settings().app.secret_key,
            tenant_id=uuid.UUID(ids.tenant),
            year=2020,
            user_id=ids.user_id,
            issued_at=issued_at,
            filename="loi.xlsx",
            data=data,
        ),
    }
    response = await _confirm(client, fields)
    assert response.status_code == 422, response.text
    assert "1 dòng có lỗi" in response.text
    assert "«31/02/2020» không phải là một ngày có thật" in response.text
    assert await _imported(owner_engine) == []
    stale = {**fields, "luc": str(issued_at - 13 * 3600)}
    stale["chu_ky"] = sign_upload(
        make_settings().app.secret_key,
        tenant_id=uuid.UUID(ids.tenant),
        year=2020,
        user_id=ids.user_id,
        issued_at=issued_at - 13 * 3600,
        filename="loi.xlsx",
        data=data,
    )
    expired = await _confirm(client, stale)
    assert expired.status_code == 400
    assert "quá hạn" in expired.text


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"Day khong phai bang tinh", "ke-hoach.xlsx", NOT_XLSX),
        (b"", "ke-hoach.xlsx", NOT_XLSX),
        (b"x" * (5 * 1024 * 1024 + 1), "lon.xlsx", "Tệp lớn hơn 5 MB."),
    ],
)
async def test_a_file_that_is_not_a_plan_table_is_refused_with_422(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine, content: bytes, name: str, message: str
) -> None:
    await sign_in(client, FOCAL)
    response = await _upload(client, content, name)
    assert response.status_code == 422, response.text
    assert message in response.text
    assert 'role="alert"' in response.text
    assert await _imported(owner_engine) == []


async def test_a_sheet_without_a_plan_table_is_refused_with_422(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, FOCAL)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Họ và tên", "Ngày sinh"])
    buffer = BytesIO()
    workbook.save(buffer)
    response = await _upload(client, buffer.getvalue())
    assert response.status_code == 422
    assert "Không tìm thấy dòng tiêu đề" in response.text


async def test_only_people_who_edit_every_task_may_import(
    client: AsyncTestClient[Litestar], owner_engine: AsyncEngine
) -> None:
    await sign_in(client, STAFF)
    assert 'href="' + IMPORT + '"' not in (await client.get(BOARD)).text
    assert (await client.get(IMPORT)).status_code == 403
    assert (await _upload(client, plan_workbook(bad_deadline="31/03/2020"))).status_code == 403
    await sign_in(client, LEADER)
    fields = _signed_fields((await _upload(client, plan_workbook(bad_deadline="31/03/2020"))).text)
    await sign_in(client, STAFF)
    assert (await _confirm(client, fields)).status_code == 403
    await sign_in(client, FOCAL)  # the leader's preview is signed for the leader
    assert (await _confirm(client, fields)).status_code == 400
    assert await _imported(owner_engine) == []
