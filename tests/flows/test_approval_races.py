"""Approve/approve and approve/reject races on one node: exactly one outcome, every time.

Real threads, each action on its own connection, released together by a barrier; 100
races of each kind on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from trellis.flows.tables import approval_event_table, approval_task_table
from trellis.runtime.errors import Conflict

RACES = 100

EITHER_MANAGER = {
    "api_name": "either_manager",
    "object": "quote",
    "label": {"zh-CN": "任一经理", "en": "Either manager"},
    "active": True,
    "priority": 500,
    "start": "managers",
    "nodes": [
        {
            "id": "managers",
            "type": "approval",
            "approvers": [{"type": "role", "role": "sales_manager"}],
            "mode": "any",
            "next": "end",
        },
        {"id": "end", "type": "end"},
    ],
    "on_approved": [{"type": "update_fields", "values": {"approval_status": "'approved'"}}],
    "on_rejected": [{"type": "update_fields", "values": {"approval_status": "'rejected'"}}],
}


def _submitted(crm, count):
    """``count`` quotes submitted to the either-manager flow: (instance, {username: task})."""
    crm.rt.metadata.define("admin", "approval_flow", EITHER_MANAGER)
    rep = crm.ctx("rep_east")
    out = []
    for i in range(count):
        quote = crm.records.create(
            rep, "quote", {"quote_name": f"竞态{i}", "list_amount": 100, "quoted_amount": 90}
        ).record
        instance = crm.rt.flows.approvals.submit(rep, "quote", quote["id"], flow="either_manager")
        tasks = {t["assignee"]["username"]: t["id"] for t in instance["tasks"]}
        out.append((quote, instance, tasks))
    return out


def _race(pool, first, second):
    """Run both at the same moment; each result is 'ok' or the Conflict raised."""
    barrier = threading.Barrier(2)

    def go(action):
        barrier.wait()
        try:
            action()
            return "ok"
        except Conflict as exc:
            return exc

    futures = [pool.submit(go, first), pool.submit(go, second)]
    return [f.result(timeout=60) for f in futures]


def _rows(crm, table, instance_id):
    with crm.rt.engine.connect() as conn:
        return conn.execute(sa.select(table).where(table.c.instance_id == instance_id)).all()


@pytest.mark.slow
def test_approve_approve_races_approve_once(crm):
    service = crm.rt.flows.approvals
    manager = crm.ctx("manager")
    with ThreadPoolExecutor(max_workers=2) as pool:
        for quote, instance, tasks in _submitted(crm, RACES):
            task = tasks["manager"]
            results = _race(
                pool,
                lambda t=task: service.approve(manager, t),
                lambda t=task: service.approve(manager, t),
            )
            assert results.count("ok") == 1, results
            (lost,) = [r for r in results if r != "ok"]
            assert "already" in str(lost)
            approvals = [
                e for e in _rows(crm, approval_event_table, instance["id"]) if e.action == "approve"
            ]
            assert len(approvals) == 1
            assert crm.raw("quote", quote["id"])["approval_status"] == "approved"


@pytest.mark.slow
def test_approve_reject_races_end_in_one_outcome(crm):
    service = crm.rt.flows.approvals
    manager, north = crm.ctx("manager"), crm.ctx("manager_north")
    outcomes = {"approved": 0, "rejected": 0}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for quote, instance, tasks in _submitted(crm, RACES):
            results = _race(
                pool,
                lambda t=tasks["manager"]: service.approve(manager, t),
                lambda t=tasks["manager_north"]: service.reject(north, t),
            )
            assert results.count("ok") == 1, results
            final = service.instance(crm.ctx("admin"), instance["id"])
            winner = "approved" if results[0] == "ok" else "rejected"
            assert final["status"] == winner
            statuses = sorted(t.status for t in _rows(crm, approval_task_table, instance["id"]))
            assert statuses == sorted([winner, "cancelled"])
            assert crm.raw("quote", quote["id"])["approval_status"] == winner
            outcomes[winner] += 1
    assert sum(outcomes.values()) == RACES
