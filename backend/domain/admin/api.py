"""A tenant's administration over the JSON API (`/api/v1/t/<province>/<tenant>/quan-tri`), for its tenant admin: the
members with their roles, inviting, changing a role, locking and unlocking a member, signing them out everywhere,
cancelling an invitation; the audit log for those who read it (`…/nhat-ky`); and the province admin's (in the Sở Nội
vụ, `…/quan-tri/tinh`): the province's tenants and inviting a tenant's first admin. The same services and rules as
the pages (backend.domain.admin)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import Permission
from backend.db.models import Invitation
from backend.domain.admin import audit_view, province, services
from backend.domain.tenants.deps import TenantContext, provide_tenant_context
from backend.web.api import ApiProblem, Cursor, Limit, decode_cursor, error_responses, page_of

MANAGE = {"access": Permission.TENANT_MANAGE}
AUDIT = {"access": Permission.AUDIT_READ}
PROVINCE = {"access": Permission.PROVINCE_MANAGE}


class RoleOut(msgspec.Struct):
    """One role a member holds here (`membership_id` names it for a change), in a unit (phòng) or the whole tenant."""

    membership_id: uuid.UUID
    role: str
    unit_id: uuid.UUID | None
    active: bool


class MemberOut(msgspec.Struct):
    """A member of the tenant: a person and the roles they hold; `active` while any role is."""

    user_id: uuid.UUID
    name: str
    email: str
    active: bool
    last_seen: datetime | None
    roles: list[RoleOut]


class InvitationOut(msgspec.Struct):
    """An invitation still waiting: the first sign-in with `email` grants the role."""

    id: uuid.UUID
    email: str
    role: str
    unit_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime


class RoleIn(msgspec.Struct, forbid_unknown_fields=True):
    """A role (its code, e.g. `focal_point`, `unit_staff`) and, for the roles of a unit, the unit (phòng)."""

    role: str
    unit_id: uuid.UUID | None = None


class InvitationIn(RoleIn, kw_only=True, forbid_unknown_fields=True):
    email: str


class AuditChangeOut(msgspec.Struct):
    """One field of an audited change as the page shows it: its Vietnamese name, before and after (dd/mm/yyyy,
    decimal comma; people and units by name)."""

    field: str
    before: str
    after: str


class AuditEntryOut(msgspec.Struct):
    """One entry of the audit log: when, who (by name, "Hệ thống" for the jobs), the action and the object (their
    stable codes, and the page's Vietnamese labels), and what changed."""

    id: int
    at: datetime
    actor: str
    action: str
    action_label: str
    entity: str
    entity_label: str
    entity_name: str
    changes: list[AuditChangeOut]


class AuditPage(msgspec.Struct):
    """Newest first; follow `next_cursor` until it is null."""

    items: list[AuditEntryOut]
    next_cursor: str | None


class ProvinceTenantOut(msgspec.Struct):
    """A tenant of the province as the province admin's page lists it, with its units, active members and admins."""

    code: str
    name: str
    kind: str
    active: bool
    archived_on: date | None
    units: int
    members: int
    admins: int


class ProvinceInvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    """Invite `email` as the admin of the province's tenant `tenant_code`."""

    tenant_code: str
    email: str


class ProvinceInvitationOut(msgspec.Struct):
    tenant: str
    invitation: InvitationOut


def _audit_out(line: audit_view.Line) -> AuditEntryOut:
    entry = line.entry
    return AuditEntryOut(
        entry.id,
        entry.at,
        line.actor,
        entry.action,
        line.action,
        entry.entity,
        line.entity,
        line.entity_id,
        [AuditChangeOut(c.field, c.before, c.after) for c in line.changes],
    )


def _member_out(row: services.MemberRow) -> MemberOut:
    return MemberOut(
        row.user_id,
        row.name,
        row.email,
        row.active,
        row.last_seen,
        [RoleOut(m.id, m.role, m.unit_id, m.is_active) for m in row.memberships],
    )


def _invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        invitation.id,
        invitation.email,
        invitation.role,
        invitation.unit_id,
        invitation.created_at,
        invitation.expires_at,
    )


def _form(data: RoleIn) -> dict[str, str]:
    return {"role": data.role, "unit_id": str(data.unit_id) if data.unit_id else ""}


def _problem(errors: services.FormErrors) -> ApiProblem:
    field, message = next(iter(errors.fields.items()))
    return ApiProblem(message, field=field)


async def _member(db: AsyncSession, ctx: TenantContext, user_id: uuid.UUID) -> MemberOut:
    for row in await services.members(db, ctx.tenant):
        if row.user_id == user_id:
            return _member_out(row)
    raise NotFoundException(services.NO_MEMBER)


