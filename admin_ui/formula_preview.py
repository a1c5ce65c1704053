"""The formula editor's preview: a formula's value for one record of the object, read-only.

The record is read the way flow formulas read it (``trellis.flows.record_values``: its
stored values, read-time formulas and looked-up ``lookup.field`` values) on a connection
that is only ever rolled back, and the formula is evaluated by the expression evaluator.
Nothing is written, whatever the formula says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import g

from trellis.expressions import CompiledExpression, ExpressionError
from trellis.flows.record_values import formula_env, load_row
from trellis.web.metadata_view import compiled
from trellis.web.sessions import page_context, runtime

#: How many records the sample picker offers (the newest ones).
SAMPLES = 20


@dataclass(frozen=True)
class Sample:
    id: int
    title: str


@dataclass(frozen=True)
class Preview:
    """The value for ``sample`` (``error``: why it cannot be computed for this record)."""

    sample: Sample
    value: Any = None
    error: str | None = None


def samples(object_name: str) -> list[Sample]:
    """The newest records of the object, named by their name field, to preview against
    (read once per request: a designer page has many editors on one object)."""
    cache = g.setdefault("formula_samples", {})
    if object_name not in cache:
        cache[object_name] = _newest(object_name)
    return cache[object_name]


def _newest(object_name: str) -> list[Sample]:
    meta = compiled()
    rt = meta.objects.get(object_name)
    if rt is None:
        return []
    table = rt.table
    name_field = rt.definition.name_field
    columns = [table.c.id] + ([table.c[name_field]] if name_field in table.c else [])
    query = sa.select(*columns).order_by(table.c.id.desc()).limit(SAMPLES)
    with runtime().engine.connect() as conn:
        rows = conn.execute(query).all()
    return [Sample(row[0], _named(row[0], row[1] if len(row) > 1 else None)) for row in rows]


def _named(record_id: int, name: Any) -> str:
    return f"#{record_id} {name}" if name not in (None, "") else f"#{record_id}"


def preview(expression: CompiledExpression, object_name: str, record_id: int) -> Preview | None:
    """The formula's value for record ``record_id`` (None when there is no such record)."""
    meta = compiled()
    ctx = page_context()
    with runtime().engine.connect() as conn:
        try:
            row = load_row(conn, meta, object_name, record_id)
            if row is None:
                return None
            name_field = meta.object(object_name).definition.name_field
            sample = Sample(record_id, _named(record_id, row.get(name_field or "")))
            env = formula_env(conn, meta, ctx.on(conn), object_name, row, [expression])
        finally:
            conn.rollback()  # only reads happened; make sure nothing could be kept
    try:
        return Preview(sample, value=expression.evaluate(env, now=ctx.local_now))
    except ExpressionError as exc:
        return Preview(sample, error=exc.message)
