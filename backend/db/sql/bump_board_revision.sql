-- Trigger `board_revision` (AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT) on the tables a board shows:
-- one note per statement, for the tenant the statement ran as (row-level security makes every row it touched
-- that tenant's); nothing without a tenant (TRUNCATE in tests, the owner unbound). The counter grows by one per
-- transaction that wrote, at commit (`apply_revision_bumps`).
CREATE OR REPLACE FUNCTION public.bump_board_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.board_bumps', NULLIF(current_setting('app.tenant_id', true), '')::uuid::text);
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
