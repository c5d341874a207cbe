"""sign-in: login flows, sessions, invitations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:16:47.938447

Login flows and sessions are not tenant-owned (a person signs in to a province, then acts in several
tenants); the application may read and write them. Invitations are tenant-owned, with one extra
policy: a person signing in may see and accept the invitations addressed to their own e-mail.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from backend.db.rls import disable_tenant_rls_sql, enable_tenant_rls_sql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_PRIVILEGES = {
    "login_flows": "SELECT, INSERT, DELETE",
    "user_sessions": "SELECT, INSERT, UPDATE",
    "invitations": "SELECT, INSERT, UPDATE",
}
OWN_EMAIL = "lower(email) = lower(NULLIF(current_setting('app.user_email', true), ''))"


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    op.create_table(
        "login_flows",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("province_id", sa.Uuid(), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("next_path", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["provinces.id"], name=op.f("fk_login_flows_province_id_provinces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_login_flows")),
    )
    op.create_index(op.f("ix_login_flows_expires_at"), "login_flows", ["expires_at"], unique=False)
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("province_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=320), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["provinces.id"], name=op.f("fk_user_sessions_province_id_provinces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "invitations",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=31), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "role IN ('platform_admin', 'province_admin', 'province_reviewer', 'tenant_admin', 'focal_point', 'unit_head', 'staff', 'leader', 'viewer')",
            name=op.f("ck_invitations_role"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"], ["users.id"], name=op.f("fk_invitations_accepted_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_invitations_invited_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "unit_id"],
            ["units.tenant_id", "units.id"],
            name=op.f("fk_invitations_tenant_id_unit_id_units"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invitations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(op.f("ix_invitations_email"), "invitations", ["email"], unique=False)
    op.create_index(op.f("ix_invitations_tenant_id"), "invitations", ["tenant_id"], unique=False)

    for statement in enable_tenant_rls_sql("invitations"):
        op.execute(statement)
    op.execute(f"CREATE POLICY own_invitations_read ON invitations FOR SELECT USING ({OWN_EMAIL})")
    op.execute(
        f"CREATE POLICY own_invitations_accept ON invitations FOR UPDATE USING ({OWN_EMAIL}) WITH CHECK ({OWN_EMAIL})"
    )
    app = _app_role()
    for table, privileges in APP_PRIVILEGES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {app}")


def downgrade() -> None:
    op.execute("DROP POLICY IF EXISTS own_invitations_accept ON invitations")
    op.execute("DROP POLICY IF EXISTS own_invitations_read ON invitations")
    for statement in disable_tenant_rls_sql("invitations"):
        op.execute(statement)
    op.drop_index(op.f("ix_invitations_tenant_id"), table_name="invitations")
    op.drop_index(op.f("ix_invitations_email"), table_name="invitations")
    op.drop_table("invitations")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index(op.f("ix_login_flows_expires_at"), table_name="login_flows")
    op.drop_table("login_flows")
