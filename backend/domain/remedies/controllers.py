"""The remedy board (Kế hoạch khắc phục): board pages, moves (drag and drop, keyboard, a form), task forms."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission
from backend.clock import vietnam_today
from backend.db.engine import driver_connection
from backend.db.models import (
    Assessment,
    AuditEntry,
    BoardColumn,
    Task,
    TaskAssignee,
    TaskUnit,
)
from backend.domain.assessments import services as assessments
from backend.domain.remedies import board as boards
from backend.domain.remedies import board_reading as reading
from backend.domain.remedies import tasks, visibility
from backend.domain.remedies.board import VIEW_COLUMNS, Board, ColumnView, Filters, Lane, Move, MoveError
from backend.domain.remedies.cards import cards_html
from backend.domain.remedies.deadlines import working_days
from backend.domain.review.services import finalised_criteria
from backend.domain.tenants.deps import (
    TenantContext,
    provide_tenant_context,
    provide_unbound_tenant_context,
)
from backend.domain.tenants.years import no_criteria_page
from backend.web.flash import notice, problem
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
    """What the board templates need; with `request`, also the whole board's HTML (`board_html`), rendered
    once per cached read. `columns`, when the caller has read them in this transaction, save a query; with
    `cells_read`, a move's `cells` as `boards.read_cells` read them (see `reading.read_board`)."""
    if lanes is None:
        lanes = await reading.areas(db, ctx, year)
    read = await reading.read_board(db, ctx, year, filters, lanes, cells, columns, cells_read)
    board, editable, units = read.board, read.editable, read.units
    if request is not None and cells is None and read.html is None:
        templates = request.app.template_engine
        assert templates is not None  # configured in backend.core
        body = templates.engine.get_template("remedies/_board.html").make_module({"cards_html": cards_html})
        read.html = str(body.board_body(board, editable, reading.board_path(ctx, year), board.lanes)).encode()
    plan = await tasks.plan_of(db, year) if cells is None else None  # a move's answer shows only cells
    return {
        "plan": plan,
        "clock": tasks.plan_clock(plan, vietnam_today()),
        "ctx": ctx,
        "section": "board",
        "year": year,
        "board": board,
        "filters": filters,
        "editable": editable,
        "units": units,
        "all_lanes": lanes,
        "has_assessment": cells is None
        and bool(await db.scalar(select(func.count()).select_from(Assessment).where(Assessment.year == year))),
        "base": reading.board_path(ctx, year),
        "years": await assessments.criteria_years(db, ctx.province) if cells is None else [],
        "today": vietnam_today(),
        "cards_html": cards_html,
        "board_html": Markup(SPLICE) if request is not None and read.html is not None else None,  # noqa: S704
        "splice": read.html if request is not None else None,  # the board's markup, joined in by `page`
    }


