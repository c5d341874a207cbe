"""The API of the province's external scores for its systems: a filled-in external-scores workbook (DTI, SIPAS and
the other indices the province enters), or a survey's answers file, sent by the province's Sở Nội vụ (a province
API token with `external-scores:write`, or a signed-in session with the same right as the page). The same service
and checks as the page (`province_scores_services`, `survey_import`): every problem, or everything saved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import anyio
import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, TokenScope
from backend.domain.admin import province_scores_services as services
from backend.domain.admin import survey_import
from backend.domain.assessments.xlsx import MAX_FILE_BYTES, ImportProblem
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import ApiProblem, error_responses
from backend.web.downloads import XLSX

WRITE = {"access": Permission.EXTERNAL_SCORES_ENTER, "token_scope": TokenScope.EXTERNAL_SCORES_WRITE}
# Reading the grid back is part of writing it (a system reads what is stored before it sends its changes).
READ = WRITE
GROUP = QueryParameter(name="nhom", description="mã nhóm xếp hạng khi năm có bộ chỉ số riêng cho từng nhóm")


@dataclass
class FileUpload:
    """The file, in the multipart field `tep`."""

    tep: UploadFile


class ExternalScoresIn(msgspec.Struct, forbid_unknown_fields=True):
    """The cells of the page's grid: per department (its code), per criterion (its code), the value as typed there
    ("75,25" or "75.25", at most 3 decimals, within the criterion's maximum), or "" / null to clear it. A cell left
    out keeps what is stored."""

    scores: dict[str, dict[str, str | None]]


class ExternalCriterionOut(msgspec.Struct):
    """A criterion the Sở Nội vụ enters: `index` when its cell holds an index value (converted to points), else the
    points themselves; `max_points` as decimal text."""

    code: str
    title: str
    max_points: str
    index: bool


class ExternalCellOut(msgspec.Struct):
    """A stored cell: what was entered (the index value, or the points) and the points it gives, as decimal text."""

    entered: str | None
    points: str
    source: str


class ExternalGridOut(msgspec.Struct):
    """The year's grid as the page shows it: the criteria, the departments (codes and names), and per department and
    criterion what is stored (a cell never entered is absent). `groups` lists the ranking groups with a set of their
    own; `group` is the one shown."""

    year: int
    group: str | None
    groups: list[str]
    criteria: list[ExternalCriterionOut]
    tenants: dict[str, str]
    scores: dict[str, dict[str, ExternalCellOut]]


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
    return await services.home_affairs_grid(
        db,
        tenant,
        year,
        group,
        missing=f"Tỉnh chưa có bộ chỉ số năm {year} (hoặc không có nhóm xếp hạng này).",
        elsewhere="Điểm khảo sát và chỉ số bên ngoài do Sở Nội vụ của tỉnh gửi.",
    )


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

    @get(
        "/{year:int}",
        name="external:api_grid",
        opt=READ,
        summary="Bảng điểm ngoài của năm: các tiêu chí Sở Nội vụ nhập và điểm đã lưu của từng đơn vị",
        responses=error_responses(),
    )
    async def grid(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        group: Annotated[str | None, GROUP] = None,
    ) -> ExternalGridOut:
        grid = await _grid(db_session, tenant, year, group)
        scores: dict[str, dict[str, ExternalCellOut]] = {}
        for department in grid.tenants:
            for criterion in grid.criteria:
                stored = grid.stored.get((department.id, criterion.code))
                if stored is not None:
                    entered = stored.entered(criterion)
                    cell = ExternalCellOut(None if entered is None else str(entered), str(stored.points), stored.source)
                    scores.setdefault(department.code, {})[criterion.code] = cell
        return ExternalGridOut(
            year,
            grid.group.code if grid.group else None,
            [g.code for g in grid.groups],
            [ExternalCriterionOut(c.code, c.title, str(c.max_points), c.is_index) for c in grid.criteria],
            {t.code: t.name for t in grid.tenants},
            scores,
        )

    @get(
        "/{year:int}/mau.xlsx",
        name="external:api_template",
        opt=READ,
        media_type=XLSX,
        summary="Mẫu bảng tính điểm ngoài của năm (.xlsx, các đơn vị và tiêu chí Sở Nội vụ nhập) để điền rồi gửi lại",
        responses=error_responses(),
    )
    async def template(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        group: Annotated[str | None, GROUP] = None,
    ) -> Response[bytes]:
        """The page's blank workbook (`…/quan-tri/tinh/diem-ngoai/<year>/mau.xlsx`): what `bang-tinh` takes back."""
        return services.template_download(tenant, await _grid(db_session, tenant, year, group))

    @put(
        "/{year:int}",
        name="external:api_save",
        opt=WRITE,
        summary="Lưu các ô của bảng điểm ngoài (như khi nhập tay trên trang Điểm khảo sát, chỉ số)",
        responses=error_responses(),
    )
    async def save(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[ExternalScoresIn],
        group: Annotated[str | None, GROUP] = None,
    ) -> ExternalImportOut:
        """Every cell checked as the page checks it: one wrong cell (field `scores.<department>.<criterion>`) and
        nothing is saved."""
        grid = await _grid(db_session, tenant, year, group)
        tenants = {t.code for t in grid.tenants}
        criteria = {c.code for c in grid.criteria}
        form: dict[str, str] = {}
        for tenant_code, cells in data.scores.items():
            if tenant_code not in tenants:
                raise ApiProblem("Đơn vị không thuộc bảng điểm của năm (hoặc nhóm) này.", field=f"scores.{tenant_code}")
            for code, typed in cells.items():
                if code not in criteria:
                    message = "Tiêu chí này không do Sở Nội vụ nhập điểm."
                    raise ApiProblem(message, field=f"scores.{tenant_code}.{code}")
                form[f"{tenant_code}:{code}"] = typed or ""
        parsed = services.parse_grid(grid, form)
        if parsed.errors:
            name, message = next(iter(parsed.errors.items()))
            raise ApiProblem(message, field="scores." + name.replace(":", ".", 1))
        changed = await services.save_entries(db_session, tenant, grid, parsed.entries, source="api-form")
        group_code = grid.group.code if grid.group else None
        return ExternalImportOut(year, group_code, sorted(parsed.entries), changed, [])
