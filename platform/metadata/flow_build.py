"""Build approval flows, automations, pools and assignment rules from checked JSON.

Approval flows are built by ``flow_approval`` (their graph checked by
``flow_graph``), automations by ``flow_automation``; pools and assignment
rules, being small, here. ``build`` calls ``build_flows`` once the objects
are compiled; every problem goes into the formula compiler's list, so one
load reports them all with the component key and a JSON pointer.
``flow_from_json`` rebuilds one approval flow from the snapshot a running
instance keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from trellis.expressions import ExprType
from trellis.metadata.components import FLOW_KINDS, Component
from trellis.metadata.definitions import Definitions, Label
from trellis.metadata.flow_approval import build_approval_flow
from trellis.metadata.flow_automation import build_automation
from trellis.metadata.flow_definitions import (
    AssignmentEntryDef,
    AssignmentRuleDef,
    AutomationDef,
    FlowDef,
    PoolDef,
)
from trellis.metadata.flow_people import WITHOUT_RECORD, people_list
from trellis.metadata.flow_scope import FlowScope
from trellis.metadata.formulas import FormulaCompiler
from trellis.metadata.problems import DefinitionError, Problem
from trellis.metadata.schemas import check_schema


@dataclass(frozen=True)
class FlowDefinitions:
    """Every flow definition of one metadata version, keyed ``"object.api_name"``."""

    approval_flows: Mapping[str, FlowDef]
    automations: Mapping[str, AutomationDef]
    pools: Mapping[str, PoolDef]
    assignment_rules: Mapping[str, AssignmentRuleDef]


def build_flows(
    effective: Mapping[str, Component],
    compiler: FormulaCompiler,
    roles: Mapping[str, Any],
    *,
    known: frozenset[str] | None = None,
    provenance: Callable[[str], str] = lambda key: "custom",
) -> FlowDefinitions:
    """Check and freeze every flow component; problems land in ``compiler.problems``."""
    known = frozenset(effective) if known is None else known
    built: dict[str, dict[str, Any]] = {kind: {} for kind in FLOW_KINDS}
    for comp in sorted(effective.values(), key=lambda c: c.key):
        if comp.kind not in FLOW_KINDS:
            continue
        scope = _scope(comp.key, comp.definition, compiler, roles, known)
        if scope is None:
            continue
        made = BUILDERS[comp.kind](scope, comp.definition, provenance(comp.key))
        built[comp.kind][comp.key.split(":", 1)[1]] = made
    return FlowDefinitions(**{f"{kind}s": MappingProxyType(built[kind]) for kind in FLOW_KINDS})


def flow_from_json(raw: dict[str, Any], definitions: Definitions) -> FlowDef:
    """Rebuild an approval flow from a stored snapshot (``FlowDef.source``).

    A running instance keeps the definition it was submitted with; this turns
    that JSON back into a FlowDef against today's objects and roles.

    Raises:
        DefinitionError: The snapshot no longer passes its checks (a field it
            reads was archived, a role it names was removed ...).
    """
    key = f"approval_flow:{raw.get('object')}.{raw.get('api_name')}"
    problems = list(check_schema("approval_flow", key, raw))
    if problems:
        raise DefinitionError(problems)
    compiler = FormulaCompiler(dict(definitions.objects))
    scope = _scope(key, raw, compiler, definitions.roles, _known(definitions) | {key})
    if scope is None:
        raise DefinitionError(compiler.problems)
    current = definitions.approval_flows.get(scope.key.split(":", 1)[1])
    flow = build_approval_flow(scope, raw, current.provenance if current else "custom")
    if compiler.problems:
        raise DefinitionError(compiler.problems)
    return flow


def _known(definitions: Definitions) -> frozenset[str]:
    return frozenset(
        f"{kind}:{name}" for kind in FLOW_KINDS for name in getattr(definitions, f"{kind}s")
    )


def _scope(
    key: str,
    raw: dict[str, Any],
    compiler: FormulaCompiler,
    roles: Mapping[str, Any],
    known: frozenset[str],
) -> FlowScope | None:
    """The scope to check ``raw`` in, or None (with a problem) when its object is missing."""
    name = raw["object"]
    obj = compiler.objects.get(name)
    if obj is None or obj.archived:
        known_objects = ", ".join(sorted(compiler.objects)) or "none yet"
        compiler.problems.append(
            Problem(key, "/object", f"there is no object {name!r}; known objects: {known_objects}")
        )
        return None
    approval = key.startswith("approval_flow:")
    return FlowScope(key, name, compiler, roles, known, approval=approval)


# -- pools and assignment rules -------------------------------------------------


def build_pool(scope: FlowScope, raw: dict[str, Any], provenance: str) -> PoolDef:
    for i, member in enumerate(raw["members"]):
        if member["type"] == "department_head" and "department" not in member:
            scope.problem(
                f"/members/{i}",
                "a pool has no submitter or owner to take the department from; "
                'name the department, such as "department": "east_sales"',
            )
    return PoolDef(
        api_name=raw["api_name"],
        object_name=raw["object"],
        label=Label.from_json(raw["label"]),
        members=people_list(scope, "/members", raw["members"], allowed=WITHOUT_RECORD),
        condition=scope.formula("/condition", raw.get("condition"), ExprType.BOOLEAN),
        claims_per_day=raw.get("claims_per_day"),
        max_held=raw.get("max_held"),
        active=raw.get("active", True),
        provenance=provenance,
    )


def build_assignment_rule(
    scope: FlowScope, raw: dict[str, Any], provenance: str
) -> AssignmentRuleDef:
    _check_entry_order(scope, raw["entries"])
    return AssignmentRuleDef(
        api_name=raw["api_name"],
        object_name=raw["object"],
        label=Label.from_json(raw["label"]),
        entries=tuple(_entry(scope, f"/entries/{i}", e) for i, e in enumerate(raw["entries"])),
        on_create=raw.get("on_create", False),
        active=raw.get("active", True),
        order=raw.get("order", 100),
        provenance=provenance,
    )


def _entry(scope: FlowScope, place: str, raw: dict[str, Any]) -> AssignmentEntryDef:
    if "load_filter" in raw and raw["method"] != "load":
        scope.problem(f"{place}/load_filter", '\'load_filter\' applies only to "method": "load"')
    return AssignmentEntryDef(
        method=raw["method"],
        users=people_list(scope, f"{place}/users", raw["users"]),
        when=scope.formula(f"{place}/when", raw.get("when"), ExprType.BOOLEAN),
        load_filter=scope.formula(f"{place}/load_filter", raw.get("load_filter"), ExprType.BOOLEAN),
    )


def _check_entry_order(scope: FlowScope, entries: list[dict[str, Any]]) -> None:
    """An entry without 'when' takes every record, so nothing after it is ever used."""
    for i, entry in enumerate(entries[:-1]):
        if "when" not in entry:
            scope.problem(
                f"/entries/{i + 1}",
                f"entry {i + 1} is never used: entry {i} has no 'when', so it takes "
                "every record; give it a 'when' or move it last",
            )
            return


BUILDERS = {
    "approval_flow": build_approval_flow,
    "automation": build_automation,
    "pool": build_pool,
    "assignment_rule": build_assignment_rule,
}
