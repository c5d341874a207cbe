"""the database checks who is asking: checked tenant policies, a jobs role, column rights, no stored ID tokens

- `session_person(session_token, tenant)`: SECURITY DEFINER, owned by the owner, `search_path` pinned. It hashes
  the raw session token (SHA-256, as the cookie's hash is stored), and returns the session's person when the
  session is live (not revoked, not expired, its person active) and that person has an active membership in
  `tenant`, or a province-level right over it (a province admin of the province's Sở Nội vụ, or a province
  reviewer of any of the province's tenants: a criterion may be assigned to another appraising agency), or is a
  platform admin; else NULL. The memberships are read under their own policy (`own_memberships`,
  `app.user_id` set for the function's duration only: the caller's value is put back before it returns).
- `app_tenant()`: what every `tenant_isolation` policy now compares with, `(SELECT app_tenant())`, once per
  statement. It returns `app.tenant_id` for the owner and the jobs' role (trusted with the setting alone), and
  for anyone else only when `session_person(app.session, app.tenant_id)` names someone; else NULL.
- The jobs' role (`parboard_jobs` embedded, DATABASE_JOBS_URL otherwise; absent, the jobs run as the owner):
  the application's table rights, without the sign-in tables (sessions, login flows, invitations).
- `grant_at_sign_in(...)`: the memberships a first sign-in grants before any session of the person exists, only
  what the province maps a claim to, or an invitation the person has just accepted.
- `users`: the application role may update a person's e-mail, name, `is_active` and `updated_at`, nothing else
  (column grants), and no role but the owner may make anyone a platform admin (a trigger, on INSERT too).
- `user_sessions`: the role may only touch `last_seen_at`, `revoked_at` and `revoked_by` (column grants), and a
  revoked session stays revoked (a trigger).
- `user_sessions.id_token` is dropped: sign-out asks the provider with `client_id` and `post_logout_redirect_uri`
  (OpenID Connect RP-Initiated Logout 1.0 allows it without `id_token_hint`).
- `board_move_as`, `board_cells_as` and `board_move_reads_as` take the session token first and refuse (42501)
  unless `session_person` names the person they act as in that tenant. The former functions become
  `*_unchecked`, executable by the owner only; the new ones run as the owner (SECURITY DEFINER).

A frozen snapshot: every statement is written here literally, nothing is imported from the application. The
role names (application, owner, jobs) come from the configuration, as in every migration.

Revision ID: 0020
Revises: 0023
Create Date: 2026-12-06 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0020"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = "SET search_path = pg_catalog, public"

SESSION_PERSON = f"""
CREATE FUNCTION session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER {PINNED} AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id, u.is_platform_admin INTO person, home, platform
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;
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
                AND EXISTS (SELECT 1 FROM tenants d WHERE d.id = tenant AND d.province_id = home)))
  );
  PERFORM set_config('app.user_id', coalesce(caller, ''), true), set_config('app.checking_session', '', true);
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


def app_tenant_sql(owner: str, jobs_role: str | None) -> str:
    """`app_tenant()`: the tenant every tenant policy compares with, once per statement (an InitPlan). It runs
    with the caller's rights, so that `current_user` is whoever runs the statement: the owner also inside the
    owner's SECURITY DEFINER functions (`grant_at_sign_in`, the board functions once they checked the session)."""
    trusted = f"'{owner}', '{jobs_role}'" if jobs_role else f"'{owner}'"
    return f"""
CREATE FUNCTION app_tenant() RETURNS uuid
LANGUAGE plpgsql STABLE {PINNED} AS $$
DECLARE
  requested uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF requested IS NULL OR current_setting('app.checking_session', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- trusted with the setting alone: the owner (migrations, `tenants sync`, imports) and the jobs' role
  IF current_user IN ({trusted}) THEN
    RETURN requested;
  END IF;
  IF session_person(current_setting('app.session', true), requested) IS NOT NULL THEN
    RETURN requested;
  END IF;
  RETURN NULL;
END $$
"""


CHECKED_TENANT = "(SELECT app_tenant())"
PLAIN_TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"

