"""The read API of published scores (JSON under /api/v1, in the OpenAPI schema): a tenant's results of a year, and the
province's results of a year per ranking group for its Sở Nội vụ. Signed-in sessions use it with the same
rights as the pages (the permission matrix guards each route), and API tokens with the scope each route declares
(a tenant's `results:read`, a province's `province-results:read`). Points and indices are decimal strings, exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission, TokenScope
from backend.domain.assessments import services
from backend.domain.assessments.province_results import checked_year, province_results
from backend.domain.assessments.published import publication, tenant_result
from backend.domain.assessments.sheet import Row
from backend.domain.submissions.calendar import calendar_lock
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.years import ensure_archived_year
from backend.web.api import ApiConflict, ApiError, ApiProblem, error_responses

VIEW = {"access": Permission.TENANT_VIEW, "token_scope": TokenScope.RESULTS_READ}
RESULTS = {"access": Permission.PROVINCE_RESULTS, "token_scope": TokenScope.PROVINCE_RESULTS_READ}


class ResultClassOut(msgspec.Struct):
    code: str
    label: str


class AreaOut(msgspec.Struct):
    code: str
    title: str
    points: Decimal
    applicable_max: Decimal
    index: Decimal | None


class NotApplicableOut(msgspec.Struct):
    code: str
    reason: str


class RankOut(msgspec.Struct):
    rank: int
    of: int | None


class TenantResultsOut(msgspec.Struct):
    """A tenant's year: self-assessed points out of the maximum that applies to it, the index and class, and
    the rank in its group as published (null until the province publishes it)."""

    province: str
    tenant: str
    name: str
    ranking_group: str | None
    year: int
    status: str | None
    points: Decimal
    applicable_max: Decimal
    total_max: Decimal
    index: Decimal | None
    index_places: int
    result_class: ResultClassOut | None
    rank: RankOut | None
    areas: list[AreaOut]
    not_applicable: list[NotApplicableOut]


class RankedOut(msgspec.Struct):
    tenant: str
    name: str
    points: Decimal
    applicable_max: Decimal
    index: Decimal | None
    rank: int | None
    of: int
    result_class: str | None
    status: str


class GroupOut(msgspec.Struct):
    code: str | None
    name: str
    results: list[RankedOut]


class ProvinceResultsOut(msgspec.Struct):
    """A province's year per ranking group: each group ranked on its own by index (ties share a rank)."""

    province: str
    year: int
    index_places: int
    groups: list[GroupOut]


class ResultsApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/ket-qua"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Kết quả Chỉ số CCHC"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/{year:int}",
        name="results:api_tenant",
        opt=VIEW,
        summary="Kết quả tự đánh giá của đơn vị trong năm",
        responses=error_responses(),
    )
    async def tenant_results(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> TenantResultsOut:
        ensure_archived_year(tenant, year, section="assessment")  # an archive's year after (or before) its life
        loaded = await services.load(db_session, tenant.province, year)
        if loaded is None:
            raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
        rules = await publication(db_session, tenant.province, year)
        result = tenant_result(loaded.sheet, year, rules)
        published = await services.appraised_result(db_session, year)
        groups = await services.ranking_groups(db_session, tenant.province)
        group = next((g.code for g in groups if g.id == tenant.tenant.ranking_group_id), None)
        code = next((c.code for c in rules.classes if c.label == result.result_class), None)
        return TenantResultsOut(
            province=tenant.province.code,
            tenant=tenant.tenant.code,
            name=tenant.tenant.name,
            ranking_group=group,
            year=year,
            status=loaded.assessment.status if loaded.assessment is not None else None,
            points=result.total,
            applicable_max=result.applicable_max,
            total_max=loaded.sheet.total_max,
            index=result.index,
            index_places=rules.places,
            result_class=ResultClassOut(code, result.result_class) if code is not None else None,
            rank=RankOut(published.rank, published.rank_of) if published is not None and published.rank else None,
            areas=[AreaOut(a.code, a.title, a.achieved, a.max_points, a.index) for a in result.areas],
            not_applicable=[NotApplicableOut(c, r) for c, r in sorted(result.not_applicable.items())],
        )

    @get(
        "/tinh/{year:int}",
        name="results:api_province",
        opt=RESULTS,
        summary="Kết quả các đơn vị của tỉnh trong năm, theo nhóm xếp hạng (Sở Nội vụ)",
        responses=error_responses(),
    )
    async def province(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        group: Annotated[
            str | None, QueryParameter(name="nhom", description="mã nhóm xếp hạng, ví dụ xa-phuong")
        ] = None,
    ) -> ProvinceResultsOut:
        await checked_year(db_session, tenant, year)
        codes = {g.name: g.code for g in await services.ranking_groups(db_session, tenant.province)}
        if group is not None and group not in codes.values():
            raise ApiProblem(f"Tỉnh không có nhóm xếp hạng {group!r}.", field="nhom", status=404)
        results = await province_results(db_session, tenant, year)
        groups = [
            GroupOut(
                codes.get(name),
                name,
                [
                    RankedOut(
                        r.tenant.code,
                        r.tenant.name,
                        r.total,
                        r.max_points,
                        r.index,
                        r.rank,
                        r.of,
                        r.result_class or None,
                        r.status,
                    )
                    for r in rows
                ],
            )
            for name, rows in results.groups
            if group is None or codes.get(name) == group
        ]
        return ProvinceResultsOut(tenant.province.code, year, results.rules.places, groups)


# --- the self-assessment: rows, saves with version, workflow ---------------------------------------------------


class RowOut(msgspec.Struct):
    """A row of the self-assessment sheet: what the department entered, its score, and the version to send back
    with the next save (0: never saved)."""

    code: str
    remainder: bool
    title: str
    depth: int
    method: str
    max_points: Decimal
    applicable_max: Decimal
    editable: bool
    by_province: bool
    not_applicable: str | None
    score: Decimal | None
    points: Decimal | None
    inputs: dict[str, str]
    explanation: str
    evidence_refs: str
    version: int


class RowConflict(ApiError, kw_only=True):
    """A save on a stale version: nothing was saved; `current` is the row as it is now. `current` is absent when
    the database itself refused the write as conflicting (a concurrent change caught at commit): read the row again."""

    current: RowOut | None = None


class RowIn(msgspec.Struct, forbid_unknown_fields=True):
    """A row's save. `version` is the row's as read (0 for a row never saved). Numbers are decimal strings
    ("9.5" or "9,5"); the method's inputs (`points`; `achieved` and `target`; `value`; `event` and `done` as
    dates) as on the page; an empty or absent input clears the score."""

    version: int
    points: str | None = None
    achieved: str | None = None
    target: str | None = None
    value: str | None = None
    event: str | None = None
    done: str | None = None
    explanation: str = ""
    evidence_refs: str = ""


class ActionOut(msgspec.Struct):
    action: str
    label: str
    needs_reason: bool


class AssessmentOut(msgspec.Struct):
    """A tenant's self-assessment of a year: its status, totals, and the workflow actions the reader may take."""

    year: int
    status: str | None
    status_label: str
    criteria_set_version: int
    revision: int
    points: Decimal
    applicable_max: Decimal
    total_max: Decimal
    to_enter: int
    editable: bool
    actions: list[ActionOut]


class RowsOut(msgspec.Struct):
    year: int
    items: list[RowOut]


class TransitionIn(msgspec.Struct, forbid_unknown_fields=True):
    """A workflow step: `gui-duyet` (submit for approval), `rut-lai`, `tra-lai` (with a reason), `duyet`
    (approve), `mo-lai` (reopen, with a reason)."""

    action: str
    reason: str = ""


EDIT = {"access": Permission.ASSESSMENT_EDIT}
# A step needs the right its action asks (`_allowed`, checked by the workflow), so the route asks only to see the
# tenant; no token scope: a token writes no self-assessment (every scope of a tenant's token reads or uploads).
TRANSITION = {"access": Permission.TENANT_VIEW}


def _allowed(tenant: TenantContext) -> set[str]:
    return {p.value for p in Permission if tenant.can(p.value)}


async def _loaded(db: AsyncSession, tenant: TenantContext, year: int) -> services.Loaded:
    """The year's sheet; 404 without a criteria set, or for an archive's year it did not self-assess."""
    loaded = await services.load(db, tenant.province, year)
    ensure_archived_year(
        tenant, year, section="assessment", has_record=None if loaded is None else bool(loaded.assessment)
    )
    if loaded is None:
        raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
    return loaded


def row_out(loaded: services.Loaded, row: Row) -> RowOut:
    entry = row.entry
    return RowOut(
        code=row.code,
        remainder=row.remainder,
        title=row.node.title,
        depth=row.node.depth,
        method=row.method_type,
        max_points=row.max_points,
        applicable_max=row.applicable_max,
        editable=row.editable,
        by_province=row.by_province,
        not_applicable=row.not_applicable,
        score=row.score,
        points=entry.points if entry is not None else None,
        inputs=dict(entry.inputs) if entry is not None else {},
        explanation=entry.explanation if entry is not None else "",
        evidence_refs=entry.evidence_refs if entry is not None else "",
        version=0 if row.remainder else loaded.versions.get(row.node.id, 0),
    )


def assessment_out(tenant: TenantContext, loaded: services.Loaded, year: int) -> AssessmentOut:
    assessment = loaded.assessment
    status = assessment.status if assessment is not None else None
    return AssessmentOut(
        year=year,
        status=status,
        status_label=services.STATUS_LABELS.get(status or "", "Chưa bắt đầu"),
        criteria_set_version=loaded.criteria_set.version,
        revision=assessment.revision if assessment is not None else 0,
        points=loaded.sheet.total,
        applicable_max=loaded.sheet.applicable_max,
        total_max=loaded.sheet.total_max,
        to_enter=loaded.sheet.to_enter,
        editable=status == "draft"
        and tenant.can(Permission.ASSESSMENT_EDIT.value)
        and calendar_lock(tenant.province, year) is None,
        actions=[
            ActionOut(t.action, t.label, t.needs_reason)
            for t in services.available_actions(assessment, _allowed(tenant))
        ],
    )


def _row(loaded: services.Loaded, code: str, remainder: bool) -> Row:
    try:
        return loaded.sheet.row(code, remainder=remainder)
    except KeyError:
        raise ApiProblem("Không có tiêu chí này trong bộ chỉ số.", field="code", status=404) from None


async def _fresh_row_out(db: AsyncSession, tenant: TenantContext, year: int, code: str, remainder: bool) -> RowOut:
    """The row as it is stored now (read again after a write, or after someone else's)."""
    loaded = await _loaded(db, tenant, year)
    return row_out(loaded, _row(loaded, code, remainder))


Remainder = Annotated[bool, QueryParameter(name="con_lai", description="phần còn lại của một tiêu chí có tiêu chí con")]


class AssessmentApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/tu-danh-gia/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Tự đánh giá"]  # noqa: RUF012 - Litestar reads it

    @get("/", name="api:assessment", opt=VIEW, summary="Bản tự đánh giá của năm", responses=error_responses())
    async def assessment(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> AssessmentOut:
        return assessment_out(tenant, await _loaded(db_session, tenant, year), year)

    @post(
        "/bat-dau",
        name="api:assessment_start",
        opt=EDIT,
        status_code=200,
        summary="Bắt đầu bản tự đánh giá của năm (lặp lại không sao)",
        responses=error_responses(),
    )
    async def start(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> AssessmentOut:
        try:
            await services.start(db_session, tenant.tenant, tenant.province, year, tenant.principal.user_id)
        except services.WorkflowError as exc:
            raise ApiProblem(str(exc)) from None
        return assessment_out(tenant, await _loaded(db_session, tenant, year), year)

    @get(
        "/tieu-chi",
        name="api:assessment_rows",
        opt=VIEW,
        summary="Các dòng của bảng tự đánh giá",
        responses=error_responses(),
    )
    async def rows(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> RowsOut:
        loaded = await _loaded(db_session, tenant, year)
        return RowsOut(year, [row_out(loaded, row) for row in loaded.sheet.rows()])

    @get("/tieu-chi/{code:str}", name="api:assessment_row", opt=VIEW, summary="Một dòng", responses=error_responses())
    async def row(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
        remainder: Remainder = False,
    ) -> RowOut:
        return await _fresh_row_out(db_session, tenant, year, code, remainder)

    @put(
        "/tieu-chi/{code:str}",
        name="api:assessment_save_row",
        opt=EDIT,
        summary="Lưu một dòng (kèm version đã đọc; 409 kèm dòng mới nhất nếu đã có người lưu)",
        responses=error_responses((409, RowConflict)),
    )
    async def save_row(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
        data: JSONBody[RowIn],
        remainder: Remainder = False,
    ) -> RowOut:
        loaded = await _loaded(db_session, tenant, year)
        row = _row(loaded, code, remainder)
        form: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
        form["version"] = str(data.version)
        try:
            result = await services.save_own_row(db_session, tenant, loaded, row, form, year)
        except services.StaleRow as exc:
            raise ApiConflict(await _fresh_row_out(db_session, tenant, year, code, remainder), str(exc)) from None
        if result.errors:
            field, message = next(iter(result.errors.items()))
            raise ApiProblem(message, field=field)
        return await _fresh_row_out(db_session, tenant, year, code, remainder)

    @post(
        "/trang-thai",
        name="api:assessment_transition",
        opt=TRANSITION,
        status_code=200,
        summary="Chuyển trạng thái: gửi duyệt, rút lại, trả lại, duyệt, mở lại",
        responses=error_responses(),
    )
    async def transition(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[TransitionIn],
    ) -> AssessmentOut:
        loaded = await _loaded(db_session, tenant, year)
        try:
            await services.transition(
                db_session,
                tenant.tenant,
                loaded,
                data.action,
                data.reason,
                tenant.principal.user_id,
                _allowed(tenant),
            )
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        except services.WorkflowError as exc:
            raise ApiProblem(str(exc), field="action" if "không hợp lệ" in str(exc) else None) from None
        return assessment_out(tenant, await _loaded(db_session, tenant, year), year)
