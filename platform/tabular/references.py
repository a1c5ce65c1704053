"""Lookup and user columns hold names, not ids: an account column says
``华东化工有限公司``, and the import finds that account's id.

A lookup value is matched against the target object's name field, among the
records the importing user can read (the records service would refuse a
link to any other). A user value is matched against usernames, then display
names. Names are looked up once per chunk of rows, with one query per
column. A name that matches nothing, or more than one record, is a row
error naming the value.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from trellis.metadata import FieldDef
from trellis.runtime.compiled import CompiledMetadata
from trellis.runtime.permissions import access_for
from trellis.runtime.system_tables import user_table

_BATCH = 500


class UnresolvedName(ValueError):
    """A name that names no record, or several."""


class NameResolver:
    """Ids for the names in one chunk's lookup and user columns."""

    def __init__(self, conn: sa.Connection, compiled: CompiledMetadata, ctx):
        self.conn = conn
        self.compiled = compiled
        self.ctx = ctx
        self._found: dict[str, dict[str, list[int]]] = {}

    def load(self, field: FieldDef, names: Iterable[str]) -> None:
        """Look up every name of one column at once."""
        wanted = sorted({n for n in names if n})
        found: dict[str, list[int]] = self._found.setdefault(field.api_name, {})
        for start in range(0, len(wanted), _BATCH):
            for name, record_id in self._query(field, wanted[start : start + _BATCH]):
                found.setdefault(str(name), []).append(record_id)

    def _query(self, field: FieldDef, names: list[str]):
        if field.type == "user":
            u = user_table.c
            rows = self.conn.execute(
                sa.select(u.username, u.display_name, u.id).where(
                    sa.or_(u.username.in_(names), u.display_name.in_(names))
                )
            ).all()
            by_username = {r.username: r.id for r in rows}
            out = [(name, uid) for name, uid in by_username.items() if name in names]
            out += [
                (r.display_name, r.id)
                for r in rows
                if r.display_name in names and r.display_name not in by_username
            ]
            return out
        target = self.compiled.object(field.options["target"])
        name_field = target.definition.name_field
        if not name_field:
            return []
        table = target.table
        query = sa.select(table.c[name_field], table.c.id).where(table.c[name_field].in_(names))
        condition = access_for(
            self.compiled.definitions, self.ctx.principal, target.definition.api_name
        ).read_condition(table)
        if condition is not None:
            query = query.where(condition)
        return self.conn.execute(query).all()

    def resolve(self, field: FieldDef, name: str) -> int:
        """The id for ``name`` in ``field``'s column (loaded before); raises UnresolvedName."""
        ids = self._found.get(field.api_name, {}).get(name, [])
        if len(ids) == 1:
            return ids[0]
        what = "user" if field.type == "user" else field.options["target"]
        if not ids:
            if field.type != "user" and not self.compiled.object(what).definition.name_field:
                raise UnresolvedName(f"{what} records have no name field to match {name!r} on")
            raise UnresolvedName(f"no {what} named {name!r} that you can see")
        raise UnresolvedName(
            f"{len(ids)} {what} records are named {name!r} (ids "
            f"{', '.join(map(str, sorted(ids)[:5]))}); rename them so the name is unique"
        )
