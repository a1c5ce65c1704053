"""Reference checks: every name a definition mentions must exist and fit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from trellis.metadata.components import Component
from trellis.metadata.definitions import ObjectDef
from trellis.metadata.problems import Problem

_NUMERIC = {"integer", "decimal", "currency", "percent"}


def inputs(objects: Mapping[str, ObjectDef], obj: ObjectDef, dependency: str) -> list[str]:
    """The ``object.field`` nodes a formula dependency reads."""
    if "." not in dependency:
        return [f"{obj.api_name}.{dependency}"]
    lookup, field = dependency.split(".", 1)
    target = obj.by_name[lookup].options["target"]
    return [f"{obj.api_name}.{lookup}", f"{target}.{field}"]


def _not_field(obj: ObjectDef, name: str) -> str:
    """Why a referenced field cannot be used: archived fields say so, with the way out."""
    f = obj.by_name.get(name)
    if f is not None and f.archived:
        return f"{name!r} is archived; remove it from here first, or restore the field"
    return f"{name!r} is not a field of {obj.api_name}"


def _missing(obj: ObjectDef, name: str) -> bool:
    f = obj.by_name.get(name)
    return f is None or f.archived


def check(
    objects: Mapping[str, ObjectDef], effective: Mapping[str, Component]
) -> Iterator[Problem]:
    for obj in objects.values():
        yield from _object_refs(obj)
        for f in obj.live_fields:
            yield from _field_refs(objects, obj, f)
    yield from _same_assignment(effective)
    for comp in effective.values():
        if comp.kind == "layout":
            yield from _layout_refs(objects, comp)
            yield from _layout_names(effective, comp)
        elif comp.kind == "list_view":
            yield from _list_view_refs(objects, comp)
            yield from _unknown_roles(effective, comp)
        elif comp.kind == "role":
            yield from _role_refs(objects, comp)


def _object_refs(obj: ObjectDef) -> Iterator[Problem]:
    key = f"object:{obj.api_name}"
    names = [f.api_name for f in obj.fields]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        yield Problem(key, "/fields", f"field {dup!r} is defined twice on {obj.api_name}")
    if obj.name_field and _missing(obj, obj.name_field):
        yield Problem(key, "/name_field", f"name field {_not_field(obj, obj.name_field)}")
    for i, name in enumerate(obj.searchable_fields):
        if _missing(obj, name):
            yield Problem(key, f"/searchable_fields/{i}", _not_field(obj, name))
    for i, rule in enumerate(obj.duplicate_rules):
        for name in rule.fields:
            if _missing(obj, name):
                yield Problem(
                    key,
                    f"/duplicate_rules/{i}/fields",
                    f"duplicate rule {rule.api_name!r} matches on {name!r}, which is not a "
                    f"field of {obj.api_name}",
                )
    for i, rt in enumerate(obj.record_types):
        for field, values in rt.picklist_values.items():
            f = obj.by_name.get(field)
            if f is None or f.type not in ("picklist", "multi_picklist"):
                yield Problem(
                    key,
                    f"/record_types/{i}/picklist_values/{field}",
                    f"{field!r} is not a picklist field of {obj.api_name}",
                )
                continue
            known = {v["api_name"] for v in f.options["values"]}
            for value in set(values) - known:
                yield Problem(
                    key,
                    f"/record_types/{i}/picklist_values/{field}",
                    f"{value!r} is not a value of picklist {field!r}",
                )


def _field_refs(objects, obj: ObjectDef, f) -> Iterator[Problem]:
    key = f"field:{f.path}"
    for message in f.field_type.check_definition(f):
        yield Problem(key, "", message)
    if f.type == "lookup":
        target = objects.get(f.options["target"])
        if target is None or target.archived:
            yield Problem(
                key,
                "/target",
                f"lookup target {f.options['target']!r} is not an object; "
                f"known objects: {', '.join(sorted(objects))}",
            )
    if f.type in ("picklist", "multi_picklist") and f.options.get("controlling_field"):
        ctl = obj.by_name.get(f.options["controlling_field"])
        if ctl is None or ctl.type not in ("picklist", "boolean"):
            yield Problem(
                key,
                "/controlling_field",
                "a dependent picklist's controlling field must be "
                f"a picklist or checkbox of {obj.api_name}",
            )
    if f.type == "rollup":
        yield from _rollup_refs(objects, obj, f, key)
    if f.unique and f.type in ("formula", "rollup", "long_text", "multi_picklist"):
        yield Problem(key, "/unique", f"a {f.type} field cannot be unique")


def _rollup_refs(objects, obj, f, key) -> Iterator[Problem]:
    child = objects.get(f.options["object"])
    if child is None:
        yield Problem(
            key, "/object", f"roll-up source object {f.options['object']!r} does not exist"
        )
        return
    via = child.by_name.get(f.options["via"])
    if via is None or via.type != "lookup" or via.options.get("target") != obj.api_name:
        yield Problem(
            key,
            "/via",
            f"{f.options['via']!r} must be a lookup field on "
            f"{child.api_name} that points to {obj.api_name}",
        )
    function, field = f.options["function"], f.options.get("field")
    if function != "count":
        source = child.by_name.get(field or "")
        if source is None:
            yield Problem(
                key, "/field", f"a {function} roll-up needs 'field', a field of {child.api_name}"
            )
        elif function in ("sum", "avg") and f.options.get("return_type") not in _NUMERIC:
            yield Problem(
                key, "/field", f"{function} needs a number field; {field!r} is {source.type}"
            )


def _layout_refs(objects, comp: Component) -> Iterator[Problem]:
    obj = objects.get(comp.definition["object"])
    if obj is None:
        return
    for s, section in enumerate(comp.definition["sections"]):
        for i, item in enumerate(section["fields"]):
            name = item if isinstance(item, str) else item["field"]
            if _missing(obj, name):
                yield Problem(
                    comp.key,
                    f"/sections/{s}/fields/{i}",
                    _not_field(obj, name),
                )
    for r, related in enumerate(comp.definition.get("related_lists", [])):
        child = objects.get(related["object"])
        via = child.by_name.get(related["via"]) if child else None
        if via is None or via.options.get("target") != obj.api_name:
            yield Problem(
                comp.key,
                f"/related_lists/{r}",
                f"{related['object']}.{related['via']} is not a lookup to {obj.api_name}",
            )


def _layout_names(effective: Mapping[str, Component], comp: Component) -> Iterator[Problem]:
    """The layout's buttons are manual automations of its object; its roles exist."""
    d = comp.definition
    for i, name in enumerate(d.get("buttons", [])):
        automation = effective.get(f"automation:{d['object']}.{name}")
        trigger = automation.definition.get("trigger", {}) if automation else {}
        if trigger.get("type") != "manual":
            yield Problem(
                comp.key,
                f"/buttons/{i}",
                f"{name!r} is not a manual automation of {d['object']}",
            )
    yield from _unknown_roles(effective, comp)


