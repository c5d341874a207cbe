-- The board's lanes for a tenant and a year: the reform areas (criteria of depth 0, neither bonus nor penalty) of
-- the tenant's ranking group's criteria set of the year, else of the set for every group (the set the board page
-- and the self-assessment read), with their position. With its caller's rights: `board_cells_as` answers them and
-- `board_move_as` checks a move against them, both as the owner.
CREATE OR REPLACE FUNCTION public.board_lanes(tenant uuid, board_year integer)
RETURNS TABLE (code text, title text, "position" integer)
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
  SELECT c.code::text, c.title, c.position
    FROM criteria c
   WHERE c.criteria_set_id = (
           SELECT s.id FROM criteria_sets s JOIN tenants g ON g.id = tenant
            WHERE s.province_id = g.province_id AND s.year = board_year
              AND (s.ranking_group_id IS NULL OR s.ranking_group_id = g.ranking_group_id)
            ORDER BY s.ranking_group_id IS NULL, s.version DESC LIMIT 1)
     AND c.depth = 0
     AND c.kind NOT IN ('bonus', 'penalty')
$$;
