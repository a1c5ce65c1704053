"""Writing new rows: system fields, auto-numbers, unique checks, then INSERT.

One path for a single create and for bulk creates. Bulk ids are taken up
front (SQLite: after max(id), under the write lock the transaction holds;
PostgreSQL: from the table's sequence) so that the rows go in with plain
multi-row INSERTs and every draft knows its id without per-row RETURNING.
"""

from __future__ import annotations

import sqlalchemy as sa

from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.errors import Conflict
from trellis.runtime.records import autonumber
from trellis.runtime.system_tables import user_table

_CHUNK = 1000


def insert_new(conn, rt: ObjectRuntime, ctx, drafts: list[dict], owner: int | None) -> list[int]:
    """Stamp and insert ``drafts`` (dicts of field values); sets and returns their ids."""
    owner_id = owner or ctx.user_id
    system = {
        "owner": owner_id,
        "department": owner_department(conn, ctx, owner_id),
        "created_by": ctx.user_id,
        "created_at": ctx.stamp,
        "updated_by": ctx.user_id,
        "updated_at": ctx.stamp,
        "version": 1,
    }
    for draft in drafts:
        draft.update(system)
    autonumber.assign(conn, rt, drafts, ctx)
    check_unique(conn, rt, drafts, None)
    columns = [c.name for c in rt.table.columns if c.name != "id"]
    if len(drafts) == 1:
        row = {c: drafts[0].get(c) for c in columns}
        drafts[0]["id"] = conn.execute(rt.table.insert(), row).inserted_primary_key[0]
        return [drafts[0]["id"]]
    ids = _take_ids(conn, rt.table, len(drafts))
    for draft, new_id in zip(drafts, ids, strict=True):
        draft["id"] = new_id
    names = ["id", *columns]
    for start in range(0, len(drafts), _CHUNK):
        chunk = drafts[start : start + _CHUNK]
        conn.execute(rt.table.insert(), [{c: d.get(c) for c in names} for d in chunk])
    return ids


def _take_ids(conn, table: sa.Table, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        query = sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count))
        return [row[0] for row in conn.execute(query)]
    last = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


def owner_department(conn, ctx, owner_id: int) -> int | None:
    """A record's department is its owner's."""
    if owner_id == ctx.user_id:
        return ctx.principal.department_id
    return conn.execute(
        sa.select(user_table.c.department_id).where(user_table.c.id == owner_id)
    ).scalar()


def check_unique(conn, rt: ObjectRuntime, drafts: list[dict], exclude_id) -> None:
    """Name the field when a unique value is taken (the unique index is the backstop)."""
    t = rt.table
    for f in rt.unique_fields:
        wanted = [d[f.api_name] for d in drafts if d.get(f.api_name) is not None]
        if len(wanted) != len(set(wanted)):
            raise Conflict(
                f"{f.api_name} must be unique, but the batch repeats a value",
                [{"field": f.api_name, "message": "repeated value"}],
            )
        if not wanted:
            continue
        query = sa.select(t.c[f.api_name]).where(t.c[f.api_name].in_(wanted)).limit(1)
        if exclude_id is not None:
            query = query.where(t.c.id != exclude_id)
        taken = conn.execute(query).scalar()
        if taken is not None:
            raise Conflict(
                f"another {rt.definition.api_name} already has {f.api_name} = {taken!r}; "
                "it must be unique",
                [{"field": f.api_name, "message": "already taken"}],
            )
