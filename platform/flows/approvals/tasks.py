"""Approval tasks: who must act on a node, in which order, and when the node is decided.

A node's tasks are grouped by ``sequence``: a manager chain (逐级) gives one
sequence per level, and a later sequence waits until the earlier one is
approved. Each task of a sequence that the flow created is a *slot*; the
node's ``mode`` counts slots (any: the first decision decides; all: every
slot; ratio: ``ratio`` or ``min_approvals`` of them, rejected once that can
no longer be reached). 加签 hangs extra tasks on a slot (``added_for``): one
added *before* must approve before the slot's own task opens again, one
added *after* opens once the slot's task is approved; a slot is approved when
its task and every task hung on it are approved, and rejected when any of
them is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from trellis.flows import people
from trellis.flows.approvals import sla
from trellis.flows.approvals.run import ACTIVE, Run
from trellis.flows.tables import approval_task_table, delegation_table
from trellis.metadata.flow_definitions import NodeDef
from trellis.runtime.errors import Conflict

T = approval_task_table


def open_node(run: Run, node: NodeDef, visit: int) -> str:
    """Create the node's tasks: 'open', or 'skip' / 'reject' when nobody can approve."""
    levels = run.people_levels(node.approvers)
    if not levels and node.if_no_approver == "admin":
        admins = people.admins(run.conn, run.compiled)
        levels = [admins] if admins else []
    if not levels:
        return "skip" if node.if_no_approver == "skip" else "reject"
    for sequence, level in enumerate(levels, 1):
        for user in level:
            create(run, node, visit, user, sequence=sequence, opened=sequence == 1)
    return "open"


def next_visit(conn: sa.Connection, instance_id: int, node_id: str) -> int:
    query = sa.select(sa.func.max(T.c.visit)).where(
        T.c.instance_id == instance_id, T.c.node == node_id
    )
    return (conn.execute(query).scalar() or 0) + 1


def create(
    run: Run,
    node: NodeDef,
    visit: int,
    user: int,
    *,
    sequence: int,
    opened: bool,
    added_for: int | None = None,
    position: str | None = None,
    original: int | None = None,
) -> int:
    """One task for ``user`` (or the delegate in force today, keeping ``user`` as the original)."""
    assignee = user
    delegate = delegate_of(run.conn, user, run.ctx.local_now.date())
    if delegate is not None:
        assignee, original = delegate, original or user
    task_id = run.conn.execute(
        sa.insert(T).values(
            instance_id=run.id,
            node=node.id,
            visit=visit,
            sequence=sequence,
            assignee_id=assignee,
            original_assignee_id=original,
            status="pending" if opened else "waiting",
            added_by=run.actor_id if added_for is not None else None,
            added_for=added_for,
            position=position,
            created_at=run.stamp,
        )
    ).inserted_primary_key[0]
    if opened:
        sla.schedule(run, node, task_id)
    return task_id


