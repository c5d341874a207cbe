-- Trigger `stay_revoked` on user_sessions (BEFORE UPDATE): a revoked session stays revoked.
CREATE OR REPLACE FUNCTION public.user_sessions_stay_revoked()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF session_user <> current_user AND OLD.revoked_at IS NOT NULL
     AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
    RAISE EXCEPTION 'a revoked session stays revoked' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER stay_revoked BEFORE UPDATE ON public.user_sessions FOR EACH ROW
  EXECUTE FUNCTION user_sessions_stay_revoked();
