"""tenant policies read the tenant once per statement

Every `tenant_isolation` policy compared `tenant_id` with `NULLIF(current_setting('app.tenant_id', true), '')::uuid`,
which PostgreSQL evaluates for every row it filters. As a scalar subquery the setting is read once per statement
(an InitPlan); the rows kept are the same. New tables get this form from `enable_tenant_rls_sql`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from backend.db.rls import CURRENT_TENANT, TENANT_OF_STATEMENT

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation' ORDER BY tablename")
    )
    return [row[0] for row in rows]


def _set(expression: str) -> None:
    for table in _tables():
        op.execute(
            f"ALTER POLICY tenant_isolation ON {table} USING (tenant_id = {expression}) "
            f"WITH CHECK (tenant_id = {expression})"
        )


def upgrade() -> None:
    _set(TENANT_OF_STATEMENT)


def downgrade() -> None:
    _set(CURRENT_TENANT)
