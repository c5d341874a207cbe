"""Remedy tasks over the JSON API (`/api/v1/t/<province>/<tenant>/ke-hoach/<year>/nhiem-vu`): the list with the
board's filters, paged by cursor; create; edit and move, each with the version read (409 with the fresh task when
someone else changed it); a task's checklist (add, tick, untick) and comments. The year's plan as a whole
(`.../ke-hoach/<year>`): its clock and status, generating its tasks from the self-assessment, the appraisal result's
date, approving and reopening it. The same services and rules as the board's pages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.auth.permissions import Permission, TokenScope
from backend.clock import vietnam_today
from backend.db.models import CarriedTask, Task
from backend.domain.remedies import board as boards
from backend.domain.remedies import board_reading as reading
from backend.domain.remedies import carried, services, tasks
from backend.domain.remedies.board import Filters, MoveError
from backend.domain.remedies.carried import Side
from backend.domain.remedies.reports import board_task_count
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.domain.tenants.years import ensure_archived_year
from backend.web.api import (
    API_PREFIX,
    ApiConflict,
    ApiError,
    ApiProblem,
    Cursor,
    Limit,
    decode_cursor,
    error_responses,
    page_of,
)

VIEW = {"access": Permission.TENANT_VIEW, "token_scope": TokenScope.TASKS_READ}
EDIT = {"access": Permission.TASK_EDIT_OWN_UNIT}
COMMENT = {"access": Permission.TENANT_VIEW}  # anyone who sees the task; not a read-only token
PLAN = {"access": Permission.TASK_EDIT_ANY}


class CarriedFromOut(msgspec.Struct):
    """The predecessor's task this one was carried over from (tenants/lineage.yaml): its tenant and number there."""

    province: str
    province_name: str
    tenant: str
    name: str
    number: int


class CarriedToOut(CarriedFromOut, kw_only=True):
    """A successor's task an archive's task was carried over to, when, and its `url` in the API when the reader may
    open it there (null otherwise: the number alone)."""

    carried_at: datetime
    url: str | None


class TaskOut(msgspec.Struct, kw_only=True):
    """A remedy task (KP-`number`) as its card's form shows it; `version` goes back with an edit or a move.
    `carried_from`: the predecessor's task it was carried over from; `carried_to`, on an archive's board, the tasks
    it was carried over to (tenants/lineage.yaml)."""

    id: uuid.UUID
    number: int
    year: int
    version: int
    kind: str
    area_code: str
    criterion_code: str | None
    title: str
    deficiency: str
    expected_output: str
    notes: str
    points_lost: Decimal | None
    points_max: Decimal | None
    deadline_text: str
    due_date: date | None
    column: str
    position: int
    lead_unit_id: uuid.UUID | None
    coordinating_unit_ids: list[uuid.UUID]
    coordinating_group_ids: list[uuid.UUID]
    monitoring_unit_id: uuid.UUID | None
    assignee_ids: list[uuid.UUID]
    labels: list[str]
    carried_from: CarriedFromOut | None = None
    carried_to: list[CarriedToOut] = msgspec.field(default_factory=list)


class TaskConflict(ApiError, kw_only=True):
    """An edit or move on a stale version: nothing was changed; `current` is the task as it is now. `current` is
    absent when the database itself refused the write as conflicting (caught at commit): read the task again."""

    current: TaskOut | None = None


class TasksPage(msgspec.Struct):
    items: list[TaskOut]
    next_cursor: str | None


class TaskIn(msgspec.Struct, forbid_unknown_fields=True):
    """A task's fields as the card's form takes them. Points are decimal strings ("1.5" or "1,5"); the deadline as
    people write it (15/11/2024, Quý II/2024, Thường xuyên)."""

    area_code: str
    title: str
    deadline_text: str
    kind: str = "fix"
    criterion_code: str | None = None
    deficiency: str = ""
    expected_output: str = ""
    notes: str = ""
    points_lost: str | None = None
    points_max: str | None = None
    lead_unit_id: uuid.UUID | None = None
    coordinating_unit_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    coordinating_group_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    monitoring_unit_id: uuid.UUID | None = None
    assignee_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    labels: list[str] = msgspec.field(default_factory=list)


