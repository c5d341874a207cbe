-- What the counters' triggers (`bump_home_revision`, `bump_board_revision`, `bump_home_config_revision`,
-- `bump_directory_revision`) call: notes `item` (a tenant's id, or 'on'; nothing when it is NULL, a statement with
-- no tenant bound) in the transaction-local list `setting` ('parboard.home_bumps', 'parboard.board_bumps',
-- 'parboard.config_bump', 'parboard.directory_bump'), and, the first time in the transaction, queues the one row of
-- `revision_bumps` whose deferred trigger writes every noted counter at commit (`apply_revision_bumps`). It takes no
-- lock any other transaction waits for: a transaction holds no counter while it goes on, so no order of writes can
-- deadlock on them, and a tenant's or the province's writers are not serialised on one row. A statement that rolls
-- back (to a savepoint) takes its note and its queued row with it. The item last noted in a list is kept apart
-- (`setting` || '_last'): the statements of a transaction mostly write one tenant after another, and the list of a
-- whole `tenants sync` (thousands of tenants) is read only when the tenant changes, not at every statement.
CREATE OR REPLACE FUNCTION public.note_revision_bump(setting text, item text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  noted text;
BEGIN
  IF item IS NULL OR current_setting(setting || '_last', true) = item THEN
    RETURN;
  END IF;
  noted := coalesce(current_setting(setting, true), '');
  IF strpos(noted, item || ' ') = 0 THEN
    IF coalesce(current_setting('parboard.bumps_queued', true), '') <> 'on' THEN
      INSERT INTO revision_bumps (xact) VALUES (pg_current_xact_id()::text::bigint);
      PERFORM set_config('parboard.bumps_queued', 'on', true);
    END IF;
    PERFORM set_config(setting, noted || item || ' ', true);
  END IF;
  PERFORM set_config(setting || '_last', item, true);
END $$;
