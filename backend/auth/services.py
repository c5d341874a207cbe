"""Sign-in: from a validated ID token to a person, their memberships, and a fresh session."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.oidc import DEFAULT_SCOPES, OIDCError, ProviderSettings
from backend.auth.sessions import now
from backend.db.models import Invitation, Membership, Province, Tenant, User
from backend.db.rls import bind_tenant
from backend.settings import Settings

DEV_CLIENT_SECRET = "parboard-dev-secret"  # noqa: S105 - the development identity provider's, never production
# A local path only, and nothing that cannot travel in a Location header or a text column (no control
# character: a NUL made the flow's INSERT fail after the browser had already been sent to the provider).
SAFE_NEXT = re.compile(r"^/(?![/\\])[^\s\x00-\x1f\x7f\\]*$")
MAX_SUBJECT = 255  # users.subject; OpenID Connect Core §2: sub "MUST NOT exceed 255 ASCII characters"


class SignInRefused(Exception):
    """The provider vouched for the person, but parboard will not sign them in (e.g. disabled).

    `message` is Vietnamese, for the person; `reason` is a machine word, for the logs."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def safe_next_path(value: str | None) -> str:
    """Only a local path: never another host (`//evil`, `https://…`, `/\\evil`)."""
    if value and len(value) <= 2048 and SAFE_NEXT.match(value):
        return value
    return "/"


def secret_variable(province_code: str) -> str:
    return "PARBOARD_OIDC_SECRET_" + province_code.upper().replace("-", "_")


def provider_settings(province: Province, settings: Settings) -> ProviderSettings | None:
    """The province's OIDC client settings; None when it has no usable identity provider configured."""
    idp = province.settings.get("identity_provider") or {}
    issuer, client_id = str(idp.get("issuer", "")), str(idp.get("client_id", ""))
    secret = os.environ.get(secret_variable(province.code), "")
    if not secret and settings.auth.dev_idp_url and issuer.startswith(settings.auth.dev_idp_url + "/"):
        secret = DEV_CLIENT_SECRET
    if not (issuer and client_id and secret):
        return None
    scopes = idp.get("scopes") or DEFAULT_SCOPES
    try:
        return ProviderSettings(
            issuer=issuer,
            client_id=client_id,
            client_secret=secret,
            redirect_uri=f"{settings.auth.public_url}/auth/{province.code}/callback",
            timeout_seconds=settings.auth.oidc_timeout_seconds,
            scopes=tuple(str(scope) for scope in scopes),
        )
    except ValueError:  # a malformed issuer: "not configured" to the person, the reason in the log
        return None


@dataclass(frozen=True)
class SignedInPerson:
    user: User
    tenant_ids: list[uuid.UUID]


