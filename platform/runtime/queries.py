"""List queries: filter, sort, fields, keyset paging and counts, with the
caller's data scope inside the SQL.

A filter is an expression in the formula language (``status == 'new' and
amount >= 100000``), compiled to SQLAlchemy expressions with bound
parameters, never to SQL text. Paging is by keyset (the cursor holds the
last row's sort values), so pages stay stable while records are inserted.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError, ExprType, compile_expression, to_sql
from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.errors import BadRequest
from trellis.runtime.permissions import Access

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_SORT_FIELDS = 5


@dataclass(frozen=True)
class ListRequest:
    filter: str | None = None
    sort: str | None = None
    fields: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    total: bool = False


def visible_columns(rt: ObjectRuntime, access: Access) -> dict[str, sa.Column]:
    """Columns a caller may filter and sort on: stored, live, not hidden."""
    return {
        f.api_name: rt.table.c[f.api_name]
        for f in rt.definition.live_fields
        if f.stored and f.api_name not in access.hidden
    }


def filter_condition(rt: ObjectRuntime, access: Access, source: str, now) -> sa.ColumnElement:
    columns = visible_columns(rt, access)
    names = {
        n: rt.definition.by_name[n].field_type.value_type(rt.definition.by_name[n]) for n in columns
    }
    try:
        expression = compile_expression(source, names, expected=ExprType.BOOLEAN, max_length=2000)
        return to_sql(expression, columns, now=now)
    except ExpressionError as exc:
        detail = {"field": "filter", "message": exc.message}
        if exc.position is not None:
            detail["position"] = exc.position
        raise BadRequest(f"the filter is not valid: {exc.message}", [detail]) from None


def parse_sort(rt: ObjectRuntime, access: Access, sort: str | None) -> list[tuple[str, bool]]:
    """[(field, descending)], always ending in id so the order is total."""
    columns = visible_columns(rt, access)
    keys: list[tuple[str, bool]] = []
    parts = (sort or "-id").split(",")
    if len(parts) > MAX_SORT_FIELDS:
        # Cutting the list instead would drop the id tie-breaker, and paging would skip rows.
        raise BadRequest(f"sort by at most {MAX_SORT_FIELDS} fields")
    for part in parts:
        part = part.strip()
        name, desc = (part[1:], True) if part.startswith("-") else (part, False)
        if name not in columns:
            raise BadRequest(
                f"cannot sort by {name[:60]!r}: not a stored field you can see; "
                "write sort as a comma-separated list such as -created_at,name"
            )
        keys.append((name, desc))
    if "id" not in [k for k, _ in keys]:
        # The tie-breaker runs the same way as the first key, so an index on that
        # key serves the whole ORDER BY (PostgreSQL then only sorts ties).
        keys.append(("id", keys[0][1]))
    return keys


def order_by(table: sa.Table, keys) -> list:
    """Blanks come last either way, as in a spreadsheet. Columns that cannot be blank
    (id, created_at ...) get no NULLS clause, so PostgreSQL can walk their indexes."""
    clauses = []
    for name, desc in keys:
        col = table.c[name]
        clause = col.desc() if desc else col.asc()
        clauses.append(clause.nulls_last() if col.nullable else clause)
    return clauses


def encode_cursor(row, keys) -> str:
    values = [_jsonable(row[k]) for k, _ in keys]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def after_cursor(rt: ObjectRuntime, keys, cursor: str) -> sa.ColumnElement:
    """Rows strictly after the cursor in the sort order (blanks last either way)."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        assert isinstance(raw, list) and len(raw) == len(keys)
        values = [_decode(rt, k, v) for (k, _), v in zip(keys, raw, strict=True)]
    except Exception:  # any malformed cursor gets the same plain answer
        raise BadRequest("the cursor is not valid for this list; start again without it") from None
    table = rt.table
    alternatives = []
    for i, ((name, desc), value) in enumerate(zip(keys, values, strict=True)):
        equal_before = [_eq(table.c[n], v) for (n, _), v in zip(keys[:i], values[:i], strict=True)]
        col = table.c[name]
        if value is None:
            continue  # nothing follows a blank but blanks with a later tie-breaker
        beyond = (col < value) if desc else (col > value)
        if col.nullable:
            beyond = sa.or_(beyond, col.is_(None))
        alternatives.append(sa.and_(*equal_before, beyond))
    return sa.or_(*alternatives) if alternatives else sa.false()


def _eq(col, value):
    return col.is_(None) if value is None else col == value


def _decode(rt: ObjectRuntime, name: str, value: Any) -> Any:
    if value is None:
        return None
    field = rt.definition.by_name[name]
    if field.system and name in ("created_at", "updated_at"):
        import datetime as dt

        return dt.datetime.fromisoformat(value)
    if field.system:
        return int(value)
    type_name = (
        field.options.get("return_type", field.type)
        if field.type in ("formula", "rollup")
        else field.type
    )
    from trellis.fieldtypes import FIELD_TYPES

    return FIELD_TYPES[type_name].parse(value, field)


def build_select(rt: ObjectRuntime, access: Access, request: ListRequest, now):
    """The SELECT for one page (limit + 1 rows, to know whether more follow)."""
    if not 1 <= request.limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    table = rt.table
    query = sa.select(table)
    conditions = where_clause(rt, access, request, now)
    keys = parse_sort(rt, access, request.sort)
    if request.cursor:
        conditions.append(after_cursor(rt, keys, request.cursor))
    return query.where(*conditions).order_by(*order_by(table, keys)).limit(request.limit + 1), keys


def where_clause(rt: ObjectRuntime, access: Access, request: ListRequest, now) -> list:
    conditions = []
    scope = access.read_condition(rt.table)
    if scope is not None:
        conditions.append(scope)
    if request.filter:
        conditions.append(filter_condition(rt, access, request.filter, now))
    return conditions


def count_select(rt: ObjectRuntime, access: Access, request: ListRequest, now):
    return (
        sa.select(sa.func.count())
        .select_from(rt.table)
        .where(*where_clause(rt, access, request, now))
    )
