"""Members of a tenant: invitations, roles and units, disabling; every change in the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.permissions import TENANT_ROLES, UNIT_ROLES
from backend.auth.sessions import SessionStore, now
from backend.db.models import AuditEntry, Invitation, Membership, Role, Tenant, TenantKind, Unit, User, UserSession
from backend.domain.tenants.config import EMAIL
from backend.domain.tenants.deps import ensure_writable

INVITATION_LIFETIME = timedelta(days=30)
NO_MEMBER = "Không tìm thấy thành viên."
# What a tenant admin does to a member, by the name both the page's and the API's path carry.
MEMBER_ACTIONS = ("khoa", "mo-khoa", "dang-xuat")


def assignable_roles(tenant: Tenant) -> tuple[Role, ...]:
    """Roles a tenant admin may grant here; the Sở Nội vụ also has the province's inspectors."""
    if tenant.kind == TenantKind.HOME_AFFAIRS:
        return (*TENANT_ROLES, Role.PROVINCE_REVIEWER)
    return TENANT_ROLES


@dataclass
class FormErrors:
    fields: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def __bool__(self) -> bool:
        return bool(self.fields)


@dataclass(frozen=True)
class MemberRow:
    user_id: uuid.UUID
    name: str
    email: str
    memberships: list[Membership]
    active: bool
    last_seen: datetime | None


@dataclass(frozen=True)
class RoleChoice:
    role: str
    unit_id: uuid.UUID | None


def parse_role_choice(
    form: dict[str, Any], tenant: Tenant, units: dict[uuid.UUID, Unit], errors: FormErrors
) -> RoleChoice | None:
    role = str(form.get("role", "")).strip()
    unit_raw = str(form.get("unit_id", "")).strip()
    if role not in {r.value for r in assignable_roles(tenant)}:
        errors.add("role", "Chọn một vai trò trong danh sách.")
    unit_id: uuid.UUID | None = None
    if unit_raw:
        try:
            unit_id = uuid.UUID(unit_raw)
        except ValueError:
            unit_id = None
        if unit_id not in units:
            errors.add("unit_id", "Phòng, đơn vị không thuộc đơn vị này.")
            unit_id = None
    elif role in UNIT_ROLES:
        errors.add("unit_id", "Vai trò này cần chọn một phòng, đơn vị.")
    return None if errors else RoleChoice(role=role, unit_id=unit_id)


async def units_of(db: AsyncSession) -> dict[uuid.UUID, Unit]:
    return {u.id: u for u in await db.scalars(select(Unit).order_by(Unit.position, Unit.name))}


async def members(db: AsyncSession, tenant: Tenant) -> list[MemberRow]:
    memberships = list(await db.scalars(select(Membership).order_by(Membership.created_at)))
    by_user: dict[uuid.UUID, list[Membership]] = {}
    for membership in memberships:
        by_user.setdefault(membership.user_id, []).append(membership)
    if not by_user:
        return []
    users = {u.id: u for u in await db.scalars(select(User).where(User.id.in_(list(by_user))))}
    seen = dict(
        (
            await db.execute(
                select(UserSession.user_id, func.max(UserSession.last_seen_at))
                .where(UserSession.user_id.in_(list(by_user)))
                .group_by(UserSession.user_id)
            )
        ).all()
    )
    rows = [
        MemberRow(
            user_id=user_id,
            name=users[user_id].full_name,
            email=users[user_id].email,
            memberships=items,
            active=any(m.is_active for m in items),
            last_seen=seen.get(user_id),
        )
        for user_id, items in by_user.items()
        if user_id in users
    ]
    return sorted(rows, key=lambda r: (not r.active, r.name.lower()))


async def pending_invitations(db: AsyncSession) -> list[Invitation]:
    return list(
        await db.scalars(
            select(Invitation)
            .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > now())
            .order_by(Invitation.created_at.desc())
        )
    )


def _audit(
    tenant: Tenant, actor: uuid.UUID | None, action: str, entity: str, entity_id: str, **data: Any
) -> AuditEntry:
    return AuditEntry.by(
        tenant.id, actor, action, entity, entity_id, before=data.get("before"), after=data.get("after")
    )


async def invite(
    db: AsyncSession, tenant: Tenant, actor: uuid.UUID | None, form: dict[str, Any]
) -> tuple[Invitation | None, FormErrors]:
    """Invite an e-mail to a role; refuses duplicates and people who already hold that role, and (423) any
    invitation into an archive."""
    await ensure_writable(db, tenant)
    errors = FormErrors()
    email = str(form.get("email", "")).strip().lower()
    if not email:
        errors.add("email", "Nhập địa chỉ e-mail.")
    elif len(email) > 320 or not EMAIL.fullmatch(email):
        errors.add("email", "Địa chỉ e-mail không hợp lệ.")
    units = await units_of(db)
    choice = parse_role_choice(form, tenant, units, errors)
    if errors or choice is None:
        return None, errors
    duplicate = await db.scalar(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.role == choice.role,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now(),
        )
    )
    if duplicate is not None:
        errors.add("email", "Đã có lời mời còn hiệu lực cho e-mail và vai trò này.")
        return None, errors
    holder = await db.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(func.lower(User.email) == email, Membership.role == choice.role, Membership.is_active)
    )
    if holder is not None:
        errors.add("email", "Người này đã có vai trò này trong đơn vị.")
        return None, errors
    invitation = Invitation(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        email=email,
        role=choice.role,
        unit_id=choice.unit_id,
        invited_by=actor,
        expires_at=now() + INVITATION_LIFETIME,
    )
    db.add(invitation)
    db.add(
        _audit(
            tenant,
            actor,
            "invite",
            "invitation",
            str(invitation.id),
            after={"email": email, "role": choice.role, "unit_id": str(choice.unit_id) if choice.unit_id else None},
        )
    )
    await db.flush()
    return invitation, errors


