"""Uninstalling a pack: remove exactly what it created, keep every row of data.

Provenance decides: the components in the pack's layer go. Components a lower
pack defines and this one only extended fall back to the lower definition.
The admin's changes to removed components go with them (they are listed);
admin-created components on an object the pack created go too, since their
object is gone; every other admin component stays. Tables and columns are
never dropped: their data is archived (the metadata API records where).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from trellis.metadata.layers import Layers
from trellis.metadata.packs import dependents
from trellis.metadata.upgrade import PackRefused


@dataclass
class UninstallReport:
    pack: str
    version: str
    removed: list[str] = field(default_factory=list)
    #: components another pack defines that fall back to that pack's definition.
    restored: list[str] = field(default_factory=list)
    #: fields and objects whose columns and tables stay in the database with their data.
    archived: list[str] = field(default_factory=list)
    #: admin-created components removed because the object they belong to is gone.
    admin_removed: list[str] = field(default_factory=list)
    #: admin changes (key, property) dropped with the component they changed.
    admin_changes_dropped: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "version": self.version,
            "removed": self.removed,
            "restored": self.restored,
            "archived": self.archived,
            "admin_removed": self.admin_removed,
            "admin_changes_dropped": self.admin_changes_dropped,
        }


def comp_object(key: str) -> str:
    return key.split(":", 1)[1].split(".", 1)[0]


def plan_uninstall(layers: Layers, name: str) -> tuple[Layers, UninstallReport]:
    layer = layers.pack(name)
    if layer is None:
        installed = ", ".join(p.name for p in layers.packs) or "none"
        raise PackRefused(f"pack {name} is not installed (installed: {installed})")
    needing = dependents(name, {p.name: p.manifest for p in layers.packs if p.name != name})
    if needing:
        raise PackRefused(
            f"{', '.join(needing)} depend(s) on {name}; uninstall {', '.join(needing)} first"
        )
    report = UninstallReport(name, layer.version)
    after = replace(layers, packs=tuple(p for p in layers.packs if p.name != name))
    remaining = after.packs_only().effective()
    for key in sorted(layer.components):
        if key in remaining:
            report.restored.append(key)
            continue
        report.removed.append(key)
    gone_objects = {k.split(":", 1)[1] for k in report.removed if k.startswith("object:")}
    # A removed object's table keeps all its columns: list the table, not each field.
    report.archived = [
        k
        for k in report.removed
        if k.startswith("object:")
        or (k.startswith("field:") and comp_object(k) not in gone_objects)
    ]
    created = {}
    for key, comp in after.created.items():
        if comp.object_name in gone_objects:
            report.admin_removed.append(key)
        else:
            created[key] = comp
    live = remaining.keys() | created.keys()
    patches = {}
    for (key, prop), value in after.patches.items():
        if key in live:
            patches[(key, prop)] = value
        else:
            report.admin_changes_dropped.append({"key": key, "property": prop})
    conflicts = {i: c for i, c in after.conflicts.items() if c.pack != name and c.key in live}
    return replace(after, created=created, patches=patches, conflicts=conflicts), report
