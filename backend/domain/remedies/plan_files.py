"""The remedy plan's files, for the pages and the API alike: the Word plan and the Excel table of the year's tasks
out of the board, and an existing plan's table into it (read → preview of every row → every task created, or none).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Literal

from litestar import Response
from litestar.datastructures import UploadFile
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.clock import vietnam_today
from backend.db.models import AuditEntry
from backend.domain.assessments.sheet import Sheet
from backend.domain.assessments.xlsx import MAX_FILE_BYTES, NOT_XLSX
from backend.domain.remedies import board as boards
from backend.domain.remedies import tasks
from backend.domain.remedies.deadlines import working_days
from backend.domain.remedies.plan_docx import plan_docx
from backend.domain.remedies.plan_io import Preview, build_preview, plan_document
from backend.domain.remedies.plan_reader import read_plan_xlsx
from backend.domain.remedies.plan_xlsx import plan_xlsx
from backend.domain.remedies.tasks import Choices
from backend.domain.tenants.deps import TenantContext
from backend.web.downloads import DOCX, XLSX, download

MAX_MB = MAX_FILE_BYTES // (1024 * 1024)
PlanFormat = Literal["docx", "xlsx"]
_WRITERS = {"docx": (plan_docx, DOCX), "xlsx": (plan_xlsx, XLSX)}


class PlanImportRefused(Exception):
    """Nothing was imported: why (Vietnamese, the first line for a single message), the status an answer carries
    (422 a bad file, 409 a preview already imported), and the preview when the file could be read."""

    def __init__(self, problems: list[str], status: int = 422, preview: Preview | None = None) -> None:
        super().__init__(problems[0])
        self.problems = problems
        self.status = status
        self.preview = preview


async def plan_export(db: AsyncSession, ctx: TenantContext, year: int, file_format: PlanFormat) -> Response[bytes]:
    """The year's plan as a Word document or an Excel table (written in a thread: a big plan takes a while), as a
    download named after the tenant and the year."""
    document = await plan_document(db, ctx, year, vietnam_today())
    write, media_type = _WRITERS[file_format]
    data = await asyncio.to_thread(write, document)
    return download(
        data,
        f"Kế hoạch khắc phục {year} - {ctx.tenant.name}.{file_format}",
        media_type,
        ascii_name=f"ke-hoach-khac-phuc-{ctx.tenant.code}-{year}.{file_format}",
    )


def upload_name(filename: str | None) -> str:
    """The uploaded file's own name (no folders, no control characters), for display and the signature."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[:255] or "ke-hoach.xlsx"


async def read_upload(upload: UploadFile) -> bytes:
    """An uploaded plan table's bytes, refused (PlanImportRefused) when larger than the limit or empty."""
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PlanImportRefused([f"Tệp lớn hơn {MAX_MB} MB."])
    if not data:
        raise PlanImportRefused([NOT_XLSX])
    return data


async def preview_plan(db: AsyncSession, ctx: TenantContext, year: int, sheet: Sheet, data: bytes) -> Preview:
    """Every row of a plan table as it would become a task, with its errors and warnings; nothing is written. A file
    that is no plan table (problems with the file as a whole) is refused (PlanImportRefused)."""
    preview, _ = await _checked_preview(db, ctx, year, sheet, data)
    return preview


async def _checked_preview(
    db: AsyncSession, ctx: TenantContext, year: int, sheet: Sheet, data: bytes
) -> tuple[Preview, Choices]:
    """The preview, and the year's choices it was checked against (the import's too)."""
    imported, problems = await asyncio.to_thread(read_plan_xlsx, data)
    options = await tasks.choices(db, sheet)
    calendar = working_days(ctx.province.settings)
    units, groups = list(options.units.values()), list(options.groups.values())
    preview = build_preview(imported, problems, options, units, groups, year, vietnam_today(), calendar)
    if preview.file_problems:
        raise PlanImportRefused(preview.file_problems)
    return preview, options


async def import_plan(
    db: AsyncSession, ctx: TenantContext, year: int, sheet: Sheet, data: bytes, name: str, *, signature: str = ""
) -> list[int]:
    """Create a task for every row of the plan table `data` (named `name`), or none: any problem raises
    PlanImportRefused before anything is written. A `signature` (the page's signed preview) is imported once only.
    Audited as `plan.import`; returns the new tasks' numbers."""
    preview, options = await _checked_preview(db, ctx, year, sheet, data)
    if not preview.importable:
        message = f"Không nhập nhiệm vụ nào: {len(preview.failed)} dòng có lỗi. Sửa tệp rồi tải lên lại."
        raise PlanImportRefused([message], preview=preview)
    if not options.columns:
        raise PlanImportRefused(["Bảng kế hoạch chưa có cột trạng thái nào."])
    await boards.lock_board(db, ctx)  # one import (or move) at a time: a double submit waits here
    if signature:
        done = await db.scalar(
            select(AuditEntry.id).where(
                AuditEntry.action == "plan.import",
                AuditEntry.entity_id == str(year),
                AuditEntry.after.contains({"signature": signature}),
            )
        )
        if done is not None:
            message = f"Tệp “{name}” đã được nhập từ bản xem trước này. Muốn nhập lại lần nữa, hãy tải tệp lên lại."
            raise PlanImportRefused([message], status=409)
    numbers = []
    for row in preview.ready:
        assert row.values is not None
        task = await tasks.create_task(db, ctx, year, row.values, options, options.columns[0])
        numbers.append(task.number)
    actor = ctx.principal.user_id
    db.add(
        AuditEntry(
            tenant_id=ctx.tenant.id,
            actor=f"user:{actor}" if actor else "system",
            action="plan.import",
            entity="plan",
            entity_id=str(year),
            after={
                "file": name,
                "tasks": len(numbers),
                "first": f"KP-{min(numbers)}",
                "last": f"KP-{max(numbers)}",
                "sha256": hashlib.sha256(data).hexdigest(),
                **({"signature": signature} if signature else {}),
            },
        )
    )
    await db.flush()
    return numbers
