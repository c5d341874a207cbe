"""People and their memberships (user × tenant × role, optionally × unit)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey
from backend.db.models.tenancy import _enum_check


class Role(enum.StrEnum):
    """The roles of the permission matrix (backend.auth.permissions)."""

    PLATFORM_ADMIN = "platform_admin"
    PROVINCE_ADMIN = "province_admin"
    PROVINCE_REVIEWER = "province_reviewer"  # Sở Nội vụ inspector
    TENANT_ADMIN = "tenant_admin"
    FOCAL_POINT = "focal_point"  # văn phòng, đầu mối CCHC
    UNIT_HEAD = "unit_head"
    STAFF = "staff"
    LEADER = "leader"  # Giám đốc / Phó Giám đốc: approves
    VIEWER = "viewer"


class User(UUIDPrimaryKey, Timestamps, Base):
    """A person, identified by their identity provider's (issuer, subject). Not tenant-owned."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320), default="")
    full_name: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Membership(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """What one person may do in one tenant."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "role"),
        CheckConstraint(_enum_check("role", Role), name="role"),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["units.tenant_id", "units.id"]),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(31))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
