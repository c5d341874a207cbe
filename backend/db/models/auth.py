"""Sign-in state: pending OIDC flows, server-side sessions, and invitations to a tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, ForeignKeyConstraint, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, UUIDPrimaryKey
from backend.db.models.people import Role
from backend.db.models.tenancy import _enum_check


class LoginFlow(Base):
    """One authorization request in flight: single use, short-lived, bound to the browser that started it."""

    __tablename__ = "login_flows"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of `state`
    browser_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the flow cookie
    province_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("provinces.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(2048), default="/")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class UserSession(UUIDPrimaryKey, Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The province whose identity provider signed this person in: roles elsewhere never apply.
    province_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("provinces.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    ip_address: Mapped[str] = mapped_column(String(64), default="")


class Invitation(UUIDPrimaryKey, TenantScoped, Base):
    """An admin's invitation: the first sign-in with this e-mail in the tenant's province grants the role."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(_enum_check("role", Role), name="role"),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["units.tenant_id", "units.id"]),
    )

    email: Mapped[str] = mapped_column(String(320), index=True)  # lower-case
    role: Mapped[str] = mapped_column(String(31))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
