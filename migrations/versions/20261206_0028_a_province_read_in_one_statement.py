"""a province read in one statement: the Sở Nội vụ reads its province's tenants without binding each in turn

The province's views (results, the tenant list, the external scores' grid) read every tenant of the province. They
bound each tenant in turn, one statement or more per tenant, each asking `session_person` again: ~130 tenants made
~900 statements for one results page. Now a session may ask, once per statement, to read the whole province:

- `province_scope(session_token, province)`: SECURITY DEFINER, owned by the owner, `search_path` pinned. The ids of
  the province's tenants when the session is live and its person holds the province-level right `session_person`
  already grants tenant by tenant (a province reviewer of one of the province's tenants, a province admin of its
  Sở Nội vụ, in the session's own province; or a platform admin), or for a live province API token of that
  province (migration 0025: its scopes are the application's to check); else NULL. Nobody gains access they lacked.
- `app_province_tenants()`: with the caller's rights; NULL unless `app.province_id` is set (only
  `backend.db.rls.reading_province` sets it), else `province_scope(app.session, app.province_id)`.
- `province_reading`, a permissive policy FOR SELECT on every table that has `tenant_isolation`:
  `tenant_id = ANY ((SELECT app_province_tenants())::uuid[])`, once per statement (the cast keeps PostgreSQL from
  reading `ANY (subquery)`). Reading only: inserts, updates and deletes still need `tenant_isolation`, one tenant
  at a time.

A frozen snapshot: every statement is written here literally. The role names come from the configuration.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = "SET search_path = pg_catalog, public"

PROVINCE_SCOPE = f"""
CREATE FUNCTION province_scope(session_token text, province uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER {PINNED} AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
BEGIN
  IF session_token IS NULL OR session_token = '' OR province IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id, u.is_platform_admin INTO person, home, platform
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
  IF NOT FOUND THEN
    IF left(session_token, 4) <> 'pbt_' THEN
      RETURN NULL;
    END IF;
    -- a province's API token (migration 0025), live, made in this province: found under `token_lookup`
    PERFORM set_config('app.checking_session', 'on', true);
    allowed := EXISTS (
      SELECT 1
        FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
       WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
         AND k.kind = 'province' AND k.revoked_at IS NULL AND k.expires_at > now()
         AND t.is_active AND u.is_active AND t.province_id = province
    );
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
  END IF;
  IF NOT platform THEN
    IF home IS DISTINCT FROM province THEN
      RETURN NULL;
    END IF;
    -- the person's own memberships, under `own_memberships`, as `session_person` reads them
    PERFORM set_config('app.user_id', person::text, true), set_config('app.checking_session', 'on', true);
    allowed := EXISTS (
      SELECT 1
        FROM memberships m JOIN tenants t ON t.id = m.tenant_id
       WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
         AND (m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs'))
    );
    PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
END $$
"""

APP_PROVINCE_TENANTS = f"""
CREATE FUNCTION app_province_tenants() RETURNS uuid[]
LANGUAGE plpgsql STABLE {PINNED} AS $$
DECLARE
  requested uuid := NULLIF(current_setting('app.province_id', true), '')::uuid;
BEGIN
  IF requested IS NULL OR current_setting('app.checking_session', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RETURN province_scope(current_setting('app.session', true), requested);
END $$
"""


def _roles() -> list[str]:
    """The application's role, and the jobs' role when it is one of its own: every role the policies run for."""
    roles = [str(context.config.attributes["app_role"])]
    jobs = context.config.attributes.get("jobs_role")
    if jobs and jobs != op.get_bind().execute(sa.text("SELECT current_user")).scalar_one():
        roles.append(str(jobs))
    return roles


def _tenant_tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation' ORDER BY tablename")
    )
    return [row[0] for row in rows]


def upgrade() -> None:
    op.execute(PROVINCE_SCOPE)
    op.execute(APP_PROVINCE_TENANTS)
    for function in ("province_scope(text, uuid)", "app_province_tenants()"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        for role in _roles():
            op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")
    for table in _tenant_tables():
        op.execute(
            f"CREATE POLICY province_reading ON {table} FOR SELECT "
            "USING (tenant_id = ANY ((SELECT app_province_tenants())::uuid[]))"
        )


def downgrade() -> None:
    for table in _tenant_tables():
        op.execute(f"DROP POLICY IF EXISTS province_reading ON {table}")
    op.execute("DROP FUNCTION app_province_tenants()")
    op.execute("DROP FUNCTION province_scope(text, uuid)")
