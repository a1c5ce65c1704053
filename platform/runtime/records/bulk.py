"""Bulk create: the same steps as ``create`` for every row, then set-based writes.

Per-row work (coercion, defaults, formulas, rules) stays per row; what can
be done per batch is: one reference check per lookup field, one duplicate
query per rule, one block of auto-numbers, multi-row INSERTs, and one
roll-up refresh per touched parent.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trellis.runtime.errors import Conflict, Invalid
from trellis.runtime.events import RecordEvent
from trellis.runtime.records import propagation
from trellis.runtime.records.coercion import coerce
from trellis.runtime.records.computing import apply_defaults, lookup_values_for_page
from trellis.runtime.records.insertion import insert_new
from trellis.runtime.records.references import check_references

MAX_ERRORS = 1000
_CHUNK = 500


def bulk_create(service, conn, compiled, ctx, object_name: str, rows: Any, owner) -> list[int]:
    rt = service.object(compiled, object_name)
    access = service.authorize(compiled, ctx, rt, "create")
    if not isinstance(rows, list):
        raise Invalid("bulk create takes a JSON array of records")
    errors: list[dict] = []
    coerced = []
    for i, data in enumerate(rows):
        values = _coerce_row(rt, access, ctx, data, i, errors)
        if values is not None:
            coerced.append((i, values))
        if len(errors) >= MAX_ERRORS:
            break
    _check_references_batched(conn, compiled, rt, ctx, [v for _, v in coerced], errors)
    # Rules run on every row that coerced, so one answer lists every row's problems.
    drafts = _check_rows(service, conn, compiled, rt, access, ctx, coerced, errors)
    if errors:
        raise Invalid(
            f"{len({e['row'] for e in errors})} of {len(rows)} rows have problems; "
            "nothing was written",
            errors[:MAX_ERRORS],
        )
    _check_duplicates(conn, rt, access, drafts)
    ids = insert_new(conn, rt, ctx, drafts, owner)
    touched = propagation.parents_of(rt, drafts, None)
    if touched:
        propagation.refresh_rollups(conn, compiled, touched, ctx)
    for draft in drafts:
        service.events.emit(
            conn, ctx, RecordEvent("created", object_name, draft["id"], None, draft)
        )
    return ids


def _coerce_row(rt, access, ctx, data, i, errors) -> dict[str, Any] | None:
    """Coercion and defaults for one row; problems go to ``errors`` with the row number."""
    from trellis.runtime.records.service import _take_record_type

    row_errors: list[dict] = []
    try:
        record_type = _take_record_type(rt, data)
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k != "record_type"}
        values = coerce(rt, access, data, ctx.zone, errors=row_errors)
    except Invalid as exc:
        errors.append({"row": i, "message": exc.message})
        return None
    if row_errors:
        errors.extend({**e, "row": i} for e in row_errors)
        return None
    values["record_type"] = record_type
    apply_defaults(rt, values, ctx)
    return values


def _check_rows(service, conn, compiled, rt, access, ctx, coerced, errors) -> list[dict]:
    """Formulas and rules per row, with looked-up values fetched once for the batch."""
    values = [v for _, v in coerced]
    related = lookup_values_for_page(conn, compiled, rt, values) if rt.lookup_paths else None
    drafts = []
    for n, (i, row) in enumerate(coerced):
        try:
            service._prepare(
                conn,
                compiled,
                rt,
                access,
                ctx,
                row,
                None,
                check_refs=False,
                related=related[n] if related else {},
            )
        except Invalid as exc:
            errors.extend({**d, "row": i} for d in (exc.details or [{"message": exc.message}]))
            continue
        drafts.append(row)
    return drafts


def _check_references_batched(conn, compiled, rt, ctx, drafts, errors) -> None:
    refs = [f for f in rt.definition.live_fields if f.type in ("lookup", "user") and not f.system]
    for f in refs:
        wanted = {d.get(f.api_name) for d in drafts} - {None}
        if not wanted:
            continue
        try:
            check_references(
                conn, compiled, rt, ctx, {f.api_name: sorted(wanted)}, None, only=f.api_name
            )
        except Invalid as exc:
            errors.extend({**d, "row": None} for d in exc.details)


def _check_duplicates(conn, rt, access, drafts) -> None:
    table = rt.table
    for rule in rt.definition.duplicate_rules:
        if not rule.active or rule.action != "block":
            continue
        seen: dict[str, int] = {}
        problems = []
        for i, draft in enumerate(drafts):
            key = draft.get(rule.column)
            if key is None:
                continue
            if key in seen:
                problems.append(
                    {"row": i, "message": f"duplicates row {seen[key]} (rule {rule.api_name})"}
                )
            seen[key] = i
        keys = list(seen)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            for (key,) in conn.execute(
                sa.select(table.c[rule.column]).where(table.c[rule.column].in_(chunk))
            ):
                problems.append(
                    {
                        "row": seen[key],
                        "message": f"duplicates an existing record (rule {rule.api_name})",
                    }
                )
        if problems:
            raise Conflict(
                f"{len(problems)} row(s) duplicate existing records or each other; "
                "nothing was written",
                problems[:MAX_ERRORS],
            )
