-- Constraint trigger `revision_bumps` (AFTER INSERT, DEFERRABLE INITIALLY DEFERRED, FOR EACH ROW) on
-- `revision_bumps`, whose one row a transaction queues with its first write of a counted table
-- (`note_revision_bump`): at commit, the counters the transaction's statements noted are written, always in one
-- order: every noted tenant's `home_revisions` row, by id; every noted tenant's `board_revisions` row, by id; the
-- one `home_config_revision` row, when a configuration table was written or a tenant noted is an archive (its
-- successors' homes show it); then the one `directory_revision` row, when a person's name or e-mail changed. A
-- transaction holds no counter until its commit, and there it waits only for counters later in that order, held
-- by transactions that wait for none earlier: no cycle. The database has no other deferred trigger or constraint,
-- so nothing takes a lock after these. The values are as the triggers wrote them before: the home's and the
-- configuration's, the writing transaction's id; the board's and the directory's, one more (now once per
-- transaction); a tenant deleted since is skipped.
-- It runs as the owner (SECURITY DEFINER), which `app_tenant()` trusts with `app.tenant_id` alone, set here to each
-- tenant in turn (and put back): the policies of the counters hold, whoever committed, even a person whose
-- membership the transaction ended. The lists are the transaction's own settings: a role that forges one only makes
-- pages be rendered again.
CREATE OR REPLACE FUNCTION public.apply_revision_bumps()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
  this_xact bigint := pg_current_xact_id()::text::bigint;
  bound text := current_setting('app.tenant_id', true);
  homes uuid[] := string_to_array(trim(coalesce(current_setting('parboard.home_bumps', true), '')), ' ')::uuid[];
  boards uuid[] := string_to_array(trim(coalesce(current_setting('parboard.board_bumps', true), '')), ' ')::uuid[];
  config boolean := trim(coalesce(current_setting('parboard.config_bump', true), '')) = 'on';
  directory boolean := trim(coalesce(current_setting('parboard.directory_bump', true), '')) = 'on';
  tenant uuid;
BEGIN
  PERFORM set_config(list, '', true), set_config(list || '_last', '', true)
    FROM unnest(ARRAY['parboard.home_bumps', 'parboard.board_bumps', 'parboard.config_bump',
                      'parboard.directory_bump']) AS list;
  PERFORM set_config('parboard.bumps_queued', '', true);
  DELETE FROM revision_bumps WHERE xact = this_xact;
  FOR tenant IN SELECT DISTINCT t.id FROM tenants t WHERE t.id = ANY (homes) ORDER BY t.id LOOP
    PERFORM set_config('app.tenant_id', tenant::text, true);
    INSERT INTO home_revisions AS r (tenant_id, revision) VALUES (tenant, this_xact)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision;
  END LOOP;
  FOR tenant IN SELECT DISTINCT t.id FROM tenants t WHERE t.id = ANY (boards) ORDER BY t.id LOOP
    PERFORM set_config('app.tenant_id', tenant::text, true);
    INSERT INTO board_revisions AS r (tenant_id, revision) VALUES (tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = r.revision + 1;
  END LOOP;
  PERFORM set_config('app.tenant_id', coalesce(bound, ''), true);
  IF config OR EXISTS (SELECT 1 FROM tenants t WHERE t.id = ANY (homes) AND t.archived_on IS NOT NULL) THEN
    INSERT INTO home_config_revision AS r (id, revision) VALUES (1, this_xact)
    ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
  END IF;
  IF directory THEN
    UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
  END IF;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER revision_bumps AFTER INSERT ON public.revision_bumps DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION apply_revision_bumps();