async def sign_in(db: AsyncSession, province: Province, claims: dict[str, Any]) -> SignedInPerson:
    """Match (issuer, sub) to a person, creating them on first sign-in; grant memberships from the
    province's claim mappings and pending invitations; return the tenants they may now enter."""
    idp = province.settings["identity_provider"]
    issuer = str(idp["issuer"])
    subject = str(claims["sub"])
    if len(subject) > MAX_SUBJECT:  # the provider breaks the spec: its answer is unusable, not the person refused
        raise OIDCError("bad_response", f"ID token sub is {len(subject)} characters long, at most {MAX_SUBJECT}")
    email = _text_claim(claims, str(idp.get("email_claim") or "email")).lower()[:320]
    name = _text_claim(claims, str(idp.get("name_claim") or "name"))[:255]
    user = await db.scalar(select(User).where(User.issuer == issuer, User.subject == subject))
    if user is None:
        # Two first sign-ins of one person at the same moment: the second finds the first's row.
        await db.execute(
            insert(User)
            .values(id=uuid.uuid4(), issuer=issuer, subject=subject, email=email, full_name=name)
            .on_conflict_do_nothing(index_elements=["issuer", "subject"])
        )
        user = (await db.scalars(select(User).where(User.issuer == issuer, User.subject == subject))).one()
    else:
        if not user.is_active:
            raise SignInRefused("Tài khoản của bạn đã bị khoá. Liên hệ quản trị viên của đơn vị.", "disabled")
        if email and user.email != email:
            user.email = email
        if name and user.full_name != name:
            user.full_name = name
    tenants = {t.code: t for t in await db.scalars(select(Tenant).where(Tenant.province_id == province.id))}
    actor = f"user:{user.id}"
    for mapping in idp.get("claim_mappings", []):
        value = claims.get(str(mapping.get("claim") or idp.get("agency_claim") or "agency"))
        values = value if isinstance(value, list) else [value]
        tenant = tenants.get(str(mapping["tenant"]))
        if tenant is None or not tenant.is_active or tenant.archived_on is not None:
            continue  # an archive (tenants/lineage.yaml) takes no new member: its people are kept, no one is added
        if str(mapping["value"]) in [str(v) for v in values]:
            await _grant(db, tenant, user, str(mapping["role"]), None, actor=actor, source="claim")
    if email and email_verified(claims, trust_missing=idp.get("trust_email_without_verified") is True):
        await _accept_invitations(db, tenants, user, email, actor=actor)
    await bind_tenant(db, None, user.id)
    tenant_ids = [
        tenant_id
        for tenant_id in await db.scalars(
            select(Membership.tenant_id)
            .join(Tenant, Tenant.id == Membership.tenant_id)
            .where(Membership.user_id == user.id, Membership.is_active, Tenant.is_active)
            .where(Tenant.province_id == province.id)
            .distinct()
        )
    ]
    await bind_tenant(db, None)
    return SignedInPerson(user=user, tenant_ids=tenant_ids)


def email_verified(claims: dict[str, Any], *, trust_missing: bool = False) -> bool:
    """Whether the ID token's e-mail may take an invitation addressed to it: only `email_verified: true` (the JSON
    boolean, not the text "true"), or, for a province that declares its provider never sends the claim, a token
    without it. An explicit `false` never does."""
    if "email_verified" not in claims:
        return trust_missing
    return claims["email_verified"] is True


def _text_claim(claims: dict[str, Any], name: str) -> str:
    """A claim as text (empty when absent or not a string: a provider's odd value is no name nor address)."""
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _grant(
    db: AsyncSession, tenant: Tenant, user: User, role: str, unit_id: uuid.UUID | None, *, actor: str, source: str
) -> None:
    """Grant `role` in `tenant` (and audit it) unless the person has it already. Before any session of theirs
    exists no tenant policy lets the app's role write there: `grant_at_sign_in` (backend/db/sql) does, for a
    role the province maps a claim to or an invitation the person has just accepted, and nothing else."""
    await db.flush()
    await db.execute(
        text(
            "SELECT grant_at_sign_in(tenant => :tenant, person => :user, wanted_role => :role, unit => :unit, "
            "actor => :actor, source => :source)"
        ),
        {"tenant": tenant.id, "user": user.id, "role": role, "unit": unit_id, "actor": actor, "source": source},
    )


async def _accept_invitations(
    db: AsyncSession, tenants: dict[str, Tenant], user: User, email: str, *, actor: str
) -> None:
    await db.execute(text("SELECT set_config('app.user_email', :email, true)"), {"email": email})
    by_id = {t.id: t for t in tenants.values() if t.is_active and t.archived_on is None}  # an archive: left pending
    pending = list(
        await db.scalars(
            select(Invitation).where(
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now(),
                Invitation.tenant_id.in_(list(by_id)),
            )
        )
    )
    for invitation in pending:
        invitation.accepted_at = now()
        invitation.accepted_by = user.id
        await db.flush()
        await _grant(
            db, by_id[invitation.tenant_id], user, invitation.role, invitation.unit_id, actor=actor, source="invitation"
        )
    await db.execute(text("SELECT set_config('app.user_email', '', true)"))
