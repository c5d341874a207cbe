"""tenancy, people, audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:37:35.148543

Every tenant-owned table gets row-level security, ENABLEd and FORCEd. The application role owns
nothing and gets only the privileges listed here: tenants and provinces are read-only to it, the
audit log is append-only.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from backend.db.rls import disable_tenant_rls_sql, enable_tenant_rls_sql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("units", "unit_groups", "unit_group_members", "memberships", "audit_log")
APP_PRIVILEGES = {
    "provinces": "SELECT",
    "ranking_groups": "SELECT",
    "tenants": "SELECT",
    "users": "SELECT, INSERT, UPDATE",
    "units": "SELECT, INSERT, UPDATE, DELETE",
    "unit_groups": "SELECT, INSERT, UPDATE, DELETE",
    "unit_group_members": "SELECT, INSERT, DELETE",
    "memberships": "SELECT, INSERT, UPDATE, DELETE",
    "audit_log": "SELECT, INSERT",
}


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    op.create_table(
        "provinces",
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provinces")),
        sa.UniqueConstraint("code", name=op.f("uq_provinces_code")),
    )
    op.create_table(
        "users",
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("is_platform_admin", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_users_issuer_subject")),
    )
    op.create_table(
        "ranking_groups",
        sa.Column("province_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"],
            ["provinces.id"],
            name=op.f("fk_ranking_groups_province_id_provinces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_groups")),
        sa.UniqueConstraint("province_id", "code", name=op.f("uq_ranking_groups_province_id_code")),
    )
    op.create_table(
        "tenants",
        sa.Column("province_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("short_name", sa.String(length=31), nullable=False),
        sa.Column("kind", sa.String(length=31), nullable=False),
        sa.Column("ranking_group_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('department', 'home_affairs', 'commune')", name=op.f("ck_tenants_kind")),
        sa.ForeignKeyConstraint(
            ["province_id"],
            ["provinces.id"],
            name=op.f("fk_tenants_province_id_provinces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ranking_group_id"],
            ["ranking_groups.id"],
            name=op.f("fk_tenants_ranking_group_id_ranking_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("province_id", "code", name=op.f("uq_tenants_province_id_code")),
    )
    op.create_index(op.f("ix_tenants_province_id"), "tenants", ["province_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("entity_id", sa.String(length=63), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("correlation_id", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_audit_log_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_tenant_id"), "audit_log", ["tenant_id"], unique=False)
    op.create_table(
        "unit_groups",
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_unit_groups_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_groups")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_unit_groups_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_unit_groups_tenant_id_id")),
    )
    op.create_index(op.f("ix_unit_groups_tenant_id"), "unit_groups", ["tenant_id"], unique=False)
    op.create_table(
        "units",
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=31), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('office', 'phong', 'inspectorate', 'chi_cuc', 'public_service')",
            name=op.f("ck_units_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_units_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_units_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_units_tenant_id_id")),
    )
    op.create_index(op.f("ix_units_tenant_id"), "units", ["tenant_id"], unique=False)
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=31), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('platform_admin', 'province_admin', 'province_reviewer', 'tenant_admin', 'focal_point', 'unit_head', 'staff', 'leader', 'viewer')",
            name=op.f("ck_memberships_role"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit_id"],
            ["units.tenant_id", "units.id"],
            name=op.f("fk_memberships_tenant_id_unit_id_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_memberships_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("tenant_id", "user_id", "role", name=op.f("uq_memberships_tenant_id_user_id_role")),
    )
    op.create_index(op.f("ix_memberships_tenant_id"), "memberships", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_memberships_user_id"), "memberships", ["user_id"], unique=False)
    op.create_table(
        "unit_group_members",
        sa.Column("unit_group_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit_group_id"],
            ["unit_groups.tenant_id", "unit_groups.id"],
            name=op.f("fk_unit_group_members_tenant_id_unit_group_id_unit_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit_id"],
            ["units.tenant_id", "units.id"],
            name=op.f("fk_unit_group_members_tenant_id_unit_id_units"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_unit_group_members_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_group_id", "unit_id", name=op.f("pk_unit_group_members")),
    )
    op.create_index(op.f("ix_unit_group_members_tenant_id"), "unit_group_members", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_unit_group_members_unit_id"), "unit_group_members", ["unit_id"], unique=False)

    for table in TENANT_TABLES:
        for statement in enable_tenant_rls_sql(table):
            op.execute(statement)
    # A person sees their own memberships in every tenant (to list where they can go), nothing more.
    op.execute(
        "CREATE POLICY own_memberships ON memberships FOR SELECT "
        "USING (user_id = NULLIF(current_setting('app.user_id', true), '')::uuid)"
    )
    app = _app_role()
    for table, privileges in APP_PRIVILEGES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {app}")
    op.execute(f"GRANT USAGE ON SEQUENCE audit_log_id_seq TO {app}")
    op.execute(f"GRANT SELECT ON alembic_version TO {app}")


def downgrade() -> None:
    app = _app_role()
    op.execute(f"REVOKE ALL ON alembic_version FROM {app}")
    op.execute("DROP POLICY IF EXISTS own_memberships ON memberships")
    for table in TENANT_TABLES:
        for statement in disable_tenant_rls_sql(table):
            op.execute(statement)
    op.drop_index(op.f("ix_unit_group_members_unit_id"), table_name="unit_group_members")
    op.drop_index(op.f("ix_unit_group_members_tenant_id"), table_name="unit_group_members")
    op.drop_table("unit_group_members")
    op.drop_index(op.f("ix_memberships_user_id"), table_name="memberships")
    op.drop_index(op.f("ix_memberships_tenant_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_index(op.f("ix_units_tenant_id"), table_name="units")
    op.drop_table("units")
    op.drop_index(op.f("ix_unit_groups_tenant_id"), table_name="unit_groups")
    op.drop_table("unit_groups")
    op.drop_index(op.f("ix_audit_log_tenant_id"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_tenants_province_id"), table_name="tenants")
    op.drop_table("tenants")
    op.drop_table("ranking_groups")
    op.drop_table("users")
    op.drop_table("provinces")
