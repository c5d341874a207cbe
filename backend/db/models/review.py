"""The inspectors' review (thẩm định) of a department's submission by the province's Sở Nội vụ.

Every row belongs to the department reviewed (its `tenant_id`), so the department sees what was decided
about it under row-level security; the province's reviewers write them by binding that department's
tenant in turn, as the province's other cross-department views do.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey


class AppraisalStatus(enum.StrEnum):
    ROUND_1 = "round_1"
    ROUND_2 = "round_2"  # after the department's explanations (giải trình)
    FINALISED = "finalised"  # scores published


class Appraisal(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """The review of one department's year."""

    __tablename__ = "appraisals"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year"),
        CheckConstraint("status IN ('round_1', 'round_2', 'finalised')", name="status"),
        CheckConstraint("round IN (1, 2)", name="round"),
    )

    year: Mapped[int] = mapped_column(Integer)
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("submissions.id", ondelete="SET NULL"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(15), default=AppraisalStatus.ROUND_1.value)
    round: Mapped[int] = mapped_column(Integer, default=1)
    finalised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finalised_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


class AppraisalItem(UUIDPrimaryKey, TenantScoped, Base):
    """A reviewer's decision on one criterion in one round: the self-score accepted, or an appraised score
    with its (mandatory) reason; and the reviewer's sign-off."""

    __tablename__ = "appraisal_items"
    __table_args__ = (
        UniqueConstraint("appraisal_id", "criterion_code", "round"),
        CheckConstraint("points IS NULL OR points >= 0", name="points_not_negative"),
        CheckConstraint("accepted OR points IS NULL OR length(btrim(reason)) > 0", name="reason_required"),
    )

    appraisal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("appraisals.id", ondelete="CASCADE"))
    criterion_code: Mapped[str] = mapped_column(String(31))
    round: Mapped[int] = mapped_column(Integer, default=1)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)  # the self-score stands
    points: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), nullable=True)  # the appraised score
    reason: Mapped[str] = mapped_column(Text, default="")
    agency_tenant_id: Mapped[uuid.UUID | None] = mapped_column(  # assigned to another appraising agency
        Uuid, ForeignKey("tenants.id", ondelete="SET NULL"), nullable=True
    )
    signed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EvidenceRequest(UUIDPrimaryKey, TenantScoped, Base):
    """An inspector asks for more evidence on a criterion; the department answers (giải trình) with text and
    files (evidence_files.request_id) before the explanation deadline. Every exchange is kept."""

    __tablename__ = "evidence_requests"
    __table_args__ = (CheckConstraint("status IN ('open', 'answered', 'closed')", name="status"),)

    year: Mapped[int] = mapped_column(Integer)
    criterion_code: Mapped[str] = mapped_column(String(31))
    round: Mapped[int] = mapped_column(Integer, default=1)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(15), default="open")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
