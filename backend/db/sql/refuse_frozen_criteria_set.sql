-- Trigger `criteria_set_frozen` on criteria_sets (BEFORE UPDATE OR DELETE): a frozen set stays as it is.
CREATE OR REPLACE FUNCTION public.refuse_frozen_criteria_set()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF OLD.frozen_at IS NOT NULL THEN
    RAISE EXCEPTION 'criteria set % is frozen', OLD.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER criteria_set_frozen BEFORE DELETE OR UPDATE ON public.criteria_sets FOR EACH ROW
  EXECUTE FUNCTION refuse_frozen_criteria_set();
