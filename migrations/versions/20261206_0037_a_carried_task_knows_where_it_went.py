"""a task carried over from a predecessor knows where it went: `carried_tasks`

Carrying a predecessor's open tasks over (tenants/lineage.yaml, one action of the successor) recorded which task
became which only in the successor's audit log, which the archive's people do not read: the archive's board could
not say that a task had been carried over, nor the successor's cards where theirs came from.

- `carried_tasks`: one row per task carried over, owned by the successor (`tenant_id`, the task it became, its
  number there), naming the archive (`predecessor_id`), the archive's task and its number, the archive as the
  successor's cards name it (`source_label`), who carried it and when. Row-level security enabled and forced with
  the tenant's policy and the province's reading, as every tenant table, and one more, `predecessor_reading`:
  SELECT only, the rows whose `predecessor_id` is the tenant the statement is bound to (`app_tenant()`, which
  checks the session's person may read it: its own people, its successors' people, its province's reviewers), so
  the archive's board reads where its tasks went without reading the successor's tasks. Granted SELECT, INSERT to
  the application (a link is history: never updated), SELECT to the jobs' role.
- The triggers `a_home_revision` and `board_revision` on it, as on every table the home and the board show.
- `board_cells_as` answers, for each card, the predecessor's name and the task's number there (a move's answer
  shows "Chuyển từ …" as the board does); dropped and made again (its result has two more columns), with the same
  grants.
- The carry-overs made before are written from the audit log (`lineage.carry_over`, `after.tasks`: KP-numbers).

A frozen snapshot: every statement is written here literally. The role names come from the configuration.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIGNATURE = "board_cells_as(text, uuid, uuid, integer, uuid, character varying, uuid, character varying)"

BOARD_CELLS_AS = r"""
CREATE FUNCTION public.board_cells_as(session_token text, tenant uuid, person uuid, board_year integer, c0 uuid, a0 character varying, c1 uuid, a1 character varying)
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
"""

BOARD_CELLS_AS_0032 = r"""
CREATE FUNCTION public.board_cells_as(session_token text, tenant uuid, person uuid, board_year integer, c0 uuid, a0 character varying, c1 uuid, a1 character varying)
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

# Each carry-over of the audit log, task by task: bound to the successor to find the task it became, to the
# archive to find the task it came from (row-level security binds the owner too), then to the successor to write.
BACKFILL = r"""
DO $$
DECLARE
  entry record;
  moved jsonb;
  successor uuid;
  predecessor uuid;
  new_task uuid;
  old_task uuid;
  label text;
BEGIN
  FOR successor IN SELECT t.id FROM tenants t ORDER BY t.id LOOP
    PERFORM set_config('app.tenant_id', successor::text, true);
    FOR entry IN
      SELECT a.entity_id, a.actor, a.at, a.after
        FROM audit_log a
       WHERE a.tenant_id = successor AND a.action = 'lineage.carry_over'
       ORDER BY a.at, a.id
    LOOP
      predecessor := entry.entity_id::uuid;
      SELECT p.name || CASE WHEN p.province_id = s.province_id THEN '' ELSE ' (' || v.name || ')' END
        INTO label
        FROM tenants p JOIN provinces v ON v.id = p.province_id JOIN tenants s ON s.id = successor
       WHERE p.id = predecessor;
      FOR moved IN SELECT jsonb_array_elements(coalesce(entry.after -> 'tasks', '[]'::jsonb)) LOOP
        PERFORM set_config('app.tenant_id', successor::text, true);
        SELECT t.id INTO new_task FROM tasks t
         WHERE t.tenant_id = successor AND t.number = substr(moved ->> 'to', 4)::integer;
        PERFORM set_config('app.tenant_id', predecessor::text, true);
        SELECT t.id INTO old_task FROM tasks t
         WHERE t.tenant_id = predecessor AND t.number = substr(moved ->> 'from', 4)::integer;
        PERFORM set_config('app.tenant_id', successor::text, true);
        IF new_task IS NOT NULL AND old_task IS NOT NULL THEN
          INSERT INTO carried_tasks (id, tenant_id, task_id, number, predecessor_id, source_task_id, source_number,
                                     source_label, carried_by, carried_at)
          SELECT gen_random_uuid(), successor, new_task, substr(moved ->> 'to', 4)::integer, predecessor, old_task,
                 substr(moved ->> 'from', 4)::integer, label,
                 (SELECT u.id FROM users u WHERE 'user:' || u.id::text = entry.actor), entry.at
          ON CONFLICT DO NOTHING;
        END IF;
      END LOOP;
    END LOOP;
  END LOOP;
  PERFORM set_config('app.tenant_id', '', true);
END $$
"""


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def _jobs_role() -> str | None:
    """The jobs' role when it is one of its own (else the jobs run as the owner, trusted already)."""
    role = context.config.attributes.get("jobs_role")
    if not role or role == op.get_bind().execute(sa.text("SELECT current_user")).scalar_one():
        return None
    return str(role)


