"""scores as provinces publish them: a criteria set per ranking group, its parts, caps and "không áp dụng"
rules, tenants' attributes, result classes per province and year, and the Sở Nội vụ's N/A decisions

`not_applicable_decisions` is tenant-owned (row-level security, ENABLE + FORCE); `result_classes` is province
configuration written by `tenants sync` as the owner, read-only to the app.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 23:59:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the tenant policy, as backend.db.rls writes it today (a migration is a frozen snapshot)
TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"


# A card move's lanes (board_move_reads_as, migration 0016) are the areas of the tenant's ranking group's set of
# the year, else of the set for every group: the same set the board page and the self-assessment read.
BOARD_MOVE_READS_GROUPED = """
        CREATE OR REPLACE FUNCTION board_move_reads_as(
          tenant uuid, person uuid, province uuid, board_year integer, moving uuid
        ) RETURNS TABLE (
          lane_codes text[], lane_titles text[],
          column_ids uuid[], column_codes text[], column_names text[], column_positions integer[],
          column_wip_limits integer[], column_done boolean[], column_confirmation boolean[],
          id uuid, number integer, version integer, year integer, column_id uuid, area_code text,
          "position" integer, criterion_code text, lead_unit_id uuid, coordinating uuid[]
        )
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          PERFORM set_config('app.tenant_id', tenant::text, true), set_config('app.user_id', person::text, true);
          RETURN QUERY
            WITH lanes AS (
              SELECT array_agg(c.code::text ORDER BY c.position) AS codes,
                     array_agg(c.title ORDER BY c.position) AS titles
                FROM criteria c
               WHERE c.criteria_set_id = (
                       SELECT s.id FROM criteria_sets s
                        WHERE s.province_id = province AND s.year = board_year
                          AND (s.ranking_group_id IS NULL
                               OR s.ranking_group_id = (SELECT g.ranking_group_id FROM tenants g WHERE g.id = tenant))
                        ORDER BY s.ranking_group_id IS NULL, s.version DESC LIMIT 1)
                 AND c.depth = 0
                 AND c.kind NOT IN ('bonus', 'penalty')
            ), board AS (
              SELECT array_agg(b.id ORDER BY b.position) AS ids,
                     array_agg(b.code::text ORDER BY b.position) AS codes,
                     array_agg(b.name::text ORDER BY b.position) AS names,
                     array_agg(b.position ORDER BY b.position) AS positions,
                     array_agg(b.wip_limit ORDER BY b.position) AS wip_limits,
                     array_agg(b.is_done ORDER BY b.position) AS done,
                     array_agg(b.needs_confirmation ORDER BY b.position) AS confirmation
                FROM board_columns b
            )
            SELECT lanes.codes, lanes.titles, board.ids, board.codes, board.names, board.positions,
                   board.wip_limits, board.done, board.confirmation,
                   t.id, t.number, t.version, t.year, t.column_id, t.area_code::text, t.position,
                   t.criterion_code::text, t.lead_unit_id,
                   ARRAY(SELECT u.unit_id FROM task_units u WHERE u.task_id = t.id)
              FROM lanes CROSS JOIN board
              LEFT JOIN tasks t ON t.id = moving;
        END $$
"""
BOARD_MOVE_READS_0016 = """
        CREATE OR REPLACE FUNCTION board_move_reads_as(
          tenant uuid, person uuid, province uuid, board_year integer, moving uuid
        ) RETURNS TABLE (
          lane_codes text[], lane_titles text[],
          column_ids uuid[], column_codes text[], column_names text[], column_positions integer[],
          column_wip_limits integer[], column_done boolean[], column_confirmation boolean[],
          id uuid, number integer, version integer, year integer, column_id uuid, area_code text,
          "position" integer, criterion_code text, lead_unit_id uuid, coordinating uuid[]
        )
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          PERFORM set_config('app.tenant_id', tenant::text, true), set_config('app.user_id', person::text, true);
          RETURN QUERY
            WITH lanes AS (
              SELECT array_agg(c.code::text ORDER BY c.position) AS codes,
                     array_agg(c.title ORDER BY c.position) AS titles
                FROM criteria c
               WHERE c.criteria_set_id = (
                       SELECT s.id FROM criteria_sets s
                        WHERE s.province_id = province AND s.year = board_year
                        ORDER BY s.version DESC LIMIT 1)
                 AND c.depth = 0
                 AND c.kind NOT IN ('bonus', 'penalty')
            ), board AS (
              SELECT array_agg(b.id ORDER BY b.position) AS ids,
                     array_agg(b.code::text ORDER BY b.position) AS codes,
                     array_agg(b.name::text ORDER BY b.position) AS names,
                     array_agg(b.position ORDER BY b.position) AS positions,
                     array_agg(b.wip_limit ORDER BY b.position) AS wip_limits,
                     array_agg(b.is_done ORDER BY b.position) AS done,
                     array_agg(b.needs_confirmation ORDER BY b.position) AS confirmation
                FROM board_columns b
            )
            SELECT lanes.codes, lanes.titles, board.ids, board.codes, board.names, board.positions,
                   board.wip_limits, board.done, board.confirmation,
                   t.id, t.number, t.version, t.year, t.column_id, t.area_code::text, t.position,
                   t.criterion_code::text, t.lead_unit_id,
                   ARRAY(SELECT u.unit_id FROM task_units u WHERE u.task_id = t.id)
              FROM lanes CROSS JOIN board
              LEFT JOIN tasks t ON t.id = moving;
        END $$
