"""a successor's people read its predecessors' archives in the database too

Migration 0020 made every tenant policy ask `session_person(app.session, tenant)` whether the session's person may
see the tenant: a member, the province's reviewers and Sở Nội vụ administrators, a platform administrator. The
lineage of 0021 lets the people of a successor read its predecessors' archives (their history, the tasks they carry
over); the application allowed it, the database answered no rows. `session_person` now also names the person when
they are a member of a tenant that succeeded the requested one, however many steps later. Nobody else gains access.

A frozen snapshot: both bodies are written here literally.

Revision ID: 0024
Revises: 0020
Create Date: 2026-12-06 04:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = "SET search_path = pg_catalog, public"

# what 0024 adds to the body of 0020 (the rest is written out once, below)
LINEAGE = """
            -- a member of a tenant that succeeded `tenant` (tenants/lineage.yaml, however many steps later)
            -- reads its archive, as the successor's history does
            OR m.tenant_id IN (
              WITH RECURSIVE later(id) AS (
                SELECT l.successor_id FROM tenant_lineage l WHERE l.predecessor_id = tenant
                UNION
                SELECT l.successor_id FROM tenant_lineage l JOIN later ON l.predecessor_id = later.id
              )
              SELECT id FROM later)"""

WITH_LINEAGE = f"""
CREATE OR REPLACE FUNCTION session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER {PINNED} AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id, u.is_platform_admin INTO person, home, platform
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF platform THEN  -- granted by the owner only (the trigger below): every tenant, as the application allows
    RETURN CASE WHEN EXISTS (SELECT 1 FROM tenants t WHERE t.id = tenant) THEN person END;
  END IF;
  -- the person's own memberships, under `own_memberships` (`app_tenant()` answers NULL meanwhile, so that the
  -- memberships' tenant policy does not ask again); the caller's settings are given back below
  PERFORM set_config('app.user_id', person::text, true), set_config('app.checking_session', 'on', true);
  allowed := EXISTS (
    SELECT 1
      FROM memberships m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
       AND (m.tenant_id = tenant
            OR ((m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs'))
                AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)){LINEAGE})
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
  RETURN CASE WHEN allowed THEN person END;
END $$
"""

WITHOUT_LINEAGE = WITH_LINEAGE.replace(LINEAGE, "")


def upgrade() -> None:
    op.execute(WITH_LINEAGE)


def downgrade() -> None:
    op.execute(WITHOUT_LINEAGE)
