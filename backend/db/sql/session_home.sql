-- `session_principal` for a request of a tenant home (`/t/<province>/<tenant>/`), with what the home's cache keys on
-- (backend/domain/tenants/home_cache.py), in the same round trip outside any transaction: the active tenant of these
-- codes, whether it is an archive, whether the database lets this session read it (`app_tenant()`, as every tenant
-- policy asks), `home_config_revision`, and the tenant's `home_revisions` row, read under its row-level security with
-- the tenant and the session bound as a tenant page binds them (not found, or not readable: NULL). The home's columns
-- are NULL when no active tenant has these codes. The tenant is read before the session, so a session or membership
-- ended meanwhile is seen by the principal. Runs with its caller's rights.
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
