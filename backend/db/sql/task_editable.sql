-- Whether a person may edit or move the card `card`: every card when `edits_any`, else the cards led by or shared
-- with one of `edits_units` (both from the permission matrix, `edit_rights` in backend/domain/remedies/board.py).
-- The card rule's one definition: `board_move_as` asks it under the board's lock, a card's pages and the API
-- before an edit (`editable_task` in backend/domain/remedies/services.py). It runs with its caller's rights: the
-- rows it reads are the tenant's.
CREATE OR REPLACE FUNCTION public.task_editable(card uuid, edits_any boolean, edits_units uuid[])
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
  SELECT coalesce(edits_any, false)
      OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = card AND t.lead_unit_id = ANY (edits_units))
      OR EXISTS (SELECT 1 FROM task_units u WHERE u.task_id = card AND u.unit_id = ANY (edits_units))
$$;
