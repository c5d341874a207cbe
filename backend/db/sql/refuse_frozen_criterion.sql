-- Trigger `criterion_frozen` on criteria (BEFORE UPDATE OR DELETE): a frozen set's criteria stay as they are.
CREATE OR REPLACE FUNCTION public.refuse_frozen_criterion()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM criteria_sets s WHERE s.id = OLD.criteria_set_id AND s.frozen_at IS NOT NULL) THEN
    RAISE EXCEPTION 'criterion % belongs to a frozen set', OLD.code USING ERRCODE = 'check_violation';
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER criterion_frozen BEFORE DELETE OR UPDATE ON public.criteria FOR EACH ROW
  EXECUTE FUNCTION refuse_frozen_criterion();
