-- What the `province_reading` policies compare with: the province `reading_province` asked for, when the
-- session may read it (`province_scope`); else NULL.
CREATE OR REPLACE FUNCTION public.app_province_tenants() RETURNS uuid[]
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $$
DECLARE
  requested uuid := NULLIF(current_setting('app.province_id', true), '')::uuid;
BEGIN
  IF requested IS NULL OR current_setting('app.checking_session', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RETURN province_scope(current_setting('app.session', true), requested);
END $$
