"""The remedy board (Kế hoạch khắc phục): board pages, moves (drag and drop, keyboard, a form), task forms."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import AuditEntry, Task
from backend.domain.remedies import board_reading as reading
from backend.domain.remedies import services, tasks
from backend.domain.remedies.board import Board, ColumnView, Filters, Lane
from backend.domain.remedies.cards import cards_html
from backend.domain.remedies.carried import TaskLink, task_links
from backend.domain.remedies.reports import board_task_count
from backend.domain.tenants.deps import (
    TenantContext,
    provide_unbound_tenant_context,
)
from backend.domain.tenants.years import archived_year, archived_year_page, no_criteria_page
from backend.web.flash import notice, redirect_after
from backend.web.templating import SPLICE, SplicedTemplate, page

VIEW = {"access": Permission.TENANT_VIEW}
EDIT = {"access": Permission.TASK_EDIT_OWN_UNIT}
PLAN = {"access": Permission.TASK_EDIT_ANY}


async def _board_context(
    db: AsyncSession,
    ctx: TenantContext,
    year: int,
    filters: Filters,
    cells: set[tuple[uuid.UUID, str]] | None = None,
    lanes: list[Lane] | None = None,
    request: Request[Any, Any, Any] | None = None,
    columns: list[ColumnView] | None = None,
    cells_read: Board | None = None,
) -> dict[str, Any]:
    """What the board templates need (`reading.board_page`); with `request`, also the whole board's HTML
    (`board_html`), rendered from the templates once per cached read."""
    render = _board_renderer(request) if request is not None else None
    context = await reading.board_page(
        db, ctx, year, filters, cells=cells, lanes=lanes, columns=columns, cells_read=cells_read, render=render
    )
    splice = context["splice"]
    return {
        **context,
        "cards_html": cards_html,
        "board_html": Markup(SPLICE) if splice is not None else None,  # noqa: S704 - the marker `page` replaces
    }


def _board_renderer(request: Request[Any, Any, Any]) -> reading.RenderBoard:
    def render(board: Board, editable: frozenset[uuid.UUID], base: str) -> str:
        templates = request.app.template_engine
        assert templates is not None  # configured in backend.core
        body = templates.engine.get_template("remedies/_board.html").make_module({"cards_html": cards_html})
        return str(body.board_body(board, editable, base, board.lanes))

    return render


class RemedyBoardController(Controller):
    path = "/ke-hoach"
    include_in_schema = False

    @get("/", name="board:index", opt=VIEW)
    async def index(self, tenant: NamedDependency[TenantContext]) -> Redirect:
        """The board carried out during the year being assessed: the plan after the previous year's results."""
        return Redirect(reading.board_path(tenant, tenant.cycle.remedies))

    @get("/{year:int}", name="board:show", opt=VIEW)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        filters = Filters.from_query(dict(request.query_params))
        if tenant.archived and (
            absent := archived_year(
                tenant, year, section="board", has_record=await board_task_count(db_session, year) > 0
            )
        ):
            return await archived_year_page(
                request,
                db_session,
                tenant,
                absent,
                title=f"Kế hoạch khắc phục sau kết quả Chỉ số CCHC năm {year}",
                href=f"{tenant.base_path}/ke-hoach",
                open_tasks=await board_task_count(db_session, absent.last, open_only=True) if absent.last else None,
            )
        lanes = await reading.year_areas(db_session, tenant, year)
        if not lanes:
            return await no_criteria_page(
                request,
                db_session,
                tenant,
                year=year,
                section="board",
                title=f"Kế hoạch khắc phục sau kết quả Chỉ số CCHC năm {year}",
                href=f"{tenant.base_path}/ke-hoach",
                cycle_year=tenant.cycle.remedies,
            )
        context = await _board_context(db_session, tenant, year, filters, lanes=lanes, request=request)
        return page(request, "remedies/board.html", block="board_region", **context, message=None)

    @post(
        "/{year:int}/di-chuyen",
        name="board:move",
        opt=EDIT,
        dependencies={"tenant": Provide(provide_unbound_tenant_context)},
    )
    async def move(
        self,
        request: Request[Any, Any, Any],
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        raw = await request.form()
        form = {key: raw.get(key) for key in raw}
        filters = Filters.from_query({k.removeprefix("f-"): str(v) for k, v in form.items() if k.startswith("f-")})
        htmx = request.headers.get("hx-request") == "true"
        outcome = await services.move_card(db_engine, tenant, year, form, filters, cells=htmx)
        # The request's ORM session opens a transaction only to answer a refusal or someone's filtered board.
        if outcome.refusal is not None:  # the whole board, read afresh: the browser puts a dragged card back
            context = await _board_context(db_session, tenant, year, filters, lanes=outcome.lanes, request=request)
            if not htmx:
                return page(
                    request,
                    "remedies/board.html",
                    **context,
                    message=str(outcome.refusal),
                    status_code=outcome.status_code,
                )
            return SplicedTemplate(  # as cached: a conflict costs a page, not a re-render
                part=context["splice"] or b"",
                template_name="remedies/board_refresh.html",
                context={**context, "message": str(outcome.refusal)},
                status_code=outcome.status_code,
            )
        if not htmx:
            query = filters.as_query()
            return Redirect(reading.board_path(tenant, year), query_params=query or None)
        moved, changed = outcome.moved, outcome.changed
        assert moved is not None  # not refused
        context = await _board_context(
            db_session,
            tenant,
            year,
            filters,
            cells=changed,
            lanes=outcome.lanes,
            columns=outcome.columns or None,
            cells_read=outcome.cells,
        )
        return Template(
            template_name="remedies/move_response.html",
            context={**context, "changed": changed, "moved": moved},
            headers={"HX-Trigger": "board-changed", "X-Task-Version": str(moved.version)},
        )

    @get("/{year:int}/them", name="board:new", opt=EDIT)
    async def new(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        options = await services.form_choices(db_session, tenant, year)
        defaults = {k: v for k, v in request.query_params.items() if k in {"area_code", "criterion_code"}}
        return _form_page(request, tenant, year, options, form=defaults, errors={}, task=None)

    @get("/{year:int}/the/{number:int}/di-chuyen", name="board:move_form", opt=EDIT)
    async def move_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> Template:
        """A card's move form, fetched when its "Di chuyển" opens (and a page of its own without JavaScript)."""
        task = await services.editable_task(db_session, tenant, year, number)
        columns, anchors = await services.move_anchors(db_session, tenant, task)
        return page(
            request,
            "remedies/move.html",
            block="move",
            ctx=tenant,
            section="board",
            year=year,
            base=reading.board_path(tenant, year),
            task=task,
            board=Board(year, columns, []),
            lanes=await reading.areas(db_session, tenant, year),
            anchors=anchors,
        )

    @post("/{year:int}/them", name="board:create", opt=EDIT)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        options = await services.form_choices(db_session, tenant, year)
        raw = await request.form()
        parsed = services.parse_new_task(tenant, year, raw, options)
        if parsed.errors:
            return _form_page(
                request, tenant, year, options, form=services.echo(raw), errors=parsed.errors, task=None, status=422
            )
        task = await tasks.create_task(db_session, tenant, year, parsed.values, options, options.columns[0])
        notice(request, f"Đã thêm KP-{task.number}.")
        return Redirect(reading.board_path(tenant, year))

    @get("/{year:int}/the/{number:int}", name="board:card", opt=VIEW)
    async def card(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> Template:
        task = await services.visible_task(db_session, tenant, year, number)
        options = await services.form_choices(db_session, tenant, year)
        return _form_page(
            request,
            tenant,
            year,
            options,
            form=await services.task_form(db_session, task),
            errors={},
            task=task,
            activity=await services.activity(db_session, task),
            checklist=await tasks.checklist(db_session, task),
            comments=await tasks.comments(db_session, task),
            may_edit=await services.may_edit_form(db_session, tenant, task),
            carried=await task_links(db_session, tenant, task),
        )

    @post("/{year:int}/the/{number:int}", name="board:update", opt=EDIT)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> Response[Any]:
        task = await services.editable_task(db_session, tenant, year, number)
        options = await services.form_choices(db_session, tenant, year)
        raw = await request.form()
        parsed, version = services.parse_task_edit(tenant, year, raw, options)
        if parsed.errors:
            return _form_page(
                request, tenant, year, options, form=services.echo(raw), errors=parsed.errors, task=task, status=422
            )
        try:
            await tasks.update_task(db_session, tenant, task, version, parsed.values, options)
        except tasks.StaleEdit as exc:
            fresh = await services.task_form(db_session, task)
            return _form_page(
                request, tenant, year, options, form=fresh, errors={"version": str(exc)}, task=task, status=409
            )
        notice(request, "Đã lưu.")
        return Redirect(f"{reading.board_path(tenant, year)}/the/{task.number}")

    @post("/{year:int}/tao-tu-tu-danh-gia", name="board:generate", opt=PLAN)
    async def generate(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        created = await services.generate_from_assessment(db_session, tenant, year)
        return redirect_after(
            request,
            reading.board_path(tenant, year),
            "Chưa có bản tự đánh giá năm này." if created is None else None,
            f"Đã tạo {created} nhiệm vụ từ các tiêu chí bị trừ điểm.",
        )


PLAN_NOTICES = {
    "ngay-ket-qua": "Đã lưu ngày có kết quả thẩm định.",
    "duyet": "Đã duyệt kế hoạch.",
    "mo-lai": "Đã mở lại kế hoạch để sửa.",
}


class RemedyCardController(Controller):
    """A card's checklist and comments, and the plan's result date and approval."""

    path = "/ke-hoach"
    include_in_schema = False

    @post("/{year:int}/ke-hoach", name="board:plan", opt=PLAN)
    async def plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        raw = await request.form()
        action = str(raw.get("action", ""))
        error = await services.update_plan(db_session, tenant, year, action, {k: raw.get(k) for k in raw})
        return redirect_after(request, reading.board_path(tenant, year), error, PLAN_NOTICES.get(action, "Đã lưu."))

    @post("/{year:int}/the/{number:int}/viec-can-lam", name="board:checklist_add", opt=EDIT)
    async def checklist_add(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> Redirect:
        task = await services.editable_task(db_session, tenant, year, number)
        raw = await request.form()
        error = await tasks.add_checklist_item(db_session, tenant, task, str(raw.get("text", "")))
        return _back(request, tenant, year, number, error)

    @post("/{year:int}/the/{number:int}/viec-can-lam/{item:uuid}", name="board:checklist_toggle", opt=EDIT)
    async def checklist_toggle(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
        item: FromPath[uuid.UUID],
    ) -> Redirect:
        task = await services.editable_task(db_session, tenant, year, number)
        error = await tasks.toggle_checklist_item(db_session, tenant, task, item)
        return _back(request, tenant, year, number, error)

    @post("/{year:int}/the/{number:int}/trao-doi", name="board:comment", opt=VIEW)
    async def comment(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> Redirect:
        task = await services.visible_task(
            db_session, tenant, year, number
        )  # anyone who sees the card may comment on it
        raw = await request.form()
        error = await tasks.add_comment(db_session, tenant, task, str(raw.get("body", "")))
        return _back(request, tenant, year, number, error)


def _back(request: Request[Any, Any, Any], ctx: TenantContext, year: int, number: int, error: str | None) -> Redirect:
    return redirect_after(request, f"{reading.board_path(ctx, year)}/the/{number}", error, "Đã lưu.")


def _form_page(
    request: Request[Any, Any, Any],
    ctx: TenantContext,
    year: int,
    options: tasks.Choices,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    task: Task | None,
    status: int = 200,
    activity: list[AuditEntry] | None = None,
    checklist: list[Any] | None = None,
    comments: list[Any] | None = None,
    may_edit: bool = True,
    carried: list[TaskLink] | None = None,
) -> Template:
    """A card's page (a new card's when `task` is None); `may_edit` False shows a card this person only sees;
    `carried`, where it came from or went (tenants/lineage.yaml)."""
    return page(
        request,
        "remedies/task.html",
        block="panel",
        ctx=ctx,
        section="board",
        year=year,
        base=reading.board_path(ctx, year),
        options=options,
        form=form,
        errors=errors,
        task=task,
        kinds=tasks.KIND_LABELS,
        activity=activity or [],
        checklist=checklist or [],
        comments=comments or [],
        may_edit=may_edit,
        carried=carried or [],
        status_code=status,
    )


__all__ = ["RemedyBoardController", "RemedyCardController"]
