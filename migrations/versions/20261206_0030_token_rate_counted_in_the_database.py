"""the rate limit of an API token holds across processes and servers: counted in its row, in the token check

The limit (`PARBOARD_API_TOKEN_RATE_PER_MINUTE`) was counted in each server process's memory: with several workers
or servers a token got that many times its limit. Now the database counts, in the statement every token request
already runs:

- `api_tokens.rate_minute`, `api_tokens.rate_count`: the minute a token was last used in and its requests in that
  minute (a fixed window). Written only by `api_token_use` (the owner's SECURITY DEFINER function); the
  application role gains no right on them.
- `api_token_use(token, method, path, per_minute)`: as in 0025, and it counts the request in the token's minute
  under the row's lock (the `UPDATE` that stamped `last_used_at` alone before), so concurrent requests of one token
  on any connection count one after another. It returns the count and the end of the minute; a request beyond
  `per_minute` (NULL: no limit) is not audited, the application refuses it with 429. The three-argument function
  is dropped (its result type changes).

A frozen snapshot: every statement is written here literally.

Revision ID: 0030
Revises: 0031
Create Date: 2026-12-06 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0030"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINNED = "SET search_path = pg_catalog, public"

COUNTING = f"""
CREATE FUNCTION api_token_use(token text, method text, path text, per_minute integer)
RETURNS TABLE (
  id uuid, tenant_id uuid, province_id uuid, kind varchar, name varchar, scopes varchar[], created_by uuid,
  full_name varchar, email varchar, minute_count integer, minute_ends timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER {PINNED} AS $$
#variable_conflict use_column
DECLARE
  found_token record;
  previous text := current_setting('app.tenant_id', true);
  writes boolean := upper(method) NOT IN ('GET', 'HEAD', 'OPTIONS');
  this_minute timestamptz := date_trunc('minute', now());
  counted integer;
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
  -- the row lock orders concurrent requests of one token: each counts on the count the one before left
  UPDATE api_tokens k
     SET last_used_at = now(),
         rate_minute = this_minute,
         rate_count = CASE WHEN k.rate_minute = this_minute THEN k.rate_count + 1 ELSE 1 END
   WHERE k.id = found_token.id
  RETURNING k.rate_count INTO counted;
  PERFORM set_config('app.checking_session', '', true);
  IF (per_minute IS NULL OR counted <= per_minute)
     AND (writes OR found_token.last_used_at IS NULL
          OR (found_token.last_used_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
             < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) THEN
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
                      found_token.created_by::uuid, found_token.full_name::varchar, found_token.email::varchar,
                      counted, this_minute + interval '1 minute';
END $$
"""

# 0025's function, for the way down
UNCOUNTED = f"""
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


def _app_role() -> str:
    return str(context.config.attributes["app_role"])


def upgrade() -> None:
    app = _app_role()
    op.add_column("api_tokens", sa.Column("rate_minute", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_tokens", sa.Column("rate_count", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.execute("DROP FUNCTION api_token_use(text, text, text)")
    op.execute(COUNTING)
    op.execute("REVOKE ALL ON FUNCTION api_token_use(text, text, text, integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION api_token_use(text, text, text, integer) TO {app}")


def downgrade() -> None:
    app = _app_role()
    op.execute("DROP FUNCTION api_token_use(text, text, text, integer)")
    op.execute(UNCOUNTED)
    op.execute("REVOKE ALL ON FUNCTION api_token_use(text, text, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION api_token_use(text, text, text) TO {app}")
    op.drop_column("api_tokens", "rate_count")
    op.drop_column("api_tokens", "rate_minute")
