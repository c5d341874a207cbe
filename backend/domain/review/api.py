"""The inspector's queue over the JSON API (`/api/v1/t/<province>/<tenant>/tham-dinh/<year>`): the province's
departments with their submission, completeness, open requests and appraisal, as the review list page shows them
(the same service, so another appraising agency sees only the departments with criteria assigned to it)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.domain.assessments import services as assessments
from backend.domain.review import services
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import error_responses

REVIEW = {"access": Permission.REVIEW_APPRAISE}


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
                )
                for line in lines
            ],
        )
