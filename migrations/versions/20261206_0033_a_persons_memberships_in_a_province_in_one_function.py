"""a person's memberships in a province in one function: `live_memberships`

A person's active memberships in the active tenants of a province, and which of them give a province-level right
(a province reviewer, or a province admin of the Sở Nội vụ), were read in three places: `session_person` (a
member of the tenant, or a province right over it, or a member of a successor), `province_scope` (a province
right) and `session_principal` (every membership, for the request's principal). Now one function answers them:

- `live_memberships(person => ..., province => ...)`: SQL, STABLE, with its caller's rights and no settings of
  its own, so that PostgreSQL inlines it into its callers' statements, as `live_session` (0032) is: a tenant
  policy asks `session_person` on every statement, and it is not slower. The memberships are read under
  `own_memberships`, as before: the callers set `app.user_id` to the person. Executable by the owner (whom
  `session_person` and `province_scope` run as) and the application's role (`session_principal` runs with its
  caller's rights).
- `session_person`, `province_scope` and `session_principal` read it, otherwise unchanged.

A frozen snapshot: every statement is written here literally. The role name comes from the configuration.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 11:45:00.000000
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_MEMBERSHIPS = r"""
CREATE OR REPLACE FUNCTION public.live_memberships(person uuid, province uuid)
RETURNS TABLE (tenant_id uuid, role character varying, unit_id uuid, province_right boolean)
LANGUAGE sql STABLE
AS $$
  SELECT m.tenant_id, m.role, m.unit_id,
         m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs')
    FROM memberships m JOIN tenants t ON t.id = m.tenant_id
   WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = province
$$;
"""

SESSION_PERSON = r"""
CREATE OR REPLACE FUNCTION public.session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
  token_tenant uuid;
  token_kind text;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT l.person, l.home, l.platform INTO person, home, platform FROM live_session(session_token) l;
  IF NOT FOUND AND left(session_token, 4) = 'pbt_' THEN
    -- an API token (migration 0025): found under `token_lookup`, for the owner while checking
    PERFORM set_config('app.checking_session', 'on', true);
    SELECT k.created_by, k.tenant_id, k.kind, t.province_id INTO person, token_tenant, token_kind, home
      FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
     WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
       AND k.revoked_at IS NULL AND k.expires_at > now() AND t.is_active AND u.is_active;
    allowed := FOUND;
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN CASE
      WHEN tenant = token_tenant THEN person
      WHEN token_kind = 'province' AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)
        THEN person
    END;
  END IF;
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
      FROM live_memberships(person => person, province => home) m
     WHERE m.tenant_id = tenant
        OR (m.province_right AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home))
        -- a member of a tenant that succeeded `tenant` (tenants/lineage.yaml, however many steps later) reads its
        -- archive, as the successor's history does
        OR m.tenant_id IN (
          WITH RECURSIVE later(id) AS (
            SELECT l.successor_id FROM tenant_lineage l WHERE l.predecessor_id = tenant
            UNION
            SELECT l.successor_id FROM tenant_lineage l JOIN later ON l.predecessor_id = later.id
          )
          SELECT id FROM later)
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
  RETURN CASE WHEN allowed THEN person END;
