"""Remedy tasks (Kế hoạch khắc phục tồn tại, hạn chế) on a board: columns per tenant, tasks with every column
of the seeds' plan tables, their units, assignees, checklist and comments. All tenant-owned.

A task's `version` is bumped by every change: a form or a move carries the version it was made from, and a
stale one is refused with the fresh state (Taiga's model), so two people never silently overwrite each other.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from backend.db.base import Base, TenantScoped, Timestamps, UUIDPrimaryKey


class TaskKind(enum.StrEnum):
    FIX = "fix"  # nhiệm vụ cần phải khắc phục, cải thiện
    KEEP = "keep"  # nhiệm vụ cần duy trì và nâng cao


class UnitRole(enum.StrEnum):
    COORDINATING = "coordinating"  # cơ quan phối hợp
    MONITORING = "monitoring"  # cơ quan theo dõi, đôn đốc, tổng hợp


class BoardColumn(UUIDPrimaryKey, TenantScoped, Base):
    """A status column of the tenant's board ("Chưa thực hiện", "Đang thực hiện", "Chờ xác nhận", "Hoàn thành")."""

    __tablename__ = "board_columns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        UniqueConstraint("tenant_id", "id"),
        CheckConstraint("wip_limit IS NULL OR wip_limit > 0", name="wip_limit_positive"),
    )

    code: Mapped[str] = mapped_column(String(31))
    name: Mapped[str] = mapped_column(String(63))
    position: Mapped[int] = mapped_column(Integer)
    wip_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    is_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # Moving a card INTO this column needs Permission.TASK_CONFIRM (chờ xác nhận → hoàn thành).
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)


class Task(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "id"),
        ForeignKeyConstraint(["tenant_id", "column_id"], ["board_columns.tenant_id", "board_columns.id"]),
        ForeignKeyConstraint(["tenant_id", "lead_unit_id"], ["units.tenant_id", "units.id"]),
        CheckConstraint("kind IN ('fix', 'keep')", name="kind"),
        CheckConstraint("points_lost IS NULL OR points_lost >= 0", name="points_lost_not_negative"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        # not `position`: a move then updates the cards it shifts in place (HOT; migration 0010, fillfactor 85)
        Index("ix_tasks_board_cell", "tenant_id", "year", "column_id", "area_code"),
    )

    number: Mapped[int] = mapped_column(Integer)  # shown as KP-<number>
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(7), default=TaskKind.FIX.value)
    area_code: Mapped[str] = mapped_column(String(31))  # the reform area (lĩnh vực) of the year's criteria set
    criterion_code: Mapped[str | None] = mapped_column(String(31), nullable=True)  # None: a general task
    deficiency: Mapped[str] = mapped_column(Text, default="")  # tồn tại, hạn chế
    points_lost: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), nullable=True)
    points_max: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), nullable=True)
    title: Mapped[str] = mapped_column(Text)  # giải pháp khắc phục / nhiệm vụ
    deadline_text: Mapped[str] = mapped_column(String(255), default="")  # as people write it
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # what it resolves to (the next one)
    # a recurring deadline's every due date in its year ("Hằng quý": 31/03, 30/06, …); the daily job moves
    # due_date on to the next one as each passes
    due_series: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list, server_default="{}")
    lead_unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    expected_output: Mapped[str] = mapped_column(Text, default="")  # kết quả / sản phẩm
    notes: Mapped[str] = mapped_column(Text, default="")
    labels: Mapped[list[str]] = mapped_column(ARRAY(String(63)), default=list)
    column_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    position: Mapped[int] = mapped_column(Integer)  # dense 0..n-1 within (column, area)
    version: Mapped[int] = mapped_column(Integer, default=1)
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased, without diacritics
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))


def task_is_open() -> ColumnElement[bool]:
    """A task not in a done column yet: what is still to do, carried over, reported as open or counted overdue."""
    return Task.column_id.not_in(select(BoardColumn.id).where(BoardColumn.is_done))


class TaskUnit(TenantScoped, Base):
    """A coordinating or monitoring unit (or unit group) of a task."""

    __tablename__ = "task_units"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["units.tenant_id", "units.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(
            ["tenant_id", "unit_group_id"], ["unit_groups.tenant_id", "unit_groups.id"], ondelete="CASCADE"
        ),
        CheckConstraint("(unit_id IS NULL) <> (unit_group_id IS NULL)", name="unit_or_group"),
        CheckConstraint("role IN ('coordinating', 'monitoring')", name="role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    role: Mapped[str] = mapped_column(String(15))
    unit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    unit_group_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class TaskAssignee(TenantScoped, Base):
    __tablename__ = "task_assignees"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ChecklistItem(UUIDPrimaryKey, TenantScoped, Base):
    __tablename__ = "task_checklist_items"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class TaskComment(UUIDPrimaryKey, TenantScoped, Base):
    __tablename__ = "task_comments"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RemedyPlan(UUIDPrimaryKey, TenantScoped, Timestamps, Base):
    """The year's plan as a whole: when the appraisal result came (its clock starts there) and its approval."""

    __tablename__ = "remedy_plans"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year"),
        CheckConstraint("status IN ('draft', 'approved')", name="status"),
    )

    year: Mapped[int] = mapped_column(Integer)
    result_date: Mapped[date | None] = mapped_column(Date, nullable=True)  # ngày có kết quả thẩm định
    status: Mapped[str] = mapped_column(String(15), default="draft")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)


class CarriedTask(UUIDPrimaryKey, TenantScoped, Base):
    """A predecessor's open task carried over to its successor's board (tenants/lineage.yaml): owned by the
    successor (`tenant_id`, where `task_id` is the task it became), written by the carry-over in the successor's
    transaction, never in the archive. The archive's people read it too: the policy `predecessor_reading`
    (migration 0037) shows a row to whoever may read its `predecessor_id`, so the archive's board can say where
    each task went. `source_label` and the numbers are kept as they were, so neither side reads the other's tasks."""

    __tablename__ = "carried_tasks"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["predecessor_id", "source_task_id"], ["tasks.tenant_id", "tasks.id"], ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "task_id"),
        UniqueConstraint("tenant_id", "source_task_id"),
        Index("ix_carried_tasks_predecessor", "predecessor_id", "source_task_id"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the task on the successor's board
    number: Mapped[int] = mapped_column(Integer)  # its KP-number there
    predecessor_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the archive
    source_task_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the archive's task
    source_number: Mapped[int] = mapped_column(Integer)  # its KP-number there
    # the archive as the successor's cards name it: "Sở Tài nguyên và Môi trường", with its province when another
    source_label: Mapped[str] = mapped_column(String(255))
    carried_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.id", ondelete="SET NULL"))
    carried_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BoardRevision(Base):
    """A counter per tenant that PostgreSQL bumps (statement triggers, migration 0009; at the writer's commit, once
    per transaction, since 0035) on every change to what the board shows: tasks, their units and assignees,
    columns, units, evidence files. The board page caches
    what it read under the revision it saw, so every process and replica agrees on when a cache is stale."""

    __tablename__ = "board_revisions"

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)


class DirectoryRevision(Base):
    """One row, bumped when a person's name or e-mail changes (the names on every board's cards)."""

    __tablename__ = "directory_revision"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