"""


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    op.add_column("tenants", sa.Column("attributes", postgresql.JSONB(), server_default="[]", nullable=False))

    op.add_column("criteria_sets", sa.Column("ranking_group_id", sa.Uuid(), nullable=True))
    op.add_column("criteria_sets", sa.Column("parts", postgresql.JSONB(), server_default="{}", nullable=False))
    op.add_column("criteria_sets", sa.Column("bonus_cap", sa.Numeric(precision=8, scale=3), nullable=True))
    op.add_column("criteria_sets", sa.Column("penalty_cap", sa.Numeric(precision=8, scale=3), nullable=True))
    op.add_column("criteria_sets", sa.Column("not_applicable", postgresql.JSONB(), server_default="[]", nullable=False))
    op.create_foreign_key(
        op.f("fk_criteria_sets_ranking_group_id_ranking_groups"),
        "criteria_sets",
        "ranking_groups",
        ["ranking_group_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.drop_constraint("uq_criteria_sets_province_id_year_version", "criteria_sets", type_="unique")
    op.create_unique_constraint(
        op.f("uq_criteria_sets_province_id_year_ranking_group_id_version"),
        "criteria_sets",
        ["province_id", "year", "ranking_group_id", "version"],
        postgresql_nulls_not_distinct=True,
    )

    op.create_table(
        "result_classes",
        sa.Column("province_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=63), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("min_index", sa.Numeric(precision=6, scale=3), nullable=False),
        sa.Column("area_floor", sa.Numeric(precision=6, scale=3), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["provinces.id"], name=op.f("fk_result_classes_province_id_provinces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_classes")),
        sa.UniqueConstraint("province_id", "year", "code", name=op.f("uq_result_classes_province_id_year_code")),
    )
    op.execute(f"GRANT SELECT ON result_classes TO {_app_role()}")

    op.create_table(
        "not_applicable_decisions",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("criterion_code", sa.String(length=31), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=15), server_default="decided", nullable=False),
        sa.Column("claimed_by", sa.Uuid(), nullable=True),
        sa.Column("answer", sa.Text(), server_default="", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('claimed', 'decided', 'refused')", name=op.f("ck_not_applicable_decisions_status")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_not_applicable_decisions_claimed_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_not_applicable_decisions_decided_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_not_applicable_decisions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_not_applicable_decisions")),
        sa.UniqueConstraint(
            "tenant_id",
            "year",
            "criterion_code",
            name=op.f("uq_not_applicable_decisions_tenant_id_year_criterion_code"),
        ),
    )
    op.create_index(
        op.f("ix_not_applicable_decisions_tenant_id"), "not_applicable_decisions", ["tenant_id"], unique=False
    )
    op.execute("ALTER TABLE not_applicable_decisions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE not_applicable_decisions FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON not_applicable_decisions USING (tenant_id = {TENANT}) "
        f"WITH CHECK (tenant_id = {TENANT})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON not_applicable_decisions TO {_app_role()}")
    op.execute(BOARD_MOVE_READS_GROUPED)


def downgrade() -> None:
    op.execute(BOARD_MOVE_READS_0016)
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON not_applicable_decisions")
    op.drop_index(op.f("ix_not_applicable_decisions_tenant_id"), table_name="not_applicable_decisions")
    op.drop_table("not_applicable_decisions")
    op.drop_table("result_classes")
    op.drop_constraint(
        op.f("uq_criteria_sets_province_id_year_ranking_group_id_version"), "criteria_sets", type_="unique"
    )
    op.create_unique_constraint(
        "uq_criteria_sets_province_id_year_version", "criteria_sets", ["province_id", "year", "version"]
    )
    op.drop_constraint(op.f("fk_criteria_sets_ranking_group_id_ranking_groups"), "criteria_sets", type_="foreignkey")
    for column in ("not_applicable", "penalty_cap", "bonus_cap", "parts", "ranking_group_id"):
        op.drop_column("criteria_sets", column)
    op.drop_column("tenants", "attributes")
