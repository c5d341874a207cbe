"""the counters are written at commit, in one order: no order of writes deadlocks on them

Migration 0034's statement triggers took a counter's row lock at the statement and held it to commit: a tenant's
`home_revisions` row, the one `home_config_revision` row (any configuration write, or a write into an archive),
beside the tenant's `board_revisions` row and the one `directory_revision` row (0009). Two transactions writing a
tenant and the configuration, or two tenants, in opposite orders waited for each other until PostgreSQL broke the
cycle (40P01, one request failed), and the one configuration row serialised every configuration writer,
`tenants sync` for its whole transaction.

Now the four triggers (same names, same tables) only note their counter in a transaction-local setting
(`note_revision_bump`: no lock) and, the first time in the transaction, insert one row into `revision_bumps` (xact:
the transaction's id). Its constraint trigger `revision_bumps`, DEFERRABLE INITIALLY DEFERRED, runs
`apply_revision_bumps()` at commit: the noted tenants' home rows by id, their board rows by id, the configuration's
row (when noted, or when a noted tenant is an archive), then the directory's row, and deletes the queued row. It
runs as the owner (SECURITY DEFINER, the owner trusted by `app_tenant()` with the tenant setting alone). The values
are those of 0034 and 0009: the writing transaction's id; the board's and the directory's, one more (once per
transaction now).

`revision_bumps` is granted INSERT to the application's and the jobs' roles; `note_revision_bump` EXECUTE to them.

A frozen snapshot: every statement is written here literally. The role names come from the configuration.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTE_REVISION_BUMP = r"""
CREATE OR REPLACE FUNCTION public.note_revision_bump(setting text, item text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  noted text;
BEGIN
  IF item IS NULL OR current_setting(setting || '_last', true) = item THEN
    RETURN;
  END IF;
  noted := coalesce(current_setting(setting, true), '');
  IF strpos(noted, item || ' ') = 0 THEN
    IF coalesce(current_setting('parboard.bumps_queued', true), '') <> 'on' THEN
      INSERT INTO revision_bumps (xact) VALUES (pg_current_xact_id()::text::bigint);
      PERFORM set_config('parboard.bumps_queued', 'on', true);
    END IF;
    PERFORM set_config(setting, noted || item || ' ', true);
  END IF;
  PERFORM set_config(setting || '_last', item, true);
END $$;
"""

APPLY_REVISION_BUMPS = r"""
CREATE OR REPLACE FUNCTION public.apply_revision_bumps()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public
AS $$
DECLARE
  this_xact bigint := pg_current_xact_id()::text::bigint;
  bound text := current_setting('app.tenant_id', true);
  homes uuid[] := string_to_array(trim(coalesce(current_setting('parboard.home_bumps', true), '')), ' ')::uuid[];
  boards uuid[] := string_to_array(trim(coalesce(current_setting('parboard.board_bumps', true), '')), ' ')::uuid[];
  config boolean := trim(coalesce(current_setting('parboard.config_bump', true), '')) = 'on';
  directory boolean := trim(coalesce(current_setting('parboard.directory_bump', true), '')) = 'on';
  tenant uuid;
BEGIN
  PERFORM set_config(list, '', true), set_config(list || '_last', '', true)
    FROM unnest(ARRAY['parboard.home_bumps', 'parboard.board_bumps', 'parboard.config_bump',
                      'parboard.directory_bump']) AS list;
  PERFORM set_config('parboard.bumps_queued', '', true);
  DELETE FROM revision_bumps WHERE xact = this_xact;
  FOR tenant IN SELECT DISTINCT t.id FROM tenants t WHERE t.id = ANY (homes) ORDER BY t.id LOOP
    PERFORM set_config('app.tenant_id', tenant::text, true);
    INSERT INTO home_revisions AS r (tenant_id, revision) VALUES (tenant, this_xact)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision;
  END LOOP;
  FOR tenant IN SELECT DISTINCT t.id FROM tenants t WHERE t.id = ANY (boards) ORDER BY t.id LOOP
    PERFORM set_config('app.tenant_id', tenant::text, true);
    INSERT INTO board_revisions AS r (tenant_id, revision) VALUES (tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = r.revision + 1;
  END LOOP;
  PERFORM set_config('app.tenant_id', coalesce(bound, ''), true);
  IF config OR EXISTS (SELECT 1 FROM tenants t WHERE t.id = ANY (homes) AND t.archived_on IS NOT NULL) THEN
    INSERT INTO home_config_revision AS r (id, revision) VALUES (1, this_xact)
    ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
  END IF;
  IF directory THEN
    UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
  END IF;
  RETURN NULL;
END $$;
"""

BUMP_HOME_REVISION = r"""
CREATE OR REPLACE FUNCTION public.bump_home_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.home_bumps', NULLIF(current_setting('app.tenant_id', true), '')::uuid::text);
  RETURN NULL;
END $$;
"""

BUMP_HOME_CONFIG_REVISION = r"""
CREATE OR REPLACE FUNCTION public.bump_home_config_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.config_bump', 'on');
  RETURN NULL;
END $$;
"""

BUMP_DIRECTORY_REVISION = r"""
CREATE OR REPLACE FUNCTION public.bump_directory_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.directory_bump', 'on');
  RETURN NULL;
END $$;
"""

BUMP_BOARD_REVISION = r"""
CREATE OR REPLACE FUNCTION public.bump_board_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM note_revision_bump('parboard.board_bumps', NULLIF(current_setting('app.tenant_id', true), '')::uuid::text);
  RETURN NULL;
END $$;
"""

# as migrations 0034 (home, configuration) and 0009 (board, directory) left them
BUMP_HOME_REVISION_0034 = r"""
CREATE OR REPLACE FUNCTION public.bump_home_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  current_tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS NOT NULL THEN
    INSERT INTO home_revisions AS r (tenant_id, revision) VALUES (current_tenant, pg_current_xact_id()::text::bigint)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = excluded.revision;
    IF EXISTS (SELECT 1 FROM tenants t WHERE t.id = current_tenant AND t.archived_on IS NOT NULL) THEN
      INSERT INTO home_config_revision AS r (id, revision) VALUES (1, pg_current_xact_id()::text::bigint)
      ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
    END IF;
  END IF;
  RETURN NULL;
END $$;
"""

BUMP_HOME_CONFIG_REVISION_0034 = r"""
CREATE OR REPLACE FUNCTION public.bump_home_config_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO home_config_revision AS r (id, revision) VALUES (1, pg_current_xact_id()::text::bigint)
  ON CONFLICT (id) DO UPDATE SET revision = excluded.revision;
  RETURN NULL;
END $$;
"""

BUMP_DIRECTORY_REVISION_0009 = r"""
CREATE OR REPLACE FUNCTION public.bump_directory_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  UPDATE directory_revision SET revision = revision + 1 WHERE id = 1;
  RETURN NULL;
END $$;
"""

BUMP_BOARD_REVISION_0009 = r"""
CREATE OR REPLACE FUNCTION public.bump_board_revision()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  current_tenant uuid := NULLIF(current_setting('app.tenant_id', true), '')::uuid;
BEGIN
  IF current_tenant IS NOT NULL THEN
    INSERT INTO board_revisions AS r (tenant_id, revision) VALUES (current_tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET revision = r.revision + 1;
  END IF;
  RETURN NULL;
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
    op.create_table(
        "revision_bumps",
        sa.Column("xact", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("xact", name=op.f("pk_revision_bumps")),
    )
    op.execute(NOTE_REVISION_BUMP)
    op.execute("REVOKE ALL ON FUNCTION note_revision_bump(text, text) FROM PUBLIC")
    op.execute(APPLY_REVISION_BUMPS)
    op.execute("REVOKE ALL ON FUNCTION apply_revision_bumps() FROM PUBLIC")
    for role in _roles():
        op.execute(f"GRANT INSERT ON revision_bumps TO {role}")
        op.execute(f"GRANT EXECUTE ON FUNCTION note_revision_bump(text, text) TO {role}")
    op.execute(
        "CREATE CONSTRAINT TRIGGER revision_bumps AFTER INSERT ON public.revision_bumps DEFERRABLE INITIALLY DEFERRED "
        "FOR EACH ROW EXECUTE FUNCTION apply_revision_bumps()"
    )
    op.execute(BUMP_HOME_REVISION)
    op.execute(BUMP_HOME_CONFIG_REVISION)
    op.execute(BUMP_BOARD_REVISION)
    op.execute(BUMP_DIRECTORY_REVISION)


def downgrade() -> None:
    op.execute(BUMP_DIRECTORY_REVISION_0009)
    op.execute(BUMP_BOARD_REVISION_0009)
    op.execute(BUMP_HOME_CONFIG_REVISION_0034)
    op.execute(BUMP_HOME_REVISION_0034)
    op.execute("DROP TRIGGER revision_bumps ON public.revision_bumps")
    op.execute("DROP FUNCTION apply_revision_bumps()")
    op.execute("DROP FUNCTION note_revision_bump(text, text)")
    op.drop_table("revision_bumps")
