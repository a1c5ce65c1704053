"""Where a field is used: what an admin must know before changing or archiving it.

``usages(definitions, "lead", "status")`` lists every place of the live definitions that
reads or writes ``lead.status``: layouts and list views, formulas, roll-ups, defaults and
validation rules (of this object, and of other objects reaching it through a lookup),
flows (approval chains, automations, pools, assignment rules), reports, conversions, roles'
field security and the object's own settings (name field, search, duplicate rules,
dependent picklists).

Flows and reports are walked generically (every compiled expression's dependencies and
every attribute that names fields), so a new kind of node or measure is covered without a
change here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from trellis.expressions.compiler import CompiledExpression
from trellis.metadata.definitions import Definitions, FieldDef, Label, ObjectDef

#: Attributes of compiled definitions whose text names one field (or a dotted path).
_NAME_ATTRS = frozenset({"field", "path", "via", "link_field", "controlling_field"})
#: Attributes holding several field names.
_NAMES_ATTRS = frozenset({"fields", "editable_fields", "columns", "searchable_fields"})
#: Attributes that repeat what other attributes say (raw JSON kept for display).
_SKIPPED = frozenset({"source", "label", "message", "condition_message", "definition"})


@dataclass(frozen=True)
class Usage:
    """One place that uses the field: the component's kind and key, and where inside it."""

    kind: str
    key: str
    place: str


def usages(defs: Definitions, object_name: str, field_name: str) -> list[Usage]:
    """Every live use of ``object_name.field_name``, each place once, in a stable order."""
    target = (object_name, field_name)
    found: dict[tuple[str, str], Usage] = {}
    for usage in _all_usages(defs, target):
        found.setdefault((usage.key, usage.place), usage)
    return sorted(found.values(), key=lambda u: (u.kind, u.key, u.place))


def _all_usages(defs: Definitions, target: tuple[str, str]) -> Iterator[Usage]:
    objects = defs.objects
    for obj in objects.values():
        yield from _object_usages(objects, obj, target)
    for layout in defs.layouts.values():
        yield from _layout_usages(objects, layout, target)
    groups: dict[str, Mapping[str, Any]] = {
        "list_view": defs.list_views,
        "approval_flow": defs.approval_flows,
        "automation": defs.automations,
        "pool": defs.pools,
        "assignment_rule": defs.assignment_rules,
        "report": defs.reports,
        "conversion": defs.conversions,
    }
    for kind, items in groups.items():
        for name, item in items.items():
            ctx = getattr(item, "object_name", None)
            for place, context, path in _walk(item, ctx, "", objects):
                if _reaches(objects, context, path, target):
                    yield Usage(kind, f"{kind}:{name}", place.lstrip("/"))
    for role in defs.roles.values():
        perms = role.objects.get(target[0])
        if perms is not None and target[1] in perms.fields:
            yield Usage("role", f"role:{role.api_name}", f"objects/{target[0]}/fields")


def _object_usages(objects, obj: ObjectDef, target) -> Iterator[Usage]:
    """Uses inside an object: its settings, its fields' formulas and roll-ups, its rules."""
    key = f"object:{obj.api_name}"
    if obj.api_name == target[0]:
        if obj.name_field == target[1]:
            yield Usage("object", key, "name_field")
        if target[1] in obj.searchable_fields:
            yield Usage("object", key, "searchable_fields")
        for rule in obj.duplicate_rules:
            if target[1] in rule.fields:
                yield Usage("duplicate_rule", key, f"duplicate_rules/{rule.api_name}")
    for f in obj.live_fields:
        if (f.object_name, f.api_name) != target:
            yield from _field_usages(objects, obj, f, target)
    for rule in obj.validation_rules:
        place = f"validation_rule:{obj.api_name}.{rule.api_name}"
        paths = list(rule.error_condition.dependencies) + ([rule.field] if rule.field else [])
        if any(_reaches(objects, obj.api_name, p, target) for p in paths):
            yield Usage("validation_rule", place, "error_condition")


