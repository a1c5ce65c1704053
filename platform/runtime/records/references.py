"""Lookup and user fields must point at records that exist and that the
writer can see: linking to a record you cannot read would reveal it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.errors import Invalid
from trellis.runtime.permissions import access_for
from trellis.runtime.system_tables import user_table


def check_references(
    conn: sa.Connection,
    compiled: CompiledMetadata,
    rt: ObjectRuntime,
    ctx,
    values: dict[str, Any],
    old: dict[str, Any] | None,
    only: str | None = None,
) -> None:
    """Raise Invalid for references to missing or invisible records.

    A value may be one id or (for batches, with ``only``) a list of ids.
    """
    errors = []
    for f in rt.definition.live_fields:
        if f.type not in ("lookup", "user") or f.system or (only and f.api_name != only):
            continue
        value = values.get(f.api_name)
        if value is None or (old is not None and old.get(f.api_name) == value):
            continue
        wanted = set(value) if isinstance(value, list) else {value}
        if f.type == "user":
            table, condition, what = user_table, None, "user"
        else:
            table = compiled.object(f.options["target"]).table
            # The flow engine (trusted) links what its checked definitions say,
            # e.g. a timed automation acting as the platform, which sees no records.
            condition = (
                None
                if ctx.trusted
                else access_for(
                    compiled.definitions, ctx.principal, f.options["target"]
                ).read_condition(table)
            )
            what = f.options["target"]
        query = sa.select(table.c.id).where(table.c.id.in_(sorted(wanted)))
        if condition is not None:
            query = query.where(condition)
        if f.type == "lookup" and conn.dialect.name == "postgresql":
            # Hold the referenced rows until commit (the lightest lock): a write that
            # locks one to change who may see it (a pool recycling a lead) waits for
            # this one, or this one waits and then sees the change. SQLite writes
            # are serialised already.
            query = query.with_for_update(read=True, key_share=True)
        missing = wanted - {r.id for r in conn.execute(query)}
        for item in sorted(missing)[:20]:
            errors.append(
                {"field": f.api_name, "message": f"no {what} with id {item} that you can see"}
            )
    if errors:
        raise Invalid(
            "some references point to records that do not exist or that you cannot see", errors
        )
