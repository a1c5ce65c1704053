"""SLA of approval nodes: remind (催办), escalate, auto-approve a task left pending.

Opening a task schedules one job per SLA step, keyed by the task
(``approval_remind:<task>``); acting on the task cancels them. A job that
finds its task no longer pending does nothing, so a job that slipped through
is harmless.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trellis.flows import jobs
from trellis.metadata.flow_definitions import NodeDef

REMIND, ESCALATE, AUTO_APPROVE = "approval_remind", "approval_escalate", "approval_auto_approve"
KINDS = (REMIND, ESCALATE, AUTO_APPROVE)


def steps(node: NodeDef) -> list[tuple[str, float]]:
    sla = node.sla
    if sla is None:
        return []
    found = [
        (REMIND, sla.remind_after_hours),
        (ESCALATE, sla.escalate_after_hours if sla.escalate_to else None),
        (AUTO_APPROVE, sla.auto_approve_after_hours),
    ]
    return [(kind, hours) for kind, hours in found if hours]


def keys(task_id: int) -> list[str]:
    return [f"{kind}:{task_id}" for kind in KINDS]


def schedule(run, node: NodeDef, task_id: int) -> None:
    for kind, hours in steps(node):
        jobs.schedule(
            run.conn,
            kind,
            {"task": task_id, "instance": run.id},
            run.ctx.now + dt.timedelta(hours=hours),
            now=run.ctx.now,
            unique_key=f"{kind}:{task_id}",
        )


def cancel(run, node_id: str, task_id: int) -> None:
    """Drop the task's SLA jobs (it was acted on, cancelled or handed on)."""
    if steps(run.flow.nodes[node_id]):
        for key in keys(task_id):
            jobs.cancel(run.conn, key)


def register(service) -> None:
    """Register the job handlers with the flow engine."""

    def handler(kind: str):
        def run_job(conn, ctx, payload: dict[str, Any]) -> None:
            service.sla_step(conn, ctx, kind, int(payload["task"]))

        return run_job

    for kind in KINDS:
        service.flows.register_job(kind, handler(kind))