def _same_assignment(effective: Mapping[str, Component]) -> Iterator[Problem]:
    """Two layouts of an object that would be picked for the same record type and role.

    A record page takes the most specific layout (roles, then record types); two layouts
    equally specific that share a record type and a role leave the choice to their names.
    """
    layouts = sorted((c for c in effective.values() if c.kind == "layout"), key=lambda c: c.key)
    for i, one in enumerate(layouts):
        for other in layouts[i + 1 :]:
            if _overlap(one.definition, other.definition):
                for comp, rival in ((one, other), (other, one)):
                    yield Problem(
                        comp.key,
                        "/record_types" if comp.definition.get("record_types") else "/roles",
                        f"layout {rival.key.split(':', 1)[1]!r} is already assigned to the "
                        "same record types and roles; give each layout its own",
                    )


def _overlap(a: dict, b: dict) -> bool:
    if a["object"] != b["object"]:
        return False
    for prop in ("record_types", "roles"):
        mine, theirs = set(a.get(prop) or ()), set(b.get(prop) or ())
        if bool(mine) != bool(theirs) or (mine and not mine & theirs):
            return False
    return True


def _unknown_roles(effective: Mapping[str, Component], comp: Component) -> Iterator[Problem]:
    for i, name in enumerate(comp.definition.get("roles", [])):
        if f"role:{name}" not in effective:
            yield Problem(comp.key, f"/roles/{i}", f"there is no role {name!r}")


def _list_view_refs(objects, comp: Component) -> Iterator[Problem]:
    obj = objects.get(comp.definition["object"])
    if obj is None:
        return
    for i, name in enumerate(comp.definition["columns"]):
        if _missing(obj, name):
            yield Problem(comp.key, f"/columns/{i}", _not_field(obj, name))
    for name in (comp.definition.get("sort") or "").split(","):
        if name and _missing(obj, name.lstrip("-")):
            yield Problem(comp.key, "/sort", f"cannot sort by {name.lstrip('-')!r}: not a field")


def _role_refs(objects, comp: Component) -> Iterator[Problem]:
    for name, perms in comp.definition.get("objects", {}).items():
        obj = objects.get(name)
        if obj is None:
            yield Problem(comp.key, f"/objects/{name}", f"object {name!r} does not exist")
            continue
        for field in perms.get("fields", {}):
            if _missing(obj, field):
                yield Problem(
                    comp.key,
                    f"/objects/{name}/fields/{field}",
                    _not_field(obj, field),
                )
