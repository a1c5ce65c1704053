"""Components: the units that layers, customizations and provenance are kept for.

A pack author writes an object with its fields and rules nested in one JSON
file. The store keeps each piece as its own component so that an admin's
change to one field's label is a patch on exactly that component:

    object:lead                  the object's own properties
    field:lead.amount            one field
    validation_rule:lead.x       one validation rule
    layout:lead.default          one layout (api_name unique per object)
    list_view:lead.my_open       one list view
    role:sales_rep               one role
    approval_flow:quote.discount one approval flow (likewise automation:, pool:,
                                 assignment_rule: — each keyed by its object)
    conversion:lead.standard     one conversion (lead → account + contact + opportunity)
    report:opportunity.pipeline  one report (docs/reports.md), keyed by its source object
    dashboard:sales              one dashboard: reports arranged as charts; like roles,
                                 dashboards belong to no object
    app:sales                    one app: the header's tabs in order (belongs to no object)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KINDS = (
    "object",
    "field",
    "validation_rule",
    "layout",
    "list_view",
    "role",
    "approval_flow",
    "automation",
    "pool",
    "assignment_rule",
    "conversion",
    "report",
    "dashboard",
    "app",
)
#: Kinds of flows (docs/flows.md): defined per object, built by ``flow_build``.
FLOW_KINDS = ("approval_flow", "automation", "pool", "assignment_rule")
NESTED = {"fields": "field", "validation_rules": "validation_rule"}
#: Kinds keyed by their api_name alone (``role:sales_rep``), not by an object.
UNOWNED_KINDS = ("role", "dashboard", "app")


@dataclass(frozen=True)
class Component:
    """One component as one layer defines it.

    ``extends`` marks a pack's extension of a component that a pack it depends
    on defines: only what it adds or changes, laid over the definition below
    (``merge.overlay``).
    """

    key: str
    definition: dict[str, Any]
    position: int = 0
    extends: bool = False

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def object_name(self) -> str | None:
        """The object a component belongs to (or is), None for roles, dashboards and apps."""
        kind, name = self.key.split(":", 1)
        if kind in UNOWNED_KINDS:
            return None
        return name.split(".", 1)[0]


def key_for(kind: str, definition: dict[str, Any], object_name: str | None = None) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; known kinds: {', '.join(KINDS)}")
    name = definition.get("api_name", "?")
    if kind == "object" or kind in UNOWNED_KINDS:
        return f"{kind}:{name}"
    owner = object_name or definition.get("object", "?")
    return f"{kind}:{owner}.{name}"


EXTENDS = "extends"


def explode_object(definition: dict[str, Any], start: int = 0) -> list[Component]:
    """Split an object definition (fields and rules nested) into components.

    In an extension file (``"extends": true``) every piece is an extension: a
    field the base object has is changed, a field it lacks is added.
    """
    extends = definition.get(EXTENDS) is True
    own = {k: v for k, v in definition.items() if k not in NESTED and k != EXTENDS}
    out = [Component(key_for("object", own), own, start, extends)]
    for prop, kind in NESTED.items():
        for i, item in enumerate(definition.get(prop, [])):
            if isinstance(item, dict):
                key = key_for(kind, item, own.get("api_name"))
                out.append(Component(key, item, start + i + 1, extends))
    return out


def explode(kind: str, definition: dict[str, Any], start: int = 0) -> list[Component]:
    """Split any definition into components (only objects nest others)."""
    if kind == "object":
        return explode_object(definition, start)
    extends = definition.get(EXTENDS) is True
    own = {k: v for k, v in definition.items() if k != EXTENDS}
    return [Component(key_for(kind, own), own, start, extends)]


def assemble_objects(effective: Iterable[Component]) -> dict[str, dict[str, Any]]:
    """Nest fields and rules back into their objects, ordered by position.

    Components whose object is missing are returned under the object name
    with only the nested parts, so the checks can say "object X does not exist".
    """
    objects: dict[str, dict[str, Any]] = {}
    nested: list[Component] = []
    for comp in sorted(effective, key=lambda c: (c.position, c.key)):
        if comp.kind == "object":
            objects[comp.object_name] = {**comp.definition}
        elif comp.kind in ("field", "validation_rule"):
            nested.append(comp)
    for comp in nested:
        prop = "fields" if comp.kind == "field" else "validation_rules"
        target = objects.setdefault(comp.object_name, {"__missing__": True})
        target.setdefault(prop, []).append(comp.definition)
    return objects


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists and scalars).

    Definitions are JSON, so this does what ``copy.deepcopy`` does for them about four
    times faster (no memo, no dispatch): every metadata change copies each component's
    definition several times while merging layers. Anything else is returned as it is.
    """
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value
