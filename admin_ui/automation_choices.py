"""What the automation designer's selects offer: objects, fields, rules, pools, flows, roles.

All read from the live definitions of this request (``trellis.web.metadata_view``), in the
page's language.
"""

from __future__ import annotations

from typing import Any

from trellis.web.metadata_view import definitions
from trellis.web.sessions import page_context


def _label(label) -> str:
    return label.get(page_context().locale)


def objects() -> list[tuple[str, str]]:
    return [
        (name, f"{_label(o.label)} · {name}")
        for name, o in definitions().objects.items()
        if not o.archived and not name.startswith("trellis_")
    ]


def writable_fields(object_name: str) -> list[tuple[str, str]]:
    """Fields an update_fields or create_record action may set."""
    obj = definitions().objects.get(object_name)
    if obj is None:
        return []
    return [
        (f.api_name, f"{_label(f.label)} · {f.api_name}") for f in obj.live_fields if f.writable
    ]


def stored_fields(object_name: str) -> list[tuple[str, str]]:
    """Fields whose change an update trigger may watch."""
    obj = definitions().objects.get(object_name)
    if obj is None:
        return []
    return [
        (f.api_name, f"{_label(f.label)} · {f.api_name}")
        for f in obj.live_fields
        if f.stored and not f.system
    ]


def field_label(object_name: str, name: str) -> str:
    obj = definitions().objects.get(object_name)
    f = obj.by_name.get(name) if obj else None
    return _label(f.label) if f else name


def of_object(kind: str, object_name: str) -> list[tuple[str, str]]:
    """Assignment rules, pools or approval flows of the object: (api_name, label)."""
    found: dict[str, Any] = getattr(definitions(), kind)
    return sorted(
        (item.api_name, f"{_label(item.label)} · {item.api_name}")
        for item in found.values()
        if item.object_name == object_name
    )


def roles() -> list[tuple[str, str]]:
    return sorted((n, f"{_label(r.label)} · {n}") for n, r in definitions().roles.items())


def choices(object_name: str) -> dict[str, Any]:
    """Everything one designer page offers, read once."""
    return {
        "objects": objects(),
        "writable": writable_fields(object_name),
        "watched": stored_fields(object_name),
        "rules": of_object("assignment_rules", object_name),
        "pools": of_object("pools", object_name),
        "flows": of_object("approval_flows", object_name),
        "roles": roles(),
        "targets": {name: writable_fields(name) for name, _ in objects()},
    }
