-- A card move's answer in one statement outside any transaction, for someone who sees the whole board with no
-- filter (everyone else's answer is read by `load_board`, through the visibility rules of the board page): the
-- board's lanes and columns, and the cards of one or two cells of the year's board, ordered as the board shows
-- them, each with its lead unit's name, its assignees' names, its live evidence files and, for a task carried over
-- from a predecessor (`carried_tasks`), that predecessor's name and the task's number there, and on every row the
-- year's card count per column. A cell with no card still gives one row (its card columns NULL).
-- It refuses (42501) unless `session_token` is a live session of `person` in `tenant`, then reads as the owner
-- with `app.tenant_id` set: every row is the tenant's. The lanes (`board_lanes`) are those `board_move_as` checks a
-- move against.
CREATE OR REPLACE FUNCTION public.board_cells_as(session_token text, tenant uuid, person uuid, board_year integer, c0 uuid, a0 character varying, c1 uuid, a1 character varying)
RETURNS TABLE (
  lane_codes text[], lane_titles text[],
  column_ids uuid[], column_codes text[], column_names text[], column_positions integer[],
  column_wip_limits integer[], column_done boolean[], column_confirmation boolean[],
  id uuid, number integer, version integer, "position" integer, column_id uuid, area_code text,
  criterion_code text, kind text, title text, due_date date, deadline_text text, points_lost numeric,
  lead_unit_id uuid, lead_unit text, assignees text[], evidence bigint, carried_from text, carried_number integer,
  counted_columns uuid[], counts bigint[]
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF session_person(session_token, tenant) IS DISTINCT FROM person THEN
    RAISE EXCEPTION 'no live session of this person in this tenant' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('app.tenant_id', tenant::text, true), set_config('app.user_id', person::text, true);
  RETURN QUERY
    WITH lanes AS (
      SELECT array_agg(l.code ORDER BY l.position) AS codes, array_agg(l.title ORDER BY l.position) AS titles
        FROM board_lanes(tenant, board_year) l
    ), board AS (
      SELECT array_agg(b.id ORDER BY b.position) AS ids,
             array_agg(b.code::text ORDER BY b.position) AS codes,
             array_agg(b.name::text ORDER BY b.position) AS names,
             array_agg(b.position ORDER BY b.position) AS positions,
             array_agg(b.wip_limit ORDER BY b.position) AS wip_limits,
             array_agg(b.is_done ORDER BY b.position) AS done,
             array_agg(b.needs_confirmation ORDER BY b.position) AS confirmation
        FROM board_columns b
    ), counted AS (
      SELECT array_agg(g.column_id) AS columns, array_agg(g.n) AS counts
        FROM (SELECT t.column_id, count(*) AS n FROM tasks t WHERE t.year = board_year GROUP BY t.column_id) g
    )
    SELECT lanes.codes, lanes.titles, board.ids, board.codes, board.names, board.positions,
           board.wip_limits, board.done, board.confirmation,
           t.id, t.number, t.version, t.position, t.column_id, t.area_code::text, t.criterion_code::text,
           t.kind::text, t.title, t.due_date, t.deadline_text::text, t.points_lost, t.lead_unit_id,
           (SELECT u.name::text FROM units u WHERE u.id = t.lead_unit_id),
           (SELECT array_agg(coalesce(nullif(p.full_name, ''), p.email)::text)
              FROM task_assignees a JOIN users p ON p.id = a.user_id WHERE a.task_id = t.id),
           (SELECT count(*) FROM evidence_files e WHERE e.task_id = t.id AND e.deleted_at IS NULL),
           c.source_label::text, c.source_number,
           counted.columns, counted.counts
      FROM lanes CROSS JOIN board CROSS JOIN counted
      LEFT JOIN tasks t
        ON t.year = board_year
       AND ((t.column_id = c0 AND t.area_code = a0) OR (t.column_id = c1 AND t.area_code = a1))
      LEFT JOIN carried_tasks c ON c.tenant_id = tenant AND c.task_id = t.id
     ORDER BY t.area_code, t.column_id, t.position;
END $$;