class TenantMembersApiController(Controller):
    path = "/t/{province_code:str}/{tenant_code:str}/quan-tri"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Quản trị thành viên"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/thanh-vien", name="api:members", opt=MANAGE, summary="Các thành viên và vai trò", responses=error_responses()
    )
    async def members(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
    ) -> list[MemberOut]:
        return [_member_out(row) for row in await services.members(db_session, tenant.tenant)]

    @get(
        "/loi-moi", name="api:invitations", opt=MANAGE, summary="Các lời mời còn hiệu lực", responses=error_responses()
    )
    async def invitations(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
    ) -> list[InvitationOut]:
        return [_invitation_out(i) for i in await services.pending_invitations(db_session)]

    @post(
        "/loi-moi",
        name="api:invite",
        opt=MANAGE,
        summary="Mời một e-mail vào một vai trò (lần đăng nhập đầu tiên nhận vai trò)",
        responses=error_responses(),
    )
    async def invite(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        data: JSONBody[InvitationIn],
    ) -> InvitationOut:
        form = _form(data) | {"email": data.email}
        invitation, errors = await services.invite(db_session, tenant.tenant, tenant.principal.user_id, form)
        if invitation is None:
            raise _problem(errors)
        await db_session.refresh(invitation)
        return _invitation_out(invitation)

    @post(
        "/loi-moi/{invitation_id:uuid}/huy",
        name="api:revoke_invitation",
        opt=MANAGE,
        status_code=200,
        summary="Huỷ lời mời (trả về các lời mời còn lại)",
        responses=error_responses(),
    )
    async def revoke_invitation(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        invitation_id: FromPath[uuid.UUID],
    ) -> list[InvitationOut]:
        if not await services.revoke_invitation(db_session, tenant.tenant, tenant.principal.user_id, invitation_id):
            raise NotFoundException("Không tìm thấy lời mời.")
        return [_invitation_out(i) for i in await services.pending_invitations(db_session)]

    @put(
        "/vai-tro/{membership_id:uuid}",
        name="api:change_role",
        opt=MANAGE,
        summary="Đổi vai trò (và phòng) của một vai trò thành viên đang giữ",
        responses=error_responses(),
    )
    async def change_role(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        membership_id: FromPath[uuid.UUID],
        data: JSONBody[RoleIn],
    ) -> MemberOut:
        errors = await services.change_role(
            db_session, tenant.tenant, tenant.principal.user_id, membership_id, _form(data)
        )
        if "membership" in errors.fields:
            raise NotFoundException(services.NO_MEMBER)
        if errors:
            raise _problem(errors)
        user_id = await services.membership_user(db_session, membership_id)
        return await _member(db_session, tenant, user_id)

    @post(
        "/thanh-vien/{user_id:uuid}/{action:str}",
        name="api:member_action",
        opt=MANAGE,
        status_code=200,
        summary="Khoá (`khoa`), mở khoá (`mo-khoa`) thành viên, hoặc đăng xuất họ khỏi mọi thiết bị (`dang-xuat`)",
        responses=error_responses(),
    )
    async def member_action(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        user_id: FromPath[uuid.UUID],
        action: FromPath[str],
    ) -> MemberOut:
        refused = await services.member_action(db_session, tenant.tenant, tenant.principal.user_id, user_id, action)
        if refused:
            raise ApiProblem(refused, field="user_id")
        return await _member(db_session, tenant, user_id)

    @get(
        "/nhat-ky", name="api:audit", opt=AUDIT, summary="Nhật ký thay đổi, mới nhất trước", responses=error_responses()
    )
    async def audit(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AuditPage:
        before = decode_cursor(cursor, tuple[int])[0] if cursor else None
        entries = await services.audit_entries(db_session, limit=limit + 1, before=before)
        page, next_cursor = page_of(entries, limit, lambda entry: (entry.id,))
        return AuditPage([_audit_out(line) for line in await audit_view.present(db_session, page)], next_cursor)


class ProvinceAdminApiController(Controller):
    """The province admin's operations, in the province's Sở Nội vụ (elsewhere 404), as on the page Quản trị tỉnh."""

    path = "/t/{province_code:str}/{tenant_code:str}/quan-tri/tinh"
    dependencies = {"tenant": Provide(provide_tenant_context)}  # noqa: RUF012 - Litestar reads it
    tags = ["Quản trị tỉnh"]  # noqa: RUF012 - Litestar reads it

    @get(
        "/don-vi",
        name="api:province_tenants",
        opt=PROVINCE,
        summary="Các sở, ban, ngành của tỉnh với số phòng, thành viên và quản trị viên",
        responses=error_responses(),
    )
    async def tenants(
        self, db_session: NamedDependency[AsyncSession], tenant: NamedDependency[TenantContext]
    ) -> list[ProvinceTenantOut]:
        return [
            ProvinceTenantOut(
                s.tenant.code,
                s.tenant.name,
                s.tenant.kind,
                s.tenant.is_active,
                s.tenant.archived_on,
                s.units,
                s.members,
                s.admins,
            )
            for s in await province.overview(db_session, tenant)
        ]

    @post(
        "/moi",
        name="api:province_invite",
        opt=PROVINCE,
        summary="Mời quản trị viên cho một đơn vị của tỉnh",
        responses=error_responses(),
    )
    async def invite_admin(
        self,
        db_session: NamedDependency[AsyncSession],
        tenant: NamedDependency[TenantContext],
        data: JSONBody[ProvinceInvitationIn],
    ) -> ProvinceInvitationOut:
        form = {"tenant_code": data.tenant_code, "email": data.email}
        invitation, errors = await province.invite_tenant_admin(db_session, tenant, form)
        if invitation is None:
            raise _problem(errors)
        return ProvinceInvitationOut(data.tenant_code.strip(), _invitation_out(invitation))
