-- Trigger `home_config_revision` (AFTER INSERT OR UPDATE OR DELETE, FOR EACH STATEMENT) on what the provinces
-- declare and every tenant home shows: provinces (calendar, deadlines), tenants (names, archive), lineage, ranking
-- groups, result classes, criteria. These change with `tenants sync`, a criteria upload or a publication: rarely,
-- so one revision for all (`backend.domain.tenants.home_cache` keys every home on it): the id of the last
-- transaction that wrote, as `bump_home_revision`'s.
CREATE OR REPLACE FUNCTION public.bump_home_config_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO home_config_revision AS r (id, revision) VALUES (1, pg_current_xact_id()::text::bigint)
  ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
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
