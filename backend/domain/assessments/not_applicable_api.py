""" "Không áp dụng" over the JSON API, through the services the pages call (backend.domain.assessments.not_applicable).
The department asks that a criterion not apply to it (`/api/v1/t/<province>/<tenant>/tu-danh-gia/<year>/khong-ap-dung`,
as the self-assessment page's form); the Sở Nội vụ decides one for a tenant of its province, accepts or refuses a
department's claim, and withdraws a decision (`…/tinh/ket-qua/<year>/khong-ap-dung`, as the province results page).
A refusal is a 422 with the Vietnamese message and its field, and nothing is written; an archived tenant is 423.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import NotApplicableDecision
from backend.domain.assessments import not_applicable
from backend.domain.assessments.province_results import checked_year
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import ApiProblem, error_responses
from backend.web.input import clean_text

VIEW = {"access": Permission.TENANT_VIEW}
EDIT = {"access": Permission.ASSESSMENT_EDIT}
RESULTS = {"access": Permission.PROVINCE_RESULTS}
MANAGE = {"access": Permission.PROVINCE_MANAGE}
CODE_MAX = 32
# longer than the services' own limit (not_applicable.MAX_REASON), so that they refuse with their Vietnamese message
TEXT_MAX = 20_000

Code = Annotated[str, msgspec.Meta(max_length=CODE_MAX)]
Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX)]


class ClaimOut(msgspec.Struct):
    """A claim (or the province's decision) on one criterion of the tenant's year."""

    criterion: str
    reason: str
    status: str
    status_label: str
    answer: str


class ClaimsOut(msgspec.Struct):
    year: int
    items: list[ClaimOut]


class ClaimIn(msgspec.Struct, forbid_unknown_fields=True):
    """The code of a criterion, area or survey part that counts toward the maximum (e.g. "3", "7.3"), and why."""

    criterion: Code
    reason: Text


def claim_out(row: NotApplicableDecision) -> ClaimOut:
    return ClaimOut(
        criterion=row.criterion_code,
        reason=row.reason,
        status=row.status,
        status_label=not_applicable.STATUS_LABELS.get(row.status, row.status),
        answer=row.answer,
    )


def _refusal(exc: not_applicable.DecisionError) -> ApiProblem:
    return ApiProblem(str(exc), field=exc.field)


class NotApplicableClaimApiController(Controller):
    """The department's claims that a criterion does not apply to it (the self-assessment page's section)."""

    path = "/t/{province_code:str}/{tenant_code:str}/tu-danh-gia/{year:int}/khong-ap-dung"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Không áp dụng"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:not_applicable_claims",
        opt=VIEW,
        summary="Các đề nghị không áp dụng của đơn vị trong năm và quyết định của Sở Nội vụ",
        responses=error_responses(),
    )
    async def claims(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> ClaimsOut:
        del tenant  # resolving it checks the person's access and binds the session to the tenant (row-level security)
        return ClaimsOut(year, [claim_out(r) for r in await not_applicable.own_claims(db_session, year)])

    @post(
        "/",
        name="api:not_applicable_claim",
        opt=EDIT,
        status_code=201,
        summary="Đề nghị một tiêu chí không áp dụng cho đơn vị trong năm, kèm lý do (Sở Nội vụ quyết định)",
        responses=error_responses(),
    )
    async def claim(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[ClaimIn],
    ) -> ClaimOut:
        try:
            await not_applicable.claim(db_session, tenant, year, clean_text(data.criterion), clean_text(data.reason))
        except not_applicable.DecisionError as exc:
            raise _refusal(exc) from None
        code = clean_text(data.criterion).strip()
        return next(claim_out(r) for r in await not_applicable.own_claims(db_session, year) if r.criterion_code == code)


class DecisionOut(msgspec.Struct):
    """A claim or decision on one criterion of one tenant of the province."""

    tenant: str
    tenant_name: str
    criterion: str
    title: str
    reason: str
    status: str
    status_label: str
    answer: str


class DecisionsOut(msgspec.Struct):
    year: int
    items: list[DecisionOut]


class DecideIn(msgspec.Struct, forbid_unknown_fields=True):
    """The tenant's code, the code of a criterion, area or survey part that counts toward the maximum, and why."""

    tenant: Code
    criterion: Code
    reason: Text


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    """`accept`: true, the criterion does not apply; false, the claim is refused. `note`: the answer (optional)."""

    tenant: Code
    criterion: Code
    accept: bool
    note: Annotated[str, msgspec.Meta(max_length=not_applicable.MAX_REASON)] = ""


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    tenant: Code
    criterion: Code


