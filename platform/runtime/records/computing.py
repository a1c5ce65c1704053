"""Defaults and formulas: the values Trellis fills in before validation."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError
from trellis.fieldtypes import FIELD_TYPES, FieldValueError
from trellis.metadata import FieldDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.errors import Invalid


def apply_defaults(rt: ObjectRuntime, values: dict[str, Any], ctx) -> None:
    """Fill each missing writable field from its default value or default formula.

    A new record has no children yet, so its count and sum roll-ups start at 0, the value
    the roll-up refresh writes once the last child is gone (not blank).
    """
    for f in rt.definition.live_fields:
        if f.type == "rollup" and f.options["function"] in ("count", "sum"):
            values.setdefault(f.api_name, _result(f, 0, "roll-up"))
        if f.api_name in values or not f.writable:
            continue
        if f.default_value is not None:
            values[f.api_name] = f.default_value
        elif f.default_formula is not None:
            values[f.api_name] = _result(f, _evaluate(f, f.default_formula, values, ctx), "default")


def lookup_values(
    conn: sa.Connection, compiled: CompiledMetadata, rt: ObjectRuntime, values: dict[str, Any]
) -> dict[str, Any]:
    """Values of looked-up records that formulas read (``account.region``)."""
    out: dict[str, Any] = {}
    for lookup, fields in rt.lookup_paths.items():
        target_id = values.get(lookup)
        row = None
        if target_id is not None:
            target = compiled.object(rt.definition.by_name[lookup].options["target"]).table
            row = conn.execute(
                sa.select(*(target.c[f] for f in fields)).where(target.c.id == target_id)
            ).first()
        for f in fields:
            out[f"{lookup}.{f}"] = getattr(row, f) if row is not None else None
    return out


def compute_formulas(
    rt: ObjectRuntime,
    values: dict[str, Any],
    related: dict[str, Any],
    ctx,
    formulas: tuple[FieldDef, ...] | None = None,
) -> None:
    """Recompute formulas in dependency order, writing results into ``values``."""
    env = {**values, **related} if related else values
    for f in rt.stored_formulas if formulas is None else formulas:
        result = _result(f, _evaluate(f, f.formula, env, ctx), "formula")
        values[f.api_name] = result
        if env is not values:
            env[f.api_name] = result


def _evaluate(f: FieldDef, expression, env: dict[str, Any], ctx) -> Any:
    try:
        return expression.evaluate(env, now=ctx.now)
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
        return FIELD_TYPES[type_name].parse(value, f)
    except FieldValueError as exc:
        raise Invalid(
            f"the {what} of {f.api_name!r} gave a value that does not fit",
            [{"field": f.api_name, "message": str(exc)}],
        ) from None
