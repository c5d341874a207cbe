"""What the isolation tests share: every tenant-owned table, a valid row for each, and what a role may do."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Table, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from backend.db.models import Base

TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "tenant_id" in t.columns)
FILLED_ALTHOUGH_NULLABLE = {("task_units", "unit_id")}  # a CHECK wants a unit or a unit group
_CHOICES = re.compile(r"^\s*(\w+) IN \((.+)\)\s*$")


def _choices(table: Table) -> dict[str, object]:
    """The first value each `column IN (...)` CHECK of the table allows."""
    chosen: dict[str, object] = {}
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint) and (match := _CHOICES.match(str(constraint.sqltext))):
            first = match.group(2).split(",")[0].strip()
            chosen[match.group(1)] = first.strip("'") if first.startswith("'") else int(first)
    return chosen


def _value(column: Column[Any]) -> object:
    if isinstance(column.type, JSON):  # JSONB
        return {}
    kind = column.type.python_type
    if kind is uuid.UUID:
        return uuid.uuid4()
    if kind is str:
        length = getattr(column.type, "length", None) or 64
        return (uuid.uuid4().hex * 4)[:length]  # hex: also a valid sha256
    if kind is bool:
        return False
    if kind is int:
        return 1
    if kind is Decimal:
        return Decimal(1)
    if kind is datetime:
        return datetime.now(UTC)
    if kind is date:
        return datetime.now(UTC).date()
    if kind in (dict, list):
        return kind()
    raise AssertionError(f"no test value for {column}")


class Rows:
    """One row per (table, tenant) made as the owner, parents first; global parents once."""

    def __init__(self, owner: AsyncConnection) -> None:
        self.owner = owner
        self.made: dict[tuple[str, uuid.UUID | None], dict[str, Any]] = {}

    async def values(self, table: Table, tenant: uuid.UUID | None) -> dict[str, Any]:
        """A new row's values for `table` in `tenant`, its parents made as needed (not inserted)."""
        values: dict[str, Any] = {}
        for fk in table.foreign_key_constraints:
            local = [c.name for c in fk.columns if c.name != "tenant_id"]
            needed = any(not table.c[n].nullable or (table.name, n) in FILLED_ALTHOUGH_NULLABLE for n in local)
            if not local or not needed:
                continue
            parent_table = fk.referred_table
            owned = "tenant_id" in parent_table.c
            parent = await self.row(parent_table, tenant if owned else None)
            for column, element in zip(fk.columns, fk.elements, strict=True):
                values[column.name] = parent[element.column.name]
        choices = _choices(table)
        for column in table.columns:
            if column.name in values:
                continue
            if column.name == "tenant_id":
                values["tenant_id"] = tenant
            elif column.name in choices and not column.nullable:
                values[column.name] = choices[column.name]
            elif (
                not column.nullable
                and column.server_default is None
                and column.default is None
                and not (column.primary_key and column.autoincrement is True)
            ):
                values[column.name] = _value(column)
        return values

    async def row(self, table: Table, tenant: uuid.UUID | None) -> dict[str, Any]:
        key = (table.name, tenant)
        if key not in self.made:
            values = await self.values(table, tenant)
            await self.owner.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant) if tenant else ""}
            )
            if [c.name for c in table.primary_key.columns] == ["tenant_id"]:  # one row per tenant, maybe made
                statement = pg_insert(table).values(**values).on_conflict_do_nothing()
                await self.owner.execute(statement)
                found = await self.owner.execute(select(table).where(table.c.tenant_id == tenant))
            else:
                found = await self.owner.execute(insert(table).values(**values).returning(*table.c))
            self.made[key] = dict(found.one()._mapping)
        return self.made[key]


def where_key(table: Table, row: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    columns = [c.name for c in table.primary_key.columns]
    return " AND ".join(f"{c} = :k_{c}" for c in columns), {f"k_{c}": row[c] for c in columns}


async def role_may(engine: AsyncEngine, table: str, *privileges: str) -> bool:
    async with engine.connect() as connection:
        return all(
            [
                await connection.scalar(text("SELECT has_table_privilege(:t, :p)"), {"t": table, "p": p})
                for p in privileges
            ]
        )
