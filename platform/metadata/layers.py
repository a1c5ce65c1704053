"""Layered metadata: pack layers, then the admin's customizations, merged.

What a pack installs is that pack's layer (its components, with the pack's
name and version as provenance). What an admin changes is kept apart, as
customizations: patches on one property of one component, and whole
components the admin created. The effective definition of a component is
the pack layers' properties (later packs over earlier ones), then the
admin's patches. A pack upgrade can therefore compare old pack, new pack and
customization property by property (issue 4) without a different storage.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from typing import Any

from trellis.metadata.components import Component, json_copy
from trellis.metadata.merge import Step, describe, overlay

CUSTOM = "custom"
#: A patch value meaning "this property is removed".
UNSET = {"$unset": True}
#: Properties that identify a component and are never patched.
IDENTITY = ("api_name", "object")
#: Room for each pack's positions (1,000 per definition file), and where the admin's start.
PACK_POSITIONS = 10_000_000
ADMIN_POSITIONS = 1_000_000_000


@dataclass(frozen=True)
class PackLayer:
    name: str
    version: str
    manifest: dict[str, Any]
    components: dict[str, Component]

    def lock_reason(self, key: str) -> str | None:
        """Why admins may not change ``key`` under this pack's manifest, or None.

        ``locked`` lists key patterns admins may not change; ``editable``, when
        given, lists the only patterns they may change. Patterns use shell
        wildcards: ``field:opportunity.*``. Only this pack's own components count.
        """
        if key not in self.components:
            return None
        locked = self.manifest.get("locked", [])
        if any(fnmatch.fnmatchcase(key, p) for p in locked):
            return f'{key} is locked by pack {self.name} (pack.json "locked")'
        editable = self.manifest.get("editable")
        if editable is not None and not any(fnmatch.fnmatchcase(key, p) for p in editable):
            return f"pack {self.name} lets admins change only {', '.join(editable)}"
        return None


@dataclass(frozen=True)
class Conflict:
    """A place in a property that an upgrade found changed by both the vendor and the admin.

    The admin's value stays in force until the admin chooses (``resolve``).
    """

    pack: str
    key: str
    property: str
    path: tuple[Step, ...]
    base: Any
    vendor: Any
    admin: Any

    @property
    def place(self) -> str:
        return describe((self.property, *self.path))

    @property
    def ident(self) -> tuple[str, str]:
        return (self.key, self.place)

    def as_json(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "key": self.key,
            "property": self.property,
            "path": list(self.path),
            "place": self.place,
            "base": self.base,
            "vendor": self.vendor,
            "admin": self.admin,
        }


@dataclass(frozen=True)
class Layers:
    """Everything stored: pack layers in install order, then customizations.

    ``conflicts`` are the open ones left by pack upgrades, keyed by
    ``(component key, place)``.
    """

    packs: tuple[PackLayer, ...] = ()
    created: dict[str, Component] = field(default_factory=dict)
    patches: dict[tuple[str, str], Any] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], Conflict] = field(default_factory=dict)

    def provenance(self, key: str) -> str:
        for layer in self.packs:
            if key in layer.components and not layer.components[key].extends:
                return f"{layer.name}@{layer.version}"
        for layer in self.packs:
            if key in layer.components:
                return f"{layer.name}@{layer.version}"
        return CUSTOM

    def pack(self, name: str) -> PackLayer | None:
        return next((p for p in self.packs if p.name == name), None)

    def lock_reason(self, key: str) -> str | None:
        """Why admins may not change ``key``, or None when they may."""
        return next(filter(None, (p.lock_reason(key) for p in self.packs)), None)

    def packs_only(self) -> Layers:
        """The same packs without any customization (the base of a three-way merge)."""
        return Layers(packs=self.packs)

    def effective(self) -> dict[str, Component]:
        """The merged component per key.

        Positions order fields within an object: a later pack's new components
        come after every earlier pack's, and the admin's after all packs'.
        """
        merged: dict[str, Component] = {}
        for n, layer in enumerate(self.packs):
            for key, comp in layer.components.items():
                base = merged.get(key)
                if base is None:
                    definition = json_copy(comp.definition)
                elif comp.extends:
                    definition = overlay(base.definition, comp.definition)
                else:
                    definition = {**base.definition, **json_copy(comp.definition)}
                position = base.position if base else n * PACK_POSITIONS + comp.position
                merged[key] = Component(key, definition, position)
        offset = ADMIN_POSITIONS
        for key, comp in self.created.items():
            merged[key] = Component(key, dict(comp.definition), offset + comp.position)
        for (key, prop), value in self.patches.items():
            if key in merged:
                definition = merged[key].definition
                if value == UNSET:
                    definition.pop(prop, None)
                else:
                    definition[prop] = json_copy(value)
        return merged

    # Changes an admin makes. Each returns new Layers; nothing is stored yet.

    def with_created(self, comp: Component) -> Layers:
        position = max((c.position for c in self.created.values()), default=0) + 1
        return replace(self, created={**self.created, comp.key: replace(comp, position=position)})

    def with_patch(self, key: str, prop: str, value: Any) -> Layers:
        if key in self.created:  # the admin owns the whole component: edit it in place
            comp = self.created[key]
            definition = {**comp.definition}
            if value == UNSET:
                definition.pop(prop, None)
            else:
                definition[prop] = value
            return replace(
                self, created={**self.created, key: replace(comp, definition=definition)}
            )
        return replace(self, patches={**self.patches, (key, prop): value})

    def without(self, key: str) -> Layers:
        """The admin's own component ``key`` removed. A pack's component is not the
        admin's to remove (its layer is the pack's): the caller refuses that first."""
        return replace(self, created={k: c for k, c in self.created.items() if k != key})

    def with_pack(self, layer: PackLayer) -> Layers:
        others = tuple(p for p in self.packs if p.name != layer.name)
        if len(others) == len(self.packs):
            return replace(self, packs=self.packs + (layer,))
        return replace(self, packs=tuple(layer if p.name == layer.name else p for p in self.packs))
