-- A card move, decided and applied in one statement. The application sends it outside any transaction, so it
-- commits by itself and the board's lock (`lock_key`, the key `lock_board` takes for new cards) is held inside
-- one round trip. It refuses (42501) unless `session_token` is a live session of `person` in `tenant`, then, on
-- the card as it is under the lock, decides every rule of the move and answers one row: `outcome` is 'moved' or
-- the code of the first rule the move breaks, which the application words (`REFUSALS` in
-- backend/domain/remedies/board.py); nothing is written unless it is 'moved'.
-- What the person's roles allow comes from the permission matrix: `edits_any` (any card), `edits_units` (the
-- cards led by or shared with these units: `task_editable` decides), `confirms` (into a column that needs
-- confirmation).
-- It runs as the owner (SECURITY DEFINER), which `app_tenant()` trusts with `app.tenant_id` alone, set here
-- once the session is checked: every row it reads and writes is the tenant's.
CREATE OR REPLACE FUNCTION public.board_move_as(session_token text, tenant uuid, person uuid, board_year integer, lock_key text, moving uuid, expected integer, to_column uuid, to_area text, place text, anchor uuid, edits_any boolean, edits_units uuid[], confirms boolean, actor text)
RETURNS TABLE (
  outcome text, placed integer, card_number integer, card_column uuid, card_area text, card_criterion text,
  into_area text, column_name text, column_limit integer
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
  lanes text[];
  card record;
  into_column record;
  area text;
  size integer;
  target integer;
  anchored integer;
  same_cell boolean;
  changes_column boolean;
BEGIN
  IF session_person(session_token, tenant) IS DISTINCT FROM person THEN
    RAISE EXCEPTION 'no live session of this person in this tenant' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('app.tenant_id', tenant::text, true), set_config('app.user_id', person::text, true);
  PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
  -- each statement below sees every move committed before the lock was granted (READ COMMITTED)

  SELECT array_agg(l.code) INTO lanes FROM board_lanes(tenant, board_year) l;  -- the board's lanes
  IF lanes IS NULL THEN
    RETURN QUERY SELECT 'no-criteria', NULL::integer, NULL::integer, NULL::uuid, NULL, NULL, NULL, NULL, NULL::integer;
    RETURN;
  END IF;

  SELECT t.tenant_id, t.number, t.version, t.year, t.column_id, t.area_code::text AS area_code, t.position,
         t.criterion_code::text AS criterion_code, t.lead_unit_id
    INTO card
    FROM tasks t WHERE t.id = moving FOR UPDATE;
  IF NOT FOUND OR card.year <> board_year THEN  -- a card of another year is not on this board
    RETURN QUERY SELECT 'gone', NULL::integer, NULL::integer, NULL::uuid, NULL, NULL, NULL, NULL, NULL::integer;
    RETURN;
  END IF;
  SELECT b.id, b.name::text AS name, b.wip_limit, b.needs_confirmation INTO into_column
    FROM board_columns b WHERE b.id = to_column;
  area := coalesce(to_area, '');
  IF area = '' AND place IN ('top', 'up', 'down') THEN
    area := card.area_code;  -- the card's own area
  END IF;
  changes_column := card.column_id IS DISTINCT FROM to_column;
  same_cell := NOT changes_column AND card.area_code = area;
  outcome := CASE
    WHEN NOT task_editable(card => moving, edits_any => edits_any, edits_units => edits_units) THEN 'not-yours'
    WHEN card.version <> expected THEN 'changed'
    WHEN into_column.id IS NULL THEN 'no-column'
    WHEN NOT area = ANY (lanes) AND area <> card.area_code THEN 'no-area'
    WHEN area <> card.area_code AND coalesce(card.criterion_code, '') <> '' THEN 'criterion-area'
    WHEN into_column.needs_confirmation AND changes_column AND NOT confirms THEN 'needs-confirmation'
    WHEN anchor = moving THEN 'beside-itself'
    WHEN place IN ('up', 'down') AND NOT same_cell THEN 'up-down-elsewhere'
    WHEN into_column.wip_limit IS NOT NULL AND changes_column
         AND (SELECT count(*) FROM tasks t WHERE t.year = card.year AND t.column_id = to_column) >= into_column.wip_limit
      THEN 'full'
  END;
  IF outcome IS NULL THEN
    SELECT count(*) INTO size FROM tasks t
     WHERE t.year = card.year AND t.column_id = to_column AND t.area_code = area AND t.id <> moving;
    IF place = 'top' THEN
      IF same_cell AND card.position = 0 THEN
        outcome := 'at-top';
      END IF;
      target := 0;
    ELSIF place IN ('up', 'down') THEN  -- within the card's cell; positions are dense
      target := card.position + CASE WHEN place = 'up' THEN -1 ELSE 1 END;
      IF target < 0 OR target > size THEN
        outcome := 'at-edge';
      END IF;
    ELSIF place IN ('before', 'after') THEN
      SELECT t.position INTO anchored FROM tasks t
       WHERE t.id = anchor AND t.year = card.year AND t.column_id = to_column AND t.area_code = area;
      IF NOT FOUND THEN
        outcome := 'anchor-moved';
      END IF;
      target := anchored + CASE WHEN place = 'before' THEN 0 ELSE 1 END;
      IF same_cell AND target > card.position THEN
        target := target - 1;  -- the anchor moves up by one when the card leaves its place
      END IF;
      target := least(target, size);
    ELSE
      target := size;
    END IF;
  END IF;
  IF outcome IS NOT NULL THEN
    RETURN QUERY SELECT outcome, NULL::integer, card.number, card.column_id, card.area_code, card.criterion_code,
                        area, into_column.name, into_column.wip_limit;
    RETURN;
  END IF;
  -- the whole shuffle: the source cell closes its gap, the target cell opens one, the card moves (and only its
  -- version grows); rows whose position does not change are not written
  WITH others AS (
    SELECT t.id,
           t.position - CASE WHEN t.column_id = card.column_id AND t.area_code = card.area_code
                              AND t.position > card.position THEN 1 ELSE 0 END AS shifted,
           (t.column_id = to_column AND t.area_code = area) AS in_target
      FROM tasks t
     WHERE t.year = card.year AND t.id <> moving
       AND ((t.column_id = card.column_id AND t.area_code = card.area_code)
         OR (t.column_id = to_column AND t.area_code = area))
  ), shuffled AS (
    SELECT o.id, o.shifted + CASE WHEN o.in_target AND o.shifted >= target THEN 1 ELSE 0 END AS position,
           false AS moved
      FROM others o
    UNION ALL SELECT moving, target, true
  )
  UPDATE tasks SET
    position = shuffled.position,
    column_id = CASE WHEN shuffled.moved THEN to_column ELSE tasks.column_id END,
    area_code = CASE WHEN shuffled.moved THEN area ELSE tasks.area_code END,
    version = tasks.version + CASE WHEN shuffled.moved THEN 1 ELSE 0 END,
    updated_at = now()
  FROM shuffled
  WHERE tasks.id = shuffled.id AND (shuffled.moved OR shuffled.position <> tasks.position);
  INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, before, after)
  VALUES (
    card.tenant_id, actor, 'task.move', 'task', 'KP-' || card.number,
    jsonb_build_object('column', card.column_id::text, 'area', card.area_code),
    jsonb_build_object('column', to_column::text, 'area', area, 'position', target::text)
  );
  RETURN QUERY SELECT 'moved', target, card.number, card.column_id, card.area_code, card.criterion_code, area,
                      into_column.name, into_column.wip_limit;
END $$;
