"""Records as callers see them: JSON values, hidden fields left out,
read-time formulas computed, datetimes in the caller's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.records.computing import compute_formulas


def present(
    rt: ObjectRuntime,
    row: Mapping[str, Any],
    ctx,
    hidden: frozenset[str],
    fields: tuple[str, ...] | None = None,
    related: dict | None = None,
) -> dict[str, Any]:
    values = dict(row)
    if rt.read_formulas:
        compute_formulas(rt, values, related or {}, ctx, rt.read_formulas)
    names = fields or tuple(f.api_name for f in rt.definition.live_fields)
    out: dict[str, Any] = {}
    zone = ctx.zone
    for name in names:
        if name in hidden:
            continue
        field = rt.definition.by_name[name]
        value = values.get(name)
        if value is None:
            out[name] = None
        elif isinstance(value, dt.datetime):
            out[name] = value.replace(tzinfo=dt.UTC).astimezone(zone).isoformat()
        else:
            out[name] = field.field_type.to_json(value)
    out["id"], out["version"] = values["id"], values["version"]
    return out
