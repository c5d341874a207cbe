"""an evidence file names the section or page of its document

`evidence_files.document_section` ("Điều 3, trang 5"): where in the document the evidence for its criterion is,
as some provinces ask (Nam Định). Empty for every existing file.

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-06 03:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "evidence_files", sa.Column("document_section", sa.String(200), server_default=sa.text("''"), nullable=False)
    )
    op.alter_column("evidence_files", "document_section", server_default=None)


def downgrade() -> None:
    op.drop_column("evidence_files", "document_section")
