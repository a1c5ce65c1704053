"""Records as callers see them: JSON values, hidden fields left out,
read-time formulas computed, datetimes in the caller's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from trellis.runtime.compiled import DATETIME, ObjectRuntime
from trellis.runtime.records.computing import compute_formulas


def present(
    rt: ObjectRuntime,
    row: Mapping[str, Any],
    ctx,
    hidden: frozenset[str],
    fields: tuple[str, ...] | None = None,
    related: dict | None = None,
) -> dict[str, Any]:
    values = row
    if rt.read_formulas:
        values = dict(row)
        compute_formulas(rt, values, related or {}, ctx, rt.read_formulas)
    outputs = rt.outputs if fields is None else [(n, c) for n, c in rt.outputs if n in fields]
    zone = ctx.zone
    out: dict[str, Any] = {}
    for name, convert in outputs:
        if name in hidden:
            continue
        value = values.get(name)
        if value is None or convert is None:
            out[name] = value
        elif convert is DATETIME:
            out[name] = value.replace(tzinfo=dt.UTC).astimezone(zone).isoformat()
        else:
            out[name] = convert(value)
    out["id"], out["version"] = values["id"], values["version"]
    return out
