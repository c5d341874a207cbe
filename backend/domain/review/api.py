"""The review over the JSON API. The inspector's queue (`/api/v1/t/<province>/<tenant>/tham-dinh/<year>`): the
province's departments with their submission, completeness, open requests and appraisal, as the review list page
shows them (the same service, so another appraising agency sees only the departments with criteria assigned to it);
the inspector's decision on a criterion and evidence requests (`…/<department>/tieu-chi/<key>/quyet-dinh`,
`…/yeu-cau`), and the department's answers (`/api/v1/t/<province>/<tenant>/giai-trinh/<year>`). Every write goes
through the services the review pages call (backend.domain.review.decisions), under the same lock and audit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import EvidenceFile, EvidenceRequest, Tenant
from backend.domain.assessments import services as assessments
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.review import decisions, publishing, services
from backend.domain.review.services import ArchivedDepartment, Review, ReviewError, ReviewRow
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.years import ensure_archived_year
from backend.web.api import API_PREFIX, ApiProblem, error_responses
from backend.web.errors import ClearRefusal
from backend.web.input import clean_text

REVIEW = {"access": Permission.REVIEW_APPRAISE}
VIEW = {"access": Permission.TENANT_VIEW}
ANSWER = {"access": Permission.EVIDENCE_UPLOAD}
# the longest text a field takes here; the services refuse longer ones with their own Vietnamese message
TEXT_MAX = 20_000
Out = TypeVar("Out")


class DepartmentLineOut(msgspec.Struct):
    tenant: str
    name: str
    submission: str
    submission_version: int | None
    appraisal: str
    criteria: int
    without_evidence: int
    open_requests: int
    assigned: int
    page_url: str
    archived_on: date | None  # an archive (tenants/lineage.yaml): read-only, listed for the years it has records of
    successors: list[str]  # an archive's successors' paths, nearest first


class ReviewQueueOut(msgspec.Struct):
    year: int
    items: list[DepartmentLineOut]


class ReviewApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/tham-dinh/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Thẩm định"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:review_queue",
        opt=REVIEW,
        summary="Danh sách thẩm định: các đơn vị của tỉnh với hồ sơ đã nộp, mức đầy đủ và yêu cầu còn mở",
        responses=error_responses(),
    )
    async def queue(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> ReviewQueueOut:
        if year not in await assessments.criteria_years(db_session, tenant.province):
            raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
        lines = await services.overview(db_session, tenant, year)
        return ReviewQueueOut(
            year,
            [
                DepartmentLineOut(
                    tenant=line.department.code,
                    name=line.department.name,
                    submission=line.submission_label,
                    submission_version=line.submission.version if line.submission is not None else None,
                    appraisal=line.appraisal_label,
                    criteria=line.criteria,
                    without_evidence=line.without_evidence,
                    open_requests=line.open_requests,
                    assigned=line.assigned,
                    page_url=f"{tenant.base_path}/tham-dinh/{year}/{line.department.code}",
                    archived_on=line.department.archived_on,
                    successors=[s.path for s in line.archive.successors] if line.archive else [],
                )
                for line in lines
            ],
        )

    @get(
        "/{department_code:str}",
        name="api:review_department",
        opt=REVIEW,
        summary="Hồ sơ thẩm định của một đơn vị: trạng thái, điểm tự chấm, các tiêu chí người thẩm định được xem",
        responses=error_responses(),
    )
    async def department(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
    ) -> DepartmentOverviewOut:
        """The review page's data (`/t/…/tham-dinh/<year>/<department>`), from the same services. An archive's year
        it has nothing of answers 404 with the page's sentence (`tenants.years.archive_absence`)."""
        dept = await services.reviewed_department(db_session, tenant, department_code)
        agencies = await _agency_codes(db_session, tenant)
        async with services.bound_to(db_session, tenant, dept):
            review, archive = await services.review_and_archive(db_session, tenant, dept, year)
        if archive is not None and archive.absent is not None:
            raise ClearRefusal(status_code=404, detail=archive.absent.message)
        return department_overview_out(review, tenant, agencies, archive)

    @get(
        "/{department_code:str}/tep/{file_id:uuid}",
        name="api:review_evidence",
        opt=REVIEW,
        summary="Tải một tài liệu kiểm chứng của đơn vị đang thẩm định (của tiêu chí người thẩm định được xem)",
        responses=error_responses(),
    )
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        file_id: FromPath[uuid.UUID],
    ) -> Stream:
        storage = storage_from_settings(request.app.state["settings"])
        return await services.review_file(db_session, tenant, storage, year, department_code, file_id, inline=False)


