"""Filters a list page builds for the viewer, all in the one expression language.

The friendly builder's rows (field, operator, value) and the quick search box become an
expression; the list view's own filter and an expression typed by the user are added with
``and``. Values are written as expression literals (``repr`` of a text, a checked number),
never spliced in raw, so a value can never change the expression's shape.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from trellis.metadata import FieldDef, ObjectDef
from trellis.web.display import NUMERIC, value_type

#: operator name -> how it reads in the expression language
OPERATORS = {
    "eq": "==",
    "ne": "!=",
    "gt": ">",
    "ge": ">=",
    "lt": "<",
    "le": "<=",
    "contains": "CONTAINS",
    "blank": "ISBLANK",
}
TEXT_TYPES = {"text", "long_text", "email", "phone", "url", "auto_number", "credit_code"}


class FilterInputError(ValueError):
    """A builder row the user filled in wrongly; the message says how to fix it."""


def literal(f: FieldDef, raw: str) -> str:
    kind = value_type(f)
    if kind in NUMERIC:
        try:
            return str(Decimal(raw.replace(",", "").strip()))
        except InvalidOperation:
            raise FilterInputError(f"{f.api_name}: {raw!r} is not a number") from None
    if kind == "boolean":
        return "True" if raw.lower() in ("1", "true", "yes", "是") else "False"
    if kind == "date":
        try:
            day = dt.date.fromisoformat(raw.strip())
        except ValueError:
            raise FilterInputError(f"{f.api_name}: write the date as 2026-03-31") from None
        return f"DATE({day.year}, {day.month}, {day.day})"
    return repr(raw)


def condition(f: FieldDef, op: str, raw: str) -> str:
    if op not in OPERATORS:
        raise FilterInputError(f"unknown operator {op!r}")
    if op == "blank":
        return f"ISBLANK({f.api_name})"
    if op == "contains":
        return f"CONTAINS({f.api_name}, {raw!r})"
    return f"{f.api_name} {OPERATORS[op]} {literal(f, raw)}"


def builder_expression(obj: ObjectDef, rows: list[tuple[str, str, str]]) -> str | None:
    parts = []
    for name, op, raw in rows:
        if not name or (not raw and op != "blank"):
            continue
        f = obj.by_name.get(name)
        if f is None or f.archived:
            raise FilterInputError(f"there is no field {name!r}")
        parts.append(condition(f, op, raw))
    return " and ".join(parts) or None


def search_expression(obj: ObjectDef, text: str, hidden=frozenset()) -> str | None:
    """Records whose searchable text fields contain ``text`` (ignoring case)."""
    text = text.strip()[:100]
    fields = [
        name
        for name in obj.searchable_fields
        if name in obj.by_name
        and name not in hidden
        and value_type(obj.by_name[name]) in TEXT_TYPES
        and obj.by_name[name].stored
    ]
    if not text or not fields:
        return None
    return " or ".join(f"CONTAINS({name}, {text!r})" for name in fields)


def combine(*parts: str | None) -> str | None:
    present = [p for p in parts if p]
    if len(present) <= 1:
        return present[0] if present else None
    return " and ".join(f"({p})" for p in present)


def filterable(obj: ObjectDef, hidden=frozenset()) -> list[FieldDef]:
    """Fields offered in the builder: stored, live, visible, not date-times."""
    return [
        f
        for f in obj.live_fields
        if f.stored
        and f.api_name not in hidden
        and f.api_name not in ("version", "department")
        # a date-time compares only with a date-time, which a text box cannot give
        and value_type(f) != "datetime"
    ]
