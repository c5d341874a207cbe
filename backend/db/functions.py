"""The database's SQL functions, one source each: `backend/db/sql/<name>.sql`, a `CREATE OR REPLACE FUNCTION`
statement under a comment that says what the function is for.

Alembic's autogenerate compares them with the database (alembic-utils `PGFunction` entities, registered by
`migrations/env.py`): after a `.sql` file changes, `alembic revision --autogenerate` writes the migration that
brings the database to it, its bodies written out literally (a migration never imports this module, so a later
change of a file never rewrites history). `tests/test_sql_functions.py` checks that the database at head has
exactly these functions, as written here. docs/database.md says how to change one.
"""

from __future__ import annotations

from pathlib import Path

from alembic_utils.pg_function import PGFunction

SQL_DIR = Path(__file__).parent / "sql"
# The owner and the jobs' role, whom `app_tenant()` trusts with the tenant alone: their names come from the
# configuration, so its source says this instead.
TRUSTED_ROLES = "{{trusted_roles}}"


def trusted_roles(owner: str, jobs_role: str | None) -> str:
    """What `TRUSTED_ROLES` stands for: the roles' names, quoted, the jobs' role only when it is one of its own."""
    roles = [owner] if not jobs_role or jobs_role == owner else [owner, jobs_role]
    return ", ".join(f"'{role}'" for role in roles)


def source(name: str) -> str:
    """A function's file, as written (its comment included)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def names() -> list[str]:
    return sorted(path.stem for path in SQL_DIR.glob("*.sql"))


def statement(name: str, owner: str, jobs_role: str | None = None) -> str:
    """A function's `CREATE OR REPLACE FUNCTION` statement for this database's roles, without its comment."""
    lines = source(name).splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("--")):
        lines.pop(0)
    return "\n".join(lines).replace(TRUSTED_ROLES, trusted_roles(owner, jobs_role))


def functions(owner: str, jobs_role: str | None = None) -> list[PGFunction]:
    """Every function of the database's public schema, as alembic-utils entities."""
    return [PGFunction.from_sql(statement(name, owner, jobs_role)) for name in names()]
