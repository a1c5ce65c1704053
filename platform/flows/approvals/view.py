"""Instances and tasks as the API shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from trellis.flows import people
from trellis.flows.approvals import history
from trellis.flows.approvals.run import ACTIVE
from trellis.flows.tables import approval_task_table
from trellis.metadata.flow_definitions import FlowDef


def instance(
    conn: sa.Connection,
    ctx,
    row: dict[str, Any],
    flow: FlowDef,
    *,
    visible_fields: set[str] | None = None,
) -> dict[str, Any]:
    """The instance with its path, current nodes, tasks, history and snapshot.

    ``visible_fields``: the snapshot fields the reader may see (None: all).
    """
    t = approval_task_table
    task_rows = [
        dict(r)
        for r in conn.execute(
            sa.select(t).where(t.c.instance_id == row["id"]).order_by(t.c.id)
        ).mappings()
    ]
    events = history.events(conn, row["id"])
    users = people.usernames(
        conn,
        [row["submitted_by"]]
        + [u for r in task_rows for u in (r["assignee_id"], r["original_assignee_id"])]
        + [e["actor_id"] for e in events],
    )
    current = list(dict.fromkeys(r["node"] for r in task_rows if r["status"] in ACTIVE))
    snapshot = dict(row["snapshot"] or {})
    if visible_fields is not None:
        snapshot = {k: v for k, v in snapshot.items() if k in visible_fields}
    return {
        "id": row["id"],
        "flow": row["flow"],
        "flow_label": flow.label.as_json(),
        "object": row["object"],
        "record_id": row["record_id"],
        "status": row["status"],
        "metadata_version": row["metadata_version"],
        "submitted_by": users.get(row["submitted_by"]),
        "submitted_at": moment(row["submitted_at"], ctx),
        "finished_at": moment(row["finished_at"], ctx),
        "comment": row["comment"],
        "version": row["version"],
        "current_nodes": [_node(flow, n) for n in current],
        "path": [e["node"] for e in events if e["action"] == "enter"],
        "tasks": [task(r, users, ctx) for r in task_rows],
        "history": [_event(e, users, ctx) for e in events if e["action"] != "enter"],
        "snapshot": snapshot,
    }


def task(row: dict[str, Any], users: dict[int, dict], ctx) -> dict[str, Any]:
    return {
        "id": row["id"],
        "instance_id": row["instance_id"],
        "node": row["node"],
        "visit": row["visit"],
        "sequence": row["sequence"],
        "status": row["status"],
        "assignee": users.get(row["assignee_id"]),
        "original_assignee": users.get(row["original_assignee_id"]),
        "added_by": users.get(row["added_by"]),
        "added_for": row["added_for"],
        "position": row["position"],
        "created_at": moment(row["created_at"], ctx),
        "acted_at": moment(row["acted_at"], ctx),
        "comment": row["comment"],
    }


def _node(flow: FlowDef, node_id: str) -> dict[str, Any]:
    node = flow.nodes.get(node_id)
    label = node.label.as_json() if node is not None and node.label is not None else None
    return {"id": node_id, "label": label}


def _event(e: dict[str, Any], users: dict[int, dict], ctx) -> dict[str, Any]:
    return {
        "action": e["action"],
        "node": e["node"],
        "task_id": e["task_id"],
        "actor": users.get(e["actor_id"]),
        "comment": e["comment"],
        "details": e["details"],
        "at": moment(e["at"], ctx),
    }


def moment(value: dt.datetime | None, ctx) -> str | None:
    """A stored naive-UTC moment in the reader's time zone, ISO 8601."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(ctx.zone).isoformat()
