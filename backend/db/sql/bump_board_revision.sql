-- Trigger `board_revision` (AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT) on the tables a board shows:
-- one bump per statement, for the tenant the statement ran as (row-level security makes every row it touched
-- that tenant's); nothing without a tenant (TRUNCATE in tests, the owner unbound).
CREATE OR REPLACE FUNCTION public.bump_board_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  current_tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS NOT NULL THEN
    INSERT INTO board_revisions AS r (tenant_id, revision) VALUES (current_tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = r.revision + 1;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.units FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.board_columns FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.tasks FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.task_assignees FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.task_units FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.evidence_files FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.carried_tasks FOR EACH STATEMENT
  EXECUTE FUNCTION bump_board_revision();
