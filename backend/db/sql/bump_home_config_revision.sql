-- Trigger `home_config_revision` (AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT) on what the provinces
-- declare and every tenant home shows: provinces (calendar, deadlines), tenants (names, archive), lineage, ranking
-- groups, result classes, criteria. These change with `tenants sync`, a criteria upload or a publication: rarely,
-- so one revision for all (`backend.domain.tenants.home_cache` keys every home on it): the id of the last
-- transaction that wrote, as `bump_home_revision`'s, written at commit (`apply_revision_bumps`), so the one row is
-- never held while a transaction goes on.
CREATE OR REPLACE FUNCTION public.bump_home_config_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.config_bump', 'on');
  RETURN NULL;
END $$;

CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.criteria FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.criteria_sets FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.provinces FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.ranking_groups FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.result_classes FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.tenant_lineage FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
CREATE TRIGGER home_config_revision AFTER INSERT OR DELETE OR UPDATE ON public.tenants FOR EACH STATEMENT
  EXECUTE FUNCTION bump_home_config_revision();
