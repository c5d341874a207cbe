"""board moves update in place

A move shifts the cards below it in two cells, changing only their positions. With `position` in the board-cell
index every shifted card was a new row version in all seven indexes of `tasks`; without it (a cell has tens of
cards, sorted in memory) and with room left in each page, PostgreSQL updates them in place (HOT), and only the
moved card, whose column or area changes, touches the indexes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 11:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_tasks_board_cell", table_name="tasks")
    op.create_index("ix_tasks_board_cell", "tasks", ["tenant_id", "year", "column_id", "area_code"], unique=False)
    op.execute("ALTER TABLE tasks SET (fillfactor = 85)")  # new and rewritten pages keep 15 % for HOT updates


def downgrade() -> None:
    op.execute("ALTER TABLE tasks RESET (fillfactor)")
    op.drop_index("ix_tasks_board_cell", table_name="tasks")
    op.create_index(
        "ix_tasks_board_cell", "tasks", ["tenant_id", "year", "column_id", "area_code", "position"], unique=False
    )
