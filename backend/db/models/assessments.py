"""Self-assessments (tự đánh giá): one per tenant and year, against one frozen-on-approval criteria set version.

Points are NUMERIC(8, 3): exact, never binary floats. `items` hold what the department enters per
criterion; `external_scores` hold what the province's Sở Nội vụ enters for every department (survey
parts, external indices); `appraised_results` hold the published results of past years (the history).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey

Points = Numeric(8, 3)


class AssessmentStatus(enum.StrEnum):
    DRAFT = "draft"  # dự thảo: staff edit
    READY = "ready"  # chờ lãnh đạo duyệt
    APPROVED = "approved"  # đã duyệt: locked for staff


class Assessment(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("status IN ('draft', 'ready', 'approved')", name="status"),
    )

    criteria_set_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("criteria_sets.id"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(15), default=AssessmentStatus.DRAFT.value)
    # Bumped on every change; a form carries the version it was made from, so a stale edit is refused.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


class AssessmentItem(UUIDPrimaryKey, TenantScoped, Base):
    """What the department entered for one criterion: its inputs, the points they give, the explanation."""

    __tablename__ = "assessment_items"
    __table_args__ = (
        UniqueConstraint("assessment_id", "criterion_id"),
        ForeignKeyConstraint(
            ["tenant_id", "assessment_id"], ["assessments.tenant_id", "assessments.id"], ondelete="CASCADE"
        ),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    criterion_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("criteria.id"))
    points: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    explanation: Mapped[str] = mapped_column(Text, default="")
    evidence_refs: Mapped[str] = mapped_column(Text, default="")
    # Bumped by every save; the row's form carries the version it was made from, so a stale save is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    updated_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


class ExternalScore(UUIDPrimaryKey, TenantScoped, Base):
    """A survey part or external index for one department, entered by the province's Sở Nội vụ."""

    __tablename__ = "external_scores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "criterion_id"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    criterion_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("criteria.id"))
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 3), nullable=True)  # the index (DTI 93,76), if any
    points: Mapped[Decimal] = mapped_column(Points)
    source: Mapped[str] = mapped_column(String(15), default="form")  # form | xlsx
    entered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AppraisedResult(UUIDPrimaryKey, TenantScoped, Base):
    """A published year: per-area appraised points, bonus, penalty, total and rank (the history)."""

    __tablename__ = "appraised_results"
    __table_args__ = (UniqueConstraint("tenant_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    # {area key: {"name": …, "achieved": "9.5", "max": "12.5", "merged_into": key|None}}: decimals as text
    areas: Mapped[dict[str, Any]] = mapped_column(JSONB)
    bonus: Mapped[Decimal] = mapped_column(Points, default=Decimal(0))
    penalty: Mapped[Decimal] = mapped_column(Points, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Points)
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rank_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(255), default="")
