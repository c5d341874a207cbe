"""Periodic progress reports on the remedy plan (tenant-owned)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey


class ProgressReport(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """A periodic progress report to Sở Nội vụ (quý I, 6 tháng, quý III, năm): narratives per area while a
    draft; on submission the summary is frozen into `snapshot` and never recomputed."""

    __tablename__ = "progress_reports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "period"),
        CheckConstraint("status IN ('draft', 'submitted')", name="status"),
    )

    year: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(15))  # quy-1 | 6-thang | quy-3 | nam (the province's periods)
    status: Mapped[str] = mapped_column(String(15), default="draft")
    narratives: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)  # area code → text
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
