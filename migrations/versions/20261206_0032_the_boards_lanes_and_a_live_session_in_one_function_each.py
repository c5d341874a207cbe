"""the board's lanes and a live session each in one function: `board_lanes` and `live_session`

The lanes of a tenant's board for a year (the reform areas of the criteria set the board page reads) were queried
twice, in `board_cells_as` (to answer them) and in `board_move_as` (to check a move against them); now one function
answers them for both:

- `board_lanes(tenant => ..., board_year => ...)`: with its caller's rights, executable by the application's and
  the jobs' roles, as `task_editable` (0031) is.
- `board_cells_as` and `board_move_as` read their lanes from it, otherwise unchanged.

A live session's person, province and platform right were looked up twice, in `session_person` and in
`province_scope`; now `live_session(session_token)` finds them for both:

- `live_session`: SQL, STABLE, with its caller's rights and no settings of its own, so that PostgreSQL inlines it
  into the two callers' statements (SECURITY DEFINER, their search_path pinned): a tenant policy asks
  `session_person` on every statement, and it is not slower. Executable by the owner only (both callers run as
  the owner).
- `session_person` and `province_scope` read it, otherwise unchanged.

A frozen snapshot: every statement is written here literally. The role names come from the configuration.

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-06 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0032"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARD_LANES = r"""
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
"""

BOARD_CELLS_AS = r"""
CREATE OR REPLACE FUNCTION public.board_cells_as(session_token text, tenant uuid, person uuid, board_year integer, c0 uuid, a0 character varying, c1 uuid, a1 character varying)
RETURNS TABLE (
  lane_codes text[], lane_titles text[],
  column_ids uuid[], column_codes text[], column_names text[], column_positions integer[],
  column_wip_limits integer[], column_done boolean[], column_confirmation boolean[],
  id uuid, number integer, version integer, "position" integer, column_id uuid, area_code text,
  criterion_code text, kind text, title text, due_date date, deadline_text text, points_lost numeric,
  lead_unit_id uuid, lead_unit text, assignees text[], evidence bigint,
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
           counted.columns, counted.counts
      FROM lanes CROSS JOIN board CROSS JOIN counted
      LEFT JOIN tasks t
        ON t.year = board_year
       AND ((t.column_id = c0 AND t.area_code = a0) OR (t.column_id = c1 AND t.area_code = a1))
     ORDER BY t.area_code, t.column_id, t.position;
END $$;
"""

BOARD_MOVE_AS = r"""
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
"""

# 0026's answer, which queried its lanes itself
BOARD_CELLS_AS_0026 = r"""
CREATE OR REPLACE FUNCTION public.board_cells_as(session_token text, tenant uuid, person uuid, board_year integer, c0 uuid, a0 character varying, c1 uuid, a1 character varying)
RETURNS TABLE (
  lane_codes text[], lane_titles text[],
  column_ids uuid[], column_codes text[], column_names text[], column_positions integer[],
  column_wip_limits integer[], column_done boolean[], column_confirmation boolean[],
  id uuid, number integer, version integer, "position" integer, column_id uuid, area_code text,
  criterion_code text, kind text, title text, due_date date, deadline_text text, points_lost numeric,
  lead_unit_id uuid, lead_unit text, assignees text[], evidence bigint,
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
      SELECT array_agg(c.code::text ORDER BY c.position) AS codes,
             array_agg(c.title ORDER BY c.position) AS titles
        FROM criteria c
       WHERE c.criteria_set_id = (
               SELECT s.id FROM criteria_sets s JOIN tenants g ON g.id = tenant
                WHERE s.province_id = g.province_id AND s.year = board_year
                  AND (s.ranking_group_id IS NULL OR s.ranking_group_id = g.ranking_group_id)
                ORDER BY s.ranking_group_id IS NULL, s.version DESC LIMIT 1)
         AND c.depth = 0
         AND c.kind NOT IN ('bonus', 'penalty')
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
           counted.columns, counted.counts
      FROM lanes CROSS JOIN board CROSS JOIN counted
      LEFT JOIN tasks t
        ON t.year = board_year
       AND ((t.column_id = c0 AND t.area_code = a0) OR (t.column_id = c1 AND t.area_code = a1))
     ORDER BY t.area_code, t.column_id, t.position;
END $$;
"""

# 0031's move, which queried its lanes itself
BOARD_MOVE_AS_0031 = r"""
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

  -- the board's lanes: the reform areas of the tenant's ranking group's criteria set of the year, else of the
  -- set for every group (the set the board page and the self-assessment read)
  SELECT array_agg(c.code::text) INTO lanes
    FROM criteria c
   WHERE c.criteria_set_id = (
           SELECT s.id FROM criteria_sets s JOIN tenants g ON g.id = tenant
            WHERE s.province_id = g.province_id AND s.year = board_year
              AND (s.ranking_group_id IS NULL OR s.ranking_group_id = g.ranking_group_id)
            ORDER BY s.ranking_group_id IS NULL, s.version DESC LIMIT 1)
     AND c.depth = 0
     AND c.kind NOT IN ('bonus', 'penalty');
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
"""

LIVE_SESSION = r"""
CREATE OR REPLACE FUNCTION public.live_session(session_token text)
RETURNS TABLE (person uuid, home uuid, platform boolean)
LANGUAGE sql STABLE
AS $$
  SELECT s.user_id, s.province_id, u.is_platform_admin
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active
$$;
"""

SESSION_PERSON = r"""
CREATE OR REPLACE FUNCTION public.session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
  token_tenant uuid;
  token_kind text;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT l.person, l.home, l.platform INTO person, home, platform FROM live_session(session_token) l;
  IF NOT FOUND AND left(session_token, 4) = 'pbt_' THEN
    -- an API token (migration 0025): found under `token_lookup`, for the owner while checking
    PERFORM set_config('app.checking_session', 'on', true);
    SELECT k.created_by, k.tenant_id, k.kind, t.province_id INTO person, token_tenant, token_kind, home
      FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
     WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
       AND k.revoked_at IS NULL AND k.expires_at > now() AND t.is_active AND u.is_active;
    allowed := FOUND;
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN CASE
      WHEN tenant = token_tenant THEN person
      WHEN token_kind = 'province' AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)
        THEN person
    END;
  END IF;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF platform THEN  -- granted by the owner only (the trigger below): every tenant, as the application allows
    RETURN CASE WHEN EXISTS (SELECT 1 FROM tenants t WHERE t.id = tenant) THEN person END;
  END IF;
  -- the person's own memberships, under `own_memberships` (`app_tenant()` answers NULL meanwhile, so that the
  -- memberships' tenant policy does not ask again); the caller's settings are given back below
  PERFORM set_config('app.user_id', person::text, true), set_config('app.checking_session', 'on', true);
  allowed := EXISTS (
    SELECT 1
      FROM memberships m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
       AND (m.tenant_id = tenant
            OR ((m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs'))
                AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home))
            -- a member of a tenant that succeeded `tenant` (tenants/lineage.yaml, however many steps later)
            -- reads its archive, as the successor's history does
            OR m.tenant_id IN (
              WITH RECURSIVE later(id) AS (
                SELECT l.successor_id FROM tenant_lineage l WHERE l.predecessor_id = tenant
                UNION
                SELECT l.successor_id FROM tenant_lineage l JOIN later ON l.predecessor_id = later.id
              )
              SELECT id FROM later))
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
  RETURN CASE WHEN allowed THEN person END;
END $$;
"""

PROVINCE_SCOPE = r"""
CREATE OR REPLACE FUNCTION public.province_scope(session_token text, province uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
BEGIN
  IF session_token IS NULL OR session_token = '' OR province IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT l.person, l.home, l.platform INTO person, home, platform FROM live_session(session_token) l;
  IF NOT FOUND THEN
    IF left(session_token, 4) <> 'pbt_' THEN
      RETURN NULL;
    END IF;
    -- a province's API token (migration 0025), live, made in this province: found under `token_lookup`
    PERFORM set_config('app.checking_session', 'on', true);
    allowed := EXISTS (
      SELECT 1
        FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
       WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
         AND k.kind = 'province' AND k.revoked_at IS NULL AND k.expires_at > now()
         AND t.is_active AND u.is_active AND t.province_id = province
    );
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
  END IF;
  IF NOT platform THEN
    IF home IS DISTINCT FROM province THEN
      RETURN NULL;
    END IF;
    -- the person's own memberships, under `own_memberships`, as `session_person` reads them
    PERFORM set_config('app.user_id', person::text, true), set_config('app.checking_session', 'on', true);
    allowed := EXISTS (
      SELECT 1
        FROM memberships m JOIN tenants t ON t.id = m.tenant_id
       WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
         AND (m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs'))
    );
    PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
END $$;
"""

# the bodies before, which looked the session up themselves (session_person: 0025; province_scope: 0028)
SESSION_PERSON_0025 = r"""
CREATE OR REPLACE FUNCTION public.session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
  token_tenant uuid;
  token_kind text;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id, u.is_platform_admin INTO person, home, platform
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
  IF NOT FOUND AND left(session_token, 4) = 'pbt_' THEN
    -- an API token (migration 0025): found under `token_lookup`, for the owner while checking
    PERFORM set_config('app.checking_session', 'on', true);
    SELECT k.created_by, k.tenant_id, k.kind, t.province_id INTO person, token_tenant, token_kind, home
      FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
     WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
       AND k.revoked_at IS NULL AND k.expires_at > now() AND t.is_active AND u.is_active;
    allowed := FOUND;
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN CASE
      WHEN tenant = token_tenant THEN person
      WHEN token_kind = 'province' AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)
        THEN person
    END;
  END IF;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF platform THEN  -- granted by the owner only (the trigger below): every tenant, as the application allows
    RETURN CASE WHEN EXISTS (SELECT 1 FROM tenants t WHERE t.id = tenant) THEN person END;
  END IF;
  -- the person's own memberships, under `own_memberships` (`app_tenant()` answers NULL meanwhile, so that the
  -- memberships' tenant policy does not ask again); the caller's settings are given back below
  PERFORM set_config('app.user_id', person::text, true), set_config('app.checking_session', 'on', true);
  allowed := EXISTS (
    SELECT 1
      FROM memberships m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
       AND (m.tenant_id = tenant
            OR ((m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs'))
                AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home))
            -- a member of a tenant that succeeded `tenant` (tenants/lineage.yaml, however many steps later)
            -- reads its archive, as the successor's history does
            OR m.tenant_id IN (
              WITH RECURSIVE later(id) AS (
                SELECT l.successor_id FROM tenant_lineage l WHERE l.predecessor_id = tenant
                UNION
                SELECT l.successor_id FROM tenant_lineage l JOIN later ON l.predecessor_id = later.id
              )
              SELECT id FROM later))
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
  RETURN CASE WHEN allowed THEN person END;
END $$;
"""

PROVINCE_SCOPE_0028 = r"""
CREATE OR REPLACE FUNCTION public.province_scope(session_token text, province uuid) RETURNS uuid[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
BEGIN
  IF session_token IS NULL OR session_token = '' OR province IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id, u.is_platform_admin INTO person, home, platform
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
  IF NOT FOUND THEN
    IF left(session_token, 4) <> 'pbt_' THEN
      RETURN NULL;
    END IF;
    -- a province's API token (migration 0025), live, made in this province: found under `token_lookup`
    PERFORM set_config('app.checking_session', 'on', true);
    allowed := EXISTS (
      SELECT 1
        FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
       WHERE k.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
         AND k.kind = 'province' AND k.revoked_at IS NULL AND k.expires_at > now()
         AND t.is_active AND u.is_active AND t.province_id = province
    );
    PERFORM set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
    RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
  END IF;
  IF NOT platform THEN
    IF home IS DISTINCT FROM province THEN
      RETURN NULL;
    END IF;
    -- the person's own memberships, under `own_memberships`, as `session_person` reads them
    PERFORM set_config('app.user_id', person::text, true), set_config('app.checking_session', 'on', true);
    allowed := EXISTS (
      SELECT 1
        FROM memberships m JOIN tenants t ON t.id = m.tenant_id
       WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
         AND (m.role = 'province_reviewer' OR (m.role = 'province_admin' AND t.kind = 'home_affairs'))
    );
    PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
    IF NOT allowed THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN ARRAY(SELECT t.id FROM tenants t WHERE t.province_id = province);
END $$;
"""


def _roles() -> list[str]:
    """The application's role, and the jobs' role when it is one of its own."""
    roles = [str(context.config.attributes["app_role"])]
    jobs = context.config.attributes.get("jobs_role")
    if jobs and jobs != op.get_bind().execute(sa.text("SELECT current_user")).scalar_one():
        roles.append(str(jobs))
    return roles


def upgrade() -> None:
    op.execute(BOARD_LANES)
    op.execute("REVOKE ALL ON FUNCTION board_lanes(uuid, integer) FROM PUBLIC")
    for role in _roles():
        op.execute(f"GRANT EXECUTE ON FUNCTION board_lanes(uuid, integer) TO {role}")
    op.execute(BOARD_CELLS_AS)
    op.execute(BOARD_MOVE_AS)
    op.execute(LIVE_SESSION)
    op.execute("REVOKE ALL ON FUNCTION live_session(text) FROM PUBLIC")
    op.execute(SESSION_PERSON)
    op.execute(PROVINCE_SCOPE)


def downgrade() -> None:
    op.execute(SESSION_PERSON_0025)
    op.execute(PROVINCE_SCOPE_0028)
    op.execute("DROP FUNCTION live_session(text)")
    op.execute(BOARD_MOVE_AS_0031)
    op.execute(BOARD_CELLS_AS_0026)
    op.execute("DROP FUNCTION board_lanes(uuid, integer)")
