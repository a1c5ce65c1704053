"""Exporting an admin's customizations as a pack.

A consultant who configured a customer in the browser ships the result as an
industry pack: the admin-created components become ordinary definitions, and
the admin's changes to pack components become extensions (``"extends":
true``) that hold only the changed properties, each as ``{"$replace": value}``
so that installing the export reproduces exactly the admin's value (a removed
property is written as ``null``). The exported pack depends on every pack
installed where it was made.
"""

from __future__ import annotations

from typing import Any

from trellis.metadata.components import NESTED, Component
from trellis.metadata.layers import IDENTITY, UNSET, Layers
from trellis.metadata.merge import REPLACE

#: Where each kind's files go in a pack folder (objects nest fields and rules).
FOLDER_OF = {
    "layout": "layouts",
    "list_view": "list_views",
    "role": "roles",
    "approval_flow": "approval_flows",
    "automation": "automations",
    "pool": "pools",
    "assignment_rule": "assignment_rules",
    "conversion": "conversions",
    "report": "reports",
    "dashboard": "dashboards",
    "app": "apps",
}
NESTED_KIND = {kind: prop for prop, kind in NESTED.items()}


def export_customizations(
    layers: Layers, name: str, version: str, label: dict[str, str] | None = None
) -> dict[str, Any]:
    """The files of a pack holding the admin's work: ``{relative path: JSON data}``."""
    files: dict[str, Any] = {
        "pack.json": {
            "name": name,
            "version": version,
            "label": label or {"zh-CN": name, "en": name},
            "description": {
                "zh-CN": "从管理员的定制导出。",
                "en": "Exported from an administrator's customizations.",
            },
            "publisher": "Trellis export",
            "dependencies": {p.name: f"^{p.version}" for p in layers.packs},
        }
    }
    pack_keys = layers.packs_only().effective()
    objects: dict[str, dict[str, Any]] = {}
    for comp in sorted(layers.created.values(), key=lambda c: c.position):
        _add(files, objects, comp.key, dict(comp.definition), extends=False, pack_keys=pack_keys)
    for (key, prop), value in sorted(layers.patches.items()):
        if key not in pack_keys:
            continue
        changed = {
            p: pack_keys[key].definition[p] for p in IDENTITY if p in pack_keys[key].definition
        }
        changed[prop] = None if value == UNSET else {REPLACE: value}
        _add(files, objects, key, changed, extends=True, pack_keys=pack_keys)
    for obj_name, data in objects.items():
        files[f"objects/{obj_name}.json"] = data
    return files


def _add(files, objects, key: str, definition: dict, *, extends: bool, pack_keys) -> None:
    kind, name = key.split(":", 1)
    if kind in ("object", *NESTED_KIND):
        obj_name = name.split(".", 1)[0]
        target = objects.setdefault(obj_name, _object_shell(obj_name, pack_keys))
        if kind == "object":
            if not extends:
                target.pop("extends", None)
            target.update(definition)
        else:
            _merge_item(target.setdefault(NESTED_KIND[kind], []), definition)
        return
    path = f"{FOLDER_OF[kind]}/{name.replace('.', '_')}.json"
    current = files.setdefault(path, {"extends": True} if extends else {})
    current.update(definition)


def _object_shell(name: str, pack_keys: dict[str, Component]) -> dict[str, Any]:
    """An extension of a pack's object, or (for an admin's object) filled in later."""
    return {"api_name": name, "extends": True} if f"object:{name}" in pack_keys else {}


def _merge_item(items: list[dict], definition: dict) -> None:
    for item in items:
        if item.get("api_name") == definition.get("api_name"):
            item.update(definition)
            return
    items.append(definition)
