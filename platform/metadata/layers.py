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

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from trellis.metadata.components import Component

CUSTOM = "custom"
#: A patch value meaning "this property is removed".
UNSET = {"$unset": True}
#: Properties that identify a component and are never patched.
IDENTITY = ("api_name", "object")


@dataclass(frozen=True)
class PackLayer:
    name: str
    version: str
    manifest: dict[str, Any]
    components: dict[str, Component]


@dataclass(frozen=True)
class Layers:
    """Everything stored: pack layers in install order, then customizations."""

    packs: tuple[PackLayer, ...] = ()
    created: dict[str, Component] = field(default_factory=dict)
    patches: dict[tuple[str, str], Any] = field(default_factory=dict)

    def provenance(self, key: str) -> str:
        for layer in self.packs:
            if key in layer.components:
                return f"{layer.name}@{layer.version}"
        return CUSTOM

    def locked(self) -> set[str]:
        return {k for layer in self.packs for k in layer.manifest.get("locked", [])}

    def effective(self) -> dict[str, Component]:
        """The merged component per key."""
        merged: dict[str, Component] = {}
        for layer in self.packs:
            for key, comp in layer.components.items():
                base = merged.get(key)
                definition = (
                    {**base.definition, **comp.definition} if base else dict(comp.definition)
                )
                merged[key] = Component(key, definition, base.position if base else comp.position)
        offset = 1_000_000  # admin-created components sort after every pack's
        for key, comp in self.created.items():
            merged[key] = Component(key, dict(comp.definition), offset + comp.position)
        for (key, prop), value in self.patches.items():
            if key in merged:
                definition = merged[key].definition
                if value == UNSET:
                    definition.pop(prop, None)
                else:
                    definition[prop] = copy.deepcopy(value)
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

    def with_pack(self, layer: PackLayer) -> Layers:
        others = tuple(p for p in self.packs if p.name != layer.name)
        if len(others) == len(self.packs):
            return replace(self, packs=self.packs + (layer,))
        return replace(self, packs=tuple(layer if p.name == layer.name else p for p in self.packs))
