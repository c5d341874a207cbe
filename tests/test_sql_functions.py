"""Every SQL function and trigger has one source, `backend/db/sql/<name>.sql`, and the database at head is exactly
those sources (a trigger function's file carries its `CREATE TRIGGER` statements after the function).

alembic-utils decides as `alembic revision --autogenerate` does: it creates the source's function in a savepoint,
reads back PostgreSQL's definition, and compares it with the one the migrations left (whitespace aside).
"""

from __future__ import annotations

from typing import Any

from alembic_utils.pg_function import PGFunction
from alembic_utils.pg_trigger import PGTrigger
from alembic_utils.replaceable_entity import ReplaceableEntity
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from backend.db import functions
from backend.db.runtime import DatabaseUrls

# the functions the owner made in any schema (those of extensions excepted), with their arguments
_OWNED = text(
    """
    SELECT p.pronamespace::regnamespace::text || '.' || p.proname
           || '(' || pg_get_function_identity_arguments(p.oid) || ')'
      FROM pg_proc p
     WHERE p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1
    """
)
_IDENTITY = text("SELECT :name || '(' || pg_get_function_identity_arguments(CAST(:signature AS regprocedure)) || ')'")
# every trigger of the database (not those PostgreSQL makes for foreign keys): its table and name
_TRIGGERS = text(
    """
    SELECT c.relnamespace::regnamespace::text || '.' || c.relname || ' ' || t.tgname
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE NOT t.tgisinternal
     ORDER BY 1
    """
)


def _sources(connection: Connection, urls: DatabaseUrls) -> list[PGFunction]:
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    return functions.functions(owner, urls.jobs_role)


def _name(entity: ReplaceableEntity) -> str:
    """A function by its name, a trigger by its table and name."""
    if isinstance(entity, PGTrigger):
        return f"{entity.on_entity} {entity.signature}"
    return f"{entity.schema}.{entity.signature.split('(')[0]}"


def _differences(connection: Connection, urls: DatabaseUrls) -> dict[str, Any]:
    """The migration operation autogenerate would write for each source (None: the database has it as written)."""
    differences = {}
    owner = connection.execute(text("SELECT current_user")).scalar_one()
    for entity in functions.entities(owner, urls.jobs_role):
        session = Session(bind=connection)
        try:
            operation = entity.get_required_migration_op(session, dependencies=[])
        finally:
            session.rollback()
        differences[_name(entity)] = type(operation).__name__ if operation else None
    return differences


async def test_the_database_at_head_has_every_function_as_its_source_writes_it(
    database: DatabaseUrls, owner_engine: AsyncEngine
) -> None:
    async with owner_engine.connect() as connection:
        differences = await connection.run_sync(_differences, database)
    assert differences == dict.fromkeys(
        [functions.qualified(name) for name in functions.names()] + [_name(t) for t in functions.triggers()]
    )


async def test_every_function_of_the_owner_has_a_source(database: DatabaseUrls, owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        owned = list((await connection.execute(_OWNED)).scalars())
        sources = await connection.run_sync(_sources, database)
        written = []
        for entity in sources:
            # the source's argument types (every argument is named), as PostgreSQL names them
            name, _, arguments = entity.signature.partition("(")
            types = ", ".join(
                argument.split(maxsplit=1)[1] for argument in arguments.rstrip(")").split(",") if argument.strip()
            )
            signature = f"{entity.schema}.{name}({types})"
            qualified = f"{entity.schema}.{name}"
            written.append(await connection.scalar(_IDENTITY, {"name": qualified, "signature": signature}))
    assert owned == sorted(written)


async def test_every_trigger_has_a_source_beside_the_function_it_executes(owner_engine: AsyncEngine) -> None:
    async with owner_engine.connect() as connection:
        triggers = list((await connection.execute(_TRIGGERS)).scalars())
    assert triggers == sorted(_name(trigger) for trigger in functions.triggers())
    for name in functions.names():
        for trigger in functions.trigger_statements(name):
            assert trigger.startswith(functions.TRIGGER_OPENINGS), name
            assert trigger.endswith(f"EXECUTE FUNCTION {name}()"), (name, trigger)


def test_a_source_is_one_create_or_replace_function_named_as_its_file() -> None:
    for name in functions.names():
        statement = functions.statement(name, "parboard_owner", "parboard_jobs")
        assert statement.startswith(f"CREATE OR REPLACE FUNCTION {functions.qualified(name)}("), name
        assert not any(opening.strip() in statement for opening in functions.TRIGGER_OPENINGS), name
        assert statement.count("CREATE OR REPLACE FUNCTION") == 1, name
        assert functions.TRUSTED_ROLES not in statement
    assert "current_user IN ('parboard_owner', 'parboard_jobs')" in functions.statement(
        "app_tenant", "parboard_owner", "parboard_jobs"
    )
    assert "current_user IN ('parboard_owner')" in functions.statement("app_tenant", "parboard_owner", "parboard_owner")