class EvidenceRequestOut(msgspec.Struct):
    """An inspector's request for more evidence on a criterion, and the department's answer (once answered)."""

    id: uuid.UUID
    criterion: str
    round: int
    message: str
    status: str
    requested_at: datetime
    answer: str
    answered_at: datetime | None


class CriterionReviewOut(msgspec.Struct):
    """A criterion of the department's review in the current round: the self-score, the decision (if any), and
    the evidence requests on it (oldest first)."""

    key: str
    title: str
    max_points: Decimal
    self_score: Decimal | None
    round: int
    decided: bool
    accepted: bool
    points: Decimal | None
    reason: str
    signed_off: bool
    requests: list[EvidenceRequestOut]
    # the other appraising agency the criterion is assigned to this round (its tenant code); null: the Sở Nội vụ
    agency: str | None = None


class ReviewFileOut(msgspec.Struct):
    """An evidence file of a criterion (`request`: the evidence request it answers, null for the self-assessment's),
    downloaded at `url` (`api:review_evidence`)."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    request: uuid.UUID | None
    url: str


class ReviewedCriterionOut(CriterionReviewOut, kw_only=True):
    """A criterion as the review page shows it: the decision and requests, the department's explanation, the
    evidence it cites, and its files."""

    explanation: str
    evidence_refs: str
    files: list[ReviewFileOut]


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    """`accept` keeps the self-score; `score` sets `points` ("1,25" or "1.25", at most 3 decimals) with a reason."""

    decision: Annotated[str, msgspec.Meta(max_length=16)]
    points: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    reason: Annotated[str, msgspec.Meta(max_length=TEXT_MAX)] = ""


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    """The tenant code of another appraising agency of the province; null or "" gives it back to the Sở Nội vụ."""

    agency: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class EvidenceRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    message: Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    answer: Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]


class DepartmentRequestsOut(msgspec.Struct):
    year: int
    open: int
    locked: bool
    items: list[EvidenceRequestOut]


def request_out(request: EvidenceRequest) -> EvidenceRequestOut:
    return EvidenceRequestOut(
        id=request.id,
        criterion=request.criterion_code,
        round=request.round,
        message=request.message,
        status=request.status,
        requested_at=request.requested_at,
        answer=request.answer,
        answered_at=request.answered_at,
    )


def criterion_out(
    review: Review, row: ReviewRow, agencies: Mapping[uuid.UUID, str] | None = None
) -> CriterionReviewOut:
    item = row.item(review.round)
    agency_id = row.agency_id(review.round)
    return CriterionReviewOut(
        key=row.key,
        title=row.title,
        max_points=row.max_points,
        self_score=row.self_score,
        round=review.round,
        decided=row.decided(review.round),
        accepted=bool(item.accepted) if item is not None else False,
        points=item.points if item is not None else None,
        reason=item.reason if item is not None else "",
        signed_off=bool(item.signed_off) if item is not None else False,
        requests=[request_out(r) for r in row.requests],
        agency=(agencies or {}).get(agency_id) if agency_id is not None else None,
    )


def _refusal(errors: dict[str, str]) -> ApiProblem:
    field, message = next(iter(errors.items()))
    return ApiProblem(message, field=field)


CriterionAction = Literal["decide", "request", "sign-off", "assign"]


async def _agency_codes(db: AsyncSession, tenant: TenantContext) -> dict[uuid.UUID, str]:
    return {a.id: a.code for a in await services.departments_of(db, tenant.province)}


async def _review_out(
    db: AsyncSession,
    tenant: TenantContext,
    dept: Tenant,
    year: int,
    out: Callable[[Review, Mapping[uuid.UUID, str]], Out],
) -> Out:
    """`out` of `dept`'s review of `year` as this reviewer sees it (404 otherwise), with the province's appraising
    agencies by code, built while the session is bound to `dept`."""
    agencies = await _agency_codes(db, tenant)
    async with services.bound_to(db, tenant, dept):
        return out(await services.visible_review(db, tenant, dept, year), agencies)


class ReviewDecisionApiController(Controller):
    """The inspector's writes on one criterion of a department (the review page's /quyet-dinh and /yeu-cau)."""

    path = "/t/{province_code:str}/{tenant_code:str}/tham-dinh/{year:int}/{department_code:str}/tieu-chi/{key:str}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Thẩm định"]  # noqa: RUF012 - Litestar reads it

    async def _act(
        self,
        db: AsyncSession,
        tenant: TenantContext,
        year: int,
        department_code: str,
        key: str,
        action: CriterionAction,
        form: dict[str, str],
    ) -> CriterionReviewOut:
        dept = await services.reviewed_department(db, tenant, department_code)
        try:
            errors = await decisions.act_on_criterion(db, tenant, dept, year, key, action, form)
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        except ReviewError as exc:
            raise ApiProblem(str(exc)) from None
        if errors:
            raise _refusal(errors)
        return await _review_out(
            db, tenant, dept, year, lambda review, agencies: criterion_out(review, review.row(key), agencies)
        )

    @get(
        "/",
        name="api:review_criterion",
        opt=REVIEW,
        summary="Một tiêu chí của đơn vị trong vòng thẩm định hiện tại: điểm tự chấm, quyết định, yêu cầu bổ sung",
        responses=error_responses(),
    )
    async def criterion(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        key: FromPath[str],
    ) -> CriterionReviewOut:
        dept = await services.reviewed_department(db_session, tenant, department_code)

        def out(review: Review, agencies: Mapping[uuid.UUID, str]) -> CriterionReviewOut:
            return criterion_out(review, services.visible_row(review, tenant, key), agencies)

        return await _review_out(db_session, tenant, dept, year, out)

    @post(
        "/quyet-dinh",
        name="api:review_decide",
        opt=REVIEW,
        status_code=200,
        summary="Quyết định điểm thẩm định một tiêu chí: giữ điểm tự chấm (accept) hoặc chấm điểm kèm lý do (score)",
        responses=error_responses(),
    )
    async def decide(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        key: FromPath[str],
        data: JSONBody[DecisionIn],
    ) -> CriterionReviewOut:
        form = {"decision": data.decision, "points": clean_text(data.points or ""), "reason": clean_text(data.reason)}
        return await self._act(db_session, tenant, year, department_code, key, "decide", form)

    @post(
        "/yeu-cau",
        name="api:review_request",
        opt=REVIEW,
        status_code=201,
        summary="Yêu cầu đơn vị bổ sung tài liệu kiểm chứng cho một tiêu chí",
        responses=error_responses(),
    )
    async def request_evidence(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        key: FromPath[str],
        data: JSONBody[EvidenceRequestIn],
    ) -> CriterionReviewOut:
        return await self._act(
            db_session, tenant, year, department_code, key, "request", {"message": clean_text(data.message)}
        )

    @post(
        "/ky-duyet",
        name="api:review_sign_off",
        opt=REVIEW,
        status_code=200,
        summary="Ký duyệt (hoặc bỏ ký duyệt) quyết định điểm của vòng hiện tại",
        responses=error_responses(),
    )
    async def sign_off(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        key: FromPath[str],
    ) -> CriterionReviewOut:
        return await self._act(db_session, tenant, year, department_code, key, "sign-off", {})

    @post(
        "/giao",
        name="api:review_assign",
        opt=REVIEW,
        status_code=200,
        summary="Giao tiêu chí cho cơ quan khác của tỉnh thẩm định (Sở Nội vụ); agency rỗng: Sở Nội vụ tự thẩm định",
        responses=error_responses(),
    )
    async def assign(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        key: FromPath[str],
        data: JSONBody[AssignIn],
    ) -> CriterionReviewOut:
        form = {"agency": clean_text(data.agency or "").strip()}  # as the pages' forms are cleaned
        return await self._act(db_session, tenant, year, department_code, key, "assign", form)


class ReviewStepIn(msgspec.Struct, forbid_unknown_fields=True):
    """`vong-2` (to round 2), `tra-lai` (return the package; `reason` required) or `cong-bo` (publish)."""

    step: Annotated[str, msgspec.Meta(max_length=16)]
    reason: Annotated[str, msgspec.Meta(max_length=TEXT_MAX)] = ""


class DepartmentReviewOut(msgspec.Struct):
    """Where the department's review stands after a step."""

    tenant: str
    year: int
    round: int
    appraisal: str | None
    finalised: bool
    submission: str | None
    submission_version: int | None


