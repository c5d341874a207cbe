"""The audit log: who did what, when, before and after. Append-only for the application role."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, String, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TenantScoped


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(320))  # a user id, or "system:tenants-sync"
    action: Mapped[str] = mapped_column(String(63))
    entity: Mapped[str] = mapped_column(String(63))
    entity_id: Mapped[str] = mapped_column(String(63), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    correlation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)

    @classmethod
    def by(
        cls,
        tenant_id: uuid.UUID,
        actor: uuid.UUID | None,
        action: str,
        entity: str,
        entity_id: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """An entry for what a person (or, without one, the system) did in a tenant."""
        return cls(
            tenant_id=tenant_id,
            actor=f"user:{actor}" if actor else "system",
            action=action,
            entity=entity,
            entity_id=entity_id,
            before=before,
            after=after,
        )
