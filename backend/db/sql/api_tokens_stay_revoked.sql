-- The trigger of `api_tokens`: a revoked token stays revoked.
CREATE OR REPLACE FUNCTION public.api_tokens_stay_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
    RAISE EXCEPTION 'a revoked token stays revoked' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER stay_revoked BEFORE UPDATE ON public.api_tokens FOR EACH ROW
  EXECUTE FUNCTION api_tokens_stay_revoked();
