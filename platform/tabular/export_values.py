"""Record values as a person reads them in a spreadsheet.

Picklists show their labels in the user's language, lookups the name of the
record they point at (when the user can read it; otherwise its id), user
fields the person's display name, datetimes the moment in the user's time
zone, booleans 是/否 (Yes/No). Numbers stay numbers and dates stay dates, so
an .xlsx can sum and sort them; ``Cell.kind`` tells the writers which.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from trellis.metadata import FieldDef
from trellis.runtime.compiled import CompiledMetadata
from trellis.runtime.permissions import access_for
from trellis.runtime.system_tables import user_table

_NUMBERS = {"integer", "decimal", "currency", "percent"}
_BOOLEAN = {"zh-CN": ("是", "否"), "en": ("Yes", "No")}


@dataclass(frozen=True)
class Cell:
    """One exported value: ``kind`` is text, number, date or datetime (naive, user's zone)."""

    kind: str
    value: Any


BLANK = Cell("text", "")


def kind_of(f: FieldDef) -> str:
    return f.options.get("return_type", f.type) if f.type in ("formula", "rollup") else f.type


class ValueFormatter:
    """Formats the records of one page; names of looked-up records are fetched per page."""

    def __init__(self, compiled: CompiledMetadata, ctx, fields: list[FieldDef]):
        self.compiled = compiled
        self.ctx = ctx
        self.fields = fields
        self.locale = "en" if ctx.locale == "en" else "zh-CN"
        self._names: dict[str, dict[int, str]] = {}

    def load_names(self, conn: sa.Connection, records: list[dict[str, Any]]) -> None:
        """Names for every lookup and user value of ``records``, one query per column."""
        self._names = {}
        for f in self.fields:
            kind = kind_of(f)
            if kind not in ("lookup", "user"):
                continue
            ids = sorted({r[f.api_name] for r in records if r.get(f.api_name) is not None})
            self._names[f.api_name] = self._lookup_names(conn, f, ids) if ids else {}

    def _lookup_names(self, conn, f: FieldDef, ids: list[int]) -> dict[int, str]:
        if kind_of(f) == "user":
            u = user_table.c
            query = sa.select(u.id, u.display_name).where(u.id.in_(ids))
            return {r.id: r.display_name for r in conn.execute(query)}
        target = self.compiled.objects.get(f.options["target"])
        if target is None or not target.definition.name_field:
            return {}
        access = access_for(self.compiled.definitions, self.ctx.principal, f.options["target"])
        if not access.read or target.definition.name_field in access.hidden:
            return {}  # a name the user may not read stays an id
        table = target.table
        query = sa.select(table.c.id, table.c[target.definition.name_field]).where(
            table.c.id.in_(ids)
        )
        condition = access.read_condition(table)
        if condition is not None:
            query = query.where(condition)
        return {r[0]: r[1] for r in conn.execute(query) if r[1] is not None}

    def row(self, record: dict[str, Any]) -> list[Cell]:
        return [self.cell(f, record.get(f.api_name)) for f in self.fields]

    def cell(self, f: FieldDef, value: Any) -> Cell:
        if value is None or value == "" or value == []:
            return BLANK
        kind = kind_of(f)
        if kind in _NUMBERS:
            return Cell("number", int(value) if kind == "integer" else Decimal(str(value)))
        if kind == "date":
            return Cell("date", dt.date.fromisoformat(value))
        if kind == "datetime":
            moment = dt.datetime.fromisoformat(value).astimezone(self.ctx.zone)
            return Cell("datetime", moment.replace(tzinfo=None))
        if kind == "boolean":
            yes, no = _BOOLEAN[self.locale]
            return Cell("text", yes if value else no)
        if kind == "picklist":
            return Cell("text", self._label(f, value))
        if kind == "multi_picklist":
            return Cell("text", "; ".join(self._label(f, v) for v in value))
        if kind in ("lookup", "user"):
            name = self._names.get(f.api_name, {}).get(value)
            return Cell("text", name) if name is not None else Cell("number", int(value))
        return Cell("text", str(value))

    def _label(self, f: FieldDef, name: str) -> str:
        for v in f.options.get("values", ()):
            if v["api_name"] == name:
                return v["label"].get(self.locale) or name
        return str(name)
