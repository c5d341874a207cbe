"""a move's cells read in one statement

`board_cells_as` binds its statement to a tenant and a person (`app.tenant_id`, `app.user_id`, transaction-local)
and returns the cards of one or two cells of a year's board, ordered as the board shows them, each with its lead
unit's name, its assignees' names and its live evidence files, and, on every row, the year's card count per
column. A cell with no card still gives one row (its card columns NULL), so the counts always come back.

A card move's answer (the two cells it changed and the column counts) is read with it in one round trip outside
any transaction, where it took five (BEGIN, the binding, the cards, the counts, COMMIT). It serves people who
see the whole board with no filter; for anyone else the application reads the cells as before, through the same
visibility rules as the board page.

It runs with the caller's rights (SECURITY INVOKER, the default): row-level security applies to every row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 21:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "board_cells_as(uuid, uuid, integer, uuid, varchar, uuid, varchar)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION board_cells_as(
          tenant uuid, person uuid, board_year integer, c0 uuid, a0 varchar, c1 uuid, a1 varchar
        ) RETURNS TABLE (
          id uuid, number integer, version integer, "position" integer, column_id uuid, area_code text,
          criterion_code text, kind text, title text, due_date date, deadline_text text, points_lost numeric,
          lead_unit_id uuid, lead_unit text, assignees text[], evidence bigint,
          counted_columns uuid[], counts bigint[]
        )
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          PERFORM set_config('app.tenant_id', tenant::text, true);
          PERFORM set_config('app.user_id', person::text, true);
          RETURN QUERY
            WITH counted AS (
              SELECT array_agg(g.column_id) AS columns, array_agg(g.n) AS counts
                FROM (SELECT t.column_id, count(*) AS n FROM tasks t WHERE t.year = board_year GROUP BY t.column_id) g
            )
            SELECT t.id, t.number, t.version, t.position, t.column_id, t.area_code::text, t.criterion_code::text,
                   t.kind::text, t.title, t.due_date, t.deadline_text::text, t.points_lost, t.lead_unit_id,
                   (SELECT u.name::text FROM units u WHERE u.id = t.lead_unit_id),
                   (SELECT array_agg(coalesce(nullif(p.full_name, ''), p.email)::text)
                      FROM task_assignees a JOIN users p ON p.id = a.user_id WHERE a.task_id = t.id),
                   (SELECT count(*) FROM evidence_files e WHERE e.task_id = t.id AND e.deleted_at IS NULL),
                   counted.columns, counted.counts
              FROM counted
              LEFT JOIN tasks t
                ON t.year = board_year
               AND ((t.column_id = c0 AND t.area_code = a0) OR (t.column_id = c1 AND t.area_code = a1))
             ORDER BY t.area_code, t.column_id, t.position;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
