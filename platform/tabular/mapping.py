"""Column mapping: which column of the file fills which field.

A header matches a field by its api_name, its Chinese or its English label,
compared without case, width or spaces (``公司 名称`` matches ``公司名称``,
``COMPANY`` matches ``Company``). The mapping a user last chose for an object
is remembered (per object and user) and wins over the automatic match, so a
monthly file with odd headers is mapped once.

Only fields the user may write are offered: stored, writable, not read-only
or hidden for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trellis.metadata import FieldDef
from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.errors import Invalid
from trellis.runtime.permissions import Access
from trellis.runtime.records.duplicates import normalise
from trellis.tabular.tables import import_mapping_table


@dataclass(frozen=True)
class ColumnMapping:
    """One column of the file: 1-based position, header text, and its field (or None)."""

    column: int
    header: str
    field: str | None
    #: how the field was chosen: remembered, api_name, label, user, or None
    matched_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "header": self.header,
            "field": self.field,
            "matched_by": self.matched_by,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ColumnMapping:
        return cls(data["column"], data["header"], data.get("field"), data.get("matched_by"))


def importable_fields(rt: ObjectRuntime, access: Access) -> dict[str, FieldDef]:
    """The fields a user may fill from a file, by api_name."""
    return {
        f.api_name: f
        for f in rt.definition.live_fields
        if f.writable
        and not f.system
        and f.api_name in rt.inputs
        and f.api_name not in access.hidden
        and f.api_name not in access.read_only
    }


def propose(
    headers: list[str], fields: dict[str, FieldDef], remembered: dict[str, str | None]
) -> list[ColumnMapping]:
    """The mapping offered for ``headers``: remembered choices first, then names and labels."""
    by_name: dict[str, tuple[str, str]] = {}
    for f in fields.values():
        # Labels first, so that an api_name that happens to read like another field's
        # label still wins (later entries overwrite earlier ones).
        for text in (f.label.en, f.label.zh):
            by_name.setdefault(normalise(text), (f.api_name, "label"))
        by_name[normalise(f.api_name)] = (f.api_name, "api_name")
    taken: set[str] = set()
    out = []
    for i, header in enumerate(headers, start=1):
        key = normalise(header) if header else ""
        choice: tuple[str | None, str | None] = (None, None)
        if key and key in remembered and (remembered[key] is None or remembered[key] in fields):
            choice = (remembered[key], "remembered")
        elif key in by_name:
            choice = by_name[key]
        if choice[0] is not None and choice[0] in taken:
            choice = (None, None)  # one column per field: the first column keeps it
        if choice[0] is not None:
            taken.add(choice[0])
        out.append(ColumnMapping(i, header, *choice))
    return out


def apply_choices(
    current: list[ColumnMapping], choices: Any, fields: dict[str, FieldDef]
) -> list[ColumnMapping]:
    """``current`` with the user's ``choices``: ``{header or column number: field or null}``.

    Raises Invalid naming every unknown column, unknown field and field chosen twice.
    """
    if not isinstance(choices, dict):
        raise Invalid(
            "mapping must be an object of column headers and field names, e.g. "
            '{"公司名称": "company_name", "备注": null}'
        )
    by_header = {c.header: c for c in current if c.header}
    by_number = {str(c.column): c for c in current}
    problems = []
    chosen: dict[int, str | None] = {}
    for key, field in choices.items():
        column = by_header.get(key) or by_number.get(str(key))
        if column is None:
            problems.append({"field": str(key)[:80], "message": "the file has no such column"})
            continue
        if field is not None and field not in fields:
            problems.append(
                {
                    "field": str(key)[:80],
                    "message": f"{str(field)[:60]!r} is not a field you may import into; "
                    f"choose one of: {', '.join(sorted(fields))}",
                }
            )
            continue
        chosen[column.column] = field
    merged = [
        ColumnMapping(c.column, c.header, chosen[c.column], "user") if c.column in chosen else c
        for c in current
    ]
    problems += _twice(merged)
    if problems:
        raise Invalid("the column mapping has problems", problems)
    return merged


def _twice(mapping: list[ColumnMapping]) -> list[dict[str, str]]:
    seen: dict[str, str] = {}
    problems = []
    for c in mapping:
        if c.field is None:
            continue
        if c.field in seen:
            problems.append(
                {
                    "field": c.header or str(c.column),
                    "message": f"field {c.field!r} is already filled from column {seen[c.field]!r}",
                }
            )
        seen[c.field] = c.header or str(c.column)
    return problems


def check_still_valid(mapping: list[ColumnMapping], fields: dict[str, FieldDef]) -> None:
    """Raise Invalid when a mapped field went away (archived, made read-only) since upload."""
    gone = [c for c in mapping if c.field is not None and c.field not in fields]
    if gone:
        raise Invalid(
            "some mapped fields can no longer be imported into: "
            + ", ".join(f"{c.field} (column {c.header!r})" for c in gone[:10])
        )


# -- remembering ---------------------------------------------------------------------


def remembered(conn: sa.Connection, object_name: str, user_id: int) -> dict[str, str | None]:
    t = import_mapping_table
    found = conn.execute(
        sa.select(t.c.mapping).where(t.c.object == object_name, t.c.user_id == user_id)
    ).scalar()
    return dict(found or {})


def remember(
    conn: sa.Connection,
    object_name: str,
    user_id: int,
    mapping: list[ColumnMapping],
    now: dt.datetime,
) -> None:
    """Keep this mapping for the user's next import into the object (added to older ones)."""
    t = import_mapping_table
    known = remembered(conn, object_name, user_id)
    known.update({normalise(c.header): c.field for c in mapping if c.header})
    where = (t.c.object == object_name, t.c.user_id == user_id)
    moved = conn.execute(sa.update(t).where(*where).values(mapping=known, updated_at=now))
    if moved.rowcount == 0:
        conn.execute(
            sa.insert(t).values(object=object_name, user_id=user_id, mapping=known, updated_at=now)
        )
