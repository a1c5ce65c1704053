"""Actions of automations and approval flows (docs/flows.md, "Actions").

Each action is checked against its scope: the fields it writes exist and
are writable, its formulas give the type of the field they fill, the pool,
rule or flow it names exists on the same object, and notification
placeholders name fields. The result is a frozen ``ActionDef``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from trellis.metadata.definitions import FieldDef, Label, ObjectDef
from trellis.metadata.flow_definitions import ActionDef
from trellis.metadata.flow_people import people_list
from trellis.metadata.flow_scope import FlowScope, a, value_type

#: The keys each action type takes (besides ``type``).
KEYS = {
    "update_fields": {"values"},
    "create_record": {"object", "values"},
    "notify": {"recipients", "channels", "title", "message", "wecom_robot"},
    "webhook": {"url", "secret"},
    "assign": {"rule"},
    "move_to_pool": {"pool"},
    "submit_for_approval": {"flow"},
}
#: ``{field}`` or ``{lookup.field}`` in a notification text; filled in, never evaluated.
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\}")
#: A formula that is just one quoted text, such as ``'approved'``.
TEXT_LITERAL = re.compile(r"""^\s*(['"])([^'"\\]*)\1\s*$""")
#: Components an action may name, by the action property naming them.
NAMED = {"rule": "assignment_rule", "pool": "pool", "flow": "approval_flow"}


def actions(
    scope: FlowScope, place: str, raw: Sequence[dict[str, Any]] | None
) -> tuple[ActionDef, ...]:
    """Check and freeze a list of actions."""
    return tuple(
        action(scope, f"{place}/{i}", raw_action) for i, raw_action in enumerate(raw or ())
    )


def action(scope: FlowScope, place: str, raw: dict[str, Any]) -> ActionDef:
    kind = raw["type"]
    scope.unknown_keys(place, raw, KEYS[kind] | {"type"}, f"{a(kind)} action")
    _check_named(scope, place, raw)
    values: dict[str, Any] = {}
    if kind == "update_fields":
        values = _values(scope, f"{place}/values", scope.obj, raw["values"])
    elif kind == "create_record":
        values = _create_values(scope, place, raw)
    if kind == "notify":
        for prop in ("title", "message"):
            if prop in raw:
                check_placeholders(scope, f"{place}/{prop}", raw[prop])
    return ActionDef(
        type=kind,
        values=MappingProxyType(values),
        object=raw.get("object"),
        recipients=people_list(scope, f"{place}/recipients", raw.get("recipients")),
        channels=tuple(raw.get("channels", ("in_app",))),
        title=Label.from_json(raw["title"]) if "title" in raw else None,
        message=Label.from_json(raw["message"]) if "message" in raw else None,
        wecom_robot=raw.get("wecom_robot"),
        url=raw.get("url"),
        secret=raw.get("secret"),
        rule=raw.get("rule"),
        pool=raw.get("pool"),
        flow=raw.get("flow"),
    )


def _check_named(scope: FlowScope, place: str, raw: dict[str, Any]) -> None:
    for prop, kind in NAMED.items():
        name = raw.get(prop)
        if name is not None and not scope.component_exists(kind, name):
            what = kind.replace("_", " ")
            scope.problem(
                f"{place}/{prop}",
                f"there is no {what} {name!r} on {scope.object_name}; "
                f"define {kind}:{scope.object_name}.{name} or fix the name",
            )


def _values(scope: FlowScope, place: str, target: ObjectDef, raw: dict[str, str]) -> dict[str, Any]:
    """Formulas on the scope's record, each giving the type of the ``target`` field it fills."""
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
            hint = "; use the assign action to change the owner" if name == "owner" else ""
            scope.problem(f"{place}/{name}", f"{name!r} is {why} and cannot be set{hint}")
        else:
            out[name] = scope.formula(f"{place}/{name}", source, value_type(f))
            if out[name] is not None:
                _check_constant(scope, f"{place}/{name}", f, source)
    return out


def _check_constant(scope: FlowScope, place: str, f: FieldDef, source: str) -> None:
    """A quoted text written into a field must fit it (a picklist's values, an email ...)."""
    match = TEXT_LITERAL.match(source)
    if match is None:
        return
    try:
        f.field_type.parse(match.group(2), f)
    except ValueError as exc:
        scope.problem(place, f"{match.group(2)!r} does not fit {f.path}: {exc}")


def _create_values(scope: FlowScope, place: str, raw: dict[str, Any]) -> dict[str, Any]:
    target = scope.object(raw["object"])
    if target is None:
        scope.problem(
            f"{place}/object",
            f"there is no object {raw['object']!r} to create a record of",
        )
        return {}
    values = _values(scope, f"{place}/values", target, raw["values"])
    for f in target.live_fields:
        empty = f.default_value is None and f.default_formula is None
        if f.required and empty and f.api_name not in raw["values"]:
            scope.problem(
                f"{place}/values",
                f"{target.api_name}.{f.api_name} is required; give it a value here",
            )
    return values


def check_placeholders(scope: FlowScope, place: str, text: dict[str, str]) -> None:
    """Each ``{field}`` of a notification text must name a field (or lookup path) of the object."""
    names = scope.compiler.env(scope.object_name)
    for language, value in text.items():
        for name in PLACEHOLDER.findall(value):
            if name not in names:
                scope.problem(
                    f"{place}/{language}",
                    f"the placeholder {{{name}}} names no field of {scope.object_name}; "
                    "use {field} or {lookup_field.field}",
                )