class TaskEdit(TaskIn, kw_only=True, forbid_unknown_fields=True):
    version: int


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    """A move: to `column` (its code), in `area` (the lane; empty: the card's own), at `place` (end, top, up,
    down, or before/after the task `anchor`, by its number)."""

    version: int
    column: str
    area: str = ""
    place: str = "end"
    anchor: int | None = None


class ChecklistItemOut(msgspec.Struct):
    """One item of a task's checklist ("việc cần làm"), in the card's order."""

    id: uuid.UUID
    position: int
    text: str
    done: bool


class ChecklistItemIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new checklist item: its text (at most 500 characters)."""

    text: str


class ChecklistTick(msgspec.Struct, forbid_unknown_fields=True):
    """Ticks (`done` true) or unticks an item."""

    done: bool


class CommentOut(msgspec.Struct):
    """A comment ("trao đổi") on a task, oldest first; `author_name` as the card shows it."""

    id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str
    body: str
    created_at: datetime


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    """A new comment: its text."""

    body: str


async def _checklist_out(db: AsyncSession, task: Task) -> list[ChecklistItemOut]:
    return [ChecklistItemOut(i.id, i.position, i.text, i.done) for i in await tasks.checklist(db, task)]


def _form(data: TaskIn) -> dict[str, Any]:
    """The JSON body as the card's form (`tasks.parse_task_form` reads both)."""
    return {
        "kind": data.kind,
        "area_code": data.area_code,
        "criterion_code": data.criterion_code or "",
        "title": data.title,
        "deficiency": data.deficiency,
        "expected_output": data.expected_output,
        "notes": data.notes,
        "points_lost": data.points_lost or "",
        "points_max": data.points_max or "",
        "deadline_text": data.deadline_text,
        "lead_unit_id": str(data.lead_unit_id) if data.lead_unit_id else "",
        "coordinating": [f"unit:{u}" for u in data.coordinating_unit_ids]
        + [f"group:{g}" for g in data.coordinating_group_ids],
        "monitoring_unit_id": str(data.monitoring_unit_id) if data.monitoring_unit_id else "",
        "assignees": [str(a) for a in data.assignee_ids],
        "labels": ", ".join(data.labels),
    }


def _side_out(side: Side) -> dict[str, Any]:
    return {
        "province": side.province_code,
        "province_name": side.province_name,
        "tenant": side.tenant_code,
        "name": side.tenant_name,
        "number": side.number,
    }


async def tasks_out(db: AsyncSession, ctx: TenantContext, found: Sequence[Task]) -> list[TaskOut]:
    """The API models of `found`, with their units and people (`services.task_links`) and where each was carried
    from or, on an archive's board, to."""
    ids = [task.id for task in found]
    columns = {column.id: column.code for column in await boards.read_columns(db)}
    parts, people = await services.task_links(db, ids)
    origins = await carried.came_from(db, ctx, ids)
    went: dict[uuid.UUID, list[CarriedToOut]] = {}
    if ctx.archived:  # only an archive's tasks were carried over anywhere
        years = {task.id: task.year for task in found}
        for source, side in await carried.went_to(db, ctx, CarriedTask.source_task_id.in_(ids)):
            base = f"{API_PREFIX}/t/{side.province_code}/{side.tenant_code}"
            url = f"{base}/ke-hoach/{years[source]}/nhiem-vu/{side.number}" if carried.may_open(ctx, side) else None
            went.setdefault(source, []).append(CarriedToOut(**_side_out(side), carried_at=side.carried_at, url=url))
    out = []
    for task in found:
        own = parts.get(task.id, [])
        coordinating = [p for p in own if p.role == "coordinating"]
        out.append(
            TaskOut(
                id=task.id,
                number=task.number,
                year=task.year,
                version=task.version,
                kind=task.kind,
                area_code=task.area_code,
                criterion_code=task.criterion_code,
                title=task.title,
                deficiency=task.deficiency,
                expected_output=task.expected_output,
                notes=task.notes,
                points_lost=task.points_lost,
                points_max=task.points_max,
                deadline_text=task.deadline_text,
                due_date=task.due_date,
                column=columns.get(task.column_id, ""),
                position=task.position,
                lead_unit_id=task.lead_unit_id,
                coordinating_unit_ids=sorted(p.unit_id for p in coordinating if p.unit_id),
                coordinating_group_ids=sorted(p.unit_group_id for p in coordinating if p.unit_group_id),
                monitoring_unit_id=next((p.unit_id for p in own if p.role == "monitoring"), None),
                assignee_ids=sorted(people.get(task.id, [])),
                labels=list(task.labels or []),
                carried_from=CarriedFromOut(**_side_out(origins[task.id])) if task.id in origins else None,
                carried_to=went.get(task.id, []),
            )
        )
    return out


