"""a self-assessment row carries a version

`assessment_items.version` is bumped by every save of the row; the row's form carries the version it was made
from, and a save from another version is refused with the fresh values (as a card's), so two people saving
the same row at once can no longer have the last one silently undo the first. Existing rows start at 1.

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-06 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("assessment_items", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.alter_column("assessment_items", "version", server_default=None)


def downgrade() -> None:
    op.drop_column("assessment_items", "version")
