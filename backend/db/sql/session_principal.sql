-- A session token's session and person, and the person's active memberships in the session's province, one
-- row each (one row with no membership for a person who has none): one round trip per request, outside any
-- transaction. The session store decides in Python whether the session is usable (revoked, expired, idle).
-- Runs with the caller's rights: the memberships (`live_memberships`) are read under `own_memberships` once
-- `app.user_id` is set.
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