def department_review_out(review: Review) -> DepartmentReviewOut:
    return DepartmentReviewOut(
        tenant=review.department.code,
        year=review.year,
        round=review.round,
        appraisal=review.appraisal.status if review.appraisal is not None else None,
        finalised=review.finalised,
        submission=review.submission.status if review.submission is not None else None,
        submission_version=review.submission.version if review.submission is not None else None,
    )


class SuccessorOut(msgspec.Struct):
    """A tenant an archive became (part of): its province and code, as the API's paths name them, and its name."""

    province: str
    province_name: str
    tenant: str
    name: str


class PublishedResultOut(msgspec.Struct):
    """A published (appraised) result of the year: the total and the rank among the ranking group, if ranked."""

    total: Decimal
    rank: int | None
    rank_of: int | None


class ArchiveOut(msgspec.Struct):
    """An archived department (tenants/lineage.yaml), read-only since `archived_on`: its successors, nearest first,
    and its result of the year as published, if any."""

    archived_on: date
    successors: list[SuccessorOut]
    published: PublishedResultOut | None


class DepartmentOverviewOut(DepartmentReviewOut, kw_only=True):
    """The inspector's overview of one department's year, as the review page shows it: where the review stands, the
    self-assessed total, how many criteria await a decision this round, and the criteria this reviewer sees (every
    one for the Sở Nội vụ, those assigned to it for another appraising agency). `archive`: set for an archived
    department, read-only; for a year it sent no package of and no appraisal began (a result imported from its
    history), `self_total` is null and `criteria` empty, as the page shows no sheet."""

    name: str
    self_total: Decimal | None
    total_max: Decimal
    undecided: int
    criteria: list[ReviewedCriterionOut]
    archive: ArchiveOut | None = None


