-- Who a session token or an API token acts for in a tenant: a session's person when the session is live (not
-- revoked, not expired, the person active) and the person is a member of the tenant, has a province-level right
-- over it (a province reviewer, or a province admin of the Sở Nội vụ), is a member of a tenant that succeeded it,
-- or is a platform admin; a live API token's creator in the token's tenant (a province token: any tenant of its
-- province); else NULL. Every tenant policy asks it through `app_tenant()`.
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
END $$
