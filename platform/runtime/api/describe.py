"""Describing objects to a caller: fields, types, picklist values and labels
in the caller's language, and what the caller may do."""

from __future__ import annotations

from typing import Any

from trellis.metadata import FieldDef, ObjectDef
from trellis.runtime.permissions import Access


def describe_field(f: FieldDef, locale: str, access: Access) -> dict[str, Any]:
    out: dict[str, Any] = {
        "api_name": f.api_name,
        "type": f.type,
        "label": f.label.get(locale),
        "required": f.required,
        "unique": f.unique,
        "system": f.system,
        "read_only": not f.writable or f.api_name in access.read_only,
        "provenance": f.provenance,
    }
    if f.help:
        out["help"] = f.help.get(locale)
    if f.type in ("picklist", "multi_picklist"):
        out["values"] = [
            {
                "api_name": v["api_name"],
                "label": v["label"]["zh-CN" if locale.startswith("zh") else "en"],
                "active": v.get("active", True),
                **({"color": v["color"]} if "color" in v else {}),
            }
            for v in f.options["values"]
        ]
    for key in (
        "target",
        "on_delete",
        "length",
        "precision",
        "scale",
        "currency",
        "pattern",
        "formula",
        "return_type",
        "stored",
        "controlling_field",
    ):
        if key in f.options:
            out[key] = f.options[key]
    if f.type == "rollup":
        out["rollup"] = {
            k: f.options[k]
            for k in ("object", "via", "function", "field", "filter")
            if k in f.options
        }
    return out


def describe_object(obj: ObjectDef, locale: str, access: Access, *, full: bool = True) -> dict:
    out: dict[str, Any] = {
        "api_name": obj.api_name,
        "label": obj.label.get(locale),
        "plural_label": obj.plural_label.get(locale),
        "name_field": obj.name_field,
        "provenance": obj.provenance,
        "permissions": {
            "create": access.create,
            "read": access.read,
            "edit": access.edit,
            "delete": access.delete,
        },
    }
    if full:
        out["description"] = obj.description
        out["record_types"] = [
            {"api_name": t.api_name, "label": t.label.get(locale)}
            for t in obj.record_types
            if t.active
        ]
        out["fields"] = [
            describe_field(f, locale, access)
            for f in obj.live_fields
            if f.api_name not in access.hidden
        ]
        out["searchable_fields"] = list(obj.searchable_fields)
        out["duplicate_rules"] = [
            {"api_name": d.api_name, "fields": list(d.fields), "action": d.action}
            for d in obj.duplicate_rules
            if d.active
        ]
    return out