async def _fresh(db: AsyncSession, ctx: TenantContext, year: int, number: int) -> TaskOut:
    task = await services.visible_task(db, ctx, year, number)
    await db.refresh(task)
    return (await tasks_out(db, ctx, [task]))[0]


def _problem(errors: dict[str, str]) -> ApiProblem:
    field, message = next(iter(errors.items()))
    return ApiProblem(message, field=_API_FIELDS.get(field, field))


# the form's names that the API spells otherwise
_API_FIELDS = {"coordinating": "coordinating_unit_ids", "assignees": "assignee_ids"}


async def _archived_board(db: AsyncSession, tenant: TenantContext, year: int) -> None:
    """404 for an archive's board of a year it has no plan of (`tenants.years.archived_year`), not an empty plan."""
    if tenant.archived:
        ensure_archived_year(tenant, year, section="board", has_record=await board_task_count(db, year) > 0)


class RemedyTaskApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/ke-hoach/{year:int}/nhiem-vu"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Kế hoạch khắc phục"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:tasks",
        opt=VIEW,
        summary="Các nhiệm vụ khắc phục của năm, theo bộ lọc của bảng, phân trang bằng con trỏ",
        responses=error_responses(),
    )
    async def list_tasks(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        unit: Annotated[uuid.UUID | None, QueryParameter(name="don-vi", description="phòng, đơn vị")] = None,
        assignee: Annotated[uuid.UUID | None, QueryParameter(name="nguoi", description="người thực hiện")] = None,
        area: Annotated[str | None, QueryParameter(name="linh-vuc", max_length=31)] = None,
        column: Annotated[str | None, QueryParameter(name="trang-thai", max_length=63)] = None,
        overdue: Annotated[bool, QueryParameter(name="qua-han", description="chỉ nhiệm vụ quá hạn")] = False,
        label: Annotated[str | None, QueryParameter(name="nhan", max_length=63)] = None,
        words: Annotated[str, QueryParameter(name="q", max_length=200, description="tìm theo chữ")] = "",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> TasksPage:
        await _archived_board(db_session, tenant, year)
        filters = Filters(unit, assignee, area, column, overdue, label, words.strip())
        after = decode_cursor(cursor, tuple[int])[0] if cursor else None
        found = await services.find_tasks(db_session, tenant, year, filters, after=after, limit=limit + 1)
        page, next_cursor = page_of(found, limit, lambda task: (task.number,))
        return TasksPage(await tasks_out(db_session, tenant, page), next_cursor)

    @get("/{number:int}", name="api:task", opt=VIEW, summary="Một nhiệm vụ (KP-số)", responses=error_responses())
    async def task(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> TaskOut:
        return (await tasks_out(db_session, tenant, [await services.visible_task(db_session, tenant, year, number)]))[0]

    @post("/", name="api:task_create", opt=EDIT, summary="Thêm nhiệm vụ", responses=error_responses())
    async def create(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[TaskIn],
    ) -> TaskOut:
        options = await services.form_choices(db_session, tenant, year)
        parsed = services.parse_new_task(tenant, year, _form(data), options)
        if parsed.errors:
            raise _problem(parsed.errors)
        task = await tasks.create_task(db_session, tenant, year, parsed.values, options, options.columns[0])
        return (await tasks_out(db_session, tenant, [task]))[0]

    @patch(
        "/{number:int}",
        name="api:task_edit",
        opt=EDIT,
        summary="Sửa nhiệm vụ (kèm version đã đọc; 409 kèm bản mới nhất nếu đã có người sửa)",
        responses=error_responses((409, TaskConflict)),
    )
    async def edit(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
        data: JSONBody[TaskEdit],
    ) -> TaskOut:
        task = await services.editable_task(db_session, tenant, year, number)
        options = await services.form_choices(db_session, tenant, year)
        parsed = services.parse_task(tenant, year, _form(data), options)
        if parsed.errors:
            raise _problem(parsed.errors)
        try:
            await tasks.update_task(db_session, tenant, task, data.version, parsed.values, options)
        except tasks.StaleEdit as exc:
            raise ApiConflict((await tasks_out(db_session, tenant, [task]))[0], str(exc)) from None
        return (await tasks_out(db_session, tenant, [task]))[0]

    @post(
        "/{number:int}/di-chuyen",
        name="api:task_move",
        opt=EDIT,
        status_code=200,
        summary="Di chuyển nhiệm vụ sang cột, lĩnh vực, vị trí khác (kèm version đã đọc)",
        responses=error_responses((409, TaskConflict)),
    )
    async def move(
        self,
        db_engine: NamedDependency[AsyncEngine],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
        data: JSONBody[MoveIn],
    ) -> TaskOut:
        task = await services.visible_task(db_session, tenant, year, number)
        try:
            request = await services.move_by_codes(
                db_session, tenant, task, data.version, data.column, data.area, data.place, data.anchor
            )
        except MoveError as exc:
            raise ApiProblem(str(exc), field=exc.field) from None
        # The page's move: one statement decides and applies it under the board's lock (`board_move_as`), checking
        # its tenant and person, outside the request's transaction.
        refusal: MoveError | None = None
        try:
            await services.apply_move(db_engine, tenant, year, request)
        except boards.NoCriteria:
            raise ApiProblem(f"Năm {year} chưa có bộ chỉ số: bảng không có lĩnh vực để chuyển thẻ.") from None
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        except MoveError as exc:
            if not exc.conflict:
                raise ApiProblem(str(exc)) from None
            refusal = exc
        if refusal is not None:
            try:
                current = await _fresh(db_session, tenant, year, number)
            except NotFoundException:
                raise NotFoundException("Không tìm thấy nhiệm vụ (có thể đã bị xoá).") from None
            raise ApiConflict(current, str(refusal))
        return await _fresh(db_session, tenant, year, number)

    @get(
        "/{number:int}/viec-can-lam",
        name="api:task_checklist",
        opt=VIEW,
        summary="Danh sách việc cần làm của nhiệm vụ",
        responses=error_responses(),
    )
    async def checklist(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> list[ChecklistItemOut]:
        task = await services.visible_task(db_session, tenant, year, number)
        return await _checklist_out(db_session, task)

    @post(
        "/{number:int}/viec-can-lam",
        name="api:task_checklist_add",
        opt=EDIT,
        summary="Thêm việc cần làm (trả về danh sách mới)",
        responses=error_responses(),
    )
    async def checklist_add(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
        data: JSONBody[ChecklistItemIn],
    ) -> list[ChecklistItemOut]:
        task = await services.editable_task(db_session, tenant, year, number)
        error = await tasks.add_checklist_item(db_session, tenant, task, data.text)
        if error:
            raise ApiProblem(error, field="text")
        return await _checklist_out(db_session, task)

    @put(
        "/{number:int}/viec-can-lam/{item:uuid}",
        name="api:task_checklist_tick",
        opt=EDIT,
        summary="Đánh dấu đã xong hoặc bỏ đánh dấu một việc cần làm",
        responses=error_responses(),
    )
    async def checklist_tick(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
        item: FromPath[uuid.UUID],
        data: JSONBody[ChecklistTick],
    ) -> list[ChecklistItemOut]:
        task = await services.editable_task(db_session, tenant, year, number)
        error = await tasks.toggle_checklist_item(db_session, tenant, task, item, data.done)
        if error:
            raise NotFoundException(error)
        return await _checklist_out(db_session, task)

    @get(
        "/{number:int}/trao-doi",
        name="api:task_comments",
        opt=VIEW,
        summary="Các trao đổi về nhiệm vụ, cũ trước",
        responses=error_responses(),
    )
    async def comments(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
    ) -> list[CommentOut]:
        task = await services.visible_task(db_session, tenant, year, number)
        found = await tasks.comments(db_session, task)
        return [CommentOut(c.id, c.author_id, name, c.body, c.created_at) for c, name in found]

    @post(
        "/{number:int}/trao-doi",
        name="api:task_comment",
        opt=COMMENT,
        summary="Gửi trao đổi về nhiệm vụ (ai thấy nhiệm vụ đều gửi được)",
        responses=error_responses(),
    )
    async def comment(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        number: FromPath[int],
        data: JSONBody[CommentIn],
    ) -> CommentOut:
        task = await services.visible_task(db_session, tenant, year, number)
        posted = await tasks.post_comment(db_session, tenant, task, data.body)
        if isinstance(posted, str):
            raise ApiProblem(posted, field="body")
        name = next(name for comment, name in await tasks.comments(db_session, task) if comment.id == posted.id)
        return CommentOut(posted.id, posted.author_id, name, posted.body, posted.created_at)


class PlanOut(msgspec.Struct):
    """The year's plan as the board's header shows it: `status` draft or approved; the plan is due `due` (15 days
    after the appraisal result's date), `days_left` from today; `on_time` once approved."""

    year: int
    status: str
    version: int
    result_date: date | None
    due: date | None
    days_left: int | None
    approved_at: datetime | None
    on_time: bool | None


class PlanGenerated(msgspec.Struct):
    """How many tasks were made from the criteria that lost points (none for those that already have one)."""

    created: int
    plan: PlanOut


class ResultDateIn(msgspec.Struct, forbid_unknown_fields=True):
    """The date the appraisal result came (its 15 days start there)."""

    result_date: date


async def _plan_out(db: AsyncSession, year: int) -> PlanOut:
    plan = await tasks.plan_of(db, year)
    clock = tasks.plan_clock(plan, vietnam_today())
    return PlanOut(
        year=year,
        status=plan.status if plan else "draft",
        version=plan.version if plan else 0,
        result_date=clock.result_date,
        due=clock.due,
        days_left=clock.days_left,
        approved_at=plan.approved_at if plan else None,
        on_time=clock.on_time,
    )


async def _plan_action(db: AsyncSession, ctx: TenantContext, year: int, action: str, **form: str) -> PlanOut:
    error = await services.update_plan(db, ctx, year, action, form)
    if error:
        raise ApiProblem(error, field="result_date" if action == "ngay-ket-qua" else None)
    return await _plan_out(db, year)


class RemedyPlanApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/ke-hoach/{year:int}"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Kế hoạch khắc phục"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/",
        name="api:plan",
        opt=VIEW,
        summary="Kế hoạch khắc phục của năm: thời hạn, trạng thái",
        responses=error_responses(),
    )
    async def plan(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> PlanOut:
        await _archived_board(db_session, tenant, year)
        await reading.areas(db_session, tenant, year)
        return await _plan_out(db_session, year)

    @post(
        "/tao-tu-tu-danh-gia",
        name="api:plan_generate",
        opt=PLAN,
        status_code=200,
        summary="Tạo nhiệm vụ từ các tiêu chí bị trừ điểm trong bản tự đánh giá (bỏ qua tiêu chí đã có nhiệm vụ)",
        responses=error_responses(),
    )
    async def generate(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> PlanGenerated:
        created = await services.generate_from_assessment(db_session, tenant, year)
        if created is None:
            raise ApiProblem("Chưa có bản tự đánh giá năm này.")
        return PlanGenerated(created, await _plan_out(db_session, year))

    @put(
        "/ngay-ket-qua",
        name="api:plan_result_date",
        opt=PLAN,
        summary="Ghi ngày có kết quả thẩm định (kế hoạch phải ban hành trong 15 ngày)",
        responses=error_responses(),
    )
    async def result_date(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        data: JSONBody[ResultDateIn],
    ) -> PlanOut:
        typed = data.result_date.strftime("%d/%m/%Y")
        return await _plan_action(db_session, tenant, year, "ngay-ket-qua", result_date=typed)

    @post(
        "/duyet",
        name="api:plan_approve",
        opt=PLAN,
        status_code=200,
        summary="Duyệt kế hoạch (cần có ít nhất một nhiệm vụ)",
        responses=error_responses(),
    )
    async def approve(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> PlanOut:
        return await _plan_action(db_session, tenant, year, "duyet")

    @post(
        "/mo-lai",
        name="api:plan_reopen",
        opt=PLAN,
        status_code=200,
        summary="Mở lại kế hoạch đã duyệt để sửa",
        responses=error_responses(),
    )
    async def reopen(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext], year: FromPath[int]
    ) -> PlanOut:
        return await _plan_action(db_session, tenant, year, "mo-lai")
