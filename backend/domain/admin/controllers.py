"""Tenant administration: members, invitations, roles, disabling, sessions, and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import Invitation
from backend.domain.admin import audit_view, province, services
from backend.domain.tenants.deps import TenantContext
from backend.web.flash import notice
from backend.web.templating import page

MEMBER_NOTICES = {
    "khoa": "Đã khoá thành viên và đăng xuất họ khỏi mọi thiết bị.",
    "mo-khoa": "Đã mở khoá thành viên.",
    "dang-xuat": "Đã đăng xuất thành viên khỏi mọi thiết bị.",
}

MANAGE = {"access": Permission.TENANT_MANAGE}


def _form(raw: Any) -> dict[str, Any]:
    return {key: raw.get(key) for key in raw}


def _form_page(
    request: Request[Any, Any, Any],
    template: str,
    tenant: TenantContext,
    *,
    errors: services.FormErrors | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """An admin page with a form: on a refusal, the same page with the errors next to their fields (422)."""
    return page(
        request,
        template,
        block="content",
        ctx=tenant,
        errors=(errors.fields if errors else {}),
        form=form or {},
        **context,
        status_code=status_code,
    )


async def _members_page(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, **form_state: Any
) -> Template:
    """The members page; `form_state` (errors, form, status_code) as `_form_page` takes them."""
    return _form_page(
        request,
        "admin/members.html",
        tenant,
        **form_state,
        section="members",
        members=await services.members(db, tenant.tenant),
        invitations=await services.pending_invitations(db),
        units=await services.units_of(db),
        roles=services.assignable_roles(tenant.tenant),
    )


async def _province_page(
    request: Request[Any, Any, Any], db: AsyncSession, tenant: TenantContext, **form_state: Any
) -> Template:
    """The province admin's page (the Sở Nội vụ's only); `form_state` as `_form_page` takes it."""
    summaries = await province.overview(db, tenant)
    return _form_page(request, "admin/province.html", tenant, **form_state, section="province", summaries=summaries)


async def _invited(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    tenant: TenantContext,
    sent: tuple[Invitation | None, services.FormErrors],
    form: dict[str, Any],
    form_page: Callable[..., Awaitable[Template]],
    back: str,
    done: str = "Đã gửi lời mời.",
) -> Template | Redirect:
    """After an invitation: its page again with the errors next to their fields (422), or back to `back` (under the
    tenant) with the notice `done`."""
    invitation, errors = sent
    if invitation is None:
        return await form_page(request, db, tenant, errors=errors, form=form, status_code=422)
    return _done(request, tenant, back, done)


def _done(request: Request[Any, Any, Any], tenant: TenantContext, back: str, done: str) -> Redirect:
    """Back to `back` (under the tenant) with the notice `done`, after a change the page asked for."""
    notice(request, done)
    return Redirect(f"{tenant.base_path}/{back}", status_code=303)


class TenantAdminController(Controller):
    path = "/quan-tri"
    include_in_schema = False

    @get("/thanh-vien", name="admin:members", opt=MANAGE)
    async def members(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await _members_page(request, db_session, tenant)

    @post("/thanh-vien/moi", name="admin:invite", opt=MANAGE, status_code=303)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        form = _form(await request.form())
        sent = await services.invite(db_session, tenant.tenant, tenant.principal.user_id, form)
        return await _invited(request, db_session, tenant, sent, form, _members_page, "quan-tri/thanh-vien")

    @post("/loi-moi/{invitation_id:uuid}/huy", name="admin:revoke-invitation", opt=MANAGE, status_code=303)
    async def revoke_invitation(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        invitation_id: FromPath[uuid.UUID],
    ) -> Redirect:
        if not await services.revoke_invitation(db_session, tenant.tenant, tenant.principal.user_id, invitation_id):
            raise NotFoundException("Không tìm thấy lời mời")
        return _done(request, tenant, "quan-tri/thanh-vien", "Đã huỷ lời mời.")

    @post("/vai-tro/{membership_id:uuid}", name="admin:change-role", opt=MANAGE, status_code=303)
    async def change_role(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        membership_id: FromPath[uuid.UUID],
    ) -> Template | Redirect:
        form = _form(await request.form())
        errors = await services.change_role(db_session, tenant.tenant, tenant.principal.user_id, membership_id, form)
        if errors:
            if "membership" in errors.fields:
                raise NotFoundException(services.NO_MEMBER)
            errors.fields = {f"{membership_id}.{k}": v for k, v in errors.fields.items()}
            return await _members_page(request, db_session, tenant, errors=errors, status_code=422)
        return _done(request, tenant, "quan-tri/thanh-vien", "Đã đổi vai trò.")

    @post("/thanh-vien/{user_id:uuid}/{action:str}", name="admin:member-action", opt=MANAGE, status_code=303)
    async def member_action(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        user_id: FromPath[uuid.UUID],
        action: FromPath[str],
    ) -> Template | Redirect:
        refused = await services.member_action(db_session, tenant.tenant, tenant.principal.user_id, user_id, action)
        if refused:
            errors = services.FormErrors({"member": refused})
            return await _members_page(request, db_session, tenant, errors=errors, status_code=422)
        return _done(request, tenant, "quan-tri/thanh-vien", MEMBER_NOTICES[action])

    @get("/nhat-ky", name="admin:audit", opt={"access": Permission.AUDIT_READ})
    async def audit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        page_number: FromQuery[int] = 1,
    ) -> Template:
        number = max(1, min(page_number, 10_000))
        entries, more = await services.audit_page(db_session, page=number)
        lines = await audit_view.present(db_session, entries)
        return page(
            request,
            "admin/audit.html",
            block="content",
            ctx=tenant,
            section="audit",
            entries=lines,
            page_number=number,
            more=more,
        )


PROVINCE = {"access": Permission.PROVINCE_MANAGE}


class ProvinceAdminController(Controller):
    """Province administration, reached through the province's Sở Nội vụ."""

    path = "/quan-tri/tinh"
    include_in_schema = False

    @get("/", name="admin:province", opt=PROVINCE)
    async def overview(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template:
        return await _province_page(request, db_session, tenant)

    @post("/moi", name="admin:province-invite", opt=PROVINCE, status_code=303)
    async def invite_admin(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
    ) -> Template | Redirect:
        form = _form(await request.form())
        sent = await province.invite_tenant_admin(db_session, tenant, form)
        done = "Đã gửi lời mời quản trị viên."
        return await _invited(request, db_session, tenant, sent, form, _province_page, "quan-tri/tinh/", done)