def _field_usages(objects, obj: ObjectDef, f: FieldDef, target) -> Iterator[Usage]:
    key = f"field:{f.path}"
    for place, expr in (("formula", f.formula), ("default_formula", f.default_formula)):
        if expr is not None and any(
            _reaches(objects, obj.api_name, d, target) for d in expr.dependencies
        ):
            yield Usage("field", key, place)
    if obj.api_name == target[0] and f.options.get("controlling_field") == target[1]:
        yield Usage("field", key, "controlling_field")
    if f.type == "rollup":
        child = f.options["object"]
        names = [f.options["via"], f.options.get("field")]
        if f.rollup_filter is not None:
            names += list(f.rollup_filter.dependencies)
        if any(name and _reaches(objects, child, name, target) for name in names):
            yield Usage("field", key, "rollup")


def _layout_usages(objects, layout, target) -> Iterator[Usage]:
    key = f"layout:{layout.object_name}.{layout.api_name}"
    d = layout.definition
    if layout.object_name == target[0]:
        for s, section in enumerate(d.get("sections", [])):
            for i, item in enumerate(section.get("fields", [])):
                name = item if isinstance(item, str) else item.get("field")
                if name == target[1]:
                    yield Usage("layout", key, f"sections/{s}/fields/{i}")
    for r, related in enumerate(d.get("related_lists", [])):
        if (related.get("object"), related.get("via")) == target:
            yield Usage("layout", key, f"related_lists/{r}")
        for column in related.get("columns", []):
            if (related.get("object"), column) == target:
                yield Usage("layout", key, f"related_lists/{r}/columns")


def _walk(value: Any, ctx: str | None, place: str, objects) -> Iterator[tuple[str, str, str]]:
    """``(place, object, path)`` for every field path a compiled definition mentions.

    ``object`` is the object the path starts from: the definition's own, or the one a
    part names for itself (a create-record action's ``object``, a report target's).
    """
    if isinstance(value, CompiledExpression):
        for dep in value.dependencies:
            yield place, ctx, dep
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, (type, Label)):
        ctx = _own_object(value, objects) or ctx
        for attr in dataclasses.fields(value):
            if attr.name in _SKIPPED:
                continue
            item = getattr(value, attr.name)
            sub = f"{place}/{attr.name}"
            if attr.name in _NAME_ATTRS and isinstance(item, str):
                yield sub, ctx, item
            elif attr.name == "sort" and isinstance(item, str):  # list views: "-amount,name"
                yield from ((sub, ctx, name) for name in item.split(",") if name)
            elif attr.name in _NAMES_ATTRS and isinstance(item, (tuple, list)):
                yield from ((sub, ctx, name) for name in item if isinstance(name, str))
            elif attr.name == "values" and isinstance(item, Mapping):
                for name, expr in item.items():  # action values: field -> formula
                    yield f"{sub}/{name}", ctx, name
                    yield from _walk(expr, ctx, f"{sub}/{name}", objects)
            else:
                yield from _walk(item, ctx, sub, objects)
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield from _walk(item, ctx, f"{place}/{name}", objects)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _walk(item, ctx, f"{place}/{i}", objects)


def _own_object(value: Any, objects) -> str | None:
    for attr in ("object_name", "object"):
        name = getattr(value, attr, None)
        if isinstance(name, str) and name in objects:
            return name
    return None


def _reaches(objects, ctx: str | None, path: str, target: tuple[str, str]) -> bool:
    """Whether ``path`` (``status``, ``account.industry``, ``old.stage``) read from
    ``ctx`` ends at or passes through the target field."""
    current = objects.get(ctx or "")
    parts = path.lstrip("-").split(".")
    if current is not None and parts[0] == "old" and "old" not in current.by_name:
        parts = parts[1:]  # automations compare with the value before the change
    for name in parts:
        if current is None:
            return False
        if (current.api_name, name) == target:
            return True
        f = current.by_name.get(name)
        if f is None or f.type != "lookup":
            return False
        current = objects.get(f.options["target"])
    return False
