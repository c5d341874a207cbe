"""The database's SQL functions and triggers, one source each: `backend/db/sql/<name>.sql`, a
`CREATE OR REPLACE FUNCTION` statement under a comment that says what the function is for; a trigger function's file
goes on with the `CREATE TRIGGER` (or `CREATE CONSTRAINT TRIGGER`) statements that call it, one line-opening
statement each. A function of
another schema than public is named with it (`pgqueuer.fn_pgqueuer_changed.sql`).

Alembic's autogenerate compares them with the database (alembic-utils `PGFunction` entities, registered by
`migrations/env.py`): after a `.sql` file changes, `alembic revision --autogenerate` writes the migration that
brings the database to it, its bodies written out literally (a migration never imports this module, so a later
change of a file never rewrites history). `tests/test_sql_functions.py` checks that the database at head has
exactly these functions and triggers, as written here. docs/database.md says how to change one.
"""

from __future__ import annotations

from pathlib import Path

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import ReplaceableEntity

SQL_DIR = Path(__file__).parent / "sql"
# The owner and the jobs' role, whom `app_tenant()` trusts with the tenant alone: their names come from the
# configuration, so its source says this instead.
TRUSTED_ROLES = "{{trusted_roles}}"
# How a line opens a trigger's statement in a function's file (a constraint trigger is one that may be deferred).
TRIGGER_OPENINGS = ("CREATE TRIGGER ", "CREATE CONSTRAINT TRIGGER ")


def trusted_roles(owner: str, jobs_role: str | None) -> str:
    """What `TRUSTED_ROLES` stands for: the roles' names, quoted, the jobs' role only when it is one of its own."""
    roles = [owner] if not jobs_role or jobs_role == owner else [owner, jobs_role]
    return ", ".join(f"'{role}'" for role in roles)


def source(name: str) -> str:
    """A function's file, as written (its comment included)."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def names() -> list[str]:
    return sorted(path.stem for path in SQL_DIR.glob("*.sql"))


def qualified(name: str) -> str:
    """The function's name with its schema (public unless the file names another)."""
    return name if "." in name else f"public.{name}"


def _statements(name: str) -> list[str]:
    """The file's statements without their comments: the function's, then its triggers' (without the `;`)."""
    chunks: list[list[str]] = [[]]
    for line in source(name).splitlines():
        if line.startswith(TRIGGER_OPENINGS):
            chunks.append([])
        chunks[-1].append(line)
    statements = []
    for lines in chunks:
        while lines and (not lines[0].strip() or lines[0].startswith("--")):
            lines.pop(0)
        while lines and (not lines[-1].strip() or lines[-1].startswith("--")):
            lines.pop()
        statements.append("\n".join(lines))
    return statements[:1] + [trigger.removesuffix(";") for trigger in statements[1:]]


def statement(name: str, owner: str, jobs_role: str | None = None) -> str:
    """A function's `CREATE OR REPLACE FUNCTION` statement for this database's roles, without its comment."""
    return _statements(name)[0].replace(TRUSTED_ROLES, trusted_roles(owner, jobs_role))


def trigger_statements(name: str) -> list[str]:
    """The `CREATE [CONSTRAINT] TRIGGER` statements of a trigger function's file (none for another function)."""
    return _statements(name)[1:]


def functions(owner: str, jobs_role: str | None = None) -> list[PGFunction]:
    """Every function the owner made, as alembic-utils entities."""
    return [PGFunction.from_sql(statement(name, owner, jobs_role)) for name in names()]


def triggers() -> list[PGTrigger]:
    """Every trigger of the database, as alembic-utils entities."""
    return [PGTrigger.from_sql(trigger) for name in names() for trigger in trigger_statements(name)]


def entities(owner: str, jobs_role: str | None = None) -> list[ReplaceableEntity]:
    """The functions, then the triggers that call them, for autogenerate (migrations/env.py)."""
    return [*functions(owner, jobs_role), *triggers()]
