"""Pack upgrades: a per-property three-way merge that never loses an admin's change.

For every property an admin customized, compare three values: what the
installed pack version said (base), what the new version says (vendor) and
the admin's value. What only the vendor changed arrives; what only the admin
changed stays; when both changed the same place differently the admin's value
stays and a ``Conflict`` is recorded for the admin to settle. Properties the
admin never touched simply follow the new version.

Components the new version no longer has: fields and objects stay, archived
with their data (``"archived": true``); other components go, except that one
the admin had changed is kept as the admin's own so the work is not lost.

``plan_upgrade`` is pure: it returns the new ``Layers`` and a report; the
metadata API applies both in one transaction (or, for a dry run, neither).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from trellis.metadata.components import Component
from trellis.metadata.layers import UNSET, Conflict, Layers, PackLayer
from trellis.metadata.merge import ABSENT, merge3, put
from trellis.metadata.packs import dependency_problems, version
from trellis.metadata.problems import Problem

#: Kinds whose removal keeps their data: they are archived, never dropped.
DATA_KINDS = ("object", "field")


class PackRefused(Exception):
    """A pack operation that cannot go ahead; ``problems`` name the places."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


@dataclass
class UpgradeReport:
    """What an upgrade does; a dry run returns the same report and changes nothing."""

    pack: str
    from_version: str
    to_version: str
    #: (key, property) the vendor changed and the admin did not: the new value applies.
    vendor_changes: list[dict[str, Any]] = field(default_factory=list)
    #: admin changes kept as they were (the vendor did not touch those places).
    kept: list[dict[str, Any]] = field(default_factory=list)
    #: admin changes merged with the vendor's changes to other places of the same property.
    merged: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    arrived: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: removed by the vendor but changed by the admin: kept as the admin's own component.
    kept_as_custom: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "vendor_changes": self.vendor_changes,
            "kept": self.kept,
            "merged": self.merged,
            "conflicts": [c.as_json() for c in self.conflicts],
            "arrived": self.arrived,
            "archived": self.archived,
            "removed": self.removed,
            "kept_as_custom": self.kept_as_custom,
        }


def plan_upgrade(layers: Layers, new: PackLayer) -> tuple[Layers, UpgradeReport]:
    """The layers after upgrading to ``new``, and what that does; PackRefused if it cannot."""
    old = layers.pack(new.name)
    _check_allowed(layers, old, new)
    report = UpgradeReport(new.name, old.version, new.version)
    incoming = _archive_removed(old, new, layers, report)
    after = replace(
        layers, packs=tuple(incoming if p.name == new.name else p for p in layers.packs)
    )
    before_packs = layers.packs_only().effective()
    after_packs = after.packs_only().effective()
    after = _convert_removed(after, layers, before_packs, after_packs, report)
    after = _merge_patches(after, before_packs, after_packs, report)
    after = _adopt_created(after, after_packs, report)
    _list_applied(before_packs, after_packs, after, report)
    report.arrived = sorted(
        k for k in after_packs.keys() - before_packs.keys() if k not in report.kept_as_custom
    )
    return after, report


def _check_allowed(layers: Layers, old: PackLayer | None, new: PackLayer) -> None:
    if old is None:
        raise PackRefused(f"pack {new.name} is not installed; install it first")
    if version(new.version) < version(old.version):
        raise PackRefused(
            f"{new.name} {old.version} is installed; {new.version} is older "
            "(downgrades are not supported: uninstall and install instead)"
        )
    installed = {p.name: p.version for p in layers.packs if p.name != new.name}
    problems = dependency_problems(new.manifest, installed)
    for other in layers.packs:
        wanted = other.manifest.get("dependencies", {}).get(new.name)
        if wanted and dependency_problems(other.manifest, {**installed, new.name: new.version}):
            problems.append(
                Problem(
                    "pack.json",
                    f"/dependencies/{new.name}",
                    f"installed pack {other.name} needs {new.name} {wanted}; "
                    f"{new.version} does not match, so upgrade {other.name} first or keep "
                    f"{new.name} {old.version}",
                )
            )
    if problems:
        raise PackRefused("the upgrade's dependencies are not met", problems)


def _archive_removed(
    old: PackLayer, new: PackLayer, layers: Layers, report: UpgradeReport
) -> PackLayer:
    """The new layer, keeping removed fields and objects as archived components."""
    components = dict(new.components)
    for key in sorted(old.components.keys() - new.components.keys()):
        comp = old.components[key]
        if comp.kind in DATA_KINDS and not _defined_below(layers, new.name, key):
            definition = {**comp.definition, "archived": True}
            components[key] = replace(comp, definition=definition)
            if not comp.definition.get("archived"):
                report.archived.append(key)
        elif not any(k == key for k, _ in layers.patches):
            report.removed.append(key)
    return replace(new, components=components)


