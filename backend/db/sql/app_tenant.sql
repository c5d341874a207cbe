-- The tenant every `tenant_isolation` policy compares with, `(SELECT app_tenant())`, once per statement. It runs
-- with the caller's rights, so that `current_user` is whoever runs the statement (the owner also inside the
-- owner's SECURITY DEFINER functions). {{trusted_roles}} stands for the owner and the jobs' role, quoted: their
-- names come from the configuration (`backend.db.functions` fills them in; a migration reads them from
-- alembic's config attributes, as 0020 does).
CREATE OR REPLACE FUNCTION public.app_tenant()
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public
AS $$
DECLARE
  requested uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF requested IS NULL OR current_setting('app.checking_session', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- trusted with the setting alone: the owner (migrations, `tenants sync`, imports) and the jobs' role
  IF current_user IN ({{trusted_roles}}) THEN
    RETURN requested;
  END IF;
  IF session_person(current_setting('app.session', true), requested) IS NOT NULL THEN
    RETURN requested;
  END IF;
  RETURN NULL;
END $$;
