"""API tokens: what a tenant's or a province's systems present instead of a browser session."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, DateTime, ForeignKey, Integer, String, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, UUIDPrimaryKey
from backend.db.models.tenancy import _enum_check


class TokenKind(enum.StrEnum):
    TENANT = "tenant"  # one department's (or commune's) systems, created by its tenant admin
    PROVINCE = "province"  # the province's systems, created by a province admin in its Sở Nội vụ


class ApiToken(UUIDPrimaryKey, TenantScoped, Base):
    """A token for an integration. Only the SHA-256 of the token is kept; the token is shown once, at creation.

    A province token belongs to the province's Sở Nội vụ and reaches the province's tenants (the database checks
    it: `session_person`, migration 0025); a tenant token reaches its tenant only."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(_enum_check("kind", TokenKind), name="kind"),)

    kind: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, to recognise it in a list
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(63)))
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # The rate limit, one count for every process (`api_token_use` keeps it, migration 0030): the minute the token
    # was last used in, and its requests in that minute.
    rate_minute: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rate_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