def archive_out(archive: ArchivedDepartment) -> ArchiveOut:
    result = archive.published
    return ArchiveOut(
        archived_on=archive.archived_on,
        successors=[SuccessorOut(s.province_code, s.province_name, s.code, s.name) for s in archive.successors],
        published=PublishedResultOut(result.total, result.rank, result.rank_of) if result is not None else None,
    )


def department_overview_out(
    review: Review,
    ctx: TenantContext,
    agencies: Mapping[uuid.UUID, str],
    archive: ArchivedDepartment | None = None,
) -> DepartmentOverviewOut:
    files_url = f"{API_PREFIX}{ctx.base_path}/tham-dinh/{review.year}/{review.department.code}/tep"

    def files(row: ReviewRow) -> list[ReviewFileOut]:
        answering: list[tuple[uuid.UUID | None, EvidenceFile]] = [(None, f) for f in row.files]
        answering += [(request_id, f) for request_id, found in row.answer_files.items() for f in found]
        return [
            ReviewFileOut(f.id, f.filename, f.content_type, f.size, request_id, f"{files_url}/{f.id}")
            for request_id, f in answering
        ]

    criteria = [
        ReviewedCriterionOut(
            **msgspec.structs.asdict(criterion_out(review, row, agencies)),
            explanation=row.explanation,
            evidence_refs=row.evidence_refs,
            files=files(row),
        )
        for row in review.visible_to(ctx)
    ]
    nothing_sent = archive is not None and not review.started  # the page's "empty archive": no sheet, no rows
    return DepartmentOverviewOut(
        **msgspec.structs.asdict(department_review_out(review)),
        name=review.department.name,
        self_total=None if nothing_sent else review.loaded.sheet.total,
        total_max=review.loaded.sheet.total_max,
        undecided=0 if nothing_sent else len(review.undecided),
        criteria=[] if nothing_sent else criteria,
        archive=archive_out(archive) if archive is not None else None,
    )


