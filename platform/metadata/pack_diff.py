"""What differs between two sets of components, property by property.

Used by ``trellis pack diff A B``: two versions of a pack, or a pack folder
and the live (effective) definitions of a database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trellis.metadata.components import Component
from trellis.metadata.merge import ABSENT


def diff(a: Mapping[str, Component], b: Mapping[str, Component]) -> list[dict[str, Any]]:
    """One entry per component added, removed or changed from ``a`` to ``b``."""
    out = []
    for key in sorted(a.keys() | b.keys()):
        if key not in a:
            out.append({"key": key, "change": "added"})
        elif key not in b:
            out.append({"key": key, "change": "removed"})
        else:
            props = _changed_properties(a[key].definition, b[key].definition)
            if props:
                out.append({"key": key, "change": "changed", "properties": props})
    return out


def _changed_properties(old: dict, new: dict) -> list[dict[str, Any]]:
    return [
        {"property": p, "before": old.get(p, ABSENT), "after": new.get(p, ABSENT)}
        for p in sorted(old.keys() | new.keys())
        if old.get(p, ABSENT) != new.get(p, ABSENT)
    ]


def as_text(entries: list[dict[str, Any]]) -> str:
    """The diff as lines a person reads: ``+ key``, ``- key``, ``~ key.property: a -> b``."""
    if not entries:
        return "no differences"
    lines = []
    for entry in entries:
        sign = {"added": "+", "removed": "-", "changed": "~"}[entry["change"]]
        lines.append(f"{sign} {entry['key']}")
        for prop in entry.get("properties", []):
            lines.append(
                f"    {prop['property']}: {_short(prop['before'])} -> {_short(prop['after'])}"
            )
    return "\n".join(lines)


def _short(value: Any) -> str:
    text = "(absent)" if value == ABSENT else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
