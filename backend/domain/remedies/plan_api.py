"""The remedy plan's files over the JSON API (`/api/v1/t/<province>/<tenant>/ke-hoach/<year>`): the Word plan and the
Excel table of the year's tasks, and the import of an existing plan's table, first previewed (every row as it would
become a task, with its errors) and then imported, every task or none. The same services and checks as the page
**Nhập kế hoạch từ tệp** (backend.domain.remedies.plan_files): one rule set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, TokenScope
from backend.domain.admin.external_api import FileUpload
from backend.domain.assessments.sheet import Sheet
from backend.domain.assessments.xlsx import MAX_FILE_BYTES
from backend.domain.remedies import plan_files
from backend.domain.remedies.board_reading import lanes_and_sheet
from backend.domain.remedies.plan_io import Preview
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import ApiProblem, error_responses
from backend.web.downloads import DOCX, XLSX

READ = {"access": Permission.TENANT_VIEW, "token_scope": TokenScope.TASKS_READ}
IMPORT = {"access": Permission.TASK_EDIT_ANY}
UPLOAD_BODY = MAX_FILE_BYTES + 64 * 1024
Upload = Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]


class PreviewRowOut(msgspec.Struct):
    """One row of the table as it would become a task (`row` is the sheet's row number): `ok` when it has no error;
    `errors`, `deadline_error` and `warnings` in Vietnamese; units by their names as matched."""

    row: int
    ok: bool
    kind: str
    area: str
    criterion: str | None
    deficiency: str
    title: str
    deadline: str
    due: date | None
    deadline_error: str
    lead_unit: str
    coordinating: list[str]
    monitoring: str
    expected_output: str
    notes: str
    errors: list[str]
    warnings: list[str]


class PlanPreviewOut(msgspec.Struct):
    """What importing the file would do: `importable` when every row is fine (and there is one); `problems` with the
    file as a whole; `rows`, each row read."""

    year: int
    file_name: str
    importable: bool
    problems: list[str]
    rows: list[PreviewRowOut]


class PlanImportedOut(msgspec.Struct):
    """The tasks the import created, by number (KP-<number>), in the table's order."""

    year: int
    file_name: str
    tasks: list[int]


def _preview_out(year: int, name: str, preview: Preview) -> PlanPreviewOut:
    rows = [
        PreviewRowOut(
            row=row.row,
            ok=row.ok,
            kind=row.kind,
            area=row.area_code,
            criterion=row.criterion_code,
            deficiency=row.deficiency,
            title=row.title,
            deadline=row.deadline_text,
            due=row.due_date,
            deadline_error=row.deadline_error,
            lead_unit=row.lead_unit,
            coordinating=row.coordinating,
            monitoring=row.monitoring,
            expected_output=row.expected_output,
            notes=row.notes,
            errors=row.errors,
            warnings=row.warnings,
        )
        for row in preview.rows
    ]
    return PlanPreviewOut(year, name, preview.importable, preview.file_problems, rows)


@contextmanager
def _refusals_on_tep() -> Iterator[None]:
    """A refusal of the plan's services as the API's error on the file (`tep`), with the page's messages."""
    try:
        yield
    except plan_files.PlanImportRefused as refused:
        raise ApiProblem("; ".join(refused.problems), field="tep", status=refused.status) from None


async def _uploaded(db: AsyncSession, ctx: TenantContext, year: int, upload: UploadFile) -> tuple[Sheet, str, bytes]:
    """The year's criteria sheet (404 without one), the file's name and its bytes (refused when too large or empty)."""
    _, loaded = await lanes_and_sheet(db, ctx, year)
    return loaded.sheet, plan_files.upload_name(upload.filename), await plan_files.read_upload(upload)


class RemedyPlanFilesApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/ke-hoach/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Kế hoạch khắc phục"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/xuat/ke-hoach.docx",
        name="api:plan_docx",
        opt=READ,
        media_type=DOCX,
        summary="Kế hoạch khắc phục của năm (.docx)",
        responses=error_responses(),
    )
    async def export_docx(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> Response[bytes]:
        return await plan_files.plan_export(db_session, tenant, year, "docx")

    @get(
        "/xuat/ke-hoach.xlsx",
        name="api:plan_xlsx",
        opt=READ,
        media_type=XLSX,
        summary="Bảng nhiệm vụ của kế hoạch khắc phục (.xlsx, nhập lại được)",
        responses=error_responses(),
    )
    async def export_xlsx(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> Response[bytes]:
        return await plan_files.plan_export(db_session, tenant, year, "xlsx")

    @post(
        "/nhap/xem-truoc",
        name="api:plan_import_preview",
        opt=IMPORT,
        status_code=200,
        request_max_body_size=UPLOAD_BODY,
        summary="Xem trước việc nhập bảng kế hoạch (.xlsx, trường `tep`): không lưu gì",
        responses=error_responses(),
    )
    async def preview(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: Upload,
    ) -> PlanPreviewOut:
        with _refusals_on_tep():
            sheet, name, content = await _uploaded(db_session, tenant, year, data.tep)
            preview = await plan_files.preview_plan(db_session, tenant, year, sheet, content)
        return _preview_out(year, name, preview)

    @post(
        "/nhap",
        name="api:plan_import",
        opt=IMPORT,
        status_code=201,
        request_max_body_size=UPLOAD_BODY,
        summary="Nhập bảng kế hoạch (.xlsx, trường `tep`): tạo mọi nhiệm vụ, hoặc không nhiệm vụ nào",
        responses=error_responses(),
    )
    async def import_plan(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: Upload,
    ) -> PlanImportedOut:
        with _refusals_on_tep():
            sheet, name, content = await _uploaded(db_session, tenant, year, data.tep)
            numbers = await plan_files.import_plan(db_session, tenant, year, sheet, content, name)
        return PlanImportedOut(year, name, numbers)