class RemedyBoardController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/ke-hoach"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
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
        # The tenant was looked up outside any transaction (`provide_unbound_tenant_context`), and the move's
        # statements share one pooled connection, outside any transaction too: the move, which holds the board's
        # lock inside one round trip, and the answer's cells. The request's ORM session opens a transaction only
        # to answer a refusal or someone who does not see the whole board with no filter.
        refusal: MoveError | PermissionError | None = None
        answer: boards.CellsRead | None = None
        async with driver_connection(db_engine) as driver:
            try:
                moved = await boards.move_card(driver, tenant, year, _parse_move(form))
            except (MoveError, PermissionError) as exc:  # raised before anything is written
                refusal = exc
            except boards.NoCriteria:
                reading.no_criteria(year)
            else:
                if htmx and boards.reads_cells_whole(tenant, filters):
                    # saved and committed: the cells may already show a later move (X-Task-Version says which
                    # version this one wrote)
                    answer = await boards.read_cells(
                        driver, tenant, year, {moved.source, moved.target}, vietnam_today()
                    )
        if refusal is not None:  # the whole board, read afresh: the browser puts a dragged card back
            context = await _board_context(db_session, tenant, year, filters, request=request)
            status = 403 if isinstance(refusal, PermissionError) else 409 if refusal.conflict else 422
            if not htmx:
                response = page(request, "remedies/board.html", **context, message=str(refusal))
                response.status_code = status
                return response
            return SplicedTemplate(  # as cached: a conflict costs a page, not a re-render
                part=context["splice"] or b"",
                template_name="remedies/board_refresh.html",
                context={**context, "message": str(refusal)},
                status_code=status,
            )
        if not htmx:
            query = filters.as_query()
            return Redirect(reading.board_path(tenant, year), query_params=query or None)
        changed = {moved.source, moved.target}
        if answer is None:
            context = await _board_context(db_session, tenant, year, filters, cells=changed)
        else:
            context = await _board_context(
                db_session,
                tenant,
                year,
                filters,
                changed,
                answer.lanes,
                columns=answer.columns,
                cells_read=answer.board,
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
        _, loaded = await reading.lanes_and_sheet(db_session, tenant, year)
        options = await tasks.choices(db_session, loaded.sheet)
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
        task = await tasks.find_editable_task(db_session, tenant, year, number)
        columns = [
            ColumnView(*row) for row in await db_session.execute(select(*VIEW_COLUMNS).order_by(BoardColumn.position))
        ]
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
            anchors=await _anchors(db_session, tenant, task, columns),
        )

    @post("/{year:int}/them", name="board:create", opt=EDIT)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Response[Any]:
        _, loaded = await reading.lanes_and_sheet(db_session, tenant, year)
        options = await tasks.choices(db_session, loaded.sheet)
        raw = await request.form()
        parsed = tasks.parse_task_form(raw, options, year, vietnam_today(), working_days(tenant.province.settings))
        tasks.check_lead_unit(tenant, parsed)
        if parsed.errors:
            return _form_page(
                request, tenant, year, options, form=_echo(raw), errors=parsed.errors, task=None, status=422
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
        task = await tasks.find_task(db_session, tenant, year, number)
        _, loaded = await reading.lanes_and_sheet(db_session, tenant, year)
        options = await tasks.choices(db_session, loaded.sheet)
        activity = list(
            await db_session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "task", AuditEntry.entity_id == f"KP-{task.number}")
                .order_by(AuditEntry.id.desc())
                .limit(50)
            )
        )
        return _form_page(
            request,
            tenant,
            year,
            options,
            form=await _task_form(db_session, task),
            errors={},
            task=task,
            activity=activity,
            checklist=await tasks.checklist(db_session, task),
            comments=await tasks.comments(db_session, task),
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
        task = await tasks.find_editable_task(db_session, tenant, year, number)
        _, loaded = await reading.lanes_and_sheet(db_session, tenant, year)
        options = await tasks.choices(db_session, loaded.sheet)
        raw = await request.form()
        parsed = tasks.parse_task_form(raw, options, year, vietnam_today(), working_days(tenant.province.settings))
        try:
            version = int(str(raw.get("version", "")))
        except ValueError:
            version = -1
        if parsed.errors:
            return _form_page(
                request, tenant, year, options, form=_echo(raw), errors=parsed.errors, task=task, status=422
            )
        try:
            await tasks.update_task(db_session, tenant, task, version, parsed.values, options)
        except tasks.StaleEdit as exc:
            fresh = await _task_form(db_session, task)
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
        _, loaded = await reading.lanes_and_sheet(db_session, tenant, year)
        if loaded.assessment is None:
            problem(request, "Chưa có bản tự đánh giá năm này.")
            return Redirect(reading.board_path(tenant, year))
        options = await tasks.choices(db_session, loaded.sheet)
        existing = set(
            await db_session.scalars(
                select(Task.criterion_code).where(Task.year == year, Task.criterion_code.is_not(None))
            )
        )
        created = 0
        appraised = bool(await finalised_criteria(db_session, year))
        proposals = await tasks.plan_proposals(
            db_session, year, loaded.sheet, list(options.units.values()), {c for c in existing if c}
        )
        for proposal in proposals:
            values = {
                "kind": "fix",
                "area_code": proposal.area_code,
                "criterion_code": proposal.criterion_code,
                "title": proposal.title,
                "deficiency": proposal.deficiency,
                "expected_output": proposal.expected_output,
                "notes": "",
                "points_lost": proposal.points_lost,
                "points_max": proposal.points_max,
                "deadline_text": "",
                "due_date": None,
                "lead_unit_id": proposal.lead_unit_id,
                "labels": ["thẩm định" if appraised else "tự đánh giá"],
                "coordinating": [],
                "monitoring_unit_id": None,
                "assignees": [],
            }
            await tasks.create_task(db_session, tenant, year, values, options, options.columns[0])
            created += 1
        notice(request, f"Đã tạo {created} nhiệm vụ từ các tiêu chí bị trừ điểm.")
        return Redirect(reading.board_path(tenant, year))


PLAN_NOTICES = {
    "ngay-ket-qua": "Đã lưu ngày có kết quả thẩm định.",
    "duyet": "Đã duyệt kế hoạch.",
    "mo-lai": "Đã mở lại kế hoạch để sửa.",
}


class RemedyCardController(Controller):
    """A card's checklist and comments, and the plan's result date and approval."""

    path = "/t/{province_code:str}/{tenant_code:str}/ke-hoach"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    include_in_schema = False

    @post("/{year:int}/ke-hoach", name="board:plan", opt=PLAN)
    async def plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Redirect:
        await reading.areas(db_session, tenant, year)
        raw = await request.form()
        action = str(raw.get("action", ""))
        error = await tasks.update_plan(db_session, tenant, year, action, {k: raw.get(k) for k in raw})
        if error:
            problem(request, error)
        else:
            notice(request, PLAN_NOTICES.get(action, "Đã lưu."))
        return Redirect(reading.board_path(tenant, year))

    @post("/{year:int}/the/{number:int}/viec-can-lam", name="board:checklist_add", opt=EDIT)
    async def checklist_add(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> Redirect:
        task = await tasks.find_editable_task(db_session, tenant, year, number)
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
        task = await tasks.find_editable_task(db_session, tenant, year, number)
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
        task = await tasks.find_task(db_session, tenant, year, number)  # anyone who sees the card may comment on it
        raw = await request.form()
        error = await tasks.add_comment(db_session, tenant, task, str(raw.get("body", "")))
        return _back(request, tenant, year, number, error)


def _back(request: Request[Any, Any, Any], ctx: TenantContext, year: int, number: int, error: str | None) -> Redirect:
    if error:
        problem(request, error)
    else:
        notice(request, "Đã lưu.")
    return Redirect(f"{reading.board_path(ctx, year)}/the/{number}")


async def _anchors(
    db: AsyncSession, ctx: TenantContext, task: Task, columns: list[ColumnView]
) -> list[tuple[ColumnView, list[tuple[uuid.UUID, int, str]]]]:
    """The cards a card's move form may place it before or after: those of its lane this person sees, column by
    column in board order (a card goes next to one of another lane by moving to that lane first). Each option
    names the anchor's column too, so the form's column select does not have to agree with it."""
    where = [Task.year == task.year, Task.area_code == task.area_code, Task.id != task.id]
    visible = visibility.visible_condition(ctx)
    if visible is not None:
        where.append(visible)
    rows = (
        await db.execute(select(Task.column_id, Task.id, Task.number, Task.title).where(*where).order_by(Task.position))
    ).all()
    by_column: dict[uuid.UUID, list[tuple[uuid.UUID, int, str]]] = {}
    for column_id, task_id, number, title in rows:
        by_column.setdefault(column_id, []).append((task_id, number, title))
    return [(column, by_column[column.id]) for column in columns if column.id in by_column]


def _parse_move(form: dict[str, Any]) -> Move:
    try:
        task_id = uuid.UUID(str(form.get("task", "")))
        version = int(str(form.get("version", "")))
        column_id = uuid.UUID(str(form.get("column", "")))
    except ValueError:
        raise MoveError("Yêu cầu di chuyển không hợp lệ.") from None
    area = str(form.get("area", "")).strip()
    place = str(form.get("place", "")).strip() or "end"
    kind, _, ident = place.partition(":")
    if kind in {"before", "after"}:
        anchor, _, in_column = ident.partition("@")  # the move form names the anchor's column with it
        try:
            return Move(
                task_id, version, uuid.UUID(in_column) if in_column else column_id, area, kind, uuid.UUID(anchor)
            )
        except ValueError:
            raise MoveError("Vị trí không hợp lệ.") from None
    if place not in boards.PLACES:
        raise MoveError("Vị trí không hợp lệ.")
    return Move(task_id, version, column_id, area, place)


async def _task_form(db: AsyncSession, task: Task) -> dict[str, Any]:
    parts = list(await db.scalars(select(TaskUnit).where(TaskUnit.task_id == task.id)))
    assignees = list(await db.scalars(select(TaskAssignee.user_id).where(TaskAssignee.task_id == task.id)))
    return {
        "kind": task.kind,
        "area_code": task.area_code,
        "criterion_code": task.criterion_code or "",
        "title": task.title,
        "deficiency": task.deficiency,
        "expected_output": task.expected_output,
        "notes": task.notes,
        "points_lost": _vn(task.points_lost),
        "points_max": _vn(task.points_max),
        "deadline_text": task.deadline_text,
        "lead_unit_id": str(task.lead_unit_id) if task.lead_unit_id else "",
        "coordinating": [
            f"unit:{p.unit_id}" if p.unit_id else f"group:{p.unit_group_id}" for p in parts if p.role == "coordinating"
        ],
        "monitoring_unit_id": next((str(p.unit_id) for p in parts if p.role == "monitoring"), ""),
        "assignees": [str(a) for a in assignees],
        "labels": ", ".join(task.labels or []),
        "version": str(task.version),
    }


def _vn(value: Any) -> str:
    return "" if value is None else f"{value.normalize():f}".replace(".", ",")


def _echo(raw: Any) -> dict[str, Any]:
    echo: dict[str, Any] = {key: raw.get(key) for key in raw}
    for many in ("coordinating", "assignees"):
        echo[many] = list(raw.getall(many, [])) if hasattr(raw, "getall") else []
    return echo


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
) -> Template:
    response = page(
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
        may_edit=task is None or boards.may_edit(ctx, task),
    )
    response.status_code = status
    return response


__all__ = ["RemedyBoardController", "RemedyCardController"]
