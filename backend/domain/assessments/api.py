"""The read API of published scores (JSON, in the OpenAPI schema): a tenant's results of a year, and the
province's results of a year per ranking group for its Sở Nội vụ. Signed-in sessions use it with the same
rights as the pages (the permission matrix guards each route). Points and indices are decimal strings, exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import AppraisedResult, RankingGroup, TenantKind
from backend.domain.assessments import services
from backend.domain.assessments.province_results import province_results
from backend.domain.assessments.published import publication, tenant_result
from backend.domain.tenants.deps import TenantContext

VIEW = {"access": Permission.TENANT_VIEW}
RESULTS = {"access": Permission.PROVINCE_RESULTS}


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
    path = "/api/ket-qua"
    tags = ["Kết quả Chỉ số CCHC"]  # noqa: RUF012 - Litestar reads it

    @get("/{year:int}", name="results:api_tenant", opt=VIEW, summary="Kết quả tự đánh giá của đơn vị trong năm")
    async def tenant_results(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> TenantResultsOut:
        loaded = await services.load(db_session, tenant.province, year)
        if loaded is None:
            raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
        rules = await publication(db_session, tenant.province, year)
        result = tenant_result(loaded.sheet, year, rules)
        published = await db_session.scalar(select(AppraisedResult).where(AppraisedResult.year == year))
        group = (
            await db_session.scalar(select(RankingGroup.code).where(RankingGroup.id == tenant.tenant.ranking_group_id))
            if tenant.tenant.ranking_group_id
            else None
        )
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
        if tenant.tenant.kind != TenantKind.HOME_AFFAIRS:
            raise NotFoundException("Kết quả toàn tỉnh chỉ có ở Sở Nội vụ.")
        if year not in await services.criteria_years(db_session, tenant.province):
            raise NotFoundException(f"Tỉnh chưa ban hành bộ chỉ số năm {year}.")
        codes = {
            g.name: g.code
            for g in await db_session.scalars(
                select(RankingGroup).where(RankingGroup.province_id == tenant.province.id)
            )
        }
        if group is not None and group not in codes.values():
            raise NotFoundException(f"Tỉnh không có nhóm xếp hạng {group!r}.")
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
