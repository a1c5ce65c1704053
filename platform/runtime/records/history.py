"""Field history: old → new, who, when; written only when a value really changed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.system_tables import history_table


def tracked_changes(rt: ObjectRuntime, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    obj = rt.definition
    if not obj.track_history:
        return []
    return [
        f.api_name
        for f in obj.live_fields
        if f.track_history
        and f.stored
        and f.api_name in new
        and new[f.api_name] != old.get(f.api_name)
    ]


def record(
    conn: sa.Connection,
    rt: ObjectRuntime,
    record_id: int,
    old: dict,
    new: dict,
    fields: list[str],
    ctx,
) -> None:
    if not fields:
        return
    now = ctx.stamp
    rows = [
        {
            "object": rt.definition.api_name,
            "record_id": record_id,
            "field": name,
            "old_value": _json(rt, name, old.get(name)),
            "new_value": _json(rt, name, new[name]),
            "changed_by": ctx.user_id,
            "changed_at": now,
        }
        for name in fields
    ]
    conn.execute(sa.insert(history_table), rows)


def _json(rt: ObjectRuntime, name: str, value: Any) -> Any:
    field = rt.definition.by_name[name]
    return field.field_type.to_json(value) if value is not None else None


def read(conn: sa.Connection, object_name: str, record_id: int) -> list[dict[str, Any]]:
    t = history_table
    rows = conn.execute(
        sa.select(t).where(t.c.object == object_name, t.c.record_id == record_id).order_by(t.c.id)
    ).all()
    return [
        {
            "field": r.field,
            "old": r.old_value,
            "new": r.new_value,
            "changed_by": r.changed_by,
            "changed_at": r.changed_at.isoformat() + "Z",
        }
        for r in rows
    ]
