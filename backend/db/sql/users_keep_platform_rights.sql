-- Trigger `keep_platform_rights` on users (BEFORE INSERT OR UPDATE): no role but the owner makes anyone a
-- platform admin.
CREATE OR REPLACE FUNCTION public.users_keep_platform_rights()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  -- inside a SECURITY DEFINER function current_user is the owner: only a caller signed in as the owner passes
  IF session_user <> current_user
     AND NEW.is_platform_admin IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.is_platform_admin ELSE false END)
  THEN
    RAISE EXCEPTION 'platform rights are granted by the owner only' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER keep_platform_rights BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW
  EXECUTE FUNCTION users_keep_platform_rights();
