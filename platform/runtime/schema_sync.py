"""Schema sync: turn definitions into real tables, columns and indexes.

``plan`` compares the definitions (old and new) and the live database and
lists the steps; ``apply`` runs them inside the caller's transaction. Adding
a column never rewrites a table (nullable, no default, on both databases).
A change that could lose or truncate data is refused with the number of rows
it would hurt; a safe widening is applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from trellis.metadata import Definitions, FieldDef, ObjectDef
from trellis.metadata.names import table_name
from trellis.runtime.errors import Invalid
from trellis.runtime.tables import build_table

_SAME_STORAGE = {
    frozenset({"text", "long_text"}),
    frozenset({"decimal", "currency", "percent"}),
    frozenset({"text", "email", "url", "phone"}),
    frozenset({"picklist", "text"}),
}


@dataclass
class Step:
    """One change to the database; ``sql`` is empty for metadata-only steps."""

    action: str
    table: str
    target: str
    sql: list[str] = field(default_factory=list)
    rows_affected: int = 0

    def describe(self) -> str:
        text = (
            f"{self.action:15} {self.table}.{self.target}"
            if self.target
            else f"{self.action:15} {self.table}"
        )
        return text + (f"  ({self.rows_affected} rows)" if self.rows_affected else "")


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.steps)

    def as_json(self) -> list[dict]:
        return [
            {
                "action": s.action,
                "table": s.table,
                "target": s.target,
                "sql": s.sql,
                "rows_affected": s.rows_affected,
            }
            for s in self.steps
        ]


def plan(
    conn: sa.Connection,
    old: Definitions | None,
    new: Definitions,
    tables: Mapping[str, sa.Table] | None = None,
) -> Plan:
    """The steps that bring the database in line with ``new``; raises Invalid when refused.

    ``tables``: the objects' tables already built from ``new`` (the compiled metadata's),
    so a change does not build every table twice.
    """
    catalog = _catalog(conn)
    result = Plan()
    refusals: list[dict] = []
    for obj in new.objects.values():
        table = (tables or {}).get(obj.api_name)
        if table is None:
            table = build_table(obj, sa.MetaData())
        if table.name not in catalog.columns:
            result.steps.append(Step("create_table", table.name, "", _create_sql(conn, table)))
            continue
        before = old.objects.get(obj.api_name) if old else None
        _plan_object(conn, catalog, obj, before, table, result, refusals)
    if refusals:
        raise Invalid("this change would lose or truncate data, so nothing was changed", refusals)
    return result


def _create_sql(conn, table: sa.Table) -> list[str]:
    sql = [str(CreateTable(table).compile(dialect=conn.dialect)).strip()]
    sql += [str(CreateIndex(ix).compile(dialect=conn.dialect)) for ix in table.indexes]
    return sql


@dataclass
class _Catalog:
    """Per existing table: its column names and index names."""

    columns: dict[str, set[str]]
    indexes: dict[str, set[str]]


def _catalog(conn: sa.Connection) -> _Catalog:
    """What the database holds, read in two catalog queries for all tables on PostgreSQL
    (one per table and kind would be about fifty round trips per metadata change)."""
    inspector = sa.inspect(conn)
    columns = {
        name: {c["name"] for c in found}
        for (_schema, name), found in inspector.get_multi_columns().items()
    }
    indexes = {
        name: {ix["name"] for ix in found}
        for (_schema, name), found in inspector.get_multi_indexes().items()
    }
    return _Catalog(columns, indexes)


def _plan_object(
    conn,
    catalog: _Catalog,
    obj: ObjectDef,
    before: ObjectDef | None,
    table: sa.Table,
    result: Plan,
    refusals: list,
) -> None:
    columns = catalog.columns[table.name]
    if obj.archived and before is not None and not before.archived:
        result.steps.append(
            Step("archive_table", table.name, "", rows_affected=_count(conn, table))
        )
    for column in table.columns:
        if column.name not in columns:
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            field = obj.by_name.get(column.name)
            # A new formula or roll-up is computed for every existing row.
            computed = field is not None and field.type in ("formula", "rollup")
            result.steps.append(
                Step(
                    "add_column",
                    table.name,
                    column.name,
                    [f"ALTER TABLE {table.name} ADD COLUMN {ddl}"],
                    rows_affected=_count(conn, table) if computed else 0,
                )
            )
    if before is not None:
        for f in obj.fields:
            old = before.by_name.get(f.api_name)
            if old is not None and not f.system:
                _plan_field(conn, table, old, f, result, refusals)
    have = catalog.indexes.get(table.name, set())
    for index in table.indexes:
        if index.name not in have:
            # A column added by this plan holds no values yet: nothing to find duplicates in.
            new_column = any(c.name not in columns for c in index.columns)
            _plan_index(conn, table, index, result, refusals, new_column=new_column)


def _plan_field(conn, table, old: FieldDef, new: FieldDef, result: Plan, refusals: list) -> None:
    if new.archived and not old.archived:
        rows = _count(conn, table, table.c[new.api_name].isnot(None)) if new.stored else 0
        result.steps.append(Step("archive_column", table.name, new.api_name, rows_affected=rows))
        return
    if old.archived and not new.archived:
        result.steps.append(Step("restore_column", table.name, new.api_name))
    if not (old.stored and new.stored):
        if old.stored != new.stored:
            refusals.append(
                {
                    "field": new.api_name,
                    "message": "a formula cannot switch between "
                    "stored and computed-on-read; create a new formula field instead",
                }
            )
        return
    if old.type != new.type and frozenset({old.type, new.type}) not in _SAME_STORAGE:
        refusals.append(
            {
                "field": new.api_name,
                "message": f"changing a {old.type} field to "
                f"{new.type} could lose data; create a new field and copy the values",
            }
        )
        return
    change = new.field_type.widening(old, new)
    if (
        old.type != new.type
        and change is None
        and type(old.field_type.column_type(old)) is not type(new.field_type.column_type(new))
    ):
        change = "widen"
    if change is None:
        return
    column = table.c[new.api_name]
    step = Step(f"{change}_column", table.name, new.api_name, _alter_type_sql(conn, column))
    if change == "narrow":
        check = new.field_type.narrowing_check(column, new)
        hurt = (
            conn.execute(sa.select(sa.func.count()).select_from(table).where(check)).scalar_one()
            if check is not None
            else 0
        )
        if hurt:
            refusals.append(
                {
                    "field": new.api_name,
                    "rows": hurt,
                    "message": f"{hurt} record(s) hold "
                    f"values that would not fit the new definition of {new.api_name}; "
                    "fix those records first or keep the wider definition",
                }
            )
            return
    result.steps.append(step)


def _count(conn, table: sa.Table, *where) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def _alter_type_sql(conn, column: sa.Column) -> list[str]:
    if conn.dialect.name != "postgresql":
        return []  # SQLite's column types are affinities; lengths are checked by Trellis
    type_sql = column.type.compile(dialect=conn.dialect)
    return [f'ALTER TABLE {column.table.name} ALTER COLUMN "{column.name}" TYPE {type_sql}']


def _plan_index(
    conn, table, index: sa.Index, result: Plan, refusals: list, *, new_column: bool = False
) -> None:
    cols = [c.name for c in index.columns]
    if index.unique and not new_column:
        dupes = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(*index.columns)
                .where(*(c.isnot(None) for c in index.columns))
                .group_by(*index.columns)
                .having(sa.func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        if dupes:
            refusals.append(
                {
                    "field": cols[0],
                    "rows": dupes,
                    "message": f"{dupes} value(s) of "
                    f"{cols[0]} appear on more than one record, so it cannot be unique; "
                    "fix the duplicates first",
                }
            )
            return
    sql = str(CreateIndex(index).compile(dialect=conn.dialect))
    result.steps.append(Step("add_index", table.name, index.name, [sql]))


def apply(conn: sa.Connection, steps: Plan) -> None:
    """Run a plan in the caller's transaction."""
    for step in steps.steps:
        for sql in step.sql:
            conn.exec_driver_sql(sql)


def table_for(obj: ObjectDef) -> str:
    return table_name(obj.api_name)
