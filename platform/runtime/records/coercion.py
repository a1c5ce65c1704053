"""Coerce caller input into stored values, with one error per bad field."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import marshmallow

from trellis.fieldtypes.temporal import to_utc
from trellis.runtime.compiled import ObjectRuntime
from trellis.runtime.errors import Invalid
from trellis.runtime.permissions import Access

#: Keys a payload may carry that are not field values.
ENVELOPE = frozenset({"id", "version"})


def coerce(
    rt: ObjectRuntime,
    access: Access,
    data: Any,
    zone,
    *,
    allow_envelope: bool = False,
    errors: list[dict] | None = None,
) -> dict[str, Any]:
    """Check and convert ``data``; raise Invalid listing every bad field.

    When ``errors`` is given, problems are appended there instead of raised
    (bulk writes report every row at once).
    """
    own_errors = errors is None
    errors = [] if errors is None else errors
    if not isinstance(data, Mapping):
        raise Invalid("a record must be a JSON object of field names and values")
    values: dict[str, Any] = {}
    for name, raw in data.items():
        if allow_envelope and name in ENVELOPE:
            continue
        field = rt.inputs.get(name)
        if field is None:
            errors.append({"field": name, "message": _not_writable(rt, access, name)})
            continue
        if name in access.hidden:  # answered like an unknown field: hidden means unseen
            errors.append({"field": name, "message": _not_writable(rt, access, name)})
            continue
        if name in access.read_only:
            errors.append({"field": name, "message": f"you may not change {name!r}"})
            continue
        try:
            value = field.deserialize(raw)
        except marshmallow.ValidationError as exc:
            errors.append({"field": name, "message": _first(exc.messages)})
            continue
        if value is not None and rt.definition.by_name[name].type == "datetime":
            value = to_utc(value, zone)
        values[name] = value
    if errors and own_errors:
        raise Invalid(
            f"{len(errors)} field(s) of this {rt.definition.api_name} are not valid", errors
        )
    return values


def _first(messages) -> str:
    if isinstance(messages, list):
        return str(messages[0])
    return str(messages)


def _not_writable(rt: ObjectRuntime, access: Access, name: str) -> str:
    field = rt.definition.by_name.get(name)
    if field is None or field.archived or (field.api_name in access.hidden):
        names = [f for f in rt.inputs if f not in access.hidden]
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{rt.definition.api_name} has no field {str(name)[:60]!r}{hint}"
    if field.system:
        return f"{name!r} is set by Trellis and cannot be written; remove it from the request"
    return f"{name!r} is a {field.type} field computed by Trellis; remove it from the request"
