"""a card move commits by itself

`board_move_as` binds its statement to a tenant and a person (`app.tenant_id`, `app.user_id`, transaction-local)
and applies `board_move`. The application calls it outside any transaction, so the statement is its own
transaction: the board's lock is taken and released inside one round trip. Before, the lock was held until
the application sent COMMIT, and under load that waited for the event loop to come back to the request
(every other move of the board waited behind it).

It runs with the caller's rights (SECURITY INVOKER, the default): row-level security applies to every row
`board_move` reads and writes, for the tenant bound here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 21:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "board_move_as(uuid, uuid, text, uuid, integer, uuid, varchar, text, uuid, integer, varchar)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION board_move_as(
          tenant uuid, person uuid, lock_key text, moving uuid, expected integer, to_column uuid, to_area varchar,
          place text, anchor uuid, wip_limit integer, actor varchar
        ) RETURNS TABLE (outcome text, placed integer)
        LANGUAGE plpgsql VOLATILE AS $$
        BEGIN
          PERFORM set_config('app.tenant_id', tenant::text, true);
          PERFORM set_config('app.user_id', person::text, true);
          RETURN QUERY
            SELECT m.outcome, m.placed
              FROM board_move(lock_key, moving, expected, to_column, to_area, place, anchor, wip_limit, actor) AS m;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
