"""The field form: which controls a field type has, and the definition a posted form means.

The controls come from the field type registry (``trellis.fieldtypes``): each type's
``options_schema`` lists the options it accepts, so a type added to the platform gets its
controls here without a change (an option this module has no words for is shown by its
name). A few options get a better control than their schema says: lookup targets and
roll-up sources choose among objects, a controlling field among this object's picklists,
formulas get the formula editor and picklist values their own editor (``objects_picklists``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from trellis.admin_ui.objects_picklists import values_from_form
from trellis.fieldtypes import FIELD_TYPES
from trellis.metadata import ObjectDef
from trellis.web.i18n import label

TYPE_LABELS = {
    "text": _l("Text"),
    "long_text": _l("Long text"),
    "email": _l("Email"),
    "url": _l("Web address"),
    "phone": _l("Phone"),
    "credit_code": _l("Unified social credit code"),
    "integer": _l("Whole number"),
    "decimal": _l("Decimal number"),
    "currency": _l("Currency"),
    "percent": _l("Percent"),
    "date": _l("Date"),
    "datetime": _l("Date and time"),
    "boolean": _l("Checkbox"),
    "picklist": _l("Picklist"),
    "multi_picklist": _l("Multi-select picklist"),
    "lookup": _l("Lookup"),
    "user": _l("User"),
    "auto_number": _l("Auto-number"),
    "formula": _l("Formula"),
    "rollup": _l("Roll-up summary"),
}

OPTION_LABELS = {
    "length": _l("Length (characters)"),
    "precision": _l("Precision (digits in all)"),
    "scale": _l("Decimal places"),
    "minimum": _l("Smallest value"),
    "maximum": _l("Largest value"),
    "currency": _l("Currency code (e.g. CNY)"),
    "values": _l("Values"),
    "controlling_field": _l("Controlling field"),
    "pattern": _l("Pattern"),
    "formula": _l("Formula"),
    "return_type": _l("Result type"),
    "stored": _l("Store the value (lists can filter and sort on it)"),
    "object": _l("Child object"),
    "via": _l("The child's lookup to this object"),
    "function": _l("Summary"),
    "field": _l("Child field summarised"),
    "filter": _l("Only children matching"),
    "target": _l("Looks up"),
    "on_delete": _l("When the looked-up record is deleted"),
    "relationship_label": _l("Related list label"),
}

CHOICE_LABELS = {
    "on_delete": {
        "restrict": _l("Refuse while it is referenced"),
        "set_null": _l("Clear this field"),
        "cascade": _l("Delete these records too (master-detail)"),
    },
    "function": {
        "count": _l("Count"),
        "sum": _l("Sum"),
        "min": _l("Smallest"),
        "max": _l("Largest"),
        "avg": _l("Average"),
    },
}

#: Properties every field has, besides its type's options.
COMMON = (
    "label",
    "help",
    "description",
    "required",
    "unique",
    "indexed",
    "track_history",
    "default_formula",
)
#: Checkboxes whose value when absent from a definition is true.
TRUE_BY_DEFAULT = frozenset({"track_history", "stored"})
#: Computed types: nobody types their value, so it cannot be required.
COMPUTED = frozenset(name for name, t in FIELD_TYPES.items() if not t.writable)


@dataclass
class Control:
    """One control of the field form."""

    name: str
    kind: str  # integer number text select checkbox label formula values datalist
    label: Any
    required: bool = False
    choices: list[tuple[str, Any]] = field(default_factory=list)
    formula_object: str = ""
    suggestions: list[str] = field(default_factory=list)
    bounds: dict[str, Any] = field(default_factory=dict)


def type_choices() -> list[tuple[str, Any]]:
    return [(name, TYPE_LABELS.get(name, name)) for name in FIELD_TYPES]


def option_controls(type_name: str, obj: ObjectDef, objects: dict[str, ObjectDef]) -> list[Control]:
    """The controls of ``type_name``'s options, in the order its schema lists them."""
    ft = FIELD_TYPES[type_name]
    return [
        _control(name, schema, name in ft.required_options, obj, objects)
        for name, schema in ft.options_schema.items()
    ]


