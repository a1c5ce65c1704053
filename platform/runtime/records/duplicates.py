"""Duplicate rules (查重): match records on normalised field values.

Each rule keeps a hidden, indexed match key per record, so finding a
duplicate is one index lookup on entry and one ``IN`` query per batch on
import. Normalising makes ``ＡＢＣ 化工`` match ``abc化工``: Unicode NFKC
(full-width to half-width), case folded, whitespace removed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trellis.metadata.definitions import DuplicateRuleDef
from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.errors import Conflict
from trellis.runtime.permissions import Access

_SPACES = re.compile(r"\s+")
_SEPARATOR = "\x1f"
MAX_LISTED = 10


def normalise(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return _SPACES.sub("", text)


def match_key(rule: DuplicateRuleDef, values: dict[str, Any]) -> str | None:
    """The match key of a record under a rule; None when a matched field is blank."""
    parts = []
    for name in rule.fields:
        value = values.get(name)
        if value is None or value == "":
            return None
        parts.append(normalise(value))
    return _SEPARATOR.join(parts)[:1000]


def set_keys(rt: ObjectRuntime, values: dict[str, Any]) -> None:
    for rule in rt.definition.duplicate_rules:
        values[rule.column] = match_key(rule, values)


@dataclass
class Duplicates:
    rule: DuplicateRuleDef
    visible: list[dict[str, Any]]
    hidden: int

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.api_name,
            "action": self.rule.action,
            "records": self.visible,
            "not_visible": self.hidden,
        }


def find(
    conn: sa.Connection,
    rt: ObjectRuntime,
    access: Access,
    values: dict[str, Any],
    exclude_id: int | None = None,
) -> list[Duplicates]:
    """Records already matching ``values`` under each active rule."""
    found = []
    table = rt.table
    if not rt.definition.duplicate_rules:
        return found
    name = rt.definition.name_field
    name_col = table.c[name] if name and name in table.c else table.c.id
    condition = access.read_condition(table)
    visible = sa.true() if condition is None else condition
    for rule in rt.definition.duplicate_rules:
        key = values.get(rule.column)
        if not rule.active or key is None:
            continue
        # Most writes match nothing: a prepared one-row probe settles that cheaply, and
        # only a hit pays for the query that sorts matches into visible and not.
        probe = {"key": key, "exclude": exclude_id or 0}
        if conn.execute(rt.duplicate_probes[rule.api_name], probe).first() is None:
            continue
        query = (
            sa.select(table.c.id, name_col.label("name"), sa.case((visible, 1), else_=0).label("v"))
            .where(table.c[rule.column] == key)
            .order_by(table.c.id)
            .limit(MAX_LISTED * 5)
        )
        if exclude_id is not None:
            query = query.where(table.c.id != exclude_id)
        rows = conn.execute(query).all()
        if rows:
            shown = [{"id": r.id, "name": r.name} for r in rows if r.v][:MAX_LISTED]
            found.append(Duplicates(rule, shown, sum(1 for r in rows if not r.v)))
    return found


def enforce(found: list[Duplicates], object_name: str) -> list[dict[str, Any]]:
    """Raise Conflict for a blocking rule; return warnings for the others."""
    blocking = [d for d in found if d.rule.action == "block"]
    if blocking:
        raise Conflict(
            f"this {object_name} duplicates existing records (rule "
            f"{blocking[0].rule.api_name!r}); open the existing record instead",
            [
                {"field": f, "message": "matches an existing record"}
                for d in blocking
                for f in d.rule.fields
            ],
            duplicates=[d.as_json() for d in found],
        )
    return [d.as_json() for d in found]
