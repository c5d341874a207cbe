"""the tenant home's cache keys on counters the database bumps: `home_revisions` and `home_config_revision`

The tenant home is kept rendered per process (`backend.domain.tenants.home_cache`) under versions PostgreSQL bumps on
every write the page shows, so a change committed by anyone, in any process, shows on the next home:

- `home_revisions` (tenant_id, revision): a tenant-owned counter, row-level security enabled and forced with the
  tenant's policy and the province's reading, as every tenant table. `bump_home_revision()`, a statement trigger
  `a_home_revision` on every tenant-owned table but the API tokens and the counters, bumps the tenant
  the statement ran as (the policies make every row a statement writes that tenant's), and `home_config_revision`
  too when that tenant is an archive (its successors' homes show it). Named to fire before `board_revision`, so a
  transaction takes the home counter's lock before the board's.
- `home_config_revision`: one row, bumped by `bump_home_config_revision()`, a statement trigger
  `home_config_revision` on provinces, tenants, tenant_lineage, ranking_groups, result_classes, criteria_sets and
  criteria.

Each revision is the id of the last transaction that wrote (`pg_current_xact_id()`): never the same for two states,
even when rows are put back from a snapshot. Both tables are granted SELECT, INSERT, UPDATE to the application's and
the jobs' roles.

A frozen snapshot: every statement is written here literally. The role names come from the configuration.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 11:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP_HOME_REVISION = r"""
CREATE OR REPLACE FUNCTION public.bump_home_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  current_tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS NOT NULL THEN
    INSERT INTO home_revisions AS r (tenant_id, revision) VALUES (current_tenant, pg_current_xact_id()::text::bigint)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision;
    IF EXISTS (SELECT 1 FROM tenants t WHERE t.id = current_tenant AND t.archived_on IS NOT NULL) THEN
      INSERT INTO home_config_revision AS r (id, revision) VALUES (1, pg_current_xact_id()::text::bigint)
      ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
    END IF;
  END IF;
  RETURN NULL;
END $$;
"""

BUMP_HOME_CONFIG_REVISION = r"""
CREATE OR REPLACE FUNCTION public.bump_home_config_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO home_config_revision AS r (id, revision) VALUES (1, pg_current_xact_id()::text::bigint)
  ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
  RETURN NULL;
END $$;
"""

HOME_TABLES = (
    "appraisal_items",
    "appraisals",
    "appraised_results",
    "assessment_items",
    "assessments",
    "audit_log",
    "board_columns",
    "evidence_files",
    "evidence_requests",
    "external_scores",
    "invitations",
    "memberships",
    "not_applicable_decisions",
    "progress_reports",
    "remedy_plans",
    "submissions",
    "task_assignees",
    "task_checklist_items",
    "task_comments",
    "task_units",
    "tasks",
    "unit_group_members",
    "unit_groups",
    "units",
)
CONFIG_TABLES = (
    "criteria",
    "criteria_sets",
    "provinces",
    "ranking_groups",
    "result_classes",
    "tenant_lineage",
    "tenants",
)


def _roles() -> list[str]:
    """The application's role, and the jobs' role when it is one of its own."""
    roles = [str(context.config.attributes["app_role"])]
    jobs = context.config.attributes.get("jobs_role")
    if jobs and jobs != op.get_bind().execute(sa.text("SELECT current_user")).scalar_one():
        roles.append(str(jobs))
    return roles


def upgrade() -> None:
    op.create_table(
        "home_revisions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_home_revisions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_home_revisions")),
    )
    op.create_table(
        "home_config_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_home_config_revision_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_config_revision")),
    )
    op.execute("INSERT INTO home_config_revision (id, revision) VALUES (1, 0)")
    op.execute("ALTER TABLE home_revisions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE home_revisions FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON home_revisions USING (tenant_id = (SELECT app_tenant())) "
        "WITH CHECK (tenant_id = (SELECT app_tenant()))"
    )
    op.execute(
        "CREATE POLICY province_reading ON home_revisions FOR SELECT "
        "USING (tenant_id = ANY ((SELECT app_province_tenants())::uuid[]))"
    )
    for role in _roles():
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON home_revisions TO {role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON home_config_revision TO {role}")
    op.execute(BUMP_HOME_REVISION)
    op.execute(BUMP_HOME_CONFIG_REVISION)
    for table in HOME_TABLES:
        op.execute(
            f"CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.{table} FOR EACH STATEMENT "
            "EXECUTE FUNCTION bump_home_revision()"
        )
    for table in CONFIG_TABLES:
        op.execute(
            f"CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.{table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_home_config_revision()"
        )


def downgrade() -> None:
    for table in CONFIG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS home_config_revision ON public.{table}")
    for table in HOME_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS a_home_revision ON public.{table}")
    op.execute("DROP FUNCTION bump_home_config_revision()")
    op.execute("DROP FUNCTION bump_home_revision()")
    op.drop_table("home_config_revision")
    op.drop_table("home_revisions")
