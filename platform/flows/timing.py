"""Time-triggered automations: "3 days after ``last_followed_up_at``".

Every write of a record schedules (or moves, or cancels) one job per time
automation and record, ``time:<automation>:<record id>``, due at ``after`` +
``offset``. ``after`` is a date (midnight in the trigger's time zone) or a
datetime formula; without it the due time counts from the record's last
write (``updated_at``). When the job is due, the record is locked and read
again: if the due time moved later the job is moved; if the condition no
longer holds the run is logged ``skipped``; else the actions run once per
record and due time (a done-marker guards against a second worker or a
retried job).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from trellis.flows import jobs
from trellis.flows.automation_runs import log, run_guarded
from trellis.flows.record_values import compiled_for, evaluate, formula_env, holds, load_row
from trellis.flows.tables import job_table
from trellis.metadata.flow_definitions import AutomationDef
from trellis.runtime.events import RecordEvent

JOB_KIND = "automation_time"
#: Records read per query when scheduling the records an automation found on activation.
CHUNK = 500


def job_key(automation: AutomationDef, record_id: int) -> str:
    return f"time:{automation.key}:{record_id}"


def due_at(
    conn: sa.Connection, compiled, ctx, automation: AutomationDef, row: dict
) -> dt.datetime | None:
    """When the automation is due for this record (naive UTC); None when ``after`` is blank."""
    trigger = automation.trigger
    if trigger.after is None:
        base = row["updated_at"]
    else:
        env = formula_env(conn, compiled, ctx, automation.object_name, row, [trigger.after])
        value = evaluate(trigger.after, env, ctx, f"automation {automation.key} trigger.after")
        base = _moment(value, trigger.time_zone)
    if base is None:
        return None
    return base + dt.timedelta(minutes=trigger.offset_minutes)


def _moment(value, time_zone: str) -> dt.datetime | None:
    """A formula's date or datetime as naive UTC; a date means its midnight in ``time_zone``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return jobs.utc_naive(value)
    if isinstance(value, dt.date):
        midnight = dt.datetime.combine(value, dt.time(), tzinfo=ZoneInfo(time_zone))
        return jobs.utc_naive(midnight)
    raise ValueError(f"trigger.after gave {value!r}; it must be a date or a datetime")


def place(
    conn: sa.Connection, automation: AutomationDef, record_id: int, due: dt.datetime | None, now
) -> None:
    """Make the record's job due at ``due`` (None: no job). A job already at ``due``
    is left alone, even a finished one: that due time has had its run."""
    key = job_key(automation, record_id)
    if due is None:
        jobs.cancel(conn, key)
        return
    current = conn.execute(
        sa.select(job_table.c.due_at, job_table.c.status).where(job_table.c.unique_key == key)
    ).first()
    if current is not None and current.due_at == due:
        return
    if current is not None and current.status == "running":
        # The job running now (its own run moved the due time) hands its key to the new
        # job; the worker still ends the running one as done.
        conn.execute(
            sa.update(job_table)
            .where(job_table.c.unique_key == key, job_table.c.status == "running")
            .values(unique_key=None)
        )
    _schedule(conn, automation, record_id, due, now)


def _schedule(conn, automation: AutomationDef, record_id: int, due: dt.datetime, now) -> None:
    payload = {
        "automation": automation.key,
        "object": automation.object_name,
        "record_id": record_id,
    }
    jobs.schedule(conn, JOB_KIND, payload, due, now=now, unique_key=job_key(automation, record_id))


def needs_new_due(compiled, automation: AutomationDef, event: RecordEvent) -> bool:
    """Whether this write may have moved the due time (cheap check before computing it)."""
    if event.kind != "updated" or automation.trigger.after is None:
        return True
    table = compiled.object(automation.object_name).table
    names = automation.trigger.after.dependencies
    if not all(name in table.c for name in names):
        return True  # looked-up or computed-on-read values: no way to tell cheaply
    return bool(set(names) & event.changed)


def on_write(flows, conn, ctx, automation: AutomationDef, event: RecordEvent) -> None:
    """Schedule, move or cancel the record's job after a write (or a delete)."""
    if event.kind == "deleted":
        jobs.cancel(conn, job_key(automation, event.record_id))
        return
    compiled = compiled_for(flows, conn)
    if not needs_new_due(compiled, automation, event):
        return
    due = due_at(conn, compiled, ctx, automation, event.new)
    if event.kind == "created":  # a new record has no job yet: nothing to look up or move
        if due is not None:
            _schedule(conn, automation, event.record_id, due, ctx.stamp)
        return
    place(conn, automation, event.record_id, due, ctx.stamp)


def run_due(flows, conn: sa.Connection, ctx, payload: dict) -> None:
    """The ``automation_time`` job: re-check the record, then run the actions once."""
    compiled = compiled_for(flows, conn)
    automation = compiled.definitions.automations.get(payload["automation"])
    if automation is None or not automation.active or automation.trigger.type != "time":
        return  # deactivated or changed since: nothing is due any more
    record_id = int(payload["record_id"])
    row = load_row(conn, compiled, automation.object_name, record_id, lock=True)
    if row is None:
        return
    due = due_at(conn, compiled, ctx, automation, row)
    if due is None:
        log(conn, ctx, automation, record_id, "skipped", "trigger.after is blank now")
        return
    if due > ctx.stamp:
        place(conn, automation, record_id, due, ctx.stamp)
        return
    env = formula_env(conn, compiled, ctx, automation.object_name, row, [automation.condition])
    if not holds(automation.condition, env, ctx, f"automation {automation.key} condition"):
        log(conn, ctx, automation, record_id, "skipped", "the condition no longer holds")
        return
    run_guarded(flows, conn, ctx, automation, record_id, marker=_marker(automation, row, due))


def _marker(automation: AutomationDef, row: dict, due: dt.datetime) -> str:
    return f"{automation.key}:{row['id']}:{due.isoformat()}"


def schedule_existing(flows, conn: sa.Connection, compiled, ctx, automation: AutomationDef) -> int:
    """Schedule the jobs of every record that existed before the automation was active.

    Reads the object's records in chunks of ``CHUNK``; returns how many jobs were placed.
    """
    table = compiled.object(automation.object_name).table
    placed, last_id = 0, 0
    while True:
        rows = (
            conn.execute(
                sa.select(table).where(table.c.id > last_id).order_by(table.c.id).limit(CHUNK)
            )
            .mappings()
            .all()
        )
        if not rows:
            return placed
        for row in rows:
            due = due_at(conn, compiled, ctx, automation, dict(row))
            place(conn, automation, row["id"], due, ctx.stamp)
            placed += due is not None
        last_id = rows[-1]["id"]
