"""Provinces, their tenants (departments, communes) and the tenants' units and unit groups."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey


class TenantKind(enum.StrEnum):
    DEPARTMENT = "department"  # sở, ban, ngành
    HOME_AFFAIRS = "home_affairs"  # Sở Nội vụ: the province's evaluator
    COMMUNE = "commune"  # xã, phường, đặc khu (since 2025)


class UnitKind(enum.StrEnum):
    OFFICE = "office"  # Văn phòng Sở: the CCHC focal point
    PHONG = "phong"
    INSPECTORATE = "inspectorate"
    CHI_CUC = "chi_cuc"
    PUBLIC_SERVICE = "public_service"  # đơn vị sự nghiệp


def _enum_check(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Province(UUIDPrimaryKey, Timestamps, Base):
    """A province (UBND tỉnh): configuration, never code. Not tenant-owned."""

    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # identity provider (issuer, client id, claim), report deadlines: validated by `tenants sync`.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # A province merged into another (tenants/lineage.yaml, `province_merge`): its tenants are archives.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("provinces.id", ondelete="SET NULL"), nullable=True
    )

    tenants: Mapped[list[Tenant]] = relationship(back_populates="province", order_by="Tenant.name")


class RankingGroup(UUIDPrimaryKey, Base):
    """The group a tenant is ranked within (sở, ban, ngành; xã, phường)."""

    __tablename__ = "ranking_groups"
    __table_args__ = (UniqueConstraint("province_id", "code"),)

    province_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("provinces.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255))


class ResultClass(UUIDPrimaryKey, Base):
    """A class of the province's published results for a year (Nhóm I, Tốt, …), in order, best first.

    A tenant is in the first class whose `min_index` its index reaches and under whose `area_floor` (if any)
    none of its areas' indices falls. Province configuration, written by `tenants sync`: read-only to the app.
    """

    __tablename__ = "result_classes"
    __table_args__ = (UniqueConstraint("province_id", "year", "code"),)

    province_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("provinces.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(63))
    label: Mapped[str] = mapped_column(String(255))
    min_index: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    area_floor: Mapped[Decimal | None] = mapped_column(Numeric(6, 3), nullable=True)


class Tenant(UUIDPrimaryKey, Timestamps, Base):
    """A department (sở) or commune: one tenant. Readable by the app; written only by `tenants sync`."""

    __tablename__ = "tenants"
    __table_args__ = (
        UniqueConstraint("province_id", "code"),
        CheckConstraint(_enum_check("kind", TenantKind), name="kind"),
    )

    province_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("provinces.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255))
    short_name: Mapped[str] = mapped_column(String(31), default="")
    kind: Mapped[str] = mapped_column(String(31))
    ranking_group_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("ranking_groups.id", ondelete="SET NULL"), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # What a criteria set's "không áp dụng" rules look for ("khong-tthc": no administrative procedures).
    attributes: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    # Set when the tenant was renamed, merged, split or moved (tenants/lineage.yaml): from then on a read-only
    # archive of what it did; its successors are in `tenant_lineage`.
    archived_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    province: Mapped[Province] = relationship(back_populates="tenants")


class LineageKind(enum.StrEnum):
    RENAME = "rename"  # đổi tên
    MERGE = "merge"  # hợp nhất, sáp nhập
    SPLIT = "split"  # chia tách
    MOVE = "move"  # chuyển sang tỉnh khác
    PROVINCE_MERGE = "province_merge"  # cả tỉnh sáp nhập vào tỉnh khác


class TenantLineage(UUIDPrimaryKey, Base):
    """One edge of the tenants' lineage: `predecessor` became (part of) `successor` on `effective_on`.
    Configuration written by `tenants sync` as the owner; read-only to the app (no tenant_id: it links two)."""

    __tablename__ = "tenant_lineage"
    __table_args__ = (
        UniqueConstraint("predecessor_id", "successor_id"),
        CheckConstraint(_enum_check("kind", LineageKind), name="kind"),
        CheckConstraint("predecessor_id <> successor_id", name="not_itself"),
    )

    predecessor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    successor_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(31))
    effective_on: Mapped[date] = mapped_column(Date)
    position: Mapped[int] = mapped_column(Integer, default=0)  # the predecessor's place in its event's `from`


class Unit(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """A phòng or đơn vị inside a tenant; units own remedy tasks."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        # target of composite foreign keys, so a row can only point at a unit of its own tenant
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint(_enum_check("kind", UnitKind), name="kind"),
    )

    code: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(31))
    position: Mapped[int] = mapped_column(default=0)


class UnitGroup(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """A named set of units ("Các phòng, đơn vị thuộc Sở")."""

    __tablename__ = "unit_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), UniqueConstraint("tenant_id", "id"))

    code: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255))


class UnitGroupMember(TenantScoped, Base):
    __tablename__ = "unit_group_members"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "unit_group_id"], ["unit_groups.tenant_id", "unit_groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["units.tenant_id", "units.id"], ondelete="CASCADE"),
    )

    unit_group_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    unit_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, index=True)


class HomeRevision(Base):
    """A counter per tenant that PostgreSQL bumps (statement triggers `a_home_revision`, migration 0034, written at
    commit since 0035) on every write to a table of the tenant's own but its API tokens: the tenant home's cache
    (`backend.domain.tenants.home_cache`) keys on it, so a change committed anywhere shows on the next home."""

    __tablename__ = "home_revisions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class HomeConfigRevision(Base):
    """One row, bumped by every write to what the provinces declare (provinces, tenants, lineage, ranking groups,
    result classes, criteria) and by a write into an archive (its successors' homes show it): every home's key."""

    __tablename__ = "home_config_revision"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class RevisionBump(Base):
    """A transaction that wrote a counted table, queued by its first such statement (`note_revision_bump`, migration
    0035): the row's deferred trigger writes the counters the transaction noted at its commit, in one order
    (`apply_revision_bumps`), and deletes the row. Empty between transactions."""

    __tablename__ = "revision_bumps"

    xact: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