async def revoke_invitation(
    db: AsyncSession, tenant: Tenant, actor: uuid.UUID | None, invitation_id: uuid.UUID
) -> bool:
    invitation = await db.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
        return False
    invitation.revoked_at = now()
    db.add(_audit(tenant, actor, "revoke", "invitation", str(invitation.id), before={"email": invitation.email}))
    await db.flush()
    return True


async def change_role(
    db: AsyncSession, tenant: Tenant, actor: uuid.UUID | None, membership_id: uuid.UUID, form: dict[str, Any]
) -> FormErrors:
    errors = FormErrors()
    membership = await db.get(Membership, membership_id)
    if membership is None:
        errors.add("membership", "Không tìm thấy thành viên.")
        return errors
    choice = parse_role_choice(form, tenant, await units_of(db), errors)
    if errors or choice is None:
        return errors
    before = {"role": membership.role, "unit_id": str(membership.unit_id) if membership.unit_id else None}
    after = {"role": choice.role, "unit_id": str(choice.unit_id) if choice.unit_id else None}
    if before == after:
        return errors
    clash = await db.scalar(
        select(Membership.id).where(
            Membership.user_id == membership.user_id, Membership.role == choice.role, Membership.id != membership.id
        )
    )
    if clash is not None:
        errors.add("role", "Người này đã có vai trò này.")
        return errors
    if membership.role == Role.TENANT_ADMIN and choice.role != Role.TENANT_ADMIN and await _last_admin(db, membership):
        errors.add("role", "Đơn vị phải còn ít nhất một quản trị viên.")
        return errors
    membership.role, membership.unit_id = choice.role, choice.unit_id
    db.add(_audit(tenant, actor, "change-role", "membership", str(membership.id), before=before, after=after))
    await db.flush()
    return errors


async def membership_user(db: AsyncSession, membership_id: uuid.UUID) -> uuid.UUID:
    """Whose role `membership_id` is."""
    return (await db.get_one(Membership, membership_id)).user_id


async def set_member_active(
    db: AsyncSession, tenant: Tenant, actor: uuid.UUID | None, user_id: uuid.UUID, *, active: bool
) -> str | None:
    """Disable (or re-enable) every membership of one person in this tenant; disabling also ends
    their sessions. Returns a Vietnamese reason when refused."""
    memberships = list(await db.scalars(select(Membership).where(Membership.user_id == user_id)))
    if not memberships:
        return NO_MEMBER
    if not active:
        if user_id == actor:
            return "Bạn không thể tự khoá tài khoản của mình."
        for membership in memberships:
            if membership.role == Role.TENANT_ADMIN and membership.is_active and await _last_admin(db, membership):
                return "Đơn vị phải còn ít nhất một quản trị viên."
    changed = [m for m in memberships if m.is_active != active]
    for membership in changed:
        membership.is_active = active
    if changed:
        db.add(
            _audit(
                tenant,
                actor,
                "enable" if active else "disable",
                "member",
                str(user_id),
                before={"active": not active},
                after={"active": active, "roles": [m.role for m in changed]},
            )
        )
        if not active:
            revoked = await SessionStore.revoke_user(db, user_id, by=f"user:{actor}")
            db.add(_audit(tenant, actor, "revoke-sessions", "member", str(user_id), after={"sessions": revoked}))
    await db.flush()
    return None


async def revoke_sessions(db: AsyncSession, tenant: Tenant, actor: uuid.UUID | None, user_id: uuid.UUID) -> str | None:
    member = await db.scalar(select(Membership.id).where(Membership.user_id == user_id))
    if member is None:
        return NO_MEMBER
    revoked = await SessionStore.revoke_user(db, user_id, by=f"user:{actor}")
    db.add(_audit(tenant, actor, "revoke-sessions", "member", str(user_id), after={"sessions": revoked}))
    await db.flush()
    return None


async def member_action(
    db: AsyncSession, tenant: Tenant, actor: uuid.UUID | None, user_id: uuid.UUID, action: str
) -> str | None:
    """One of MEMBER_ACTIONS on a member: lock (`khoa`, which also signs them out), unlock (`mo-khoa`), or sign them
    out everywhere (`dang-xuat`). An unknown action or member is a 404; a refusal comes back as a Vietnamese reason."""
    if action not in MEMBER_ACTIONS:
        raise NotFoundException("Không có thao tác này.")
    if action == "dang-xuat":
        refused = await revoke_sessions(db, tenant, actor, user_id)
    else:
        refused = await set_member_active(db, tenant, actor, user_id, active=action == "mo-khoa")
    if refused == NO_MEMBER:
        raise NotFoundException(refused)
    return refused


async def _last_admin(db: AsyncSession, membership: Membership) -> bool:
    admins = await db.scalar(
        select(func.count()).where(
            Membership.role == Role.TENANT_ADMIN, Membership.is_active, Membership.id != membership.id
        )
    )
    return not admins


async def audit_entries(
    db: AsyncSession, *, limit: int, offset: int = 0, before: int | None = None
) -> list[AuditEntry]:
    """The tenant's audit log, newest first: `limit` entries past the first `offset`, older than entry `before`."""
    statement = select(AuditEntry).order_by(AuditEntry.id.desc())
    if before is not None:
        statement = statement.where(AuditEntry.id < before)
    return list(await db.scalars(statement.offset(offset).limit(limit)))


async def audit_page(db: AsyncSession, *, page: int, per_page: int = 50) -> tuple[list[AuditEntry], bool]:
    rows = await audit_entries(db, limit=per_page + 1, offset=(page - 1) * per_page)
    return rows[:per_page], len(rows) > per_page
