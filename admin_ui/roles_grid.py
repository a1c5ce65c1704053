"""The permission grid of a role: rows are objects, columns the rights the role schema has.

``rows`` turns a role definition into what the grid shows (every live object, ticked or
not, with its data scopes and its fields' security); ``definition_from_form`` turns the
posted grid back into the whole role definition for ``MetadataAPI.define``. The columns,
the scopes and the field access levels are read from ``schemas/role.json``, so a right the
schema gains shows up as a column without touching this module.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from trellis.metadata import ObjectDef
from trellis.metadata.schemas import validator

#: Form-field prefixes: right (checkbox), scope (select), field access (select).
RIGHT, SCOPE, FIELD = "right", "scope", "field"


@dataclass(frozen=True)
class Schema:
    """What the role schema allows per object."""

    rights: tuple[str, ...]
    scopes: tuple[str, ...]
    scope_props: tuple[str, ...]
    field_access: tuple[str, ...]


@cache
def schema() -> Schema:
    role = validator("role").schema
    props = role["properties"]["objects"]["additionalProperties"]["properties"]
    return Schema(
        rights=tuple(k for k, v in props.items() if v.get("type") == "boolean"),
        scopes=tuple(role["$defs"]["scope"]["enum"]),
        scope_props=tuple(k for k, v in props.items() if v.get("$ref") == "#/$defs/scope"),
        field_access=tuple(props["fields"]["additionalProperties"]["enum"]),
    )


@dataclass
class FieldRow:
    api_name: str
    label: Any
    access: str


@dataclass
class ObjectRow:
    """One object's row: its rights, scopes and (in the sub-grid) its fields."""

    api_name: str
    label: Any
    rights: dict[str, bool]
    scopes: dict[str, str]
    fields: list[FieldRow] = field(default_factory=list)

    @property
    def restricted(self) -> int:
        """How many fields are hidden or read-only (shown on the sub-grid's toggle)."""
        return sum(1 for f in self.fields if f.access != "editable")


def rows(definition: dict[str, Any], objects: list[ObjectDef]) -> list[ObjectRow]:
    """Every live object as a grid row, with what ``definition`` grants on it."""
    s = schema()
    granted = definition.get("objects", {})
    out = []
    for obj in objects:
        perms = granted.get(obj.api_name, {})
        fields = perms.get("fields", {})
        out.append(
            ObjectRow(
                obj.api_name,
                obj.label,
                {r: perms.get(r) is True for r in s.rights},
                {p: perms.get(p, "own") for p in s.scope_props},
                [
                    FieldRow(f.api_name, f.label, fields.get(f.api_name, "editable"))
                    for f in obj.live_fields
                    if not f.system
                ],
            )
        )
    return out


def definition_from_form(current: dict[str, Any], form, objects: list[ObjectDef]) -> dict[str, Any]:
    """The whole role definition the grid describes.

    Objects shown on the grid take their rights, scopes and field security from the form;
    an object with nothing granted and no field rule leaves the role. Properties the
    admin did not touch keep their exact stored form (an explicit ``false``, a field set
    to ``editable``), so saving an unchanged grid changes nothing.
    """
    definition = copy.deepcopy(current)
    definition["label"] = {
        "zh-CN": form.get("label_zh", "").strip(),
        "en": form.get("label_en", "").strip(),
    }
    description = form.get("description", "").strip()
    if description:
        definition["description"] = description
    else:
        definition.pop("description", None)
    granted = definition.setdefault("objects", {})
    for obj in objects:
        entry = _object_entry(granted.get(obj.api_name, {}), form, obj)
        if entry:
            granted[obj.api_name] = entry
        else:
            granted.pop(obj.api_name, None)
    return definition


def _object_entry(before: dict[str, Any], form, obj: ObjectDef) -> dict[str, Any]:
    s = schema()
    entry = dict(before)
    for right in s.rights:
        ticked = form.get(f"{RIGHT}.{obj.api_name}.{right}") == "1"
        if ticked or right in before:
            entry[right] = ticked
    for prop in s.scope_props:
        value = form.get(f"{SCOPE}.{obj.api_name}.{prop}")
        if value is not None and (value != "own" or prop in before):
            entry[prop] = value
    fields = _fields_entry(before.get("fields", {}), form, obj)
    if fields:
        entry["fields"] = fields
    else:
        entry.pop("fields", None)
    anything = any(entry.get(r) for r in s.rights) or fields
    return entry if anything or _kept_explicitly(before) else {}


def _fields_entry(before: dict[str, str], form, obj: ObjectDef) -> dict[str, str]:
    fields = dict(before)
    for f in obj.live_fields:
        value = form.get(f"{FIELD}.{obj.api_name}.{f.api_name}")
        if value is None:
            continue
        if value == "editable" and f.api_name not in before:
            continue
        fields[f.api_name] = value
    return fields


def _kept_explicitly(before: dict[str, Any]) -> bool:
    """A pack may list an object with every right false: keep such an entry as it was."""
    return bool(before)


def cell_problems(details: list[dict[str, Any]], key: str) -> tuple[dict, list]:
    """The refusal's problems of this role by place (``/objects/lead/read`` …), and the rest."""
    prefix = f"{key}/"
    at: dict[str, list[str]] = {}
    elsewhere: list[dict[str, Any]] = []
    for d in details:
        pointer = d.get("pointer", "") if isinstance(d, dict) else ""
        if pointer.startswith(prefix):
            at.setdefault("/" + pointer[len(prefix) :], []).append(d.get("message", ""))
        else:
            elsewhere.append(d)
    return at, elsewhere
