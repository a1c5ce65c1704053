"""Time- and schedule-triggered automations, run by the worker at chosen moments.

The automations here append a letter to the lead's ``requirement``, so how often one
ran is plain to see on the record.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from trellis.flows.tables import automation_log_table, job_table
from trellis.flows.worker import Worker

LABEL = {"zh-CN": "定时", "en": "Timed"}
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def without_pack_automations(runtime):
    """The pack's own automations switched off, so each test sees only its own."""
    with runtime.engine.connect() as conn:
        keys = list(runtime.cache.get(conn).definitions.automations)

    def edit(layers):
        for key in keys:
            layers = layers.with_patch(f"automation:{key}", "active", False)
        return layers

    runtime.metadata.change("admin", "switch off the pack's automations", edit)


def define(runtime, api_name: str, trigger: dict, letter: str, **extra) -> str:
    runtime.metadata.define(
        "admin",
        "automation",
        {
            "api_name": api_name,
            "object": "lead",
            "label": LABEL,
            "trigger": trigger,
            "actions": [
                {
                    "type": "update_fields",
                    "values": {"requirement": f"CONCAT(BLANKVALUE(requirement, ''), '{letter}')"},
                }
            ],
            **extra,
        },
    )
    return f"lead.{api_name}"


def stale_after_three_days(runtime) -> str:
    return define(
        runtime,
        "stale",
        {
            "type": "time",
            "after": "BLANKVALUE(last_followed_up_at, created_at)",
            "offset": {"days": 3},
        },
        "x",
        condition="status == 'new'",
    )


def run_worker(runtime, as_of: dt.datetime) -> int:
    return Worker(runtime, name="t").run_once(as_of=as_of)


def requirement(crm, lead) -> str | None:
    return crm.raw("lead", lead["id"])["requirement"]


def outcomes(runtime, record_id: int) -> list[str]:
    t = automation_log_table
    with runtime.engine.connect() as conn:
        query = sa.select(t.c.outcome).where(t.c.record_id == record_id).order_by(t.c.id)
        return list(conn.execute(query).scalars())


def time_jobs(runtime) -> list[dict]:
    with runtime.engine.connect() as conn:
        query = sa.select(job_table).where(job_table.c.kind == "automation_time")
        return [dict(r) for r in conn.execute(query.order_by(job_table.c.id)).mappings()]


def test_fires_once_three_days_after_the_last_follow_up(runtime, crm):
    stale_after_three_days(runtime)
    now = crm.NOW
    lead = crm.lead(crm.ctx("rep_east", now=now))
    run_worker(runtime, now + 2 * DAY)
    assert requirement(crm, lead) is None
    run_worker(runtime, now + 3 * DAY + MINUTE)
    assert requirement(crm, lead) == "x"
    run_worker(runtime, now + 3 * DAY + 2 * MINUTE)
    run_worker(runtime, now + 30 * DAY)
    assert requirement(crm, lead) == "x"
    assert outcomes(runtime, lead["id"]) == ["done"]


def test_a_follow_up_in_between_moves_the_due_time(runtime, crm):
    stale_after_three_days(runtime)
    now = crm.NOW
    lead = crm.lead(crm.ctx("rep_east", now=now))
    later = crm.ctx("rep_east", now=now + DAY)
    runtime.records.update(
        later, "lead", lead["id"], {"last_followed_up_at": (now + DAY).isoformat()}
    )
    [job] = time_jobs(runtime)
    assert job["due_at"] == (now + 4 * DAY).replace(tzinfo=None)
    run_worker(runtime, now + 3 * DAY + MINUTE)
    assert requirement(crm, lead) is None
    run_worker(runtime, now + 4 * DAY + MINUTE)
    assert requirement(crm, lead) == "x"


def test_a_due_time_moved_behind_the_jobs_back_is_rechecked_and_rescheduled(runtime, crm):
    stale_after_three_days(runtime)
    now = crm.NOW
    lead = crm.lead(crm.ctx("rep_east", now=now))
    # A change that reached the table without a record event (e.g. a bulk fix in SQL):
    # the job still says +3 days, the record says +5 days.
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE rec_lead SET last_followed_up_at = :at WHERE id = :id"),
            {"at": (now + 2 * DAY).replace(tzinfo=None), "id": lead["id"]},
        )
    run_worker(runtime, now + 3 * DAY + MINUTE)
    assert requirement(crm, lead) is None
    [job] = [j for j in time_jobs(runtime) if j["status"] == "pending"]
    assert job["due_at"] == (now + 5 * DAY).replace(tzinfo=None)
    assert job["unique_key"] == f"time:lead.stale:{lead['id']}"
    run_worker(runtime, now + 5 * DAY + MINUTE)
    assert requirement(crm, lead) == "x"
    assert outcomes(runtime, lead["id"]) == ["done"]


def test_a_condition_that_no_longer_holds_is_logged_skipped(runtime, crm):
    stale_after_three_days(runtime)
    now = crm.NOW
    lead = crm.lead(crm.ctx("rep_east", now=now))
    with runtime.engine.begin() as conn:  # no event: the job stays where it is
        conn.execute(
            sa.text("UPDATE rec_lead SET status = 'working' WHERE id = :id"), {"id": lead["id"]}
        )
    run_worker(runtime, now + 3 * DAY + MINUTE)
    assert requirement(crm, lead) is None
    assert outcomes(runtime, lead["id"]) == ["skipped"]


