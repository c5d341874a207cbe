-- Trigger `a_home_revision` (AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT) on every tenant-owned table but
-- the API tokens (each API request counts its use there; the home never reads them) and the counters themselves,
-- the audit log included (the home reads whether a predecessor's tasks were carried over there): the tenant home's cache
-- (`backend.domain.tenants.home_cache`) keys on the revision. The revision is the id of the last transaction that
-- wrote (never used twice, even when a test puts the rows of a snapshot back, so no two states share one). One bump
-- per statement, for the tenant the statement ran as: the policies' WITH CHECK and USING make every row a statement writes that tenant's, whoever writes it (a
-- province's external scores, a Sở Nội vụ's decisions, the jobs, `tenants sync`), so no write of a tenant's row
-- escapes its counter. A write into an archive also bumps every home (`home_config_revision`): a successor's home
-- shows its predecessors. Named to fire before `board_revision` on the tables that have both: every transaction
-- takes the home counter's lock before the board's, never the other way round.
CREATE OR REPLACE FUNCTION public.bump_home_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  current_tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS NOT NULL THEN
    INSERT INTO home_revisions AS r (tenant_id, revision) VALUES (current_tenant, pg_current_xact_id()::text::bigint)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision;
    IF EXISTS (SELECT 1 FROM tenants t WHERE t.id = current_tenant AND t.archived_on IS NOT NULL) THEN
      INSERT INTO home_config_revision AS r (id, revision) VALUES (1, pg_current_xact_id()::text::bigint)
      ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
    END IF;
  END IF;
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
