"""The approval panel at the top of a record page: the record's latest approval (status,
path, who must act now, history) and exactly the actions this viewer may take.

What is shown comes from the engine's own answers (``ApprovalService.instance`` and
``tasks``), so the panel never offers a button the engine would refuse for reasons it
knows: approve, reject, transfer and add approver appear on the viewer's own pending
tasks (delegated ones included), recall for the submitter of a pending approval, submit
for the flows whose entry criteria this record meets now (the engine checks them again).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request

from trellis.flows.record_values import formula_env, holds, load_row
from trellis.runtime.errors import Forbidden, Invalid, NotFound
from trellis.runtime.system_tables import user_table
from trellis.web.approvals_page import (
    approvals,
    latest_instance,
    person,
    shown_time,
    waited,
)
from trellis.web.metadata_view import compiled
from trellis.web.panels import record_panel
from trellis.web.sessions import page_context, runtime

MODES = ("any", "all", "ratio")
#: People offered for transfer and add-approver (active users, by name).
PEOPLE_SHOWN = 300


def object_flows(object_name: str) -> list:
    """The object's active approval flows in the order the engine tries them."""
    flows = compiled().definitions.approval_flows.values()
    return sorted(
        (f for f in flows if f.object_name == object_name and f.active),
        key=lambda f: (f.priority, f.api_name),
    )


def flows_that_accept(object_name: str, record_id: int, flows: list) -> list:
    """The flows whose entry criteria hold for the record now, evaluated with the engine's
    own formula environment (so the offer matches what ``submit`` will decide)."""
    ctx = page_context()
    with runtime().records.session(ctx, write=False) as (conn, metadata):
        row = load_row(conn, metadata, object_name, record_id)
        if row is None:
            return []
        criteria = [f.entry_criteria for f in flows if f.entry_criteria is not None]
        env = formula_env(conn, metadata, ctx.on(conn), object_name, row, criteria)
        accepted = []
        for flow in flows:
            try:
                if holds(flow.entry_criteria, env, ctx, f"approval flow {flow.key}"):
                    accepted.append(flow)
            except Invalid:
                continue  # the engine will say why on submit; do not offer it
        return accepted


def people_to_choose() -> list[tuple[int, str]]:
    """(id, "name (username)") of active users other than the viewer."""
    t = user_table
    query = (
        sa.select(t.c.id, t.c.display_name, t.c.username)
        .where(t.c.is_active, t.c.id != page_context().user_id)
        .order_by(t.c.display_name, t.c.username)
        .limit(PEOPLE_SHOWN)
    )
    with runtime().engine.connect() as conn:
        return [(r.id, f"{r.display_name} ({r.username})") for r in conn.execute(query)]


# -- the path -----------------------------------------------------------------------------


def _people_at(instance: dict, node_id: str) -> dict[str, list[str]]:
    """Who acts at a node now (pending) and who comes after them (waiting), by name."""
    out: dict[str, list[str]] = {"pending": [], "waiting": []}
    for task in instance["tasks"]:
        if task["node"] == node_id and task["status"] in out:
            out[task["status"]].append(person(task["assignee"]))
    return out


def _upcoming(flow, current: list[str]) -> list[str]:
    """Approval and notify nodes after the current ones along plain ``next`` links (a
    condition or parallel node ends the look-ahead: which branch runs is not known yet)."""
    ahead: list[str] = []
    for node_id in current:
        node = flow.nodes.get(node_id)
        while node is not None and node.next:
            node = flow.nodes.get(node.next)
            if node is None or node.type not in ("approval", "notify") or node.id in ahead:
                break
            ahead.append(node.id)
    return [n for n in ahead if n not in current]


def path_steps(instance: dict, flow) -> list[dict]:
    """The nodes in order: passed, current (with who must act) and, while pending, upcoming."""
    current = [n["id"] for n in instance["current_nodes"]]
    shown = [n for n in dict.fromkeys(instance["path"]) if _visible(flow, n)]
    steps = []
    for node_id in shown:
        state = "current" if node_id in current else "passed"
        steps.append(_step(flow, instance, node_id, state))
    if instance["status"] == "pending":
        steps += [_step(flow, instance, n, "upcoming") for n in _upcoming(flow, current)]
    return steps


def _visible(flow, node_id: str) -> bool:
    node = flow.nodes.get(node_id)
    return node is not None and node.type in ("approval", "notify")


def _step(flow, instance: dict, node_id: str, state: str) -> dict:
    node = flow.nodes[node_id]
    return {
        "id": node_id,
        "label": node.label if node.label is not None else node_id,
        "type": node.type,
        "mode": node.mode if node.type == "approval" else None,
        "state": state,
        "people": _people_at(instance, node_id) if state == "current" else None,
    }


def _label_of(flow, node_id: str | None):
    node = flow.nodes.get(node_id) if node_id else None
    return node.label if node is not None and node.label is not None else (node_id or "")


def history_rows(instance: dict, flow) -> list[dict]:
    return [
        {
            "action": e["action"],
            "actor": person(e["actor"]) if e["actor"] else "",
            "node": _label_of(flow, e["node"]),
            "comment": e["comment"],
            "at": shown_time(e["at"]),
        }
        for e in reversed(instance["history"])
    ]


def earlier_nodes(instance: dict, flow, here: str) -> list[dict]:
    """Approval nodes this approval passed before ``here``: where 退回 may send it."""
    passed = [n for n in dict.fromkeys(instance["path"]) if n != here]
    return [
        {"id": n, "label": flow.nodes[n].label or n}
        for n in passed
        if n in flow.nodes and flow.nodes[n].type == "approval"
    ]


# -- the panel ----------------------------------------------------------------------------


def _my_tasks(instance: dict) -> list[dict]:
    mine = approvals().tasks(page_context(), status="pending")
    return [t for t in mine if t["approval"]["id"] == instance["id"]]


def _readable(instance_id: int) -> dict | None:
    try:
        return approvals().instance(page_context(), instance_id)
    except (NotFound, Forbidden):
        return None


@record_panel("top", order=10)
def approval_panel(obj, record):
    flows = object_flows(obj.api_name)
    latest = latest_instance(obj.api_name, record["id"])
    instance = _readable(latest["id"]) if latest is not None else None
    if not flows and instance is None:
        return None
    if instance is None:
        return _render(obj, record, flows, None, None)
    # The flow as the instance was submitted with: node labels and modes of that version.
    flow = approvals().pins.flow(compiled(), latest)
    return _render(obj, record, flows, instance, flow)


def _render(obj, record, flows, instance, flow):
    pending = instance is not None and instance["status"] == "pending"
    offered = [] if pending else flows_that_accept(obj.api_name, record["id"], flows)
    tasks = _my_tasks(instance) if pending else []
    ctx = page_context()
    return render_template(
        "_approval_panel.html",
        object=obj,
        record=record,
        instance=instance,
        flow=flow,
        steps=path_steps(instance, flow) if instance else [],
        history=history_rows(instance, flow) if instance else [],
        submitted_at=shown_time(instance["submitted_at"]) if instance else "",
        duration=waited(instance["submitted_at"], instance["finished_at"]) if instance else "",
        offered=offered,
        has_flows=bool(flows),
        tasks=[
            {
                **t,
                "node_label": _label_of(flow, t["node"]),
                "earlier": earlier_nodes(instance, flow, t["node"]),
            }
            for t in tasks
        ],
        may_recall=pending and instance["submitted_by"]["id"] == ctx.user_id,
        people=people_to_choose() if tasks else [],
        here=request.path,
    )
