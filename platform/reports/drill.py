"""Drill-down: the filter, in the expression language, that lists exactly a segment's records.

A segment is the report's filter, the viewer's extra filter, the row's group
values and (for a measure that counts only some records) the measure's own
condition. Each part is written as the records list API reads it:

- a part on the object's own fields is written as it is (``stage == 'won'``,
  ``close_date >= DATE(2026, 3, 1) and close_date < DATE(2026, 4, 1)``);
- a part that reads only through one lookup (``account.region == 'east'``)
  becomes the looked-up records that satisfy it: ``account in [3, 8, 21]``,
  found with one ``SELECT DISTINCT`` inside the segment (the list API filters
  on the object's own columns);
- anything else (a date-time bucket, which is cut in the viewer's zone, or a
  condition mixing both kinds) becomes the segment's record ids.

The list API applies the viewer's data scope itself, so the scope is never
written into the filter. When the ids would exceed ``MAX_IDS`` or the filter
the list API's 2,000 characters, the drill-down says ``exact: false``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from trellis.reports.results import DrillDown
from trellis.reports.sources import Sources

MAX_IDS = 300
MAX_FILTER = 2000


@dataclass(frozen=True)
class Part:
    """One condition of a segment: its SQL, and how the list API can say it."""

    sql: sa.ColumnElement
    text: str | None  # None: the records must be named (ids)
    lookup: str | None = None  # set when the part reads only through this lookup


def literal(value: Any) -> str:
    """A constant in the expression language."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return f"DATE({value.year}, {value.month}, {value.day})"
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def expression_part(sql: sa.ColumnElement, expr) -> Part:
    """A compiled condition of the report (its filter, a measure's filter)."""
    lookups = {d.split(".", 1)[0] for d in expr.dependencies if "." in d}
    own = {d for d in expr.dependencies if "." not in d}
    if not lookups:
        return Part(sql, f"({expr.source})")
    if len(lookups) == 1 and not own:
        return Part(sql, None, lookup=lookups.pop())
    return Part(sql, None)


def group_part(sql_value: sa.ColumnElement, path: str, value, bucket_range=None) -> Part:
    """A row's value of one group: ``stage == 'won'``, a date bucket's range …"""
    sql = sql_value.is_(None) if value is None else sql_value == value
    if "." in path:
        return Part(sql, None, lookup=path.split(".", 1)[0])
    if bucket_range is None:
        return Part(sql, f"{path} == {literal(value)}")
    start, end, kind = bucket_range
    if kind != "date":  # cut in the viewer's zone: the list API cannot say that
        return Part(sql, None)
    return Part(sql, f"{path} >= {literal(start)} and {path} < {literal(end)}")


def drill_down(conn, sources: Sources, scope: list, parts: list[Part]) -> DrillDown:
    """The records list filter for a segment made of ``parts`` (and the viewer's scope)."""
    name = sources.definition.api_name
    everything = [*scope, *(p.sql for p in parts)]
    if any(p.text is None and p.lookup is None for p in parts):
        ids = _distinct(conn, sources, sources.table.c.id, everything)
        return _finish(name, [_membership("id", ids)] if ids is not None else None)
    texts = [p.text for p in parts if p.text is not None]
    for lookup in sorted({p.lookup for p in parts if p.lookup}):
        ids = _distinct(conn, sources, sources.table.c[lookup], everything)
        if ids is None:
            return DrillDown(name, None, exact=False)
        texts.append(_membership(lookup, ids))
    return _finish(name, texts)


def _distinct(conn, sources: Sources, column, conditions) -> list | None:
    query = (
        sa.select(column)
        .distinct()
        .select_from(sources.from_clause())
        .where(*conditions)
        .limit(MAX_IDS + 1)
    )
    values = [v for (v,) in conn.execute(query)]
    return None if len(values) > MAX_IDS else values


def _membership(name: str, values: list) -> str:
    known = sorted(v for v in values if v is not None)
    text = f"{name} in [{', '.join(str(v) for v in known)}]"
    if None in values:
        text = f"({text} or {name} == None)"
    return text


def _finish(name: str, texts: list[str] | None) -> DrillDown:
    if texts is None:
        return DrillDown(name, None, exact=False)
    text = " and ".join(texts) if texts else None
    if text is not None and len(text) > MAX_FILTER:
        return DrillDown(name, None, exact=False)
    return DrillDown(name, text)
