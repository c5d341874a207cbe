"""The inspectors' review pages (in the province's Sở Nội vụ, or in an appraising agency for the criteria
assigned to it) and the department's answers (giải trình) to their evidence requests."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import Tenant
from backend.domain.admin.province import is_home_affairs
from backend.domain.evidence.storage import storage_from_settings
from backend.domain.review import decisions, publishing, services
from backend.domain.review.services import ReviewError
from backend.domain.tenants.deps import TenantContext
from backend.domain.tenants.years import archived_year, archived_year_page, criteria_years_or_page
from backend.web.flash import notice, problem
from backend.web.templating import page

REVIEW = {"access": Permission.REVIEW_APPRAISE}
VIEW = {"access": Permission.TENANT_VIEW}
ANSWER = {"access": Permission.EVIDENCE_UPLOAD}
NOTICES = {
    "vong-2": "Đã chuyển sang thẩm định vòng 2.",
    "tra-lai": "Đã trả lại hồ sơ cho đơn vị.",
    "cong-bo": "Đã công bố kết quả thẩm định.",
    "luu": "Đã lưu.",
}


def _htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _base(tenant: TenantContext, year: int) -> str:
    return f"{tenant.base_path}/tham-dinh/{year}"


# the URL's last segment → the action on a criterion
CRITERION_STEPS = {"quyet-dinh": "decide", "yeu-cau": "request", "ky-duyet": "sign-off", "giao": "assign"}


async def _form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.form()
    return {key: raw.get(key) for key in raw}


async def _department_review(db: AsyncSession, tenant: TenantContext, dept: Tenant, year: int) -> dict[str, Any]:
    """What the department's review page and a row's fragment both show: the review as the reader may see it,
    the agencies a criterion can be given to, and the page's address."""
    async with services.bound_to(db, tenant, dept):
        review, archive = await services.review_and_archive(db, tenant, dept, year)
    agencies = [
        a for a in await services.departments_of(db, tenant.province) if a.id != dept.id and a.archived_on is None
    ]
    return {
        "review": review,
        "archive": archive,
        "agencies": agencies,
        "agency_names": {a.id: a.name for a in agencies},
        "home_affairs": is_home_affairs(tenant),
        "base": f"{_base(tenant, year)}/{dept.code}",
    }


class ReviewController(Controller):
    """The reviewer's list of the province's departments and the review of one department."""

    path = "/tham-dinh"
    include_in_schema = False

    @get("/", name="review:index", opt=REVIEW)
    async def index(self, tenant: NamedDependency[TenantContext]) -> Redirect:
        return Redirect(_base(tenant, tenant.cycle.year))

    @get("/{year:int}", name="review:list", opt=REVIEW)
    async def departments(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        years = await criteria_years_or_page(
            request,
            db_session,
            tenant,
            year=year,
            section="review",
            title=f"Thẩm định Chỉ số CCHC năm {year}",
            href=f"{tenant.base_path}/tham-dinh",
        )
        if isinstance(years, Template):
            return years
        return page(
            request,
            "review/list.html",
            block="content",
            ctx=tenant,
            section="review",
            year=year,
            years=years,
            lines=await services.overview(db_session, tenant, year),
            calendar=services.review_calendar(tenant.province, year),
            home_affairs=is_home_affairs(tenant),
            base=_base(tenant, year),
        )

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        dept: Tenant,
        year: int,
        *,
        errors: dict[str, dict[str, str]] | None = None,
        typed: dict[str, dict[str, str]] | None = None,
        status_code: int = 200,
    ) -> Template:
        shown = await _department_review(db, tenant, dept, year)
        return page(
            request,
            "review/department.html",
            block="content",
            ctx=tenant,
            section="review",
            year=year,
            rows=shown["review"].visible_to(tenant),
            errors=errors or {},
            typed=typed or {},
            status_code=status_code,
            **shown,
        )

    @get("/{year:int}/{department_code:str}", name="review:department", opt=REVIEW)
    async def department(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
    ) -> Template:
        dept = await services.reviewed_department(db_session, tenant, department_code)
        return await self._page(request, db_session, tenant, dept, year)

    @get("/{year:int}/{department_code:str}/tep/{file_id:uuid}", name="review:evidence", opt=REVIEW)
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        file_id: FromPath[uuid.UUID],
    ) -> Stream:
        """An evidence file of the department, opened in the browser (PDF, images) or downloaded."""
        storage = storage_from_settings(request.app.state["settings"])
        return await services.review_file(db_session, tenant, storage, year, department_code, file_id, inline=True)

    async def _criterion_action(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        year: int,
        department_code: str,
        key: str,
        action: str,
    ) -> Response[Any]:
        dept = await services.reviewed_department(db, tenant, department_code)
        form = await _form(request)
        try:
            errors = await decisions.act_on_criterion(db, tenant, dept, year, key, action, form)
        except PermissionError as exc:
            raise PermissionDeniedException(str(exc)) from None
        except ReviewError as exc:
            errors = {"form": str(exc)}
        typed = {name: str(value or "")[:200] for name, value in form.items() if name != "_csrf_token"}
        status = 422 if errors else 200
        if not _htmx(request):
            if not errors:
                notice(request, NOTICES["luu"])
                return Redirect(f"{_base(tenant, year)}/{dept.code}", status_code=303)
            return await self._page(
                request,
                db,
                tenant,
                dept,
                year,
                errors={key: errors},
                typed={key: typed},
                status_code=status,
            )
        shown = await _department_review(db, tenant, dept, year)
        row = shown["review"].row(key)
        return Template(
            template_name="review/row_response.html",
            context={
                "ctx": tenant,
                "r": row,
                "errors": {row.key: errors} if errors else {},
                "typed": {row.key: typed} if errors else {},
                "saved": not errors,
                **shown,
            },
            status_code=status,
            headers={"Vary": "HX-Request"},
        )

    @post("/{year:int}/{department_code:str}/tieu-chi/{key:str}/{step:str}", name="review:criterion", opt=REVIEW)
    async def criterion_step(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        key: FromPath[str],
        step: FromPath[str],
    ) -> Response[Any]:
        """One decision on a criterion: /quyet-dinh (score), /yeu-cau (ask for evidence), /ky-duyet (sign off),
        /giao (assign to another agency)."""
        action = CRITERION_STEPS.get(step)
        if action is None:
            raise NotFoundException("Không có thao tác này.")
        return await self._criterion_action(request, db_session, tenant, year, department_code, key, action)

    async def _step(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        year: int,
        department_code: str,
        step: str,
    ) -> Response[Any]:
        dept = await services.reviewed_department(db, tenant, department_code)
        form = await _form(request)
        target = f"{_base(tenant, year)}/{dept.code}"
        try:
            await publishing.take_step(db, tenant, dept, year, step, form)
        except ReviewError as exc:
            if step == "tra-lai":
                return await self._page(
                    request,
                    db,
                    tenant,
                    dept,
                    year,
                    errors={"tra-lai": {"reason": str(exc)}},
                    typed={"tra-lai": {"reason": str(form.get("reason") or "")[:4000]}},
                    status_code=422,
                )
            problem(request, str(exc))
            return Redirect(target, status_code=303)
        notice(request, NOTICES[step])
        return Redirect(target, status_code=303)

    @post("/{year:int}/{department_code:str}/{step:str}", name="review:step", opt=REVIEW)
    async def submission_step(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        department_code: FromPath[str],
        step: FromPath[str],
    ) -> Response[Any]:
        """A step on the whole submission: /vong-2 (to round 2), /tra-lai (return it), /cong-bo (publish)."""
        if step not in publishing.STEP_ACTIONS:
            raise NotFoundException("Không có thao tác này.")
        return await self._step(request, db_session, tenant, year, department_code, step)