def delegate_of(conn: sa.Connection, user_id: int, day: dt.date) -> int | None:
    """The delegate standing in for ``user_id`` on ``day`` (the newest delegation wins)."""
    d = delegation_table
    query = (
        sa.select(d.c.delegate_id)
        .where(
            d.c.user_id == user_id,
            d.c.starts_on <= day,
            d.c.ends_on >= day,
            d.c.revoked_at.is_(None),
        )
        .order_by(d.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


def delegators(conn: sa.Connection, user_id: int, day: dt.date) -> list[int]:
    """The users ``user_id`` stands in for on ``day``."""
    d = delegation_table
    query = sa.select(d.c.user_id).where(
        d.c.delegate_id == user_id,
        d.c.starts_on <= day,
        d.c.ends_on >= day,
        d.c.revoked_at.is_(None),
    )
    return list(conn.execute(query).scalars())


def of_node(conn: sa.Connection, instance_id: int, node_id: str, visit: int) -> list[dict]:
    query = (
        sa.select(T)
        .where(T.c.instance_id == instance_id, T.c.node == node_id, T.c.visit == visit)
        .order_by(T.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def act(run: Run, task: dict[str, Any], status: str, comment: str | None) -> None:
    """Mark a pending task approved or rejected; a task acts once (409 the second time)."""
    result = run.conn.execute(
        sa.update(T)
        .where(T.c.id == task["id"], T.c.status == "pending")
        .values(
            status=status,
            acted_at=run.stamp,
            comment=comment,
            version=T.c.version + 1,
        )
    )
    if result.rowcount != 1:
        raise Conflict(f"task {task['id']} was already acted on; a task acts once")
    sla.cancel(run, task["node"], task["id"])


def decide(run: Run, node: NodeDef, visit: int) -> str:
    """'approved', 'rejected' or 'pending' after a task of ``node`` changed.

    Tasks left open once a sequence is decided are cancelled; waiting tasks
    whose turn came are opened.
    """
    rows = of_node(run.conn, run.id, node.id, visit)
    outcome, current = node_outcome(rows, node)
    if outcome == "pending":
        close(run, [t for t in rows if t["sequence"] < current and t["status"] in ACTIVE])
        open_waiting(run, node, rows, current)
    else:
        close(run, [t for t in rows if t["status"] in ACTIVE])
    return outcome


def node_outcome(rows: list[dict], node: NodeDef) -> tuple[str, int | None]:
    """The node's outcome and, while pending, the sequence whose turn it is."""
    children: dict[int, list[dict]] = defaultdict(list)
    for t in rows:
        if t["added_for"] is not None and t["status"] != "transferred":
            children[t["added_for"]].append(t)

    def slot(task: dict) -> str:
        kids = [slot(k) for k in children[task["id"]]]
        if task["status"] == "rejected" or "rejected" in kids:
            return "rejected"
        if task["status"] == "cancelled":
            return "cancelled"
        if task["status"] == "approved" and all(k in ("approved", "cancelled") for k in kids):
            return "approved"
        return "pending"

    for sequence in sorted({t["sequence"] for t in rows}):
        slots = [
            slot(t)
            for t in rows
            if t["sequence"] == sequence and t["added_for"] is None and t["status"] != "transferred"
        ]
        outcome = mode_outcome(node, [s for s in slots if s != "cancelled"])
        if outcome != "approved":
            return outcome, sequence
    return "approved", None


def mode_outcome(node: NodeDef, slots: list[str]) -> str:
    approved, rejected, n = slots.count("approved"), slots.count("rejected"), len(slots)
    if n == 0:
        return "approved"
    if node.mode == "ratio":
        needed = node.min_approvals or math.ceil((node.ratio or 1) * n - 1e-9)
        needed = max(1, min(needed, n))
        if approved >= needed:
            return "approved"
        return "rejected" if n - rejected < needed else "pending"
    if rejected:  # any and all: one rejection rejects
        return "rejected"
    if node.mode == "any":
        return "approved" if approved else "pending"
    return "approved" if approved == n else "pending"


def open_waiting(run: Run, node: NodeDef, rows: list[dict], current: int) -> None:
    """Open the waiting tasks of sequence ``current`` whose turn came."""
    by_id = {t["id"]: t for t in rows}
    for t in rows:
        if t["status"] != "waiting" or t["sequence"] != current:
            continue
        if t["position"] == "after" and by_id[t["added_for"]]["status"] != "approved":
            continue
        if any(
            k["added_for"] == t["id"] and k["position"] == "before" and k["status"] != "approved"
            for k in rows
            if k["status"] not in ("transferred", "cancelled")
        ):
            continue
        run.conn.execute(
            sa.update(T).where(T.c.id == t["id"], T.c.status == "waiting").values(status="pending")
        )
        sla.schedule(run, node, t["id"])


def close(run: Run, rows: list[dict]) -> None:
    """Cancel tasks nobody needs to act on any more."""
    ids = [t["id"] for t in rows]
    if not ids:
        return
    run.conn.execute(
        sa.update(T).where(T.c.id.in_(ids), T.c.status.in_(ACTIVE)).values(status="cancelled")
    )
    for t in rows:
        sla.cancel(run, t["node"], t["id"])


def close_all(run: Run) -> None:
    """Cancel every open task of the instance (it finished, or went back to an earlier node)."""
    query = sa.select(T).where(T.c.instance_id == run.id, T.c.status.in_(ACTIVE))
    close(run, [dict(r) for r in run.conn.execute(query).mappings()])


def transfer(run: Run, node: NodeDef, task: dict[str, Any], to_user: int) -> int:
    """转交: the task goes to ``to_user``; what was added to it follows it."""
    result = run.conn.execute(
        sa.update(T)
        .where(T.c.id == task["id"], T.c.status == "pending")
        .values(status="transferred", acted_at=run.stamp, version=T.c.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"task {task['id']} was already acted on; a task acts once")
    sla.cancel(run, task["node"], task["id"])
    new_id = create(
        run,
        node,
        task["visit"],
        to_user,
        sequence=task["sequence"],
        opened=True,
        original=task["original_assignee_id"] or task["assignee_id"],
    )
    run.conn.execute(
        sa.update(T)
        .where(T.c.id == new_id)
        .values(added_for=task["added_for"], position=task["position"], added_by=task["added_by"])
    )
    run.conn.execute(sa.update(T).where(T.c.added_for == task["id"]).values(added_for=new_id))
    return new_id


def add(run: Run, node: NodeDef, task: dict[str, Any], user: int, position: str) -> int:
    """加签: ``user`` approves before the task's holder (who waits) or after them."""
    if position == "before":
        result = run.conn.execute(
            sa.update(T)
            .where(T.c.id == task["id"], T.c.status == "pending")
            .values(status="waiting")
        )
        if result.rowcount != 1:
            raise Conflict(f"task {task['id']} was already acted on; a task acts once")
        sla.cancel(run, task["node"], task["id"])
    return create(
        run,
        node,
        task["visit"],
        user,
        sequence=task["sequence"],
        opened=position == "before",
        added_for=task["id"],
        position=position,
    )


def active_holders(conn: sa.Connection, instance_id: int, node_id: str, visit: int) -> set[int]:
    query = sa.select(T.c.assignee_id).where(
        T.c.instance_id == instance_id,
        T.c.node == node_id,
        T.c.visit == visit,
        T.c.status.in_(ACTIVE),
    )
    return set(conn.execute(query).scalars())
