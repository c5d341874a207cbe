"""a move's reads in one statement

`board_move_reads_as` binds its statement to a tenant and a person (`app.tenant_id`, `app.user_id`,
transaction-local) and returns, in one row, what a card move is checked against before it is applied: the
reform areas of the province's latest criteria set of the year (the board's lanes, in order), the tenant's
board columns (in order) and the moving card (its version, cell, criterion, lead unit and coordinating units;
NULL when no card of the tenant has that id).

A move read these in a transaction of five round trips (BEGIN, the areas, the columns, the card, COMMIT); it now
reads them in one, outside any transaction, and checks them in the application as before. `board_move` checks
the card's version again under the board's lock.

It runs with the caller's rights (SECURITY INVOKER, the default): row-level security applies to every row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 00:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "board_move_reads_as(uuid, uuid, uuid, integer, uuid)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION board_move_reads_as(
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
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