def _explanation_base(tenant: TenantContext, year: int) -> str:
    return f"{tenant.base_path}/giai-trinh/{year}"


def _fragment(template_name: str, tenant: TenantContext, year: int, status_code: int = 200, **context: Any) -> Template:
    """A piece of the department's requests, swapped in by htmx (a row, the board's summary, an answer)."""
    return Template(
        template_name=template_name,
        context={"ctx": tenant, "year": year, "base": _explanation_base(tenant, year), **context},
        status_code=status_code,
        headers={"Vary": "HX-Request"},
    )


class ExplanationController(Controller):
    """The department's side: the inspectors' evidence requests and its answers (giải trình)."""

    path = "/giai-trinh"
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        tenant: TenantContext,
        year: int,
        *,
        errors: dict[str, dict[str, str]] | None = None,
        typed: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        requests = await services.department_requests(db, tenant, year)
        if absent := archived_year(tenant, year, section="explanation", has_record=bool(requests.requests)):
            title = f"Yêu cầu bổ sung tài liệu và giải trình năm {year}"
            href = f"{tenant.base_path}/giai-trinh"
            return await archived_year_page(request, db, tenant, absent, title=title, href=href)
        return page(
            request,
            "review/requests.html",
            block="content",
            ctx=tenant,
            section="assessment",
            year=year,
            requests=requests,
            errors=errors or {},
            typed=typed or {},
            base=_explanation_base(tenant, year),
            status_code=status_code,
        )

    @get("/{year:int}", name="explanation:list", opt=VIEW)
    async def requests(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template:
        return await self._page(request, db_session, tenant, year)

    @post("/{year:int}/{request_id:uuid}", name="explanation:answer", opt=ANSWER)
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        request_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        form = await _form(request)
        requests = await services.department_requests(db_session, tenant, year)
        try:
            errors = await decisions.answer(db_session, tenant, requests, request_id, form)
        except LookupError as exc:
            raise NotFoundException(str(exc)) from None
        key = str(request_id)
        if not errors and not _htmx(request):
            notice(request, "Đã gửi giải trình.")
            return Redirect(_explanation_base(tenant, year), status_code=303)
        typed = {key: str(form.get("answer") or "")[:4000]} if errors else {}
        if not _htmx(request):
            return await self._page(
                request, db_session, tenant, year, errors={key: errors}, typed=typed, status_code=422
            )
        exchange = next(r for r in requests.requests if r.id == request_id)
        return _fragment(
            "review/answer_response.html",
            tenant,
            year,
            status_code=422 if errors else 200,
            req=exchange,
            requests=requests,
            errors={key: errors} if errors else {},
            typed=typed,
            saved=not errors,
        )

    @get("/{year:int}/tieu-chi/{code:str}", name="explanation:criterion", opt=VIEW)
    async def criterion(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
        code: FromPath[str],
    ) -> Template | Redirect:
        """The requests on one criterion, for its row of the self-assessment (loaded by htmx); opened as a page,
        the page of every request."""
        if not _htmx(request):
            return Redirect(_explanation_base(tenant, year))
        requests = await services.department_requests(db_session, tenant, year)
        return _fragment("review/criterion_requests.html", tenant, year, found=requests.for_code(code))

    @get("/{year:int}/tom-tat", name="explanation:summary", opt=VIEW)
    async def summary(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        year: FromPath[int],
    ) -> Template | Redirect:
        """The department's open requests, for the top of its board (loaded by htmx); opened as a page, the page
        of every request."""
        if not _htmx(request):
            return Redirect(_explanation_base(tenant, year))
        requests = await services.department_requests(db_session, tenant, year)
        return _fragment("review/board_requests.html", tenant, year, requests=requests)
