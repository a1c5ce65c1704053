"""Finding the existing record a row matches (for ``skip`` and ``update``).

By a duplicate rule: the row's match key, normalised exactly as the records
service normalises it on entry, against the rule's indexed key column. By a
key field: equal stored values. Either way one ``IN`` query per chunk, among
the records the importing user can read (an invisible record is no match,
as it would be for a duplicate warning). Rows created earlier in the same
import count as well, so a file that repeats a row does not create it twice.
"""

from __future__ import annotations

from typing import Any

import marshmallow
import sqlalchemy as sa

from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.permissions import Access
from trellis.runtime.records import duplicates
from trellis.tabular.options import ImportOptions, key_field, rule_of

_BATCH = 500


class Matcher:
    def __init__(
        self, conn: sa.Connection, rt: ObjectRuntime, access: Access, options: ImportOptions
    ):
        self._conn = conn
        self.rt = rt
        self.access = access
        self.rule = None
        self.field = None
        if options.duplicates != "create" and options.match_by:
            if options.match_by.startswith("rule:"):
                self.rule = rule_of(rt, options.match_by)
            else:
                self.field = key_field(rt, access, options.match_by)
        self._existing: dict[Any, list[int]] = {}

    @property
    def active(self) -> bool:
        return self.rule is not None or self.field is not None

    def key(self, data: dict[str, Any]) -> Any:
        """The row's match key, or None when it cannot match (a blank or bad key value)."""
        if self.rule is not None:
            values = {}
            for name in self.rule.fields:
                value = self._stored(name, data.get(name))
                if value is None:
                    return None
                values[name] = value
            return duplicates.match_key(self.rule, values)
        if self.field is not None:
            return self._stored(self.field.api_name, data.get(self.field.api_name))
        return None

    def _stored(self, name: str, value: Any) -> Any:
        """A cell's value as the column stores it (ids of lookups are resolved already)."""
        if value is None or value == "" or not isinstance(value, str):
            return value if value != "" else None
        field = self.rt.inputs.get(name)
        if field is None:
            return None
        try:
            return field.deserialize(value)
        except marshmallow.ValidationError:
            return None  # the write reports the bad value

    def load(self, keys: list[Any]) -> None:
        """Find the existing records of a chunk's keys at once."""
        if not self.active:
            return
        table = self.rt.table
        column = table.c[self.rule.column if self.rule is not None else self.field.api_name]
        wanted = sorted({k for k in keys if k is not None and k not in self._existing}, key=str)
        condition = self.access.read_condition(table)
        for start in range(0, len(wanted), _BATCH):
            query = sa.select(column, table.c.id).where(column.in_(wanted[start : start + _BATCH]))
            if condition is not None:
                query = query.where(condition)
            for key, record_id in self._conn.execute(query.order_by(table.c.id)):
                self._existing.setdefault(key, []).append(record_id)

    def matches(self, key: Any) -> list[int]:
        return [] if key is None else self._existing.get(key, [])

    def created(self, key: Any, record_id: int) -> None:
        """A row of this import just created ``record_id`` with ``key``."""
        if key is not None:
            self._existing.setdefault(key, []).append(record_id)
