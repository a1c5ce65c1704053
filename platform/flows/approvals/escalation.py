"""The SLA steps a job runs on a task still pending: remind (催办), escalate, auto-approve."""

from __future__ import annotations

import sqlalchemy as sa

from trellis.flows.approvals import history, routing, sla, tasks
from trellis.flows.approvals.run import Run, lock_instance
from trellis.flows.tables import approval_task_table as T

REMINDER = {"zh-CN": "催办：", "en": "Reminder: "}
ESCALATED = {"zh-CN": "审批超时转交：", "en": "Escalated approval: "}


def run_step(service, conn: sa.Connection, ctx, kind: str, task_id: int) -> None:
    instance_id = conn.execute(sa.select(T.c.instance_id).where(T.c.id == task_id)).scalar()
    if instance_id is None:
        return  # the instance was deleted with its record
    instance = lock_instance(conn, instance_id)
    task = dict(conn.execute(sa.select(T).where(T.c.id == task_id)).mappings().one())
    if instance["status"] != "pending" or task["status"] != "pending":
        return  # acted on in the meantime
    compiled = service.flows.cache.get(conn)
    flow = service.pins.flow(compiled, instance)
    run = Run(service.flows, conn, compiled, ctx.on(conn), instance, flow)
    STEPS[kind](run, flow.nodes[task["node"]], task)
    run.save()


def _remind(run: Run, node, task) -> None:
    routing.send(run, node, [task["assignee_id"]], prefix=REMINDER)
    history.write(run, "remind", node=node.id, task_id=task["id"], actor_id=None)


def _escalate(run: Run, node, task) -> None:
    holders = tasks.active_holders(run.conn, run.id, node.id, task["visit"])
    targets = [u for u in run.people(node.sla.escalate_to) if u not in holders]
    if not targets:
        return
    new_id = tasks.transfer(run, node, task, targets[0])
    routing.send(run, node, targets, prefix=ESCALATED)
    history.write(
        run,
        "escalate",
        node=node.id,
        task_id=task["id"],
        actor_id=None,
        details={"from": task["assignee_id"], "to": targets[0], "task": new_id},
    )


def _auto_approve(run: Run, node, task) -> None:
    tasks.act(run, task, "approved", None)
    history.write(
        run,
        "auto_approve",
        node=node.id,
        task_id=task["id"],
        actor_id=None,
        details={"after_hours": node.sla.auto_approve_after_hours},
    )
    routing.after_task(run, node, task["visit"])


STEPS = {sla.REMIND: _remind, sla.ESCALATE: _escalate, sla.AUTO_APPROVE: _auto_approve}
