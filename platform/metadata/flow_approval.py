"""Approval flows: nodes, branches, approvers and SLAs, checked and frozen.

The graph itself (reachability, cycles, joins) is ``flow_graph``'s; this
module checks each node's own properties and compiles its formulas.
"""

from __future__ import annotations

import copy
from types import MappingProxyType
from typing import Any

from trellis.expressions import ExprType
from trellis.metadata import flow_graph
from trellis.metadata.definitions import Label
from trellis.metadata.flow_actions import actions, check_placeholders
from trellis.metadata.flow_definitions import BranchDef, FlowDef, NodeDef, SLADef
from trellis.metadata.flow_people import people_list
from trellis.metadata.flow_scope import FlowScope, a

#: The keys each node type takes (besides ``id`` and ``type``).
NODE_KEYS = {
    "approval": {
        "label",
        "next",
        "approvers",
        "mode",
        "ratio",
        "min_approvals",
        "if_no_approver",
        "editable_fields",
        "sla",
        "on_approve",
        "on_reject",
    },
    "condition": {"label", "branches"},
    "parallel": {"label", "branches", "join"},
    "join": {"label", "next"},
    "notify": {"label", "recipients", "message", "next"},
    "end": {"label"},
}


def build_approval_flow(scope: FlowScope, raw: dict[str, Any], provenance: str) -> FlowDef:
    scope.problems.extend(flow_graph.problems(scope.key, raw))
    nodes = {}
    for i, node in enumerate(raw["nodes"]):
        nodes.setdefault(node["id"], _node(scope, f"/nodes/{i}", node))
    return FlowDef(
        api_name=raw["api_name"],
        object_name=raw["object"],
        label=Label.from_json(raw["label"]),
        start=flow_graph.start_of(raw),
        nodes=MappingProxyType(nodes),
        active=raw.get("active", True),
        priority=raw.get("priority", 100),
        entry_criteria=scope.formula(
            "/entry_criteria", raw.get("entry_criteria"), ExprType.BOOLEAN
        ),
        on_submit=actions(scope, "/on_submit", raw.get("on_submit")),
        on_approved=actions(scope, "/on_approved", raw.get("on_approved")),
        on_rejected=actions(scope, "/on_rejected", raw.get("on_rejected")),
        on_recalled=actions(scope, "/on_recalled", raw.get("on_recalled")),
        description=raw.get("description", ""),
        provenance=provenance,
        source=copy.deepcopy(raw),
    )


def _node(scope: FlowScope, place: str, raw: dict[str, Any]) -> NodeDef:
    kind = raw["type"]
    scope.unknown_keys(place, raw, NODE_KEYS[kind] | {"id", "type"}, f"{a(kind)} node")
    if kind == "parallel":
        return _parallel(raw)
    if "message" in raw:
        check_placeholders(scope, f"{place}/message", raw["message"])
    if kind == "approval":
        _check_approval_mode(scope, place, raw)
        _check_editable(scope, place, raw.get("editable_fields", ()))
    return NodeDef(
        id=raw["id"],
        type=kind,
        label=Label.from_json(raw["label"]) if "label" in raw else None,
        next=raw.get("next"),
        branches=_branches(scope, place, raw) if kind == "condition" else (),
        join=raw.get("join"),
        approvers=people_list(scope, f"{place}/approvers", raw.get("approvers")),
        mode=raw.get("mode", "any"),
        ratio=raw.get("ratio"),
        min_approvals=raw.get("min_approvals"),
        if_no_approver=raw.get("if_no_approver", "admin"),
        editable_fields=tuple(raw.get("editable_fields", ())),
        sla=_sla(scope, f"{place}/sla", raw["sla"]) if "sla" in raw else None,
        on_approve=actions(scope, f"{place}/on_approve", raw.get("on_approve")),
        on_reject=actions(scope, f"{place}/on_reject", raw.get("on_reject")),
        recipients=people_list(scope, f"{place}/recipients", raw.get("recipients")),
        message=Label.from_json(raw["message"]) if "message" in raw else None,
    )


def _parallel(raw: dict[str, Any]) -> NodeDef:
    """A parallel node's branches are node ids that all start (no condition)."""
    return NodeDef(
        id=raw["id"],
        type="parallel",
        label=Label.from_json(raw["label"]) if "label" in raw else None,
        branches=tuple(BranchDef(next=b) for b in raw["branches"]),
        join=raw["join"],
    )


def _branches(scope: FlowScope, place: str, raw: dict[str, Any]) -> tuple[BranchDef, ...]:
    return tuple(
        BranchDef(
            next=b["next"],
            when=scope.formula(f"{place}/branches/{j}/when", b.get("when"), ExprType.BOOLEAN),
        )
        for j, b in enumerate(raw["branches"])
    )


def _check_approval_mode(scope: FlowScope, place: str, raw: dict[str, Any]) -> None:
    given = [p for p in ("ratio", "min_approvals") if p in raw]
    if raw.get("mode") == "ratio" and len(given) != 1:
        scope.problem(
            f"{place}/mode",
            "mode 'ratio' needs exactly one of 'ratio' (a share of the approvers, such as 0.5) "
            "or 'min_approvals' (M of N)",
        )
    elif raw.get("mode") != "ratio":
        for prop in given:
            scope.problem(f"{place}/{prop}", f'{prop!r} applies only with "mode": "ratio"')


def _check_editable(scope: FlowScope, place: str, names) -> None:
    for i, name in enumerate(names):
        f = scope.live_field(name)
        if f is None:
            scope.problem(
                f"{place}/editable_fields/{i}", f"{name!r} is not a field of {scope.object_name}"
            )
        elif not f.writable:
            scope.problem(
                f"{place}/editable_fields/{i}",
                f"{name!r} is filled in by Trellis and cannot be edited by approvers",
            )


def _sla(scope: FlowScope, place: str, raw: dict[str, Any]) -> SLADef:
    if ("escalate_after_hours" in raw) != ("escalate_to" in raw):
        scope.problem(
            place, "'escalate_after_hours' and 'escalate_to' go together: give both or neither"
        )
    return SLADef(
        remind_after_hours=raw.get("remind_after_hours"),
        escalate_after_hours=raw.get("escalate_after_hours"),
        escalate_to=people_list(scope, f"{place}/escalate_to", raw.get("escalate_to")),
        auto_approve_after_hours=raw.get("auto_approve_after_hours"),
    )