class RevokedOut(msgspec.Struct):
    tenant: str
    criterion: str
    revoked: bool


def decision_out(found: not_applicable.Decision) -> DecisionOut:
    return DecisionOut(
        tenant=found.tenant.code,
        tenant_name=found.tenant.name,
        criterion=found.criterion_code,
        title=found.title,
        reason=found.reason,
        status=found.status,
        status_label=found.status_label,
        answer=found.answer,
    )


async def _decision(db: AsyncSession, tenant: TenantContext, year: int, tenant_code: str, code: str) -> DecisionOut:
    found = await not_applicable.decisions(db, tenant, year)
    return decision_out(next(d for d in found if d.tenant.code == tenant_code and d.criterion_code == code))


class NotApplicableDecisionApiController(Controller):
    """The Sở Nội vụ's decisions that a criterion does not apply (the province results page's section)."""

    path = "/t/{province_code:str}/{tenant_code:str}/tinh/ket-qua/{year:int}/khong-ap-dung"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Không áp dụng"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:not_applicable_decisions",
        opt=RESULTS,
        summary="Các đề nghị và quyết định không áp dụng của năm trên mọi đơn vị của tỉnh",
        responses=error_responses(),
    )
    async def decisions(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> DecisionsOut:
        await checked_year(db_session, tenant, year)
        found = await not_applicable.decisions(db_session, tenant, year)
        return DecisionsOut(year, [decision_out(d) for d in found])

    @post(
        "/",
        name="api:not_applicable_decide",
        opt=MANAGE,
        status_code=200,
        summary="Quyết định một tiêu chí không áp dụng cho một đơn vị của tỉnh trong năm, kèm lý do",
        responses=error_responses(),
    )
    async def decide(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[DecideIn],
    ) -> DecisionOut:
        await checked_year(db_session, tenant, year)
        tenant_code, code = clean_text(data.tenant), clean_text(data.criterion)  # as the pages' forms are cleaned
        try:
            await not_applicable.decide(db_session, tenant, year, tenant_code, code, clean_text(data.reason))
        except not_applicable.DecisionError as exc:
            raise _refusal(exc) from None
        return await _decision(db_session, tenant, year, tenant_code, code.strip())

    @post(
        "/tra-loi",
        name="api:not_applicable_answer",
        opt=MANAGE,
        status_code=200,
        summary="Chấp nhận (accept: true) hoặc từ chối đề nghị không áp dụng của một đơn vị, kèm ghi chú",
        responses=error_responses(),
    )
    async def answer(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[AnswerIn],
    ) -> DecisionOut:
        await checked_year(db_session, tenant, year)
        tenant_code, code = clean_text(data.tenant), clean_text(data.criterion)
        answered = await not_applicable.answer(
            db_session, tenant, year, tenant_code, code, data.accept, clean_text(data.note)
        )
        if not answered:
            raise NotFoundException("Không có đề nghị này đang chờ trả lời.")
        return await _decision(db_session, tenant, year, tenant_code, code)

    @post(
        "/bo",
        name="api:not_applicable_revoke",
        opt=MANAGE,
        status_code=200,
        summary="Bỏ quyết định không áp dụng: tiêu chí lại tính cho đơn vị",
        responses=error_responses(),
    )
    async def revoke(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[RevokeIn],
    ) -> RevokedOut:
        await checked_year(db_session, tenant, year)
        tenant_code, code = clean_text(data.tenant), clean_text(data.criterion)
        if not await not_applicable.revoke(db_session, tenant, year, tenant_code, code):
            raise NotFoundException("Không có quyết định không áp dụng này để bỏ.")
        return RevokedOut(tenant_code, code, revoked=True)
