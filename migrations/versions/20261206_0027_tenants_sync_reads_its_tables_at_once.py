"""`tenants sync` reads the configuration's tables of every tenant at once

`tenants sync` runs as the owner, which the tenant policies already trust with `app.tenant_id` alone: it could
read every tenant's units one tenant at a time, and did, so a re-sync of the national configuration (≈ 4 000
tenants) spent its time on ≈ 20 000 small reads. A second policy on the four tables the sync compares with its
files (units, unit groups and their members, board columns) lets the owner, and no other role, read them across
tenants within a transaction that sets `app.sync_reads` to 'on': the sync reads a province's state in four
statements and binds a tenant only to write what changed. Reads only (FOR SELECT); writes still go through the
tenant's own context. The app's and the jobs' roles are not named, so nothing changes for them.

A frozen snapshot: statements written literally.

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-06 06:05:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("units", "unit_groups", "unit_group_members", "board_columns")


def upgrade() -> None:
    for table in TABLES:
        op.execute(
            f"CREATE POLICY sync_reads ON {table} AS PERMISSIVE FOR SELECT TO CURRENT_USER "
            "USING (current_setting('app.sync_reads', true) = 'on')"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP POLICY sync_reads ON {table}")
