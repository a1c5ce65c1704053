"""Keep roll-ups and cross-object formulas current when records change.

A change to a child record can move a roll-up on its parent (count, sum,
min, max, avg over the children), and a change to a looked-up record can
move formulas on the records that look it up (``account.region`` on an
opportunity). Both are recomputed in the writing transaction, and what they
change propagates further (a roll-up of roll-ups, a formula over a roll-up).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from trellis.expressions import to_sql
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.records.computing import _result, compute_formulas, lookup_values_for_page

_MAX_DEPTH = 20  # definitions are acyclic; this only guards against a bug looping forever


def rollup_inputs(rollup) -> set[str]:
    """Child fields a roll-up reads."""
    names = {rollup.options["via"]}
    if rollup.options.get("field"):
        names.add(rollup.options["field"])
    if rollup.rollup_filter is not None:
        names |= set(rollup.rollup_filter.dependencies)
    return names


def parents_of(rt: ObjectRuntime, values: Iterable[dict[str, Any]], changed: set[str] | None):
    """{(parent object, roll-up field): parent ids} touched by these child values."""
    touched: dict[tuple[str, str], set[int]] = {}
    for parent, rollup in rt.feeds_rollups:
        if changed is not None and not (rollup_inputs(rollup) & changed):
            continue
        ids = {v.get(rollup.options["via"]) for v in values} - {None}
        if ids:
            touched.setdefault((parent, rollup.api_name), set()).update(ids)
    return touched


def refresh_rollups(
    conn: sa.Connection,
    compiled: CompiledMetadata,
    touched: dict[tuple[str, str], set[int]],
    ctx,
    depth: int = 0,
) -> None:
    """Recompute the touched roll-ups, then whatever depends on them."""
    by_parent: dict[str, tuple[set[str], set[int]]] = {}
    for (parent, field), ids in touched.items():
        fields, all_ids = by_parent.setdefault(parent, (set(), set()))
        fields.add(field)
        all_ids.update(ids)
    for parent, (fields, ids) in by_parent.items():
        prt = compiled.object(parent)
        for name in sorted(fields):
            _update_rollup(conn, compiled, prt, name, ids, ctx)
        refresh_dependents(conn, compiled, prt, ids, fields, ctx, depth + 1)


def _within(table: sa.Table, ids: set[int] | None):
    """Rows with these ids, or every row when ``ids`` is None (a back-fill)."""
    return sa.true() if ids is None else table.c.id.in_(sorted(ids))


def _update_rollup(conn, compiled, prt: ObjectRuntime, name: str, ids: set[int] | None, ctx):
    rollup = prt.definition.by_name[name]
    child = compiled.object(rollup.options["object"]).table
    if child is prt.table:
        # A roll-up over the same object (accounts via parent_account): without an alias the
        # subquery would correlate to the very row being updated.
        child = child.alias("child")
    function = rollup.options["function"]
    column = child.c[rollup.options["field"]] if rollup.options.get("field") else child.c.id
    aggregate = {
        "count": sa.func.count,
        "sum": sa.func.sum,
        "min": sa.func.min,
        "max": sa.func.max,
        "avg": sa.func.avg,
    }[function](column)
    if function in ("count", "sum"):
        aggregate = sa.func.coalesce(aggregate, 0)
    parent = prt.table
    sub = sa.select(aggregate).where(child.c[rollup.options["via"]] == parent.c.id)
    if rollup.rollup_filter is not None:
        sub = sub.where(to_sql(rollup.rollup_filter, dict(child.c.items()), now=ctx.local_now))
    if function == "avg":
        # AVG comes back as float on some drivers: recompute in Python for exact decimals.
        rows = conn.execute(
            sa.select(parent.c.id, sub.scalar_subquery().label("v")).where(_within(parent, ids))
        ).all()
        for row in rows:
            value = _result(rollup, row.v, "roll-up") if row.v is not None else None
            conn.execute(sa.update(parent).where(parent.c.id == row.id).values({name: value}))
        return
    conn.execute(
        sa.update(parent).where(_within(parent, ids)).values({name: sub.scalar_subquery()})
    )


def refresh_dependents(
    conn,
    compiled: CompiledMetadata,
    rt: ObjectRuntime,
    ids: set[int],
    changed: set[str],
    ctx,
    depth: int = 0,
) -> None:
    """After ``changed`` fields moved on records ``ids`` of ``rt``: update what reads them."""
    if depth > _MAX_DEPTH or not ids:
        return
    formulas = tuple(f for f in rt.stored_formulas if _reads(f, changed))
    if formulas:
        moved = _recompute(conn, compiled, rt, ids, formulas, ctx)
        changed = changed | moved
    rows = conn.execute(sa.select(rt.table).where(rt.table.c.id.in_(sorted(ids)))).mappings().all()
    touched = parents_of(rt, rows, changed)
    if touched:
        refresh_rollups(conn, compiled, touched, ctx, depth)
    for child, lookup, reads in rt.feeds_formulas:
        if reads & changed:
            crt = compiled.object(child)
            child_ids = {
                r.id
                for r in conn.execute(
                    sa.select(crt.table.c.id).where(crt.table.c[lookup].in_(sorted(ids)))
                )
            }
            refresh_dependents(conn, compiled, crt, child_ids, {lookup}, ctx, depth + 1)


def _reads(formula, changed: set[str]) -> bool:
    deps = formula.formula.dependencies
    return any(d in changed or d.split(".", 1)[0] in changed for d in deps)


def _recompute(conn, compiled, rt: ObjectRuntime, ids: set[int] | None, formulas, ctx) -> set[str]:
    moved: set[str] = set()
    rows = conn.execute(sa.select(rt.table).where(_within(rt.table, ids))).mappings().all()
    # One query per lookup for all rows, not one per row: back-fills touch whole tables.
    related = lookup_values_for_page(conn, compiled, rt, rows) if rt.lookup_paths else None
    for n, row in enumerate(rows):
        values = dict(row)
        compute_formulas(rt, values, related[n] if related else {}, ctx, formulas)
        update = {
            f.api_name: values[f.api_name]
            for f in formulas
            if values[f.api_name] != row[f.api_name]
        }
        if update:
            conn.execute(sa.update(rt.table).where(rt.table.c.id == row["id"]).values(update))
            moved |= set(update)
    return moved


def backfill(conn: sa.Connection, compiled: CompiledMetadata, old_defs, ctx) -> None:
    """After a definition change: compute new or changed roll-ups and stored formulas
    for the records that already exist, in the same transaction as the change."""
    if old_defs is None:
        return
    for rt in compiled.objects.values():
        old = old_defs.objects.get(rt.definition.api_name)
        if old is None:
            continue  # a new object has an empty table
        rollups = [f for f in rt.definition.live_fields if f.type == "rollup" and _new(f, old)]
        for rollup in rollups:
            _update_rollup(conn, compiled, rt, rollup.api_name, None, ctx)
        moved = {f.api_name for f in rollups}
        formulas = tuple(f for f in rt.stored_formulas if _new(f, old) or _reads(f, moved))
        if formulas:
            _recompute(conn, compiled, rt, None, formulas, ctx)


def _new(field, old) -> bool:
    before = old.by_name.get(field.api_name)
    return before is None or before.archived or dict(before.options) != dict(field.options)