class ReviewStepApiController(Controller):
    """A step on a department's whole submission, by the Sở Nội vụ (the review page's /vong-2, /tra-lai, /cong-bo)."""

    path = "/t/{province_code:str}/{tenant_code:str}/tham-dinh/{year:int}/{department_code:str}/buoc"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Thẩm định"]  # noqa: RUF012 - Litestar reads it

    @post(
        "/",
        name="api:review_step",
        opt=REVIEW,
        status_code=200,
        summary="Một bước trên cả hồ sơ của đơn vị: vong-2 (sang vòng 2), tra-lai (trả lại, kèm lý do), cong-bo",
        responses=error_responses(),
    )
    async def step(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        data: JSONBody[ReviewStepIn],
    ) -> DepartmentReviewOut:
        if data.step not in publishing.STEP_ACTIONS:
            raise ApiProblem("Chọn một bước: vong-2, tra-lai hoặc cong-bo.", field="step")
        dept = await services.reviewed_department(db_session, tenant, department_code)
        form = {"reason": clean_text(data.reason)} if data.step == "tra-lai" else {}
        try:
            await publishing.take_step(db_session, tenant, dept, year, data.step, form)
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        except ReviewError as exc:
            about_reason = data.step == "tra-lai" and ("lý do" in str(exc) or str(exc).startswith("Tối đa"))
            raise ApiProblem(str(exc), field="reason" if about_reason else None) from None
        async with services.bound_to(db_session, tenant, dept):
            return department_review_out(await services.visible_review(db_session, tenant, dept, year))


class ExplanationApiController(Controller):
    """The department's side: the inspectors' evidence requests and its answers (giải trình)."""

    path = "/t/{province_code:str}/{tenant_code:str}/giai-trinh/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Thẩm định"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:explanation_requests",
        opt=VIEW,
        summary="Các yêu cầu bổ sung tài liệu của năm gửi đơn vị, và giải trình đã gửi",
        responses=error_responses(),
    )
    async def requests(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> DepartmentRequestsOut:
        found = await services.department_requests(db_session, tenant, year)
        ensure_archived_year(tenant, year, section="explanation", has_record=bool(found.requests))
        return DepartmentRequestsOut(
            year=year, open=len(found.open), locked=found.locked, items=[request_out(r) for r in found.requests]
        )

    @post(
        "/{request_id:uuid}",
        name="api:explanation_answer",
        opt=ANSWER,
        status_code=200,
        summary="Gửi giải trình cho một yêu cầu còn mở (trước hạn giải trình; đã gửi thì không sửa)",
        responses=error_responses(),
    )
    async def answer(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        request_id: FromPath[uuid.UUID],
        data: JSONBody[AnswerIn],
    ) -> EvidenceRequestOut:
        found = await services.department_requests(db_session, tenant, year)
        try:
            errors = await decisions.answer(db_session, tenant, found, request_id, {"answer": clean_text(data.answer)})
        except LookupError as exc:
            raise NotFoundException(str(exc)) from None
        if errors:
            raise _refusal(errors)
        return request_out(next(r for r in found.requests if r.id == request_id))
