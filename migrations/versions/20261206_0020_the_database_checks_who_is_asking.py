"""the database checks who is asking: column rights, no stored ID tokens, checked cross-tenant functions

- `users`: the application role may update a person's e-mail, name, `is_active` and `updated_at`, nothing else
  (column grants), and neither it nor any other role but the owner may make anyone a platform admin (a trigger,
  on INSERT too: the role inserts people at their first sign-in).
- `user_sessions`: the role may only touch `last_seen_at`, `revoked_at` and `revoked_by` (column grants), and a
  revoked session stays revoked (a trigger: `revoked_at` never goes back, whoever asks but the owner).
- `user_sessions.id_token` is dropped: sign-out asks the provider with `client_id` and `post_logout_redirect_uri`
  (OpenID Connect RP-Initiated Logout 1.0 allows it without `id_token_hint`).
- `session_person(session_token, tenant)`: SECURITY DEFINER, owned by the owner, `search_path` pinned. It hashes
  the raw session token (SHA-256, as the cookie's hash is stored), and returns the session's person when the
  session is live (not revoked, not expired, its person active) and that person has an active membership in
  `tenant`, or a province-level right over it (province admin or reviewer in a Sở Nội vụ of the same province);
  else NULL. The memberships are read under their own policy (`own_memberships`, `app.user_id` set for the
  function's duration only: the caller's value is put back before it returns).
- `board_move_as`, `board_cells_as` and `board_move_reads_as` take the session token first and refuse (42501)
  unless `session_person` names the person they act as in that tenant: a tenant id and a person id are no
  longer enough. The former functions become `*_unchecked`, executable by the owner only; the new ones run as
  the owner (SECURITY DEFINER) under the same row-level security (FORCE binds the owner too).

A frozen snapshot: every statement is written here literally, nothing is imported from the application.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = "SET search_path = pg_catalog, public"

SESSION_PERSON = f"""
CREATE FUNCTION session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER {PINNED} AS $$
DECLARE
  person uuid;
  home uuid;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id INTO person, home
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- the person's own memberships, under `own_memberships`; the caller's setting is given back below
  PERFORM set_config('app.user_id', person::text, true);
  allowed := EXISTS (
    SELECT 1
      FROM memberships m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.user_id = person AND m.is_active AND t.is_active AND t.province_id = home
       AND (m.tenant_id = tenant
            OR (t.kind = 'home_affairs' AND m.role IN ('province_admin', 'province_reviewer')
                AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)))
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true);
  RETURN CASE WHEN allowed THEN person END;
END $$
"""

REFUSE = """
  IF session_person(session_token, tenant) IS DISTINCT FROM person THEN
    RAISE EXCEPTION 'no live session of this person in this tenant' USING ERRCODE = '42501';
  END IF;
"""

CHECKED = {
    "board_move_as": (
        "tenant uuid, person uuid, lock_key text, moving uuid, expected integer, to_column uuid, to_area varchar, "
        "place text, anchor uuid, wip_limit integer, actor varchar",
        "tenant, person, lock_key, moving, expected, to_column, to_area, place, anchor, wip_limit, actor",
        "TABLE (outcome text, placed integer)",
    ),
    "board_cells_as": (
        "tenant uuid, person uuid, board_year integer, c0 uuid, a0 varchar, c1 uuid, a1 varchar",
        "tenant, person, board_year, c0, a0, c1, a1",
        """TABLE (
          id uuid, number integer, version integer, "position" integer, column_id uuid, area_code text,
          criterion_code text, kind text, title text, due_date date, deadline_text text, points_lost numeric,
          lead_unit_id uuid, lead_unit text, assignees text[], evidence bigint,
          counted_columns uuid[], counts bigint[]
        )""",
    ),
    "board_move_reads_as": (
        "tenant uuid, person uuid, province uuid, board_year integer, moving uuid",
        "tenant, person, province, board_year, moving",
        """TABLE (
          lane_codes text[], lane_titles text[],
          column_ids uuid[], column_codes text[], column_names text[], column_positions integer[],
          column_wip_limits integer[], column_done boolean[], column_confirmation boolean[],
          id uuid, number integer, version integer, year integer, column_id uuid, area_code text,
          "position" integer, criterion_code text, lead_unit_id uuid, coordinating uuid[]
        )""",
    ),
}
SIGNATURES = {
    "board_move_as": "uuid, uuid, text, uuid, integer, uuid, varchar, text, uuid, integer, varchar",
    "board_cells_as": "uuid, uuid, integer, uuid, varchar, uuid, varchar",
    "board_move_reads_as": "uuid, uuid, uuid, integer, uuid",
}

NO_PLATFORM_ADMIN = """
CREATE FUNCTION users_keep_platform_rights() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  -- inside a SECURITY DEFINER function current_user is the owner: only a caller signed in as the owner passes
  IF session_user <> current_user
     AND NEW.is_platform_admin IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.is_platform_admin ELSE false END)
  THEN
    RAISE EXCEPTION 'platform rights are granted by the owner only' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$
