"""Undo one stored metadata change: the inverse edit of its recorded detail.

Every change keeps, per thing it touched, the value before and after
(``store.save``). Reverting puts the ``before`` values back, but only where the
``after`` value is still in force: if a later change touched the same property,
reverting would silently throw that later work away, so it is refused with the
version to revert first. Pack installs, upgrades and uninstalls are not undone
here (the pack manager does that: uninstall, or install the earlier version),
and neither is the settling of an upgrade conflict (set the value again instead).

The result is new ``Layers``; ``MetadataAPI.revert`` stores it as a change of
its own, so it is checked like any other edit and can itself be reverted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trellis.metadata.components import Component
from trellis.metadata.layers import CUSTOM, Layers


class NotRevertible(ValueError):
    """The change cannot be reverted; the message says why and what to do instead."""


class Superseded(ValueError):
    """Something the change touched was changed again later (``key``/``prop``)."""

    def __init__(self, key: str, prop: str | None):
        self.key, self.prop = key, prop
        where = f"{prop!r} of {key}" if prop else key
        super().__init__(f"{where} was changed again after this change")


def revertible(detail: list[dict[str, Any]]) -> bool:
    """Whether ``revert`` takes a change of this detail (pages offer the button only then)."""
    return bool(detail) and not any(_pack_item(i) or "conflict" in i for i in detail)


def _pack_item(item: dict[str, Any]) -> bool:
    return "pack" in item or item.get("layer", CUSTOM) != CUSTOM


def revert(layers: Layers, detail: list[dict[str, Any]]) -> Layers:
    """``layers`` with the effect of one change (its stored ``detail``) undone."""
    if not detail:
        raise NotRevertible("this change recorded nothing to undo")
    for item in detail:
        if _pack_item(item):
            raise NotRevertible(
                "this change installed, upgraded or uninstalled a pack; undo it in the "
                "pack manager (uninstall the pack, or install the version you had)"
            )
        if "conflict" in item:
            raise NotRevertible(
                "this change settled a pack upgrade conflict; to change your mind, set "
                "the value again on the component"
            )
    for item in detail:
        if "property" in item:
            layers = _revert_patch(layers, item)
        else:
            layers = _revert_component(layers, item)
    return layers


def _revert_patch(layers: Layers, item: dict[str, Any]) -> Layers:
    key, prop = item["key"], item["property"]
    if item["after"] is None:  # the change removed the admin's patch
        if (key, prop) in layers.patches:
            raise Superseded(key, prop)
        return replace(layers, patches={**layers.patches, (key, prop): item["before"]})
    if layers.patches.get((key, prop), _MISSING) != item["after"]:
        raise Superseded(key, prop)
    patches = dict(layers.patches)
    if item["before"] is None:  # there was no patch before: the pack's value returns
        del patches[(key, prop)]
    else:
        patches[(key, prop)] = item["before"]
    return replace(layers, patches=patches)


def _revert_component(layers: Layers, item: dict[str, Any]) -> Layers:
    key, before, after = item["key"], item["before"], item["after"]
    current = layers.created.get(key)
    if (current.definition if current else None) != after:
        raise Superseded(key, None)
    created = dict(layers.created)
    if before is None:  # the change created the component: remove it
        del created[key]
        return replace(layers, created=created)
    if current is None:  # the change deleted it: bring it back
        return layers.with_created(Component(key, before))
    created[key] = replace(current, definition=before)
    return replace(layers, created=created)


_MISSING = object()
