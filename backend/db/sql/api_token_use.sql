-- An API token of a request (`Authorization: Bearer pbt_…`): the live token's tenant, province, kind, name,
-- scopes and creator; stamps its use, counts it in the token's current minute (the rate limit, one count for every
-- process and server: migration 0030) and audits it (every write, the first read of a day) in the same statement.
-- A request beyond `per_minute` (NULL: no limit) is counted but not audited: the application refuses it (429).
CREATE OR REPLACE FUNCTION public.api_token_use(token text, method text, path text, per_minute integer)
RETURNS TABLE (
  id uuid, tenant_id uuid, province_id uuid, kind varchar, name varchar, scopes varchar[], created_by uuid,
  full_name varchar, email varchar, minute_count integer, minute_ends timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
#variable_conflict use_column
DECLARE
  found_token record;
  previous text := current_setting('app.tenant_id', true);
  writes boolean := upper(method) NOT IN ('GET', 'HEAD', 'OPTIONS');
  this_minute timestamptz := date_trunc('minute', now());
  counted integer;
BEGIN
  IF token IS NULL OR left(token, 4) <> 'pbt_' OR length(token) > 128 THEN
    RETURN;
  END IF;
  PERFORM set_config('app.checking_session', 'on', true);
  SELECT k.id, k.tenant_id, t.province_id, k.kind, k.name, k.scopes, k.created_by, k.last_used_at,
         u.full_name, u.email
    INTO found_token
    FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
   WHERE k.token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex')
     AND k.revoked_at IS NULL AND k.expires_at > now() AND t.is_active AND u.is_active;
  IF NOT FOUND THEN
    PERFORM set_config('app.checking_session', '', true);
    RETURN;
  END IF;
  -- the row lock orders concurrent requests of one token: each counts on the count the one before left
  UPDATE api_tokens k
     SET last_used_at = now(),
         rate_minute = this_minute,
         rate_count = CASE WHEN k.rate_minute = this_minute THEN k.rate_count + 1 ELSE 1 END
   WHERE k.id = found_token.id
  RETURNING k.rate_count INTO counted;
  PERFORM set_config('app.checking_session', '', true);
  IF (per_minute IS NULL OR counted <= per_minute)
     AND (writes OR found_token.last_used_at IS NULL
          OR (found_token.last_used_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
             < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) THEN
    -- the owner is trusted with the tenant setting alone (`app_tenant()`): the row lands in the token's tenant
    PERFORM set_config('app.tenant_id', found_token.tenant_id::text, true);
    INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, after)
    VALUES (found_token.tenant_id, 'token:' || found_token.name, CASE WHEN writes THEN 'api.write' ELSE 'api.read' END,
            'api-token', found_token.id::text,
            jsonb_build_object('token', found_token.name, 'method', upper(method), 'path', left(path, 512),
                               'summary', CASE WHEN writes THEN 'request' ELSE 'first read of the day' END));
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
  END IF;
  RETURN QUERY SELECT found_token.id::uuid, found_token.tenant_id::uuid, found_token.province_id::uuid,
                      found_token.kind::varchar, found_token.name::varchar, found_token.scopes::varchar[],
                      found_token.created_by::uuid, found_token.full_name::varchar, found_token.email::varchar,
                      counted, this_minute + interval '1 minute';
END $$
