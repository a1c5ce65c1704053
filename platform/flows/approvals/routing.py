"""Walking an instance through its flow's nodes.

``enter`` reaches a node and does what its type says: a condition picks the
first branch whose formula holds, a parallel node starts every branch, a
join waits until every branch of its parallel node arrived, a notify node
(抄送) sends and goes on, an approval node opens tasks, an end approves the
instance. ``after_task`` decides an approval node once one of its tasks was
acted on, and ``finish`` ends the instance with its flow's actions.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from trellis.flows import people
from trellis.flows.approvals import history, tasks
from trellis.flows.approvals.run import Run
from trellis.flows.record_values import holds, load_row, shown
from trellis.metadata.flow_definitions import ActionDef, FlowDef, NodeDef
from trellis.runtime.errors import Invalid

OUTCOME_ACTIONS = {"approved": "on_approved", "rejected": "on_rejected", "recalled": "on_recalled"}


def enter(run: Run, node_id: str, *, came_from: str | None = None) -> None:
    """The flow reaches ``node_id``."""
    if run.finished:
        return
    node = run.flow.nodes[node_id]
    history.write(run, "enter", node=node_id, details={"from": came_from} if came_from else None)
    STEPS[node.type](run, node)


def _condition(run: Run, node: NodeDef) -> None:
    env = run.env([b.when for b in node.branches if b.when is not None])
    for index, branch in enumerate(node.branches):
        where = f"approval flow {run.flow.key}, node {node.id!r}, branch {index}"
        if holds(branch.when, env, run.ctx, where):
            enter(run, branch.next, came_from=node.id)
            return
    dead_end(run, node, f"no branch of condition node {node.id!r} matches this {run.object_name}")


def _parallel(run: Run, node: NodeDef) -> None:
    for branch in node.branches:
        enter(run, branch.next, came_from=node.id)


def _join(run: Run, node: NodeDef) -> None:
    parallel = next(
        n for n in run.flow.nodes.values() if n.type == "parallel" and n.join == node.id
    )
    started = history.last_entry(run.conn, run.id, parallel.id)
    if history.entries_since(run.conn, run.id, node.id, started) >= len(parallel.branches):
        enter(run, node.next, came_from=node.id)


def _notify(run: Run, node: NodeDef) -> None:
    recipients = run.people(node.recipients)
    if recipients:
        send(run, node, recipients)
    history.write(run, "notify", node=node.id, details={"recipients": recipients})
    enter(run, node.next, came_from=node.id)


def send(
    run: Run, node: NodeDef, user_ids: list[int], prefix: dict[str, str] | None = None
) -> None:
    """A message about this approval to ``user_ids``, each in their language."""
    from trellis.flows import templates

    ctx = run.trusted()
    row = load_row(run.conn, run.compiled, run.object_name, run.record_id) or {}
    record = shown(run.conn, run.compiled, ctx, run.object_name, row) if row else {}
    for locale, ids in people.by_locale(run.conn, user_ids).items():
        title = (prefix or {}).get(locale, (prefix or {}).get("en", "")) + run.flow.label.get(
            locale
        )
        if node.label is not None:
            title = f"{title} · {node.label.get(locale)}"
        body = (
            templates.render(node.message.get(locale), record, locale=locale)
            if node.message
            else title
        )
        run.flows.notifications.send(
            run.conn,
            ctx,
            ids,
            title,
            body,
            object_name=run.object_name,
            record_id=run.record_id,
            source=f"approval:{run.id}",
            dedupe_key=None,
        )


def _approval(run: Run, node: NodeDef) -> None:
    visit = tasks.next_visit(run.conn, run.id, node.id)
    opened = tasks.open_node(run, node, visit)
    if opened == "skip":
        history.write(run, "skip", node=node.id, details={"reason": "nobody to approve"})
        enter(run, node.next, came_from=node.id)
    elif opened == "reject":
        dead_end(run, node, f"nobody can approve node {node.id!r} of this {run.object_name}")


def _end(run: Run, node: NodeDef) -> None:
    finish(run, "approved")


STEPS: dict[str, Callable[[Run, NodeDef], None]] = {
    "condition": _condition,
    "parallel": _parallel,
    "join": _join,
    "notify": _notify,
    "approval": _approval,
    "end": _end,
}


def dead_end(run: Run, node: NodeDef, message: str) -> None:
    """The flow cannot go on: a submission is refused, a running instance is rejected."""
    if run.submitting:
        raise Invalid(
            f"{message}, so approval flow {run.flow.key} cannot start; change the record or "
            "ask an administrator to adjust the flow"
        )
    finish(run, "rejected", reason=message)


def after_task(run: Run, node: NodeDef, visit: int, *, to_node: str | None = None) -> None:
    """A task of ``node`` was acted on: decide the node and move on."""
    outcome = tasks.decide(run, node, visit)
    if outcome == "approved":
        run_actions(run, node.on_approve)
        enter(run, node.next, came_from=node.id)
    elif outcome == "rejected":
        run_actions(run, node.on_reject)
        if to_node is not None:
            tasks.close_all(run)
            history.write(run, "return", node=node.id, details={"to": to_node})
            enter(run, to_node, came_from=node.id)
        else:
            finish(run, "rejected")


def finish(run: Run, status: str, *, reason: str | None = None) -> None:
    """End the instance (approved, rejected, recalled): close its tasks, unlock the record,
    then run the flow's actions for that outcome."""
    if run.finished:
        return
    tasks.close_all(run)
    run.changes.update(status=status, finished_at=run.stamp, pending_key=None)
    run.save()  # the record is unlocked before the actions write to it
    history.write(run, status, details={"reason": reason} if reason else None)
    run_actions(run, getattr(run.flow, OUTCOME_ACTIONS[status]))


def run_actions(run: Run, actions: tuple[ActionDef, ...]) -> None:
    if not actions:
        return
    from trellis.flows.actions import run_actions as run_all

    run_all(run.flows, run.conn, run.trusted(), actions, run.object_name, run.record_id)
    run.record_changed()


def check_return(run: Run, node: NodeDef, to_node: str) -> None:
    """退回 goes to an approval node this instance already passed, outside parallel branches."""
    target = run.flow.nodes.get(to_node)
    passed = history.entered(run.conn, run.id)
    if target is None or target.type != "approval" or to_node == node.id or to_node not in passed:
        earlier = [
            n
            for n in dict.fromkeys(passed)
            if n != node.id and run.flow.nodes[n].type == "approval"
        ]
        raise Invalid(
            f"to_node {str(to_node)[:60]!r} is not an approval node this approval already "
            f"passed; send it back to one of: {', '.join(earlier) or '(none: reject instead)'}"
        )
    inside = parallel_of(run.flow, to_node)
    if inside is not None:
        raise Invalid(
            f"node {to_node!r} lies on a branch of parallel node {inside!r}; send it back to a "
            "node before the parallel node, or reject"
        )


def parallel_of(flow: FlowDef, node_id: str) -> str | None:
    """The parallel node whose branches contain ``node_id`` (None: not on a branch)."""
    graph = nx.DiGraph()
    for node in flow.nodes.values():
        for successor in _successors(node):
            graph.add_edge(node.id, successor)
    for node in flow.nodes.values():
        if node.type != "parallel":
            continue
        inner = graph.subgraph(n for n in graph if n != node.join)
        for branch in node.branches:
            if branch.next == node_id or node_id in nx.descendants(inner, branch.next):
                return node.id
    return None


def _successors(node: NodeDef) -> list[str]:
    found = [b.next for b in node.branches]
    if node.next:
        found.append(node.next)
    return found
