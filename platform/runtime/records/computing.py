"""Defaults and formulas: the values Trellis fills in before validation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError
from trellis.fieldtypes import FIELD_TYPES, FieldValueError
from trellis.fieldtypes.temporal import in_zone
from trellis.metadata import FieldDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.errors import Invalid


def apply_defaults(rt: ObjectRuntime, values: dict[str, Any], ctx) -> None:
    """Fill each field the input left out: its default value or default formula, else blank.

    Changes ``values`` in place (callers hold on to it).
    """
    given = values.keys()
    missing = [f for f in rt.defaulted if f.api_name not in given]
    complete = {**rt.blank_record, **values}
    values.clear()
    values.update(complete)
    for f in missing:
        if f.default_value is not None:
            values[f.api_name] = f.default_value
        else:
            env = evaluation_env(rt, values, None, ctx.zone)
            values[f.api_name] = _result(f, _evaluate(f, f.default_formula, env, ctx), "default")


def lookup_values(
    conn: sa.Connection, compiled: CompiledMetadata, rt: ObjectRuntime, values: dict[str, Any]
) -> dict[str, Any]:
    """Values of looked-up records that formulas read (``account.region``)."""
    return lookup_values_for_page(conn, compiled, rt, [values])[0]


def evaluation_env(
    rt: ObjectRuntime, values: dict[str, Any], related: dict[str, Any] | None, zone: dt.tzinfo
) -> dict[str, Any]:
    """The names an expression sees: the record's values and looked-up values.

    Datetimes (own and looked-up, ``rt.datetime_names``) are made aware in the
    user's ``zone``, so they compare with NOW() and their calendar day is the one
    TODAY() gives.
    """
    env = {**values, **related} if related else dict(values)
    for name in rt.datetime_names:
        if env.get(name) is not None:
            env[name] = in_zone(env[name], zone)
    return env


def lookup_values_for_page(
    conn: sa.Connection, compiled: CompiledMetadata, rt: ObjectRuntime, rows: list
) -> list[dict[str, Any]]:
    """``lookup_values`` for many rows at once: one query per lookup field, not per row."""
    found: dict[str, dict[int, Any]] = {}
    for lookup, fields in rt.lookup_paths.items():
        ids = sorted({row[lookup] for row in rows} - {None})
        target = compiled.object(rt.definition.by_name[lookup].options["target"]).table
        query = sa.select(target.c.id, *(target.c[f] for f in fields)).where(target.c.id.in_(ids))
        found[lookup] = {r.id: r for r in conn.execute(query)} if ids else {}
    out = []
    for row in rows:
        related = {}
        for lookup, fields in rt.lookup_paths.items():
            target_row = found[lookup].get(row[lookup])
            for f in fields:
                related[f"{lookup}.{f}"] = getattr(target_row, f) if target_row else None
        out.append(related)
    return out


def compute_formulas(
    rt: ObjectRuntime,
    values: dict[str, Any],
    related: dict[str, Any],
    ctx,
    formulas: tuple[FieldDef, ...] | None = None,
) -> dict[str, Any]:
    """Recompute formulas in dependency order, writing results into ``values``.

    Returns the evaluation environment, results included, for validation rules.
    """
    env = evaluation_env(rt, values, related, ctx.zone)
    for f in rt.stored_formulas if formulas is None else formulas:
        result = _result(f, _evaluate(f, f.formula, env, ctx), "formula")
        values[f.api_name] = result
        env[f.api_name] = in_zone(result, ctx.zone)
    return env


def _evaluate(f: FieldDef, expression, env: dict[str, Any], ctx) -> Any:
    try:
        return expression.evaluate(env, now=ctx.local_now)
    except ExpressionError as exc:
        raise Invalid(
            f"the formula of {f.api_name!r} could not be computed",
            [{"field": f.api_name, "message": exc.message}],
        ) from None


def _result(f: FieldDef, value: Any, what: str) -> Any:
    """Fit a computed value to the field's type (rounding money to its scale)."""
    if value is None:
        return None
    type_name = f.options.get("return_type", f.type) if f.type in ("formula", "rollup") else f.type
    try:
        result = FIELD_TYPES[type_name].parse(value, f)
    except FieldValueError as exc:
        raise Invalid(
            f"the {what} of {f.api_name!r} gave a value that does not fit",
            [{"field": f.api_name, "message": str(exc)}],
        ) from None
    if isinstance(result, dt.datetime) and result.tzinfo is not None:
        result = result.astimezone(dt.UTC).replace(tzinfo=None)
    return result
