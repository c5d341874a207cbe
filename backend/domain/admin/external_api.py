"""The API of the province's external scores for its systems: a filled-in external-scores workbook (DTI, SIPAS and
the other indices the province enters), or a survey's answers file, sent by the province's Sở Nội vụ (a province
API token with `external-scores:write`, or a signed-in session with the same right as the page). The same service
and checks as the page (`province_scores_services`, `survey_import`): every problem, or everything saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
import msgspec
from litestar import Controller, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, TokenScope
from backend.domain.admin import province_scores_services as services
from backend.domain.admin import survey_import
from backend.domain.admin.province import home_affairs_only
from backend.domain.assessments.xlsx import MAX_FILE_BYTES, ImportProblem
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import ApiProblem, error_responses

WRITE = {"access": Permission.EXTERNAL_SCORES_ENTER, "token_scope": TokenScope.EXTERNAL_SCORES_WRITE}
GROUP = QueryParameter(name="nhom", description="mã nhóm xếp hạng khi năm có bộ chỉ số riêng cho từng nhóm")


@dataclass
class FileUpload:
    """The file, in the multipart field `tep`."""

    tep: UploadFile


class ProblemOut(msgspec.Struct):
    cell: str  # "C5", a row "dòng 12", or "" for the whole file
    message: str


class ExternalImportOut(msgspec.Struct):
    """What was saved: the tenants the file gave scores for (codes), how many of them changed, and for a survey
    the items that no longer apply to a tenant for lack of answers ("tenant:item")."""

    year: int
    group: str | None
    tenants: list[str]
    changed: int
    not_applicable: list[str]


class ImportRefused(ApiProblem):
    """A file with problems: nothing is saved. The message lists the first ones; the field is the file's."""

    def __init__(self, problems: list[ImportProblem], count: int | None = None, *, rows: bool = False) -> None:
        # as the page words them: a workbook's cell "Ô D2: …", a survey file's row "Dòng 2: …"
        where = [(p.cell.capitalize() if rows else f"Ô {p.cell}") if p.cell else "" for p in problems[:20]]
        shown = "; ".join(f"{w}: {p.reason}" if w else p.reason for w, p in zip(where, problems, strict=False))
        more = (count or len(problems)) - min(len(problems), 20)
        super().__init__(
            f"Tệp có lỗi, không điểm nào được lưu. {shown}" + (f" (và {more} lỗi khác)" if more > 0 else ""),
            field="tep",
        )


async def _grid(db: AsyncSession, tenant: TenantContext, year: int, group: str | None) -> services.ExternalGrid:
    home_affairs_only(tenant, "Điểm khảo sát và chỉ số bên ngoài do Sở Nội vụ của tỉnh gửi.")
    grid = await services.load_grid(db, tenant, year, group)
    if grid is None:
        raise NotFoundException(f"Tỉnh chưa có bộ chỉ số năm {year} (hoặc không có nhóm xếp hạng này).")
    return grid


class ExternalScoresApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/diem-ngoai"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Điểm khảo sát và chỉ số bên ngoài"]  # noqa: RUF012 - Litestar reads it

    @post(
        "/{year:int}/bang-tinh",
        name="external:api_workbook",
        opt=WRITE,
        status_code=200,
        request_max_body_size=MAX_FILE_BYTES + 64 * 1024,
        summary="Gửi bảng tính điểm ngoài đã điền (mẫu .xlsx của trang Điểm khảo sát, chỉ số)",
        responses=error_responses(),
    )
    async def workbook(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        group: Annotated[str | None, GROUP] = None,
    ) -> ExternalImportOut:
        grid = await _grid(db_session, tenant, year, group)
        content = await data.tep.read(MAX_FILE_BYTES + 1)
        entries, problems, changed = await services.import_workbook(db_session, tenant, grid, content, "api-xlsx")
        if problems:
            raise ImportRefused(problems)
        return ExternalImportOut(year, grid.group.code if grid.group else None, sorted(entries), changed, [])

    @post(
        "/{year:int}/phieu-khao-sat",
        name="external:api_survey",
        opt=WRITE,
        status_code=200,
        request_max_body_size=survey_import.MAX_BYTES + 64 * 1024,
        summary="Gửi tệp câu trả lời phiếu khảo sát (.xlsx hoặc .csv: Phiếu, Đơn vị, Tiêu chí, Trả lời)",
        responses=error_responses(),
    )
    async def survey(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        group: Annotated[str | None, GROUP] = None,
    ) -> ExternalImportOut:
        grid = await _grid(db_session, tenant, year, group)
        content = await data.tep.read(survey_import.MAX_BYTES + 1)
        preview = await anyio.to_thread.run_sync(
            survey_import.read_answers, content, grid, survey_import.survey_rules(tenant.province)
        )
        if preview.problems:
            raise ImportRefused(preview.problems, preview.problem_count, rows=True)
        parsed = services.parse_grid(grid, preview.entries)
        if parsed.errors:  # the aggregation gives points within each item's maximum: not expected
            problems = [ImportProblem("", f"{field}: {message}") for field, message in parsed.errors.items()]
            raise ImportRefused(problems)
        changed = await services.save_entries(db_session, tenant, grid, parsed.entries, source="api-survey")
        # too few answers: the item does not apply to the unit, as the page saves it
        decided = await services.decide_not_applicable(db_session, tenant, year, preview.not_applicable)
        skipped = [f"{tenant_code}:{code}" for tenant_code, code in decided]
        group_code = grid.group.code if grid.group else None
        return ExternalImportOut(year, group_code, sorted(parsed.entries), changed, skipped)
