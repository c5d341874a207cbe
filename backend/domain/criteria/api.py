"""Criteria sets over the JSON API (`/api/v1/t/<province>/<tenant>/bo-chi-so`): every version of every year of
the province's sets (read, by anyone of a tenant of the province), and the import of a new version by the
province's admin through its Sở Nội vụ, with the upload page's checks (the same service: validated for the
province, a new version only when the content changed, audited)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import CriteriaSet
from backend.domain.admin import province_scores_services as services
from backend.domain.admin.province import is_home_affairs
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import ApiProblem, error_responses

VIEW = {"access": Permission.TENANT_VIEW}
MANAGE = {"access": Permission.PROVINCE_MANAGE}


class CriteriaSetOut(msgspec.Struct):
    id: uuid.UUID
    year: int
    version: int
    ranking_group_id: uuid.UUID | None
    total_max: Decimal
    criteria: int
    source_file: str
    content_hash: str
    frozen: bool
    frozen_at: datetime | None


class CriteriaSetsOut(msgspec.Struct):
    province: str
    items: list[CriteriaSetOut]


class CriteriaImportIn(msgspec.Struct, forbid_unknown_fields=True):
    """A criteria set file (YAML, as in tenants/<province>/criteria/) and its name."""

    content: str
    file_name: str = "bo-chi-so.yaml"


class CriteriaImportOut(msgspec.Struct):
    """`created` false: the newest version already had this content, nothing new was written."""

    created: bool
    criteria_set: CriteriaSetOut


def _out(criteria_set: CriteriaSet, criteria: int) -> CriteriaSetOut:
    return CriteriaSetOut(
        id=criteria_set.id,
        year=criteria_set.year,
        version=criteria_set.version,
        ranking_group_id=criteria_set.ranking_group_id,
        total_max=criteria_set.total_max,
        criteria=criteria,
        source_file=criteria_set.source_file,
        content_hash=criteria_set.content_hash,
        frozen=criteria_set.frozen_at is not None,
        frozen_at=criteria_set.frozen_at,
    )


class CriteriaApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/bo-chi-so"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Bộ chỉ số"]  # noqa: RUF012 - Litestar reads it

    @get("/", name="api:criteria_sets", opt=VIEW, summary="Các bộ chỉ số của tỉnh", responses=error_responses())
    async def criteria_sets(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
    ) -> CriteriaSetsOut:
        sets = await services.criteria_sets(db_session, tenant.province)
        return CriteriaSetsOut(tenant.province.code, [_out(s.criteria_set, s.criteria) for s in sets])

    @post(
        "/",
        name="api:criteria_import",
        opt=MANAGE,
        request_max_body_size=2 * services.MAX_UPLOAD_BYTES,
        summary="Nhập một phiên bản bộ chỉ số (quản trị tỉnh, qua Sở Nội vụ)",
        responses=error_responses(),
    )
    async def import_set(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        data: JSONBody[CriteriaImportIn],
    ) -> Response[CriteriaImportOut]:
        if not is_home_affairs(tenant):
            raise ApiProblem("Bộ chỉ số được nhập qua Sở Nội vụ của tỉnh.", status=404)
        imported, problems = await services.upload_criteria(db_session, tenant, data.content.encode(), data.file_name)
        if imported is None:
            raise ApiProblem("\n".join(problems), field="content")
        out = CriteriaImportOut(imported.created, _out(imported.criteria_set, imported.criteria))
        return Response(out, status_code=201 if imported.created else 200)
