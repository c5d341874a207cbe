"""The tenant's home page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy import Integer, Uuid, bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.domain.assessments.controllers import history_chart, history_chart_response
from backend.domain.assessments.dashboard import dashboard
from backend.domain.assessments.parts import province_parts, province_points
from backend.domain.assessments.published import publication_of
from backend.domain.tenants.carry_over import carry_over, open_tasks
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.home_cache import (
    home_key,
    home_response,
    kept_home_response,
    serve_kept_home,
    store_home,
)
from backend.domain.tenants.lineage import (
    PREDECESSORS_COLUMN,
    history_with_predecessors,
    predecessors,
    predecessors_of,
)
from backend.domain.tenants.services import HOME_COLUMNS, province_calendar, tenant_home_of
from backend.domain.tenants.waiting import (
    DEPARTMENT_COLUMNS,
    SHOWN_TASKS,
    department_waiting_of,
    due_horizon,
    inspector_queue,
)
from backend.web.flash import notice, problem
from backend.web.templating import page

# The home page's reads of the tenant (row-level security scopes them) in one round trip: every statement costs
# the page a wait on PostgreSQL and a tenant check (issue 20 item 5; tests/test_home_statements.py pins the count).
_HOME_READS = text(
    "SELECT"
    + HOME_COLUMNS
    + ","
    + DEPARTMENT_COLUMNS
    + """,
      (SELECT coalesce(array_agg(DISTINCT year ORDER BY year), '{}') FROM criteria_sets
        WHERE province_id = :province) AS criteria_years,
      (SELECT coalesce(json_agg(json_build_object('code', r.code, 'label', r.label, 'min_index', r.min_index::text,
                                                  'area_floor', r.area_floor::text) ORDER BY r.position), '[]')
         FROM result_classes r
        WHERE r.province_id = :province AND r.year = (SELECT max(year) FROM criteria_sets
                                                       WHERE province_id = :province AND year <= :cycle_year))
        AS result_classes,
    """
    + PREDECESSORS_COLUMN
).bindparams(
    bindparam("shown", SHOWN_TASKS),
    bindparam("province", type_=Uuid),
    bindparam("tenant", type_=Uuid),
    bindparam("cycle_year", type_=Integer),
)


class TenantController(Controller):
    path = "/"
    include_in_schema = False

    # A page kept rendered between changes (`home_cache`) is served by its route middleware, before the tenant's
    # dependency; the handler builds the others, and keeps them when it may.
    @get("/", name="tenant:home", opt={"access": Permission.TENANT_VIEW}, middleware=[serve_kept_home])
    async def home(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Response[bytes]:
        today = vietnam_today()
        key = home_key(
            request.scope,
            tenant.principal,
            tenant.id,
            archived=tenant.archived,
            config_revision=tenant.config_revision,
            settings=request.app.state["settings"],
            today=today,
        )
        kept = kept_home_response(request.scope, key) if key is not None else None
        if kept is not None:
            return kept
        cycle = tenant.cycle
        # One statement for the units, the department's boxes of what waits, the province's criteria years with
        # the result classes of the year shown, and the tenant's predecessors.
        horizon = due_horizon(tenant.province, today)
        row = (
            await db_session.execute(
                _HOME_READS,
                {
                    "today": today,
                    "horizon": horizon,
                    "province": tenant.province.id,
                    "tenant": tenant.id,
                    "cycle_year": cycle.year,
                },
            )
        ).one()
        home = tenant_home_of(row, tenant.province, cycle.year)
        waiting = department_waiting_of(row, horizon)
        results, labels, earlier = await history_with_predecessors(
            db_session, tenant.tenant, tenant.principal, predecessors_of(row.predecessors)
        )
        board = await dashboard(
            db_session,
            tenant.province,
            cycle.year,
            history=(results, labels),
            criteria_years=list(row.criteria_years),
            rules=publication_of(row.result_classes, tenant.province),
        )
        carry = await open_tasks(db_session, tenant, earlier) if earlier and tenant.can("task.edit_any") else []
        # The inspector's queue only for those who appraise (never in an archive: nothing waits there).
        appraises = tenant.can(Permission.REVIEW_APPRAISE) and not tenant.archived
        queue = await inspector_queue(db_session, tenant) if appraises else None
        parts = province_parts(board.loaded.sheet) if board.loaded else []
        body = (
            page(
                request,
                "tenants/home.html",
                block="content",
                ctx=tenant,
                home=home,
                today=today,
                board=board,
                waiting=waiting,
                queue=queue,
                province_parts=parts,
                province_points=province_points(parts),
                cycle=cycle,
                calendar=province_calendar(tenant.province, cycle.year),
                predecessors=earlier,
                carry=carry,
            )
            .to_asgi_response(None, request)
            .body
        )
        if key is not None:
            store_home(request.scope, key, body)
            kept = kept_home_response(request.scope, key)
        return kept or home_response(body)

    @post(
        "/don-vi-tien-than/chuyen-nhiem-vu",
        name="tenant:carry_over",
        opt={"access": Permission.TASK_EDIT_ANY},
        status_code=303,
    )
    async def carry_over_tasks(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Redirect:
        """One action: every open task of the predecessors not carried over yet onto this tenant's board."""
        earlier = await predecessors(db_session, tenant.id)
        if not earlier:
            problem(request, "Đơn vị không có đơn vị tiền thân: không có nhiệm vụ nào để chuyển.")
            return Redirect(f"{tenant.base_path}/")
        copied = await carry_over(db_session, tenant, earlier)
        # a predecessor with no open task is named in neither sentence: "0 nhiệm vụ" says nothing to a person
        moved = {name: n for name, n in copied.items() if n}
        if moved:
            done = "; ".join(f"{n} nhiệm vụ của {name}" for name, n in moved.items())
            notice(request, f"Đã chuyển sang Kế hoạch khắc phục: {done}.")
        elif copied:
            notice(request, "Đơn vị tiền thân không có nhiệm vụ nào chưa hoàn thành để chuyển.")
        else:
            notice(request, "Các nhiệm vụ của đơn vị tiền thân đã được chuyển trước đó; không có gì thay đổi.")
        return Redirect(f"{tenant.base_path}/#predecessors")

    @get("/bieu-do/{name:str}", name="tenant:chart", opt={"access": Permission.TENANT_VIEW})
    async def chart(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], name: FromPath[str]
    ) -> Response[bytes]:
        results, labels, _ = await history_with_predecessors(db_session, tenant.tenant, tenant.principal)
        return history_chart_response(name, history_chart(results, labels), tenant.tenant.code)