def test_catch_up_after_downtime_fires_each_due_record_once(runtime, crm):
    stale_after_three_days(runtime)
    now = crm.NOW
    leads = [crm.lead(crm.ctx("rep_east", now=now + i * DAY)) for i in range(3)]
    run_worker(runtime, now + 20 * DAY)
    run_worker(runtime, now + 21 * DAY)
    assert [requirement(crm, lead) for lead in leads] == ["x", "x", "x"]
    assert all(outcomes(runtime, lead["id"]) == ["done"] for lead in leads)


def test_deleting_the_record_cancels_its_job(runtime, crm):
    stale_after_three_days(runtime)
    lead = crm.lead(crm.ctx("rep_east", now=crm.NOW))
    assert len(time_jobs(runtime)) == 1
    runtime.records.delete(crm.ctx("admin"), "lead", lead["id"])
    assert time_jobs(runtime) == []


def test_records_older_than_the_automation_are_scheduled_by_the_sweep(runtime, crm):
    now = crm.NOW
    old = [crm.lead(crm.ctx("rep_east", now=now)) for _ in range(2)]
    key = stale_after_three_days(runtime)
    assert time_jobs(runtime) == []
    with runtime.engine.begin() as conn:
        runtime.flows.automations.enqueue_sweep(conn, key, now)
    run_worker(runtime, now)  # the sweep places one job per existing lead
    assert len(time_jobs(runtime)) == 2
    run_worker(runtime, now + 3 * DAY + MINUTE)
    assert [requirement(crm, lead) for lead in old] == ["x", "x"]


def test_schedule_existing_counts_the_jobs_it_placed(runtime, crm):
    now = crm.NOW
    for _ in range(3):
        crm.lead(crm.ctx("rep_east", now=now))
    key = stale_after_three_days(runtime)
    with runtime.engine.begin() as conn:
        compiled = runtime.cache.get(conn)
        assert runtime.flows.automations.schedule_existing(conn, compiled, key, now) == 3
        assert runtime.flows.automations.schedule_existing(conn, compiled, key, now) == 3
    assert len(time_jobs(runtime)) == 3  # one job per record, however often it is asked


def test_a_date_field_counts_from_midnight_in_shanghai(runtime, crm):
    runtime.metadata.define(
        "admin",
        "automation",
        {
            "api_name": "follow_up_due",
            "object": "follow_up",
            "label": LABEL,
            "trigger": {
                "type": "time",
                "after": "next_follow_up_date",
                "offset": {"hours": 9},
            },
            "actions": [{"type": "update_fields", "values": {"next_step": "'call now'"}}],
        },
    )
    lead = crm.lead()
    item = crm.follow_up(
        crm.ctx("rep_east", now=crm.NOW), lead=lead["id"], next_follow_up_date="2026-03-12"
    )
    [job] = time_jobs(runtime)
    # 2026-03-12 09:00 in Shanghai is 01:00 UTC
    assert job["due_at"] == dt.datetime(2026, 3, 12, 1, 0)
    runtime.records.update(
        crm.ctx("rep_east"), "follow_up", item["id"], {"next_follow_up_date": None}
    )
    assert time_jobs(runtime) == []  # a blank date: nothing is due


# -- schedule (cron) -----------------------------------------------------------------


def test_a_cron_schedule_runs_for_matching_records_and_catches_up_once(runtime, crm):
    key = define(
        runtime,
        "morning",
        {"type": "schedule", "cron": "0 9 * * *", "time_zone": "Asia/Shanghai"},
        "d",
        condition="status == 'new'",
    )
    now = crm.NOW  # 2026-03-10 10:30 in Shanghai
    fresh = [crm.lead(crm.ctx("rep_east", now=now)) for _ in range(2)]
    working = crm.lead(crm.ctx("rep_east", now=now), status="working")
    with runtime.engine.begin() as conn:
        assert runtime.flows.automations.ensure_schedules(conn, now) == 1
        assert runtime.flows.automations.ensure_schedules(conn, now) == 0
    first_fire = dt.datetime(2026, 3, 11, 1, 0, tzinfo=dt.UTC)  # 09:00 in Shanghai
    run_worker(runtime, first_fire - MINUTE)
    assert [requirement(crm, lead) for lead in fresh] == [None, None]
    run_worker(runtime, first_fire + MINUTE)
    assert [requirement(crm, lead) for lead in fresh] == ["d", "d"]
    assert requirement(crm, working) is None
    # The worker is down for three days: on its return the schedule fires once, not three times.
    run_worker(runtime, first_fire + 3 * DAY + MINUTE)
    run_worker(runtime, first_fire + 3 * DAY + 2 * MINUTE)
    assert [requirement(crm, lead) for lead in fresh] == ["dd", "dd"]
    with runtime.engine.connect() as conn:
        pending = (
            conn.execute(
                sa.select(job_table.c.due_at).where(
                    job_table.c.kind == "automation_schedule", job_table.c.status == "pending"
                )
            )
            .scalars()
            .all()
        )
    assert pending == [(first_fire + 4 * DAY).replace(tzinfo=None)]
    assert key == "lead.morning"
