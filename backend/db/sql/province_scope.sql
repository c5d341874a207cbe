-- The province's tenant ids for a session whose person holds a province-level right there (as `session_person`
-- grants it tenant by tenant), or for a live province API token of the province; else NULL.
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
END $$
