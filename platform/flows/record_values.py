"""A record's values as flow formulas see them.

Automation conditions, trigger formulas and action values are compiled
against the flow's object: its fields, its read-time formulas and lookup
paths such as ``account.grade``. These helpers read one stored row and build
that name environment, and evaluate a formula with an error that says which
definition it belongs to.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError
from trellis.runtime.compiled import CompiledMetadata
from trellis.runtime.errors import Invalid
from trellis.runtime.records.computing import compute_formulas, evaluation_env, lookup_values
from trellis.runtime.records.output import present

#: The compiled metadata each open transaction uses: a write of many records (an import)
#: fires one event per record, and asking the cache each time costs a query each.
_BY_TRANSACTION: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_for(flows, conn: sa.Connection) -> CompiledMetadata:
    """The compiled metadata for work inside ``conn``'s transaction (read once per transaction)."""
    transaction = conn.get_transaction()
    if transaction is None:
        return flows.cache.get(conn)
    compiled = _BY_TRANSACTION.get(transaction)
    if compiled is None:
        compiled = _BY_TRANSACTION[transaction] = flows.cache.get(conn)
    return compiled


def load_row(
    conn: sa.Connection,
    compiled: CompiledMetadata,
    object_name: str,
    record_id: int,
    *,
    lock: bool = False,
) -> dict[str, Any] | None:
    """The stored values of one record (None when it is gone).

    ``lock`` takes a row lock on PostgreSQL, so a timed run and a user's
    write to the same record happen one after the other.
    """
    table = compiled.object(object_name).table
    query = sa.select(table).where(table.c.id == record_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def formula_env(
    conn: sa.Connection,
    compiled: CompiledMetadata,
    ctx,
    object_name: str,
    row: dict[str, Any],
    expressions: Iterable[Any] = (),
) -> dict[str, Any]:
    """The names a flow formula on ``object_name`` reads, for one stored row.

    Looked-up values come for the object's own formulas and for every
    ``lookup.field`` the given ``expressions`` read.
    """
    rt = compiled.object(object_name)
    values = dict(row)
    related = lookup_values(conn, compiled, rt, values) if rt.lookup_paths else {}
    related.update(_extra_lookups(conn, compiled, rt, values, expressions, related))
    if rt.read_formulas:
        compute_formulas(rt, values, related, ctx, rt.read_formulas)
    return evaluation_env(rt, values, related, ctx.zone)


def _extra_lookups(conn, compiled, rt, values, expressions, known) -> dict[str, Any]:
    wanted: dict[str, set[str]] = {}
    for expression in expressions:
        for name in getattr(expression, "dependencies", ()):
            lookup, _, target_field = name.partition(".")
            if target_field and name not in known and lookup in rt.definition.by_name:
                wanted.setdefault(lookup, set()).add(target_field)
    found: dict[str, Any] = {}
    for lookup, fields in wanted.items():
        target = compiled.object(rt.definition.by_name[lookup].options["target"]).table
        row = None
        if values.get(lookup) is not None:
            query = sa.select(*(target.c[f] for f in sorted(fields))).where(
                target.c.id == values[lookup]
            )
            row = conn.execute(query).mappings().first()
        for f in fields:
            found[f"{lookup}.{f}"] = row[f] if row is not None else None
    return found


def shown(
    conn: sa.Connection, compiled: CompiledMetadata, ctx, object_name: str, row: dict[str, Any]
) -> dict[str, Any]:
    """The record as a reader sees it (JSON values, datetimes in ``ctx``'s zone), every
    field included: what message placeholders and webhook bodies show."""
    rt = compiled.object(object_name)
    related = lookup_values(conn, compiled, rt, row) if rt.lookup_paths else {}
    return present(rt, row, ctx, frozenset(), related=related)


def with_old(env: dict[str, Any], old_env: dict[str, Any]) -> dict[str, Any]:
    """``env`` plus the values before a write as ``old.<field>`` (update conditions)."""
    return {**env, **{f"old.{name}": value for name, value in old_env.items()}}


def evaluate(expression: Any, env: dict[str, Any], ctx, where: str) -> Any:
    """The formula's value; a failure says which definition and place it came from."""
    try:
        return expression.evaluate(env, now=ctx.local_now)
    except ExpressionError as exc:
        raise Invalid(
            f"{where}: the formula {expression.source!r} could not be computed: {exc.message}",
            [{"pointer": where, "message": exc.message}],
        ) from None


def holds(expression: Any, env: dict[str, Any], ctx, where: str) -> bool:
    """Whether a condition holds; no condition always holds, a blank result does not."""
    return expression is None or evaluate(expression, env, ctx, where) is True