"""

STAYS_REVOKED = """
CREATE FUNCTION user_sessions_stay_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF session_user <> current_user AND OLD.revoked_at IS NOT NULL
     AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
    RAISE EXCEPTION 'a revoked session stays revoked' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$
"""


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    app = _app_role()

    op.execute(f"REVOKE UPDATE ON users FROM {app}")
    op.execute(f"GRANT UPDATE (email, full_name, is_active, updated_at) ON users TO {app}")
    op.execute(NO_PLATFORM_ADMIN)
    op.execute(
        "CREATE TRIGGER keep_platform_rights BEFORE INSERT OR UPDATE ON users "
        "FOR EACH ROW EXECUTE FUNCTION users_keep_platform_rights()"
    )

    op.execute(f"REVOKE UPDATE ON user_sessions FROM {app}")
    op.execute(f"GRANT UPDATE (last_seen_at, revoked_at, revoked_by) ON user_sessions TO {app}")
    op.execute(STAYS_REVOKED)
    op.execute(
        "CREATE TRIGGER stay_revoked BEFORE UPDATE ON user_sessions "
        "FOR EACH ROW EXECUTE FUNCTION user_sessions_stay_revoked()"
    )
    op.drop_column("user_sessions", "id_token")

    op.execute(SESSION_PERSON)
    op.execute("REVOKE ALL ON FUNCTION session_person(text, uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION session_person(text, uuid) TO {app}")
    for name, (parameters, arguments, returns) in CHECKED.items():
        signature = SIGNATURES[name]
        op.execute(f"ALTER FUNCTION {name}({signature}) RENAME TO {name}_unchecked")
        op.execute(f"REVOKE ALL ON FUNCTION {name}_unchecked({signature}) FROM PUBLIC")
        op.execute(
            f"""
            CREATE FUNCTION {name}(session_token text, {parameters}) RETURNS {returns}
            LANGUAGE plpgsql VOLATILE SECURITY DEFINER {PINNED} AS $$
            BEGIN
              {REFUSE}
              RETURN QUERY SELECT * FROM {name}_unchecked({arguments});
            END $$
            """
        )
        op.execute(f"REVOKE ALL ON FUNCTION {name}(text, {signature}) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}(text, {signature}) TO {app}")


def downgrade() -> None:
    app = _app_role()
    for name in CHECKED:
        signature = SIGNATURES[name]
        op.execute(f"DROP FUNCTION {name}(text, {signature})")
        op.execute(f"ALTER FUNCTION {name}_unchecked({signature}) RENAME TO {name}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}({signature}) TO PUBLIC")
    op.execute("DROP FUNCTION session_person(text, uuid)")

    op.add_column("user_sessions", sa.Column("id_token", sa.Text(), nullable=True))
    op.execute("DROP TRIGGER stay_revoked ON user_sessions")
    op.execute("DROP FUNCTION user_sessions_stay_revoked()")
    op.execute(f"REVOKE UPDATE (last_seen_at, revoked_at, revoked_by) ON user_sessions FROM {app}")
    op.execute(f"GRANT UPDATE ON user_sessions TO {app}")

    op.execute("DROP TRIGGER keep_platform_rights ON users")
    op.execute("DROP FUNCTION users_keep_platform_rights()")
    op.execute(f"REVOKE UPDATE (email, full_name, is_active, updated_at) ON users FROM {app}")
    op.execute(f"GRANT UPDATE ON users TO {app}")
