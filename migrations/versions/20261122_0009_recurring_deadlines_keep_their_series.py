"""recurring deadlines keep their series; board revisions

`tasks.due_series`: every due date of a recurring deadline in its year. `board_revisions` (tenant-owned, row-level
security) counts the changes to what a tenant's board shows, bumped by statement triggers on the tables it reads;
`directory_revision` (one row, not tenant-owned) counts changes to people's names and e-mails. The board page caches
what it read under the revisions it saw.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 08:10:07.816371
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from backend.db.rls import CURRENT_TENANT, disable_tenant_rls_sql, enable_tenant_rls_sql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table whose rows a board card or column shows (one tenant's rows per statement, by row-level security).
BOARD_TABLES = ("tasks", "task_assignees", "task_units", "board_columns", "units", "evidence_files")


def upgrade() -> None:
    op.add_column("tasks", sa.Column("due_series", postgresql.ARRAY(sa.Date()), server_default="{}", nullable=False))
    op.create_table(
        "board_revisions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_board_revisions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_board_revisions")),
    )
    op.create_table(
        "directory_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_directory_revision_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_revision")),
    )
    op.execute("INSERT INTO directory_revision (id, revision) VALUES (1, 0)")
    app_role = context.config.attributes["app_role"]
    for statement in enable_tenant_rls_sql("board_revisions"):
        op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON board_revisions TO {app_role}")
    op.execute(f"GRANT SELECT, UPDATE ON directory_revision TO {app_role}")
    # Statement level: one bump per statement, for the tenant the statement ran as (row-level security makes
    # every row it touched that tenant's); nothing without a tenant (TRUNCATE in tests, the owner unbound).
    op.execute(
        f"""
        CREATE FUNCTION bump_board_revision() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE current_tenant uuid := {CURRENT_TENANT};
        BEGIN
          IF current_tenant IS NOT NULL THEN
            INSERT INTO board_revisions AS r (tenant_id, revision) VALUES (current_tenant, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET revision = r.revision + 1;
          END IF;
          RETURN NULL;
        END $$
        """
    )
    for table in BOARD_TABLES:
        op.execute(
            f"CREATE TRIGGER board_revision AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_board_revision()"
        )
    op.execute(
        """
        CREATE FUNCTION bump_directory_revision() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER directory_revision AFTER UPDATE OF full_name, email ON users FOR EACH ROW "
        "WHEN (OLD.full_name IS DISTINCT FROM NEW.full_name OR OLD.email IS DISTINCT FROM NEW.email) "
        "EXECUTE FUNCTION bump_directory_revision()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER directory_revision ON users")
    op.execute("DROP FUNCTION bump_directory_revision()")
    for table in BOARD_TABLES:
        op.execute(f"DROP TRIGGER board_revision ON {table}")
    op.execute("DROP FUNCTION bump_board_revision()")
    for statement in disable_tenant_rls_sql("board_revisions"):
        op.execute(statement)
    op.drop_table("directory_revision")
    op.drop_table("board_revisions")
    op.drop_column("tasks", "due_series")
