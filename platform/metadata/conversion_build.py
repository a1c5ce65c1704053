"""Check conversions (转化, docs/conversions.md) and freeze them into ``ConversionDef``.

A conversion turns one source record (a lead) into target records created in
order (an account, a contact, an opportunity), each remembered by a lookup on
the source. The checks catch what would make a conversion fail for every
record, when the definition is saved rather than when a rep clicks: every
mapped field exists, is writable and gets a value of its type (a quoted
constant must be one of a picklist's values), every link is a lookup to the
right object, links point backwards in the order, and every required field
of a target gets a value. ``build`` calls ``build_conversions`` once the
objects are compiled; problems go into the formula compiler's list with the
component key and a JSON pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from trellis.expressions import ExprType
from trellis.metadata.components import Component
from trellis.metadata.definitions import (
    ConversionDef,
    ConversionTargetDef,
    FieldDef,
    Label,
    ObjectDef,
)
from trellis.metadata.flow_actions import TEXT_LITERAL
from trellis.metadata.flow_scope import FlowScope, a, value_type
from trellis.metadata.formulas import FormulaCompiler

#: What a link names to mean the source record itself (``"lead": "$source"``).
SOURCE = "$source"


def build_conversions(
    effective: Mapping[str, Component],
    compiler: FormulaCompiler,
    *,
    provenance: Callable[[str], str] = lambda key: "custom",
) -> Mapping[str, ConversionDef]:
    """Check and freeze every conversion; problems land in ``compiler.problems``."""
    built: dict[str, ConversionDef] = {}
    for comp in sorted(effective.values(), key=lambda c: c.key):
        if comp.kind != "conversion":
            continue
        scope = _scope(comp.key, comp.definition, compiler)
        if scope is not None:
            conversion = build_conversion(scope, comp.definition, provenance(comp.key))
            built[comp.key.split(":", 1)[1]] = conversion
    return MappingProxyType(built)


def _scope(key: str, raw: dict[str, Any], compiler: FormulaCompiler) -> FlowScope | None:
    """The scope to check ``raw`` in, or None (with a problem) when its source is missing."""
    scope = FlowScope(key, raw["object"], compiler, {}, frozenset())
    if scope.object(raw["object"]) is None:
        known = ", ".join(sorted(compiler.objects)) or "none yet"
        scope.problem(
            "/object", f"there is no object {raw['object']!r} to convert; known objects: {known}"
        )
        return None
    return scope


def build_conversion(scope: FlowScope, raw: dict[str, Any], provenance: str) -> ConversionDef:
    targets: list[ConversionTargetDef] = []
    for i, raw_target in enumerate(raw["targets"]):
        target = _target(scope, f"/targets/{i}", raw_target, targets)
        if target is not None:
            targets.append(target)
    _check_targets_together(scope, raw["targets"])
    source_values = _values(scope, "/source_values", scope.obj, raw.get("source_values", {}))
    links = {t["link_field"] for t in raw["targets"]}
    for name in sorted(links & set(source_values)):
        scope.problem(
            f"/source_values/{name}",
            f"{name!r} is a target's link field, which the conversion fills itself; "
            "remove it from source_values",
        )
    message = raw.get("condition_message")
    return ConversionDef(
        api_name=raw["api_name"],
        object_name=raw["object"],
        label=Label.from_json(raw["label"]),
        targets=tuple(targets),
        source_values=MappingProxyType(source_values),
        condition=scope.formula("/condition", raw.get("condition"), ExprType.BOOLEAN),
        condition_message=Label.from_json(message) if message else None,
        active=raw.get("active", True),
        provenance=provenance,
    )


def _check_targets_together(scope: FlowScope, raw_targets: list[dict[str, Any]]) -> None:
    seen_names: set[str] = set()
    seen_links: set[str] = set()
    for i, raw in enumerate(raw_targets):
        if raw["api_name"] in seen_names:
            scope.problem(
                f"/targets/{i}/api_name",
                f"two targets are called {raw['api_name']!r}; give each its own api_name",
            )
        if raw["link_field"] in seen_links:
            scope.problem(
                f"/targets/{i}/link_field",
                f"{raw['link_field']!r} already remembers another target; "
                "each target needs its own link field",
            )
        seen_names.add(raw["api_name"])
        seen_links.add(raw["link_field"])
    if all(raw.get("optional", False) for raw in raw_targets):
        scope.problem(
            "/targets",
            "every target is optional, so a conversion could make nothing and run again; "
            'make at least one target required ("optional": false)',
        )


def _target(
    scope: FlowScope, place: str, raw: dict[str, Any], earlier: list[ConversionTargetDef]
) -> ConversionTargetDef | None:
    obj = scope.object(raw["object"])
    if obj is None:
        scope.problem(
            f"{place}/object", f"there is no object {raw['object']!r} to create a record of"
        )
        return None
    _check_link_field(scope, f"{place}/link_field", raw["link_field"], obj)
    values = _values(scope, f"{place}/values", obj, raw.get("values", {}))
    links = _links(scope, f"{place}/links", obj, raw.get("links", {}), earlier)
    for name in sorted(set(values) & set(links)):
        scope.problem(
            f"{place}/links/{name}",
            f"{obj.api_name}.{name} is both mapped in values and linked; keep one of them",
        )
    # Names given but refused above are reported there, not again as missing.
    given = set(raw.get("values", {})) | set(raw.get("links", {}))
    _check_required(scope, f"{place}/values", obj, given)
    return ConversionTargetDef(
        api_name=raw["api_name"],
        object_name=obj.api_name,
        label=Label.from_json(raw["label"]) if "label" in raw else obj.label,
        link_field=raw["link_field"],
        values=MappingProxyType(values),
        links=MappingProxyType(links),
        optional=raw.get("optional", False),
        choose_existing=raw.get("choose_existing", False),
    )


def _check_link_field(scope: FlowScope, place: str, name: str, target: ObjectDef) -> None:
    f = scope.live_field(name)
    source = scope.object_name
    if f is None:
        scope.problem(
            place,
            f"{name!r} is not a field of {source}; add a lookup field {source}.{name} "
            f"to {target.api_name} to remember the converted record",
        )
    elif f.type != "lookup" or f.options.get("target") != target.api_name:
        what = f"a lookup to {f.options.get('target')}" if f.type == "lookup" else a(f.type)
        what += "" if f.type == "lookup" else " field"
        scope.problem(
            place,
            f"{source}.{name} is {what}; the link field must be a lookup to {target.api_name}",
        )


def _values(scope: FlowScope, place: str, target: ObjectDef, raw: dict[str, str]) -> dict:
    """Formulas on the source, each giving a value that fits the ``target`` field it fills."""
    out = {}
    for name, source in raw.items():
        f = scope.live_field(name, target)
        if f is None:
            scope.problem(
                f"{place}/{name}",
                f"{name!r} is not a field of {target.api_name}; name one of its fields",
            )
        elif not f.writable:
            why = "a system field" if f.system else f"{a(f.type)} field, filled in by Trellis"
            scope.problem(f"{place}/{name}", f"{target.api_name}.{name} is {why}; remove it")
        else:
            out[name] = scope.formula(f"{place}/{name}", source, value_type(f))
            if out[name] is not None:
                _check_constant(scope, f"{place}/{name}", f, source)
    return {k: v for k, v in out.items() if v is not None}


def _check_constant(scope: FlowScope, place: str, f: FieldDef, source: str) -> None:
    """A quoted text written into a field must fit it (a picklist's values, an email ...).

    Copied values are not judged here: a lead picklist with a value the account's
    lacks, or a longer text, fails only for the records holding such a value, and
    refusing the definition for it would block admins widening or extending the
    source. The records service names the target and field when it happens.
    """
    literal = TEXT_LITERAL.match(source)
    if literal is None:
        return
    try:
        f.field_type.parse(literal.group(2), f)
    except ValueError as exc:
        scope.problem(place, f"{literal.group(2)!r} does not fit {f.path}: {exc}")


def _links(
    scope: FlowScope,
    place: str,
    target: ObjectDef,
    raw: dict[str, str],
    earlier: list[ConversionTargetDef],
) -> dict[str, str]:
    """Lookups of ``target`` filled with the record of an earlier target or the source."""
    before = {t.api_name: t for t in earlier}
    out = {}
    for name, ref in raw.items():
        f = scope.live_field(name, target)
        if f is None or f.type != "lookup":
            what = "not a field" if f is None else f"{a(f.type)} field, not a lookup"
            scope.problem(f"{place}/{name}", f"{target.api_name}.{name} is {what}")
            continue
        if ref == SOURCE:
            linked_object, optional = scope.object_name, False
        elif ref in before:
            linked_object, optional = before[ref].object_name, before[ref].optional
        else:
            names = ", ".join(before) or "none"
            scope.problem(
                f"{place}/{name}",
                f"{ref!r} is not a target before this one (targets before it: {names}); "
                f"targets are created in order, so list {ref!r} earlier, or link {SOURCE!r}",
            )
            continue
        if f.options.get("target") != linked_object:
            scope.problem(
                f"{place}/{name}",
                f"{f.path} is a lookup to {f.options.get('target')}, "
                f"but {ref!r} is {a(linked_object)}",
            )
        elif optional and f.required:
            scope.problem(
                f"{place}/{name}",
                f"{f.path} is required but target {ref!r} is optional: when it is "
                f"skipped the {target.api_name} could not be saved; make {ref!r} required",
            )
        else:
            out[name] = ref
    return out


def _check_required(scope: FlowScope, place: str, target: ObjectDef, given: set[str]) -> None:
    for f in target.live_fields:
        empty = f.default_value is None and f.default_formula is None
        if f.required and f.writable and empty and f.api_name not in given:
            scope.problem(
                place,
                f"{f.path} is required; map it in values (a formula on "
                f"{scope.object_name}), link it, or give the field a default",
            )
