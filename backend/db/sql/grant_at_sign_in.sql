-- The memberships a first sign-in grants before any session of the person exists: decided by the application
-- (it holds the ID token), bounded here by the province's declared claim mappings and by the invitation the
-- person has just accepted. An archive (tenants/lineage.yaml: `archived_on` set) takes no new member: refused, so
-- that nothing of the sign-in (an invitation marked accepted) is kept either.
CREATE OR REPLACE FUNCTION public.grant_at_sign_in(tenant uuid, person uuid, wanted_role text, unit uuid, actor text, source text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
  target record;
  created uuid;
  previous text := current_setting('app.tenant_id', true);
BEGIN
  SELECT t.code, t.archived_on, p.settings INTO target
    FROM tenants t JOIN provinces p ON p.id = t.province_id
   WHERE t.id = tenant AND t.is_active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no such tenant' USING ERRCODE = '42501';
  END IF;
  IF target.archived_on IS NOT NULL THEN
    RAISE EXCEPTION 'the tenant is an archive' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('app.tenant_id', tenant::text, true);
  IF source = 'claim' THEN
    IF NOT EXISTS (
      SELECT 1 FROM jsonb_array_elements(coalesce(target.settings -> 'identity_provider' -> 'claim_mappings', '[]'))
             AS m
       WHERE m ->> 'tenant' = target.code AND m ->> 'role' = wanted_role
    ) THEN
      RAISE EXCEPTION 'the province maps no claim to this role here' USING ERRCODE = '42501';
    END IF;
  ELSIF source = 'invitation' THEN
    IF NOT EXISTS (
      SELECT 1 FROM invitations i JOIN users u ON u.id = person
       WHERE i.tenant_id = tenant AND lower(i.email) = lower(u.email) AND i.role = wanted_role
         AND i.unit_id IS NOT DISTINCT FROM unit AND i.accepted_by = person AND i.revoked_at IS NULL
    ) THEN
      RAISE EXCEPTION 'no invitation of this person to this role' USING ERRCODE = '42501';
    END IF;
  ELSE
    RAISE EXCEPTION 'unknown source' USING ERRCODE = '42501';
  END IF;
  INSERT INTO memberships (id, tenant_id, user_id, role, unit_id)
  VALUES (gen_random_uuid(), tenant, person, wanted_role, unit)
  ON CONFLICT (tenant_id, user_id, role) DO NOTHING
  RETURNING id INTO created;
  IF created IS NOT NULL THEN
    INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, after)
    SELECT tenant, actor, 'grant', 'membership', created::text,
           jsonb_build_object('user', person::text, 'email', u.email, 'role', wanted_role, 'source', source)
      FROM users u WHERE u.id = person;
  END IF;
  PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
END $$;