def _board_cells_as(body: str) -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
    op.execute(body)
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {_app_role()}")


def upgrade() -> None:
    op.create_table(
        "carried_tasks",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("predecessor_id", sa.Uuid(), nullable=False),
        sa.Column("source_task_id", sa.Uuid(), nullable=False),
        sa.Column("source_number", sa.Integer(), nullable=False),
        sa.Column("source_label", sa.String(length=255), nullable=False),
        sa.Column("carried_by", sa.Uuid(), nullable=True),
        sa.Column("carried_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["carried_by"], ["users.id"], name=op.f("fk_carried_tasks_carried_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["predecessor_id", "source_task_id"],
            ["tasks.tenant_id", "tasks.id"],
            name=op.f("fk_carried_tasks_predecessor_id_source_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "task_id"],
            ["tasks.tenant_id", "tasks.id"],
            name=op.f("fk_carried_tasks_tenant_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_carried_tasks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carried_tasks")),
        sa.UniqueConstraint("tenant_id", "source_task_id", name=op.f("uq_carried_tasks_tenant_id_source_task_id")),
        sa.UniqueConstraint("tenant_id", "task_id", name=op.f("uq_carried_tasks_tenant_id_task_id")),
    )
    op.create_index("ix_carried_tasks_predecessor", "carried_tasks", ["predecessor_id", "source_task_id"])
    op.create_index(op.f("ix_carried_tasks_tenant_id"), "carried_tasks", ["tenant_id"])
    op.execute("ALTER TABLE carried_tasks ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE carried_tasks FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tenant_isolation ON carried_tasks USING (tenant_id = (SELECT app_tenant())) "
        "WITH CHECK (tenant_id = (SELECT app_tenant()))"
    )
    op.execute(
        "CREATE POLICY province_reading ON carried_tasks FOR SELECT "
        "USING (tenant_id = ANY ((SELECT app_province_tenants())::uuid[]))"
    )
    op.execute(
        "CREATE POLICY predecessor_reading ON carried_tasks FOR SELECT USING (predecessor_id = (SELECT app_tenant()))"
    )
    op.execute(f"GRANT SELECT, INSERT ON carried_tasks TO {_app_role()}")
    jobs = _jobs_role()
    if jobs is not None:
        op.execute(f"GRANT SELECT ON carried_tasks TO {jobs}")
    op.execute(
        "CREATE TRIGGER a_home_revision AFTER INSERT OR DELETE OR UPDATE ON public.carried_tasks FOR EACH STATEMENT "
        "EXECUTE FUNCTION bump_home_revision()"
    )
    op.execute(
        "CREATE TRIGGER board_revision AFTER INSERT OR DELETE OR UPDATE ON public.carried_tasks FOR EACH STATEMENT "
        "EXECUTE FUNCTION bump_board_revision()"
    )
    _board_cells_as(BOARD_CELLS_AS)
    op.execute(BACKFILL)


def downgrade() -> None:
    _board_cells_as(BOARD_CELLS_AS_0032)
    op.drop_table("carried_tasks")