def _control(name, schema, required, obj, objects) -> Control:
    label = OPTION_LABELS.get(name, name)
    c = Control(name, "text", label, required)
    if name == "values":
        c.kind = "values"
    elif name in ("formula", "filter"):
        c.kind, c.formula_object = "formula", obj.api_name if name == "formula" else ""
    elif name == "target":
        c.kind, c.choices = "select", _objects(objects.values())
    elif name == "object":
        c.kind, c.choices = "select", _objects(_children(obj, objects))
    elif name == "controlling_field":
        fields = [f for f in obj.live_fields if f.type in ("picklist", "boolean")]
        c.kind, c.choices = "select", [(f.api_name, _named(f)) for f in fields]
    elif name in ("via", "field"):
        c.kind, c.suggestions = "datalist", _child_fields(obj, objects, lookups=name == "via")
    elif "enum" in schema:
        words = CHOICE_LABELS.get(name) or TYPE_LABELS
        c.kind, c.choices = "select", [(v, words.get(v, v)) for v in schema["enum"]]
    elif schema.get("$ref", "").endswith("label.json"):
        c.kind = "label"
    elif schema.get("type") in ("integer", "number", "boolean"):
        c.kind = "checkbox" if schema["type"] == "boolean" else schema["type"]
        c.bounds = {k: schema[k] for k in ("minimum", "maximum") if k in schema}
    return c


def _objects(objs) -> list[tuple[str, Any]]:
    return [(o.api_name, _named(o)) for o in objs if not o.archived]


def _named(component) -> str:
    """``客户 (account)``: the label in the page language with the API name."""
    return f"{label(component.label)} ({component.api_name})"


def _children(obj: ObjectDef, objects) -> list[ObjectDef]:
    """Objects with a lookup to ``obj``: the ones a roll-up can summarise."""
    return [
        o
        for o in objects.values()
        if any(
            f.type == "lookup" and f.options.get("target") == obj.api_name for f in o.live_fields
        )
    ]


def _child_fields(obj: ObjectDef, objects, *, lookups: bool) -> list[str]:
    names: set[str] = set()
    for child in _children(obj, objects):
        for f in child.live_fields:
            if lookups and f.type == "lookup" and f.options.get("target") == obj.api_name:
                names.add(f.api_name)
            elif not lookups and f.type in ("integer", "decimal", "currency", "percent", "date"):
                names.add(f.api_name)
    return sorted(names)


def controlling_values(obj: ObjectDef, itself: str | None) -> list[tuple[str, list[str]]]:
    """For dependent picklists: each possible controlling field with the values it has."""
    out = []
    for f in obj.live_fields:
        if f.api_name == itself:
            continue
        if f.type == "picklist":
            out.append((f.api_name, [v["api_name"] for v in f.options["values"]]))
        elif f.type == "boolean":
            out.append((f.api_name, ["true", "false"]))
    return out


def common_controls(type_name: str) -> list[str]:
    """The common properties this type's form offers."""
    if type_name in COMPUTED:
        return ["label", "help", "description", "indexed"]
    return list(COMMON)


def definition_from_form(form, type_name: str, controls: list[Control], current: dict) -> dict:
    """The field definition the posted form says (``current``: the field as it is, if any).

    Empty controls leave their property out, so the type's default applies; a number that
    does not parse is sent as typed, for the metadata API to say what is wrong with it.
    """
    definition: dict[str, Any] = {"type": type_name}
    if not current:
        definition["api_name"] = (form.get("api_name") or "").strip()
    for name in common_controls(type_name):
        _read(form, definition, name, _COMMON_KINDS[name], current)
    for c in controls:
        _read(form, definition, c.name, c.kind, current)
    return definition


_COMMON_KINDS = {
    "label": "label",
    "help": "label",
    "description": "text",
    "required": "checkbox",
    "unique": "checkbox",
    "indexed": "checkbox",
    "track_history": "checkbox",
    "default_formula": "text",
}


def _read(form, definition: dict, name: str, kind: str, current: dict) -> None:
    if kind == "values":
        definition[name] = values_from_form(form, current.get(name) or [])
        return
    if kind == "label":
        pair = {
            "zh-CN": form.get(f"{name}_zh", "").strip(),
            "en": form.get(f"{name}_en", "").strip(),
        }
        if any(pair.values()) or name == "label":
            definition[name] = pair
        return
    if kind == "checkbox":
        on = bool(form.get(name))
        if on != (name in TRUE_BY_DEFAULT):
            definition[name] = on
        return
    text = (form.get(name) or "").strip()
    if text:
        definition[name] = _number(text, kind) if kind in ("integer", "number") else text


def _number(text: str, kind: str) -> Any:
    try:
        number = int(text) if kind == "integer" else float(text)
    except ValueError:
        return text
    if isinstance(number, float):
        if not math.isfinite(number):
            return text
        return int(number) if number.is_integer() else number
    return number


def changes(current: dict, new: dict, managed: list[str]) -> dict[str, Any]:
    """The properties to patch: what differs, ``None`` for what the form removed."""
    out: dict[str, Any] = {}
    for name in managed:
        if new.get(name) != current.get(name):
            if name in new:
                out[name] = new[name]
            elif name in current:
                out[name] = None
    return out


def form_values(definition: dict) -> dict:
    """A definition as the form shows it (defaults of true-by-default checkboxes made visible)."""
    values = dict(definition)
    for name in TRUE_BY_DEFAULT:
        values.setdefault(name, True)
    return values
