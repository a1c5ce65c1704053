"""Field values as a page shows them: picklist labels, lookup names with links, people's
names, money in CNY, dates and times in the viewer's zone.

Values arrive as the records service presents them (JSON values, datetimes already in the
viewer's zone). Names behind lookups are read in one query per target object per page, with
the viewer's data scope: a record the viewer may not read shows as its number, not its name.
Everything returned is plain text; the templates escape it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from babel.numbers import format_currency, format_decimal
from flask_babel import gettext as _

from trellis.metadata import FieldDef
from trellis.runtime.system_tables import department_table, user_table

NUMERIC = {"integer", "decimal", "currency", "percent"}


@dataclass(frozen=True)
class Cell:
    """One shown value: its text, an optional link, and a CSS hint (``number``, ``tag`` …)."""

    text: str
    href: str | None = None
    kind: str = ""
    color: str | None = None


BLANK = Cell("")


def value_type(f: FieldDef) -> str:
    """The type a value of ``f`` has: a formula's or roll-up's result type, else its own."""
    if f.type == "formula":
        return f.options.get("return_type", "text")
    if f.type == "rollup":
        return "integer" if f.options.get("function") == "count" else "decimal"
    return f.type


class Names:
    """Display names of the records, users and departments a page refers to, read in batches."""

    def __init__(self, runtime, ctx):
        self.runtime = runtime
        self.ctx = ctx
        self._wanted: dict[str, set[int]] = defaultdict(set)
        self._known: dict[tuple[str, int], str] = {}

    def want(self, target: str, record_id: Any) -> None:
        if isinstance(record_id, int) and (target, record_id) not in self._known:
            self._wanted[target].add(record_id)

    def get(self, target: str, record_id: int) -> str | None:
        if self._wanted:
            self._load()
        return self._known.get((target, record_id))

    def _load(self) -> None:
        wanted, self._wanted = self._wanted, defaultdict(set)
        with self.runtime.engine.connect() as conn:
            compiled = self.runtime.cache.get(conn)
            for target, ids in wanted.items():
                for record_id, name in self._names(conn, compiled, target, sorted(ids)):
                    self._known[(target, record_id)] = name

    def _names(self, conn, compiled, target: str, ids: list[int]):
        if target == "user":
            t = user_table
            return conn.execute(sa.select(t.c.id, t.c.display_name).where(t.c.id.in_(ids)))
        if target == "department":
            t = department_table
            column = t.c.label_zh if self.ctx.locale.startswith("zh") else t.c.label_en
            return conn.execute(sa.select(t.c.id, column).where(t.c.id.in_(ids)))
        rt = compiled.objects.get(target)
        if rt is None:
            return []
        access = self.runtime.records.access(compiled, self.ctx, target)
        name_field = rt.definition.name_field
        if not access.read or not name_field or name_field in access.hidden:
            return []
        table = rt.table
        query = sa.select(table.c.id, table.c[name_field]).where(table.c.id.in_(ids))
        scope = access.read_condition(table)
        if scope is not None:
            query = query.where(scope)
        return conn.execute(query)


def reference_target(f: FieldDef) -> str | None:
    if f.type == "lookup":
        return f.options.get("target")
    if f.type == "user" or f.api_name in ("owner", "created_by", "updated_by"):
        return "user"
    if f.api_name == "department" and f.system:
        return "department"
    return None


def collect(names: Names, fields: list[FieldDef], records: list[dict]) -> None:
    """Tell ``names`` every reference the page will show (one query per target later)."""
    for f in fields:
        target = reference_target(f)
        if target:
            for record in records:
                names.want(target, record.get(f.api_name))


def cell(f: FieldDef, value: Any, names: Names, locale: str) -> Cell:
    if value is None or value == "" or value == []:
        return BLANK
    target = reference_target(f)
    if target:
        name = names.get(target, value)
        if target in ("user", "department"):
            return Cell(name or f"#{value}")
        return Cell(name or f"#{value}", href=f"/o/{target}/{value}")
    kind = value_type(f)
    if kind in ("picklist", "multi_picklist"):
        return _choice(f, value, locale)
    if kind == "boolean":
        return Cell(_("Yes") if value else _("No"))
    if kind in NUMERIC:
        return Cell(_number(kind, value, locale, f), kind="number")
    if kind == "datetime":
        return Cell(_datetime(value))
    if kind == "email":
        return Cell(str(value), href=f"mailto:{value}")
    if kind == "phone":
        return Cell(str(value), href=f"tel:{value}")
    if kind == "url":
        text = str(value)
        safe = text.lower().startswith(("http://", "https://"))
        return Cell(text, href=text if safe else None)  # never a javascript: link
    if kind == "long_text":
        return Cell(str(value), kind="long")
    return Cell(str(value))


def _choice(f: FieldDef, value: Any, locale: str) -> Cell:
    by_name = {v["api_name"]: v for v in f.options.get("values", ())}
    chosen = value if isinstance(value, list) else [value]
    labels = []
    for name in chosen:
        v = by_name.get(name)
        labels.append(_choice_label(v, locale) if v else str(name))
    color = by_name.get(chosen[0], {}).get("color") if len(chosen) == 1 else None
    return Cell(
        "、".join(labels) if locale.startswith("zh") else ", ".join(labels), kind="tag", color=color
    )


def _choice_label(value: dict, locale: str) -> str:
    labels = value["label"]
    return labels["zh-CN"] if locale.startswith("zh") else labels["en"]


def _number(kind: str, value: Any, locale: str, f: FieldDef) -> str:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    babel_locale = locale.replace("-", "_")
    if kind == "currency":
        return format_currency(number, f.options.get("currency", "CNY"), locale=babel_locale)
    if kind == "percent":
        return format_decimal(number, format="#,##0.##", locale=babel_locale) + "%"
    if kind == "integer":
        return format_decimal(number, format="#,##0", locale=babel_locale)
    return format_decimal(number, format="#,##0.##########", locale=babel_locale)


def _datetime(value: Any) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M")


def picklist_options(f: FieldDef, locale: str, current: Any = None) -> list[tuple[str, str]]:
    """(api_name, label) of the active values, plus the current value even when inactive."""
    chosen = set(current if isinstance(current, list) else [current])
    return [
        (v["api_name"], _choice_label(v, locale))
        for v in f.options.get("values", ())
        if v.get("active", True) or v["api_name"] in chosen
    ]
