"""a card move in one statement

`board_move` applies one move of a card under its board's lock in a single round trip: the lock, the card's row
(refused when its version is not the one the person saw), the WIP limit, the place in the target cell, the
whole position shuffle and the audit row. The application checks everything that depends only on the card and
the person before it (who may move it, which column, which area) on the version it read; the function refuses
the move if that version is no longer the card's. Before, the lock was held across five round trips, and under
load each of them waited for the event loop; now it is held for the function and the commit.

It runs with the caller's rights (SECURITY INVOKER, the default): row-level security applies to every row it
reads and writes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 14:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "board_move(text, uuid, integer, uuid, varchar, text, uuid, integer, varchar)"


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION board_move(
          lock_key text, moving uuid, expected integer, to_column uuid, to_area varchar, place text, anchor uuid,
          wip_limit integer, actor varchar
        ) RETURNS TABLE (outcome text, placed integer)
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
          card record;
          size integer;
          target integer;
          anchored integer;
          same_cell boolean;
        BEGIN
          PERFORM pg_advisory_xact_lock(hashtextextended(lock_key, 0));
          -- each statement below sees every move committed before the lock was granted (READ COMMITTED)
          SELECT t.tenant_id, t.number, t.version, t.year, t.column_id, t.area_code, t.position INTO card
          FROM tasks t WHERE t.id = moving FOR UPDATE;
          IF NOT FOUND THEN
            RETURN QUERY SELECT 'gone', NULL::integer; RETURN;
          END IF;
          IF card.version <> expected THEN
            RETURN QUERY SELECT 'changed', NULL::integer; RETURN;
          END IF;
          same_cell := card.column_id = to_column AND card.area_code = to_area;
          IF wip_limit IS NOT NULL AND card.column_id <> to_column
             AND (SELECT count(*) FROM tasks WHERE year = card.year AND column_id = to_column) >= wip_limit THEN
            RETURN QUERY SELECT 'full', NULL::integer; RETURN;
          END IF;
          SELECT count(*) INTO size FROM tasks
          WHERE year = card.year AND column_id = to_column AND area_code = to_area AND id <> moving;
          IF place = 'top' THEN
            IF same_cell AND card.position = 0 THEN
              RETURN QUERY SELECT 'at-top', NULL::integer; RETURN;
            END IF;
            target := 0;
          ELSIF place IN ('up', 'down') THEN  -- within the card's cell (checked by the caller); positions are dense
            target := card.position + CASE WHEN place = 'up' THEN -1 ELSE 1 END;
            IF target < 0 OR target > size THEN
              RETURN QUERY SELECT 'at-edge', NULL::integer; RETURN;
            END IF;
          ELSIF place IN ('before', 'after') THEN
            SELECT t.position INTO anchored FROM tasks t
            WHERE t.id = anchor AND t.year = card.year AND t.column_id = to_column AND t.area_code = to_area;
            IF NOT FOUND THEN
              RETURN QUERY SELECT 'anchor-moved', NULL::integer; RETURN;
            END IF;
            target := anchored + CASE WHEN place = 'before' THEN 0 ELSE 1 END;
            IF same_cell AND target > card.position THEN
              target := target - 1;  -- the anchor moves up by one when the card leaves its place
            END IF;
            target := least(target, size);
          ELSE
            target := size;
          END IF;
          -- the whole shuffle: the source cell closes its gap, the target cell opens one, the card moves (and
          -- only its version grows); rows whose position does not change are not written
          WITH others AS (
            SELECT t.id,
                   t.position - CASE WHEN t.column_id = card.column_id AND t.area_code = card.area_code
                                      AND t.position > card.position THEN 1 ELSE 0 END AS shifted,
                   (t.column_id = to_column AND t.area_code = to_area) AS in_target
            FROM tasks t
            WHERE t.year = card.year AND t.id <> moving
              AND ((t.column_id = card.column_id AND t.area_code = card.area_code)
                OR (t.column_id = to_column AND t.area_code = to_area))
          ), shuffled AS (
            SELECT o.id, o.shifted + CASE WHEN o.in_target AND o.shifted >= target THEN 1 ELSE 0 END AS position,
                   false AS moved
            FROM others o
            UNION ALL SELECT moving, target, true
          )
          UPDATE tasks SET
            position = shuffled.position,
            column_id = CASE WHEN shuffled.moved THEN to_column ELSE tasks.column_id END,
            area_code = CASE WHEN shuffled.moved THEN to_area ELSE tasks.area_code END,
            version = tasks.version + CASE WHEN shuffled.moved THEN 1 ELSE 0 END,
            updated_at = now()
          FROM shuffled
          WHERE tasks.id = shuffled.id AND (shuffled.moved OR shuffled.position <> tasks.position);
          INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, before, after)
          VALUES (
            card.tenant_id, actor, 'task.move', 'task', 'KP-' || card.number,
            jsonb_build_object('column', card.column_id::text, 'area', card.area_code),
            jsonb_build_object('column', to_column::text, 'area', to_area, 'position', target::text)
          );
          RETURN QUERY SELECT 'moved', target;
        END $$
        """
    )


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
