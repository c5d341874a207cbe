-- Trigger `assessment_item_locked` on assessment_items (BEFORE INSERT OR UPDATE): an approved assessment's
-- rows stay as they are.
CREATE OR REPLACE FUNCTION public.refuse_approved_assessment_item()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM assessments a WHERE a.id = NEW.assessment_id AND a.status = 'approved') THEN
    RAISE EXCEPTION 'assessment % is approved', NEW.assessment_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER assessment_item_locked BEFORE INSERT OR UPDATE ON public.assessment_items FOR EACH ROW
  EXECUTE FUNCTION refuse_approved_assessment_item();
