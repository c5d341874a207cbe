"""Criteria sets (Bộ chỉ số CCHC) per province and year, versioned: a new version is a new row."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, UUIDPrimaryKey

Points = Numeric(8, 3)  # exact, three places: never a binary float


class CriteriaSet(UUIDPrimaryKey, Base):
    """One version of a province's criteria for a year. Province configuration, not tenant-owned."""

    __tablename__ = "criteria_sets"
    __table_args__ = (
        # one version sequence per (province, year, ranking group); a set without a group serves every group
        UniqueConstraint("province_id", "year", "ranking_group_id", "version", postgresql_nulls_not_distinct=True),
    )

    province_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("provinces.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    ranking_group_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("ranking_groups.id", ondelete="RESTRICT"), nullable=True
    )
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    total_max: Mapped[Decimal] = mapped_column(Points)
    maps_from_previous: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    source_file: Mapped[str] = mapped_column(String(255), default="")
    # {"criteria": "80", "survey": "20"}: the parts the set declares (empty for a set that declares none)
    parts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    bonus_cap: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    penalty_cap: Mapped[Decimal | None] = mapped_column(Points, nullable=True)
    # [{"attribute": "khong-tthc", "criteria": ["3"], "reason": …}]: what does not apply to which tenants
    not_applicable: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    # Set when a submitted assessment uses this version: from then on it never changes.
    frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Criterion(UUIDPrimaryKey, Base):
    """An area, criterion or sub-criterion of one set version (code "1.2", "2.6.1", "7.1.5")."""

    __tablename__ = "criteria"
    __table_args__ = (UniqueConstraint("criteria_set_id", "code"),)

    criteria_set_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("criteria_sets.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("criteria.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(31))
    depth: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    max_points: Mapped[Decimal] = mapped_column(Points)
    kind: Mapped[str] = mapped_column(String(15))
    method: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    lead_unit: Mapped[str | None] = mapped_column(String(63), nullable=True)
    appraising_agency: Mapped[str] = mapped_column(String(255))