def _defined_below(layers: Layers, name: str, key: str) -> bool:
    """Whether another pack defines ``key`` (so this pack only extended it)."""
    return any(key in p.components for p in layers.packs if p.name != name)


def _convert_removed(after: Layers, layers: Layers, before_packs, after_packs, report) -> Layers:
    """A component the vendor removed but the admin changed becomes the admin's own."""
    for key in sorted(before_packs.keys() - after_packs.keys()):
        if not any(k == key for k, _ in layers.patches):
            continue
        definition = layers.effective()[key].definition
        after = replace(
            after, patches={kp: v for kp, v in after.patches.items() if kp[0] != key}
        ).with_created(Component(key, copy.deepcopy(definition)))
        report.kept_as_custom.append(key)
    return after


def _merge_patches(after: Layers, before_packs, after_packs, report) -> Layers:
    patches = dict(after.patches)
    conflicts = dict(after.conflicts)
    for (key, prop), admin in sorted(after.patches.items()):
        if key not in after_packs or key not in before_packs:
            continue
        base = before_packs[key].definition.get(prop, ABSENT)
        vendor = after_packs[key].definition.get(prop, ABSENT)
        entry = {"key": key, "property": prop}
        if base == vendor:
            report.kept.append(entry)
            continue
        value, clashes = merge3(base, vendor, admin)
        for clash in clashes:
            conflict = Conflict(
                report.pack, key, prop, clash.path, clash.base, clash.vendor, clash.admin
            )
            conflicts[conflict.ident] = conflict
            report.conflicts.append(conflict)
        if value == vendor:
            del patches[(key, prop)]  # the new version says what the admin said
            conflicts = {i: c for i, c in conflicts.items() if (c.key, c.property) != (key, prop)}
            report.merged.append({**entry, "outcome": "the new version matches your change"})
        else:
            patches[(key, prop)] = value
            if not clashes:
                report.merged.append({**entry, "outcome": "both changes kept"})
    return replace(after, patches=patches, conflicts=conflicts)


def _adopt_created(after: Layers, after_packs, report) -> Layers:
    """An admin-created component the new version now ships: the pack's, with the admin's
    differing properties kept as patches (each one a conflict to settle)."""
    for key in sorted(after.created.keys() & after_packs.keys()):
        mine = after.created[key].definition
        vendor = after_packs[key].definition
        created = {k: c for k, c in after.created.items() if k != key}
        after = replace(after, created=created)
        for prop in sorted(set(mine) | set(vendor)):
            if mine.get(prop, UNSET) == vendor.get(prop, UNSET):
                continue
            after = after.with_patch(key, prop, mine.get(prop, UNSET))
            conflict = Conflict(
                report.pack, key, prop, (), ABSENT, vendor.get(prop, ABSENT), mine.get(prop)
            )
            after = replace(after, conflicts={**after.conflicts, conflict.ident: conflict})
            report.conflicts.append(conflict)
    return after


def _list_applied(before_packs, after_packs, after: Layers, report: UpgradeReport) -> None:
    for key in sorted(before_packs.keys() & after_packs.keys()):
        old, new = before_packs[key].definition, after_packs[key].definition
        for prop in sorted(set(old) | set(new)):
            if key in report.archived:
                break
            if old.get(prop, ABSENT) != new.get(prop, ABSENT) and (key, prop) not in after.patches:
                if not any(e["key"] == key and e["property"] == prop for e in report.merged):
                    report.vendor_changes.append({"key": key, "property": prop})


def resolve_conflict(layers: Layers, key: str, place: str, keep: str) -> Layers:
    """Settle one conflict: ``keep="admin"`` keeps the admin's value (already in force),
    ``keep="vendor"`` takes the new pack version's value at that place."""
    conflict = layers.conflicts.get((key, place))
    if conflict is None:
        raise KeyError(place)
    conflicts = {i: c for i, c in layers.conflicts.items() if i != (key, place)}
    layers = replace(layers, conflicts=conflicts)
    if keep == "admin":
        return layers
    current = layers.patches.get((key, conflict.property), ABSENT)
    value = put(current, conflict.path, conflict.vendor)
    packs_value = layers.packs_only().effective()[key].definition.get(conflict.property, ABSENT)
    patches = dict(layers.patches)
    if value == packs_value:
        patches.pop((key, conflict.property), None)
    else:
        patches[(key, conflict.property)] = value
    return replace(layers, patches=patches)