END $$;
"""

PROVINCE_SCOPE = r"""
CREATE OR REPLACE FUNCTION public.province_scope(session_token text, province uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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
  SELECT l.person, l.home, l.platform INTO person, home, platform FROM live_session(session_token) l;
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
    allowed := EXISTS (SELECT 1 FROM live_memberships(person => person, province => home) m WHERE m.province_right);
    PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
END $$;
"""

SESSION_PRINCIPAL = r"""
CREATE OR REPLACE FUNCTION public.session_principal(token text)
RETURNS TABLE (
  session_id uuid, user_id uuid, province_id uuid, last_seen_at timestamptz, expires_at timestamptz,
  revoked_at timestamptz, full_name varchar, email varchar, is_active boolean, is_platform_admin boolean,
  tenant_id uuid, role varchar, unit_id uuid
)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
  signed_in record;
BEGIN
  SELECT s.id, s.user_id, s.province_id, s.last_seen_at, s.expires_at, s.revoked_at,
         u.full_name, u.email, u.is_active, u.is_platform_admin
    INTO signed_in
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = token;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM set_config('app.user_id', signed_in.user_id::text, true);
  RETURN QUERY
    SELECT signed_in.id::uuid, signed_in.user_id::uuid, signed_in.province_id::uuid,
           signed_in.last_seen_at::timestamptz, signed_in.expires_at::timestamptz,
           signed_in.revoked_at::timestamptz, signed_in.full_name::varchar, signed_in.email::varchar,
           signed_in.is_active::boolean, signed_in.is_platform_admin::boolean,
           m.tenant_id::uuid, m.role::varchar, m.unit_id::uuid
      FROM (SELECT 1) AS one
      LEFT JOIN live_memberships(person => signed_in.user_id, province => signed_in.province_id) AS m ON true;
END $$;
"""

# the bodies before, which read the memberships themselves (session_person and province_scope: 0032;
# session_principal: 0013)
SESSION_PERSON_0032 = r"""
CREATE OR REPLACE FUNCTION public.session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
  token_tenant uuid;
  token_kind text;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT l.person, l.home, l.platform INTO person, home, platform FROM live_session(session_token) l;
  IF NOT FOUND AND left(session_token, 4) = 'pbt_' THEN
    -- an API token (migration 0025): found under `token_lookup`, for the owner while checking
    PERFORM set_config('app.checking_session', 'on', true);
    SELECT k.created_by, k.tenant_id, k.kind, t.province_id INTO person, token_tenant, token_kind, home
      FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
     WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
       AND k.revoked_at IS NULL AND k.expires_at > now() AND t.is_active AND u.is_active;
    allowed := FOUND;
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN CASE
      WHEN tenant = token_tenant THEN person
      WHEN token_kind = 'province' AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)
        THEN person
    END;
  END IF;
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
                AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home))
            -- a member of a tenant that succeeded `tenant` (tenants/lineage.yaml, however many steps later)
            -- reads its archive, as the successor's history does
            OR m.tenant_id IN (
              WITH RECURSIVE later(id) AS (
                SELECT l.successor_id FROM tenant_lineage l WHERE l.predecessor_id = tenant
                UNION
                SELECT l.successor_id FROM tenant_lineage l JOIN later ON l.predecessor_id = later.id
              )
              SELECT id FROM later))
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
  RETURN CASE WHEN allowed THEN person END;
END $$;
"""

PROVINCE_SCOPE_0032 = r"""
CREATE OR REPLACE FUNCTION public.province_scope(session_token text, province uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
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
  SELECT l.person, l.home, l.platform INTO person, home, platform FROM live_session(session_token) l;
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
END $$;
"""

SESSION_PRINCIPAL_0013 = r"""
CREATE OR REPLACE FUNCTION public.session_principal(token text)
RETURNS TABLE (
  session_id uuid, user_id uuid, province_id uuid, last_seen_at timestamptz, expires_at timestamptz,
  revoked_at timestamptz, full_name varchar, email varchar, is_active boolean, is_platform_admin boolean,
  tenant_id uuid, role varchar, unit_id uuid
)
LANGUAGE plpgsql VOLATILE
AS $$
#variable_conflict use_column
DECLARE
  signed_in record;
BEGIN
  SELECT s.id, s.user_id, s.province_id, s.last_seen_at, s.expires_at, s.revoked_at,
         u.full_name, u.email, u.is_active, u.is_platform_admin
    INTO signed_in
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = token;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  PERFORM set_config('app.user_id', signed_in.user_id::text, true);
  RETURN QUERY
    SELECT signed_in.id::uuid, signed_in.user_id::uuid, signed_in.province_id::uuid,
           signed_in.last_seen_at::timestamptz, signed_in.expires_at::timestamptz,
           signed_in.revoked_at::timestamptz, signed_in.full_name::varchar, signed_in.email::varchar,
           signed_in.is_active::boolean, signed_in.is_platform_admin::boolean,
           m.tenant_id::uuid, m.role::varchar, m.unit_id::uuid
      FROM (SELECT 1) AS one
      LEFT JOIN (
        SELECT m.tenant_id, m.role, m.unit_id
          FROM memberships m JOIN tenants t ON t.id = m.tenant_id
         WHERE m.user_id = signed_in.user_id AND m.is_active AND t.is_active
           AND t.province_id = signed_in.province_id
      ) AS m ON true;
END $$;
"""


def upgrade() -> None:
    op.execute(LIVE_MEMBERSHIPS)
    op.execute("REVOKE ALL ON FUNCTION live_memberships(uuid, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION live_memberships(uuid, uuid) TO {context.config.attributes['app_role']}")
    op.execute(SESSION_PERSON)
    op.execute(PROVINCE_SCOPE)
    op.execute(SESSION_PRINCIPAL)


def downgrade() -> None:
    op.execute(SESSION_PRINCIPAL_0013)
    op.execute(PROVINCE_SCOPE_0032)
    op.execute(SESSION_PERSON_0032)
    op.execute("DROP FUNCTION live_memberships(uuid, uuid)")
