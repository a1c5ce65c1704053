"""The record lock: while an approval is pending its record stays as it was submitted.

Subscribed to the records service's ``updating`` and ``deleting`` events, so
it holds on every write path (API, pages, imports, automations). It lets
through the approval's own actions (a context whose cause names this
instance), administrators, and the current approvers when every field they
change is editable at their node. Other automations, pools and assignment
rules are trusted for permissions but not past the lock.
"""

from __future__ import annotations

from functools import partial

import sqlalchemy as sa

from trellis.flows import people
from trellis.flows.approvals.tasks import delegators
from trellis.flows.tables import approval_task_table as T
from trellis.runtime.errors import Conflict
from trellis.runtime.events import RecordEvent
from trellis.runtime.permissions import is_admin

#: Field types whose values the platform computes: they change with what they read.
COMPUTED = ("formula", "rollup", "auto_number")


class RecordLocked(Conflict):
    code = "record_locked"


def install(service) -> None:
    for kind in ("updating", "deleting"):
        service.flows.events.subscribe(kind, partial(check, service))
    service.flows.events.subscribe("deleted", partial(_deleted, service))


def _deleted(service, conn: sa.Connection, ctx, event: RecordEvent) -> None:
    """An administrator deleted a record under approval: the approval ends with it."""
    instance = service.pending_for(conn, event.object_name, event.record_id)
    if instance is not None:
        service.end_with_record(conn, ctx, instance)


def check(service, conn: sa.Connection, ctx, event: RecordEvent) -> None:
    """Refuse the write unless this actor may change the locked record."""
    instance = service.pending_for(conn, event.object_name, event.record_id)
    if instance is None:
        return
    if ctx.trusted and f"approval:{instance['id']}" in ctx.cause:
        return
    compiled = service.flows.cache.get(conn)
    if is_admin(compiled.definitions, ctx.principal):
        return
    flow = service.pins.flow(compiled, instance)
    pending = _pending_tasks(conn, instance["id"])
    acting_for = {ctx.user_id, *delegators(conn, ctx.user_id, ctx.local_now.date())}
    mine = [t for t in pending if t.assignee_id in acting_for]
    if event.kind == "updating" and mine:
        editable = {f for t in mine for f in flow.nodes[t.node].editable_fields}
        definition = compiled.object(event.object_name).definition
        changed = {
            f
            for f in event.changed
            if f not in definition.by_name or definition.by_name[f].type not in COMPUTED
        }
        if changed <= editable:
            return
        allowed = ", ".join(sorted(editable)) or "no fields"
        raise RecordLocked(
            f"this {event.object_name} is locked while approval {instance['id']} is pending; "
            f"as its approver you may change only {allowed}, not "
            f"{', '.join(sorted(changed - editable))}",
            approval=instance["id"],
        )
    names = people.usernames(conn, [t.assignee_id for t in pending])
    waiting = ", ".join(
        f"{names[u]['display_name']} ({names[u]['username']})"
        for u in dict.fromkeys(t.assignee_id for t in pending)
        if u in names
    )
    nodes = ", ".join(dict.fromkeys(_label(flow.nodes[t.node], ctx.locale) for t in pending))
    verb = "deleted" if event.kind == "deleting" else "changed"
    raise RecordLocked(
        f"this {event.object_name} is waiting for approval {instance['id']} "
        f"({flow.label.get(ctx.locale)}) by {waiting or 'nobody yet'}"
        + (f" at {nodes}" if nodes else "")
        + f"; it cannot be {verb} until the approval ends (administrators excepted)",
        approval=instance["id"],
    )


def _pending_tasks(conn: sa.Connection, instance_id: int):
    query = (
        sa.select(T.c.assignee_id, T.c.node)
        .where(T.c.instance_id == instance_id, T.c.status == "pending")
        .order_by(T.c.id)
    )
    return conn.execute(query).all()


def _label(node, locale: str) -> str:
    return node.label.get(locale) if node.label is not None else node.id
