"""tenant lineage: a tenant renamed, merged, split or moved, a province merged into another

`tenant_lineage` links a predecessor to its successor (configuration written by `tenants sync` as the owner,
read-only to the app; no tenant_id, as it links two tenants). `tenants.archived_on` marks a predecessor, a
read-only archive from then on; `provinces.merged_into_id` a province merged into another.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-06 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    op.add_column("tenants", sa.Column("archived_on", sa.Date(), nullable=True))
    op.add_column("provinces", sa.Column("merged_into_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_provinces_merged_into_id_provinces"),
        "provinces",
        "provinces",
        ["merged_into_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "tenant_lineage",
        sa.Column("predecessor_id", sa.Uuid(), nullable=False),
        sa.Column("successor_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=31), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('rename', 'merge', 'split', 'move', 'province_merge')", name=op.f("ck_tenant_lineage_kind")
        ),
        sa.CheckConstraint("predecessor_id <> successor_id", name=op.f("ck_tenant_lineage_not_itself")),
        sa.ForeignKeyConstraint(
            ["predecessor_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_lineage_predecessor_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["successor_id"], ["tenants.id"], name=op.f("fk_tenant_lineage_successor_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_lineage")),
        sa.UniqueConstraint(
            "predecessor_id", "successor_id", name=op.f("uq_tenant_lineage_predecessor_id_successor_id")
        ),
    )
    op.create_index(op.f("ix_tenant_lineage_predecessor_id"), "tenant_lineage", ["predecessor_id"], unique=False)
    op.create_index(op.f("ix_tenant_lineage_successor_id"), "tenant_lineage", ["successor_id"], unique=False)
    op.execute(f"GRANT SELECT ON tenant_lineage TO {_app_role()}")


def downgrade() -> None:
    op.drop_index(op.f("ix_tenant_lineage_successor_id"), table_name="tenant_lineage")
    op.drop_index(op.f("ix_tenant_lineage_predecessor_id"), table_name="tenant_lineage")
    op.drop_table("tenant_lineage")
    op.drop_constraint(op.f("fk_provinces_merged_into_id_provinces"), "provinces", type_="foreignkey")
    op.drop_column("provinces", "merged_into_id")
    op.drop_column("tenants", "archived_on")
