-- The person of a live session (not revoked, not expired, the person active), with the session's province and
-- whether the person is a platform admin; no row for any other token. `session_person` and `province_scope` read
-- it as the owner. In SQL with its caller's rights and no settings of its own, so that PostgreSQL inlines it into
-- their statements (under their pinned search_path): a tenant policy asks `session_person` on every statement.
CREATE OR REPLACE FUNCTION public.live_session(session_token text)
RETURNS TABLE (person uuid, home uuid, platform boolean)
LANGUAGE sql STABLE
AS $$
  SELECT s.user_id, s.province_id, u.is_platform_admin
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active
$$;
