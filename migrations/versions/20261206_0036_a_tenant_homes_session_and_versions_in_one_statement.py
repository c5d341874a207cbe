"""a tenant home's session and versions in one statement: `session_home`

The tenant home is kept rendered per process (`backend.domain.tenants.home_cache`, migration 0034). Serving a kept
page still took four round trips to PostgreSQL: the session's lookup (`session_principal`), the tenant's statement
(a transaction's BEGIN with it), the home's revision, the COMMIT. Now the session's lookup of a tenant home's request
reads what the cache keys on in the same statement, outside any transaction:

- `session_home(session_token => ..., province_code => ..., tenant_code => ...)`: PL/pgSQL, with its caller's
  rights. The active tenant of the codes, whether it is an archive, whether `app_tenant()` lets the session read
  it, `home_config_revision`, and the tenant's `home_revisions` row read under its row-level security (the tenant
  and the session bound for that statement, then unbound), then `session_principal`'s rows, each with those
  columns. Executable by the application's role only (not PUBLIC).

A frozen snapshot: every statement is written here literally. The role name comes from the configuration.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SESSION_HOME = r"""
CREATE OR REPLACE FUNCTION public.session_home(session_token text, province_code text, tenant_code text)
RETURNS TABLE (
  session_id uuid, user_id uuid, province_id uuid, last_seen_at timestamptz, expires_at timestamptz,
  revoked_at timestamptz, full_name varchar, email varchar, is_active boolean, is_platform_admin boolean,
  tenant_id uuid, role varchar, unit_id uuid,
  home_tenant uuid, home_archived boolean, home_readable boolean, home_config bigint, home_revision bigint
)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
  found_tenant uuid;
  archived boolean;
  readable boolean := false;
  config bigint;
  revision bigint;
BEGIN
  SELECT t.id, t.archived_on IS NOT NULL, (SELECT c.revision FROM home_config_revision c)
    INTO found_tenant, archived, config
    FROM tenants t JOIN provinces p ON p.id = t.province_id
   WHERE p.code = province_code AND t.code = tenant_code AND t.is_active;
  IF found_tenant IS NOT NULL THEN
    PERFORM set_config('app.tenant_id', found_tenant::text, true), set_config('app.session', session_token, true),
            set_config('app.province_id', '', true);
    SELECT r.revision INTO revision FROM home_revisions r WHERE r.tenant_id = found_tenant;
    -- a row seen is the policy's yes; none may be a tenant never written, or the policy's no: then asked
    readable := FOUND OR app_tenant() IS NOT NULL;
    PERFORM set_config('app.tenant_id', '', true), set_config('app.session', '', true);
  END IF;
  RETURN QUERY
    SELECT p.session_id, p.user_id, p.province_id, p.last_seen_at, p.expires_at, p.revoked_at, p.full_name, p.email,
           p.is_active, p.is_platform_admin, p.tenant_id, p.role, p.unit_id,
           found_tenant, archived, readable, config, revision
      FROM session_principal(token => encode(sha256(convert_to(session_token, 'UTF8')), 'hex')) p;
END $$;
"""
SIGNATURE = "public.session_home(text, text, text)"


def upgrade() -> None:
    op.execute(SESSION_HOME)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {context.config.attributes['app_role']}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
