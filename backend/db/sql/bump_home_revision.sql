-- Trigger `a_home_revision` (AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT) on every tenant-owned table but
-- the API tokens (each API request counts its use there; the home never reads them) and the counters themselves,
-- the audit log included (the home reads whether a predecessor's tasks were carried over there): the tenant home's cache
-- (`backend.domain.tenants.home_cache`) keys on the revision. The revision is the id of the last transaction that
-- wrote (never used twice, even when a test puts the rows of a snapshot back, so no two states share one). One note
-- per statement, for the tenant the statement ran as: the policies' WITH CHECK and USING make every row a statement
-- writes that tenant's, whoever writes it (a province's external scores, a Sở Nội vụ's decisions, the jobs,
-- `tenants sync`), so no write of a tenant's row escapes its counter. The note takes no lock: the counter is written
-- at commit (`apply_revision_bumps`), with a write into an archive bumping every home there (a successor's home
-- shows its predecessors).
CREATE OR REPLACE FUNCTION public.bump_home_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.home_bumps', NULLIF(current_setting('app.tenant_id', true), '')::uuid::text);
  RETURN NULL;
END $$;

CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.appraisal_items FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.appraisals FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.appraised_results FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.assessment_items FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.assessments FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.audit_log FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.board_columns FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.carried_tasks FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.evidence_files FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.evidence_requests FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.external_scores FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.invitations FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.memberships FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.not_applicable_decisions FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.progress_reports FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.remedy_plans FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.submissions FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.task_assignees FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.task_checklist_items FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.task_comments FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.task_units FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.tasks FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.unit_group_members FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.unit_groups FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.units FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_revision();