# A first sign-in grants what the province's configuration maps the person's claims to, and what invitations
# addressed to their e-mail offer: decided by the application (it holds the ID token), bounded here by the
# province's declared claim mappings and by the invitation the person has just accepted.
GRANT_AT_SIGN_IN = f"""
CREATE FUNCTION grant_at_sign_in(
  tenant uuid, person uuid, wanted_role text, unit uuid, actor text, source text
) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {PINNED} AS $$
DECLARE
  target record;
  created uuid;
  previous text := current_setting('app.tenant_id', true);
BEGIN
  SELECT t.code, p.settings INTO target
    FROM tenants t JOIN provinces p ON p.id = t.province_id
   WHERE t.id = tenant AND t.is_active;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no such tenant' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('app.tenant_id', tenant::text, true);
  IF source = 'claim' THEN
    IF NOT EXISTS (
      SELECT 1 FROM jsonb_array_elements(coalesce(target.settings -> 'identity_provider' -> 'claim_mappings', '[]'))
             AS m
       WHERE m ->> 'tenant' = target.code AND m ->> 'role' = wanted_role
    ) THEN
      RAISE EXCEPTION 'the province maps no claim to this role here' USING ERRCODE = '42501';
    END IF;
  ELSIF source = 'invitation' THEN
    IF NOT EXISTS (
      SELECT 1 FROM invitations i JOIN users u ON u.id = person
       WHERE i.tenant_id = tenant AND lower(i.email) = lower(u.email) AND i.role = wanted_role
         AND i.unit_id IS NOT DISTINCT FROM unit AND i.accepted_by = person AND i.revoked_at IS NULL
    ) THEN
      RAISE EXCEPTION 'no invitation of this person to this role' USING ERRCODE = '42501';
    END IF;
  ELSE
    RAISE EXCEPTION 'unknown source' USING ERRCODE = '42501';
  END IF;
  INSERT INTO memberships (id, tenant_id, user_id, role, unit_id)
  VALUES (gen_random_uuid(), tenant, person, wanted_role, unit)
  ON CONFLICT (tenant_id, user_id, role) DO NOTHING
  RETURNING id INTO created;
  IF created IS NOT NULL THEN
    INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, after)
    SELECT tenant, actor, 'grant', 'membership', created::text,
           jsonb_build_object('user', person::text, 'email', u.email, 'role', wanted_role, 'source', source)
      FROM users u WHERE u.id = person;
  END IF;
  PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
END $$
"""

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


def _jobs_role() -> str | None:
    """The jobs' role when it is one of its own (else the jobs run as the owner, trusted already)."""
    role = context.config.attributes.get("jobs_role")
    if not role or role == op.get_bind().execute(sa.text("SELECT current_user")).scalar_one():
        return None
    return str(role)


def _tenant_tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation' ORDER BY tablename")
    )
    return [row[0] for row in rows]


def _policies(expression: str) -> None:
    for table in _tenant_tables():
        op.execute(
            f"ALTER POLICY tenant_isolation ON {table} USING (tenant_id = {expression}) "
            f"WITH CHECK (tenant_id = {expression})"
        )


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

    jobs = _jobs_role()
    owner = op.get_bind().execute(sa.text("SELECT current_user")).scalar_one()
    op.execute(app_tenant_sql(owner, jobs))
    op.execute("REVOKE ALL ON FUNCTION app_tenant() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION app_tenant() TO {app}")
    if jobs is not None:
        op.execute(f"GRANT EXECUTE ON FUNCTION app_tenant() TO {jobs}")
    _policies(CHECKED_TENANT)
    op.execute(GRANT_AT_SIGN_IN)
    op.execute("REVOKE ALL ON FUNCTION grant_at_sign_in(uuid, uuid, text, uuid, text, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION grant_at_sign_in(uuid, uuid, text, uuid, text, text) TO {app}")
    if jobs is not None:
        _grant_jobs(app, jobs)


# Sign-in state is the web's alone: the jobs never read or write sessions, flows or people's rows.
NOT_FOR_JOBS = ("login_flows", "user_sessions", "invitations")


def _grant_jobs(app: str, jobs: str) -> None:
    """The jobs' role may do to each table what the app may (they build the app's packages and send its
    reminders), not to the sign-in tables, and nothing to any column the app may only update in part."""
    bind = op.get_bind()
    op.execute(f"GRANT USAGE ON SCHEMA public, pgqueuer TO {jobs}")
    rows = bind.execute(
        sa.text(
            "SELECT table_schema, table_name, string_agg(privilege_type, ', ') FROM information_schema.role_table_grants "
            "WHERE grantee = :app GROUP BY table_schema, table_name ORDER BY table_schema, table_name"
        ),
        {"app": app},
    )
    for schema, table, privileges in rows:
        if table not in NOT_FOR_JOBS:
            op.execute(f"GRANT {privileges} ON {schema}.{table} TO {jobs}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public, pgqueuer TO {jobs}")
    for name, signature in SIGNATURES.items():
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}(text, {signature}) TO {jobs}")


def downgrade() -> None:
    app = _app_role()
    jobs = _jobs_role()
    if jobs is not None:
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public, pgqueuer FROM {jobs}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public, pgqueuer FROM {jobs}")
        op.execute(f"REVOKE USAGE ON SCHEMA public, pgqueuer FROM {jobs}")
    op.execute("DROP FUNCTION grant_at_sign_in(uuid, uuid, text, uuid, text, text)")
    _policies(PLAIN_TENANT)
    op.execute("DROP FUNCTION app_tenant()")
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
