"""Fault test: a lead's 3-day recycle timer falls due while its rep logs a follow-up.

The worker and the rep write the same lead at the same moment. Whichever commits first,
the result is one of two consistent outcomes, never a mix: either the lead went back to the
pool once and the rep's follow-up is refused (the lead is no longer theirs to see), or the
follow-up is logged, the lead stays with its rep and its timer moves to three days after
the follow-up. No job is left failed, nothing is recycled twice. 20 rounds on each
database, the follow-up starting a little later each round so that either side may win.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import sqlalchemy as sa

from trellis.flows.tables import automation_log_table, job_table, pool_entry_table
from trellis.flows.worker import Worker
from trellis.runtime.errors import Invalid

ROUNDS = 20
KEY = "lead.recycle_unfollowed"


def _race(crm, lead_id: int, due: dt.datetime, delay: float) -> dict:
    """Start the worker and, ``delay`` seconds later, the follow-up."""
    start = threading.Barrier(2)
    outcome: dict = {}
    rep = crm.ctx("rep_east", now=due)

    def drain():
        start.wait()
        outcome["jobs"] = Worker(crm.rt, name="race").run_once(as_of=due)

    def follow_up():
        start.wait()
        time.sleep(delay)
        try:
            outcome["follow_up"] = crm.follow_up(
                rep, follow_up_type="call", lead=lead_id, occurred_at=due.isoformat()
            )
        except Invalid as exc:
            outcome["refused"] = exc

    threads = [threading.Thread(target=drain), threading.Thread(target=follow_up)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcome


def _state(crm, lead_id: int) -> dict:
    with crm.rt.engine.connect() as conn:
        entries = conn.execute(
            sa.select(sa.func.count()).where(
                pool_entry_table.c.object == "lead", pool_entry_table.c.record_id == lead_id
            )
        ).scalar_one()
        recycles = conn.execute(
            sa.select(sa.func.count()).where(
                automation_log_table.c.automation == KEY,
                automation_log_table.c.record_id == lead_id,
                automation_log_table.c.outcome == "done",
            )
        ).scalar_one()
        job = conn.execute(
            sa.select(job_table).where(job_table.c.unique_key == f"time:{KEY}:{lead_id}")
        ).first()
        failed = conn.execute(
            sa.select(sa.func.count()).where(job_table.c.status == "dead")
        ).scalar_one()
    return {"entries": entries, "recycles": recycles, "job": job, "dead": failed}


@pytest.mark.slow
def test_recycle_racing_a_follow_up_ends_in_one_consistent_outcome(crm):
    outcomes = {"recycled": 0, "kept": 0}
    for round_ in range(ROUNDS):
        created = crm.ctx("rep_east").now
        lead = crm.lead(crm.ctx("rep_east", now=created), region="east")
        due = created + dt.timedelta(days=3, seconds=1)
        result = _race(crm, lead["id"], due, delay=0.004 * round_)
        assert "follow_up" in result or "refused" in result, result
        # A timer that lost the race was retried with backoff: run what is left.
        Worker(crm.rt, name="after").run_once(as_of=due + dt.timedelta(minutes=30))

        row = crm.raw("lead", lead["id"])
        state = _state(crm, lead["id"])
        assert state["dead"] == 0
        if row["owner"] is None:
            outcomes["recycled"] += 1
            assert state["entries"] == 1 and state["recycles"] == 1
            assert "refused" in result and row["latest_follow_up_at"] is None
            assert "cannot see" in str(result["refused"])
        else:
            assert "follow_up" in result and row["latest_follow_up_at"] is not None
            outcomes["kept"] += 1
            assert state["entries"] == 0 and state["recycles"] == 0
            # The timer now counts from the follow-up.
            assert state["job"].status == "pending"
            assert state["job"].due_at >= due.replace(tzinfo=None) + dt.timedelta(days=3)
    assert sum(outcomes.values()) == ROUNDS
