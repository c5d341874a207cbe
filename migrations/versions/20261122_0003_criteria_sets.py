"""criteria sets, versioned per province and year

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:38:45.633267
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    op.create_table(
        "criteria_sets",
        sa.Column("province_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("total_max", sa.Numeric(precision=8, scale=3), nullable=False),
        sa.Column("maps_from_previous", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["provinces.id"], name=op.f("fk_criteria_sets_province_id_provinces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criteria_sets")),
        sa.UniqueConstraint("province_id", "year", "version", name=op.f("uq_criteria_sets_province_id_year_version")),
    )
    op.create_table(
        "criteria",
        sa.Column("criteria_set_id", sa.Uuid(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=31), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("max_points", sa.Numeric(precision=8, scale=3), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("method", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("lead_unit", sa.String(length=63), nullable=True),
        sa.Column("appraising_agency", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criteria_set_id"],
            ["criteria_sets.id"],
            name=op.f("fk_criteria_criteria_set_id_criteria_sets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["criteria.id"], name=op.f("fk_criteria_parent_id_criteria"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_criteria")),
        sa.UniqueConstraint("criteria_set_id", "code", name=op.f("uq_criteria_criteria_set_id_code")),
    )
    op.create_index(op.f("ix_criteria_criteria_set_id"), "criteria", ["criteria_set_id"], unique=False)
    # Province configuration, written by `parboard criteria import` as the owner: read-only to the app.
    for table in ("criteria_sets", "criteria"):
        op.execute(f"GRANT SELECT ON {table} TO {_app_role()}")


def downgrade() -> None:
    op.drop_index(op.f("ix_criteria_criteria_set_id"), table_name="criteria")
    op.drop_table("criteria")
    op.drop_table("criteria_sets")
