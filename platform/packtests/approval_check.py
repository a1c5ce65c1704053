"""``approval`` cases: a submitted record reaches these approvers, node by node.

Each step looks at the pending tasks (their node, their people and those
people's roles), then the step's action: ``approve`` has every pending approver
of the step's node approve in turn until the node is decided (one is enough for
或签, all for 会签), ``reject`` has the first one (or the step's ``as``) reject.
All through ``ApprovalService``, as each approver.
"""

from __future__ import annotations

from typing import Any

from trellis.packtests.case_run import CaseRun, describe
from trellis.packtests.cases import ApprovalCheck, ApprovalStep
from trellis.packtests.expectations import compare_state
from trellis.runtime.errors import TrellisError

#: Approvals one step may make before giving up (a node with a runaway 加签 chain).
MAX_ACTIONS = 50


def run(case: CaseRun, check: ApprovalCheck) -> list[str]:
    object_name, record_id = case.record(check.record)
    service = case.runtime.flows.approvals
    try:
        submitted = service.submit(
            case.context(check.as_user),
            object_name,
            record_id,
            flow=check.flow,
            comment=check.comment,
        )
    except TrellisError as exc:
        return [f"submitting the {object_name} was refused: {describe(exc)}"]
    for number, step in enumerate(check.steps, 1):
        failures = _step(case, submitted["id"], number, step)
        if failures:
            return failures
    return _outcome(case, check, submitted["id"], object_name, record_id)


def _view(case: CaseRun, instance_id: int) -> dict[str, Any]:
    return case.runtime.flows.approvals.instance(case.reader, instance_id)


def _pending(view: dict[str, Any], node: str | None = None) -> list[dict[str, Any]]:
    return [
        t for t in view["tasks"] if t["status"] == "pending" and (node is None or t["node"] == node)
    ]


def _step(case: CaseRun, instance_id: int, number: int, step: ApprovalStep) -> list[str]:
    view = _view(case, instance_id)
    pending = _pending(view)
    if not pending:
        return [
            f"step {number}: expected {_expected(step)}, but the approval is "
            f"{view['status']} with no pending task (path {' → '.join(view['path'])})"
        ]
    nodes = sorted({t["node"] for t in pending})
    if step.node is not None and step.node not in nodes:
        return [f"step {number}: the approval waits at node {_list(nodes)}, expected {step.node!r}"]
    tasks = _pending(view, step.node)
    failures = _people(case, number, step, tasks)
    if failures or step.action is None:
        return failures
    return _act(case, instance_id, number, step, {t["node"] for t in tasks})


def _people(case: CaseRun, number: int, step: ApprovalStep, tasks: list[dict]) -> list[str]:
    users = {t["assignee"]["username"]: t["assignee"]["id"] for t in tasks}
    failures = []
    if step.users is not None and set(step.users) != set(users):
        failures.append(
            f"step {number}: the approvers are {_list(users)}, expected {_list(step.users)}"
        )
    if step.roles is not None:
        held = {name: case.roles_of(uid) for name, uid in users.items()}
        wanted = set(step.roles)
        outsiders = [n for n, roles in held.items() if not roles & wanted]
        unserved = wanted - set().union(*held.values())
        if outsiders or unserved:
            who = ", ".join(f"{n} ({'/'.join(sorted(r)) or 'no role'})" for n, r in held.items())
            failures.append(
                f"step {number}: the approvers are {who}, expected people with the role(s) "
                f"{_list(step.roles)}"
            )
    return failures


def _act(case: CaseRun, instance_id: int, number: int, step: ApprovalStep, nodes: set[str]):
    service = case.runtime.flows.approvals
    for _ in range(MAX_ACTIONS):
        tasks = [t for t in _pending(_view(case, instance_id)) if t["node"] in nodes]
        if step.as_user is not None:
            tasks = [t for t in tasks if t["assignee"]["username"] == step.as_user]
        if not tasks:
            return []
        task = tasks[0]
        ctx = case.context_of(task["assignee"]["id"])
        act = service.approve if step.action == "approve" else service.reject
        try:
            act(ctx, task["id"], comment=step.comment)
        except TrellisError as exc:
            who = task["assignee"]["username"]
            return [f"step {number}: {who} could not {step.action}: {describe(exc)}"]
        if step.action == "reject" or step.as_user is not None:
            return []
    return [f"step {number}: still pending after {MAX_ACTIONS} approvals at {_list(nodes)}"]


def _outcome(case: CaseRun, check: ApprovalCheck, instance_id, object_name, record_id):
    view = _view(case, instance_id)
    failures = []
    if check.status is not None and view["status"] != check.status:
        failures.append(f"the approval ended {view['status']}, expected {check.status}")
    if check.path is not None and tuple(view["path"]) != check.path:
        failures.append(
            f"the approval went {' → '.join(view['path'])}, expected {' → '.join(check.path)}"
        )
    source = f"approval:{instance_id}"
    return failures + compare_state(case, object_name, record_id, check.then, source)


def _expected(step: ApprovalStep) -> str:
    parts = [f"node {step.node!r}"] if step.node else []
    parts += [f"approvers {_list(step.users)}"] if step.users else []
    parts += [f"roles {_list(step.roles)}"] if step.roles else []
    return ", ".join(parts) or "a pending task"


def _list(names) -> str:
    return "[" + ", ".join(sorted(names)) + "]"
