"""API tokens for integrations, checked by the database as sessions are

- `api_tokens` (tenant-owned: ENABLE + FORCE, the tenant policy with `(SELECT app_tenant())`): a token's name,
  kind (a tenant's, or a province's kept in its Sở Nội vụ), scopes, expiry, revocation, last use, and the
  SHA-256 of the token (the token itself is shown once and never stored). The application role may read and
  create tokens of its tenant, and update only `last_used_at`, `revoked_at` and `revoked_by`; a revoked token
  stays revoked (a trigger).
- `token_lookup`: a second policy, for the owner only and only while `app.checking_session` is on, so that the
  owner's SECURITY DEFINER functions below find a token by its hash before any tenant is known.
- `session_person(session_token, tenant)`: the body of 0024 plus one branch. A value that is no live session
  and begins with `pbt_` is looked up as a token: live (not revoked, not expired), its tenant active, its creator
  an active person. It names the creator when `tenant` is the token's tenant, or, for a province token, any
  tenant of the token's province (as for a province admin of its Sở Nội vụ); else NULL. `app_tenant()` and thus
  every tenant policy accept a token exactly where they name someone.
- `api_token_use(token, method, path)`: the request middleware's one statement per token request. It returns the
  live token's row, stamps `last_used_at`, and writes the audit row that names the token: one per request that
  may write (a method other than GET/HEAD/OPTIONS), and one per token and day for reads (the first read of the
  day, when `last_used_at` was on an earlier day).

A frozen snapshot: every statement is written here literally (session_person's whole body too).

Revision ID: 0025
Revises: 0026
Create Date: 2026-12-06 05:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision: str = "0025"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = "SET search_path = pg_catalog, public"

SESSION_PERSON_HEAD = f"""
CREATE OR REPLACE FUNCTION session_person(session_token text, tenant uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER {PINNED} AS $$
DECLARE
  person uuid;
  home uuid;
  platform boolean;
  caller text := current_setting('app.user_id', true);
  allowed boolean;"""

# what 0025 adds to the body of 0024: a token where no session matched
LOOKUP_DECLARE = """
  token_tenant uuid;
  token_kind text;"""
LOOKUP_BRANCH = """
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
  END IF;"""

SESSION_PERSON_BODY = """
BEGIN
  IF session_token IS NULL OR session_token = '' OR tenant IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT s.user_id, s.province_id, u.is_platform_admin INTO person, home, platform
    FROM user_sessions s JOIN users u ON u.id = s.user_id
   WHERE s.token_hash = encode(sha256(convert_to(session_token, 'UTF8')), 'hex')
     AND s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active;{token_branch}
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
END $$
"""

WITH_TOKENS = SESSION_PERSON_HEAD + LOOKUP_DECLARE + SESSION_PERSON_BODY.format(token_branch=LOOKUP_BRANCH)
WITHOUT_TOKENS = SESSION_PERSON_HEAD + SESSION_PERSON_BODY.format(token_branch="")

API_TOKEN_USE = f"""
CREATE FUNCTION api_token_use(token text, method text, path text)
RETURNS TABLE (
  id uuid, tenant_id uuid, province_id uuid, kind varchar, name varchar, scopes varchar[], created_by uuid,
  full_name varchar, email varchar
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {PINNED} AS $$
#variable_conflict use_column
DECLARE
  found_token record;
  previous text := current_setting('app.tenant_id', true);
  writes boolean := upper(method) NOT IN ('GET', 'HEAD', 'OPTIONS');
BEGIN
  IF token IS NULL OR left(token, 4) <> 'pbt_' OR length(token) > 128 THEN
    RETURN;
  END IF;
  PERFORM set_config('app.checking_session', 'on', true);
  SELECT k.id, k.tenant_id, t.province_id, k.kind, k.name, k.scopes, k.created_by, k.last_used_at,
         u.full_name, u.email
    INTO found_token
    FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id JOIN users u ON u.id = k.created_by
   WHERE k.token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex')
     AND k.revoked_at IS NULL AND k.expires_at > now() AND t.is_active AND u.is_active;
  IF NOT FOUND THEN
    PERFORM set_config('app.checking_session', '', true);
    RETURN;
  END IF;
  UPDATE api_tokens k SET last_used_at = now() WHERE k.id = found_token.id;
  PERFORM set_config('app.checking_session', '', true);
  IF writes OR found_token.last_used_at IS NULL
     OR (found_token.last_used_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
        < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date THEN
    -- the owner is trusted with the tenant setting alone (`app_tenant()`): the row lands in the token's tenant
    PERFORM set_config('app.tenant_id', found_token.tenant_id::text, true);
    INSERT INTO audit_log (tenant_id, actor, action, entity, entity_id, after)
    VALUES (found_token.tenant_id, 'token:' || found_token.name, CASE WHEN writes THEN 'api.write' ELSE 'api.read' END,
            'api-token', found_token.id::text,
            jsonb_build_object('token', found_token.name, 'method', upper(method), 'path', left(path, 512),
                               'summary', CASE WHEN writes THEN 'request' ELSE 'first read of the day' END));
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
  END IF;
  RETURN QUERY SELECT found_token.id::uuid, found_token.tenant_id::uuid, found_token.province_id::uuid,
                      found_token.kind::varchar, found_token.name::varchar, found_token.scopes::varchar[],
                      found_token.created_by::uuid, found_token.full_name::varchar, found_token.email::varchar;
END $$
"""

STAYS_REVOKED = f"""
CREATE FUNCTION api_tokens_stay_revoked() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER {PINNED} AS $$
BEGIN
  IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
    RAISE EXCEPTION 'a revoked token stays revoked' USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END $$
"""

CHECKED_TENANT = "(SELECT app_tenant())"


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    app = _app_role()
    owner = op.get_bind().execute(sa.text("SELECT current_user")).scalar_one()
    op.create_table(
        "api_tokens",
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=63)), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=320), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("kind IN ('tenant', 'province')", name=op.f("ck_api_tokens_kind")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_api_tokens_created_by_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_api_tokens_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_tenant_id"), "api_tokens", ["tenant_id"], unique=False)
    op.execute("ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON api_tokens USING (tenant_id = {CHECKED_TENANT}) "
        f"WITH CHECK (tenant_id = {CHECKED_TENANT})"
    )
    op.execute(
        f"CREATE POLICY token_lookup ON api_tokens FOR ALL TO {owner} "
        "USING (current_setting('app.checking_session', true) = 'on') "
        "WITH CHECK (current_setting('app.checking_session', true) = 'on')"
    )
    op.execute(f"GRANT SELECT, INSERT ON api_tokens TO {app}")
    op.execute(f"GRANT UPDATE (last_used_at, revoked_at, revoked_by) ON api_tokens TO {app}")
    op.execute(STAYS_REVOKED)
    op.execute(
        "CREATE TRIGGER stay_revoked BEFORE UPDATE ON api_tokens FOR EACH ROW EXECUTE FUNCTION api_tokens_stay_revoked()"
    )

    op.execute(WITH_TOKENS)
    op.execute(API_TOKEN_USE)
    op.execute("REVOKE ALL ON FUNCTION api_token_use(text, text, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION api_token_use(text, text, text) TO {app}")


def downgrade() -> None:
    op.execute("DROP FUNCTION api_token_use(text, text, text)")
    op.execute(WITHOUT_TOKENS)
    op.drop_table("api_tokens")
    op.execute("DROP FUNCTION api_tokens_stay_revoked()")
