"""Evidence files (tài liệu kiểm chứng) and the submission packages built from them.

The bytes live in content-addressed storage (`backend.domain.evidence.storage`, keyed by SHA-256, shared
by every tenant: the same file is stored once); only the metadata is here, tenant-owned under row-level
security. A row never points at a missing blob: the blob is written (and fsynced) before the row, and
`parboard evidence check` reports any drift.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey


class EvidenceFile(UUIDPrimaryKey, TenantScoped, Base):
    """One uploaded file, attached to a criterion of a year's self-assessment, to a remedy task, or to a
    department's answer (giải trình) to an inspector's evidence request."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
        Index("ix_evidence_files_tenant_year_criterion", "tenant_id", "year", "criterion_code"),
        Index("ix_evidence_files_task", "task_id"),
        Index("ix_evidence_files_sha256", "sha256"),
    )

    year: Mapped[int] = mapped_column(Integer)
    criterion_code: Mapped[str | None] = mapped_column(String(31), nullable=True)  # "1.2", "7.3.1"
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tasks.id", ondelete="SET NULL"))
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("evidence_requests.id", ondelete="SET NULL"), nullable=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(127))  # sniffed from the content, never the name
    filename: Mapped[str] = mapped_column(String(255))  # NFC, neutralised (no path, no control characters)
    description: Mapped[str] = mapped_column(Text, default="")
    document_number: Mapped[str] = mapped_column(String(127), default="")  # "640/KH-STNMT"
    document_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # 24/02/2023
    document_section: Mapped[str] = mapped_column(String(200), default="")  # "Điều 3, trang 5": where in it
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SubmissionStatus(enum.StrEnum):
    BUILDING = "building"  # the package job is queued or running
    FAILED = "failed"  # the build failed: retryable, never shown as submitted
    SUBMITTED = "submitted"  # the package exists and its hash is recorded
    WITHDRAWN = "withdrawn"  # taken back before the deadline to correct it (the package is kept)
    RETURNED = "returned"  # sent back by the province's reviewers


class Submission(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """One version of a department's submission of its year's self-assessment to Sở Nội vụ."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "version"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("status IN ('building', 'failed', 'submitted', 'withdrawn', 'returned')", name="status"),
        # At most one live submission (building or submitted) per department and year: two submit
        # clicks at once produce exactly one package.
        Index(
            "uq_submissions_live",
            "tenant_id",
            "year",
            unique=True,
            postgresql_where=text("status IN ('building', 'submitted')"),
        ),
        ForeignKeyConstraint(["tenant_id", "assessment_id"], ["assessments.tenant_id", "assessments.id"]),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(15), default=SubmissionStatus.BUILDING.value)
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    package_key: Mapped[str | None] = mapped_column(String(255), nullable=True)  # storage key of the ZIP
    package_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    package_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    built_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
