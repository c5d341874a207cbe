-- What the counters' triggers (`bump_home_revision`, `bump_board_revision`, `bump_home_config_revision`,
-- `bump_directory_revision`) call: notes `item` (a tenant's id, or 'on'; nothing when it is NULL, a statement with
-- no tenant bound) in the transaction-local list `setting` ('parboard.home_bumps', 'parboard.board_bumps',
-- 'parboard.config_bump', 'parboard.directory_bump'), and, the first time in the transaction, queues the one row of
-- `revision_bumps` whose deferred trigger writes every noted counter at commit (`apply_revision_bumps`). It takes no
-- lock any other transaction waits for: a transaction holds no counter while it goes on, so no order of writes can
-- deadlock on them, and a tenant's or the province's writers are not serialised on one row. A statement that rolls
-- back (to a savepoint) takes its note and its queued row with it. The last item noted is compared first: the
-- statements of a transaction mostly write one tenant after another (`tenants sync`).
CREATE OR REPLACE FUNCTION public.note_revision_bump(setting text, item text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  noted text := coalesce(current_setting(setting, true), '');
BEGIN
  IF item IS NULL OR right(noted, length(item) + 1) = item || ' ' OR strpos(noted, item || ' ') > 0 THEN
    RETURN;
  END IF;
  IF coalesce(current_setting('parboard.bumps_queued', true), '') <> 'on' THEN
    INSERT INTO revision_bumps (xact) VALUES (pg_current_xact_id()::text::bigint);
    PERFORM set_config('parboard.bumps_queued', 'on', true);
  END IF;
  PERFORM set_config(setting, noted || item || ' ', true);
END $$;
