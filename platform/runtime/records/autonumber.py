"""Auto-number counters: unique under concurrency on both databases.

The counter row is bumped with an upsert that returns the new value, so two
writers never get the same number (PostgreSQL locks the row; SQLite holds the
write lock for the whole transaction). A bulk write reserves a block at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trellis.fieldtypes.computed import format_auto_number
from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.system_tables import counter_table


def _reserve_statement(dialect_module):
    t = counter_table
    stmt = dialect_module.insert(t).values(name=sa.bindparam("name"), value=sa.bindparam("count"))
    return stmt.on_conflict_do_update(
        index_elements=[t.c.name], set_={"value": t.c.value + stmt.excluded.value}
    ).returning(t.c.value)


# Built once: SQLAlchemy then reuses the compiled SQL instead of rebuilding it per call.
_RESERVE = {"postgresql": _reserve_statement(postgresql), "sqlite": _reserve_statement(sqlite)}


def reserve(conn: sa.Connection, name: str, count: int) -> int:
    """Reserve ``count`` numbers of counter ``name``; returns the first."""
    last = conn.execute(_RESERVE[conn.dialect.name], {"name": name, "count": count}).scalar_one()
    return last - count + 1


def assign(conn: sa.Connection, rt: ObjectRuntime, rows: list[dict], ctx) -> None:
    """Fill every auto-number field of freshly created rows."""
    today = ctx.local_now.date()
    for f in rt.definition.live_fields:
        if f.type != "auto_number":
            continue
        first = reserve(conn, f.path, len(rows))
        for i, row in enumerate(rows):
            row[f.api_name] = format_auto_number(f.options["pattern"], first + i, today)
