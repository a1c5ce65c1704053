"""The history of an instance: one ``trellis_approval_event`` row per thing that happened.

Actions: submit, enter (the flow reached a node), approve, reject, return
(退回), recall, transfer, add_approver, skip, notify, remind, escalate,
auto_approve, and the outcomes approved, rejected, recalled.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trellis.flows.tables import approval_event_table


def write(
    run,
    action: str,
    *,
    node: str | None = None,
    task_id: int | None = None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
    actor_id: int | None = -1,
) -> None:
    """Record one event; ``actor_id`` defaults to whoever acts in ``run``."""
    run.conn.execute(
        sa.insert(approval_event_table).values(
            instance_id=run.id,
            task_id=task_id,
            node=node,
            actor_id=run.actor_id if actor_id == -1 else actor_id,
            action=action,
            comment=comment,
            details=details,
            at=run.stamp,
        )
    )


def events(conn: sa.Connection, instance_id: int) -> list[dict[str, Any]]:
    t = approval_event_table
    query = sa.select(t).where(t.c.instance_id == instance_id).order_by(t.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def last_entry(conn: sa.Connection, instance_id: int, node: str) -> int:
    """The id of the latest 'enter' event of ``node`` (0: never entered)."""
    t = approval_event_table
    query = sa.select(sa.func.max(t.c.id)).where(
        t.c.instance_id == instance_id, t.c.node == node, t.c.action == "enter"
    )
    return conn.execute(query).scalar() or 0


def entries_since(conn: sa.Connection, instance_id: int, node: str, after: int) -> int:
    """How often ``node`` was entered after event ``after`` (arrivals at a join)."""
    t = approval_event_table
    query = sa.select(sa.func.count()).where(
        t.c.instance_id == instance_id, t.c.node == node, t.c.action == "enter", t.c.id > after
    )
    return conn.execute(query).scalar_one()


def entered(conn: sa.Connection, instance_id: int) -> list[str]:
    """The nodes the instance passed, in order (its path)."""
    t = approval_event_table
    query = (
        sa.select(t.c.node)
        .where(t.c.instance_id == instance_id, t.c.action == "enter")
        .order_by(t.c.id)
    )
    return list(conn.execute(query).scalars())
