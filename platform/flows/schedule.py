"""Scheduled automations: a five-field cron in the trigger's time zone.

Each active schedule automation has one pending job, ``cron:<automation>:<fire
time>``, due at its next fire time. When it runs, the actions run for every
record of the object whose ``condition`` holds, once per automation, record
and fire time (a done-marker each). After downtime the job fires once, for the
latest fire time that has passed, not once per missed one: a daily alert does
not arrive three times after a weekend outage. Then the next job is scheduled.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter

from trellis.expressions import ExpressionError, to_sql
from trellis.flows import jobs
from trellis.flows.automation_runs import run_guarded
from trellis.flows.record_values import compiled_for, formula_env, holds
from trellis.flows.tables import job_table
from trellis.metadata.flow_definitions import AutomationDef

JOB_KIND = "automation_schedule"
#: Records read per query when a schedule fires.
CHUNK = 500


def _cron(automation: AutomationDef, start: dt.datetime) -> croniter:
    zone = ZoneInfo(automation.trigger.time_zone)
    return croniter(automation.trigger.cron, start.replace(tzinfo=dt.UTC).astimezone(zone))


def next_fire(automation: AutomationDef, after: dt.datetime) -> dt.datetime:
    """The first fire time strictly after ``after`` (both naive UTC)."""
    return jobs.utc_naive(_cron(automation, after).get_next(dt.datetime))


def latest_fire(automation: AutomationDef, now: dt.datetime) -> dt.datetime:
    """The last fire time at or before ``now`` (both naive UTC)."""
    # croniter's get_prev is strictly before its start; a fire time is a whole minute.
    start = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return jobs.utc_naive(_cron(automation, start).get_prev(dt.datetime))


def job_key(automation: AutomationDef, fire_at: dt.datetime) -> str:
    return f"cron:{automation.key}:{fire_at.isoformat()}"


def has_job(conn: sa.Connection, automation: AutomationDef) -> bool:
    t = job_table
    prefix = f"cron:{automation.key}:"
    query = sa.select(t.c.id).where(
        t.c.kind == JOB_KIND,
        t.c.status.in_(("pending", "running")),
        t.c.unique_key.startswith(prefix, autoescape=True),
    )
    return conn.execute(query.limit(1)).first() is not None


def schedule_next(conn: sa.Connection, automation: AutomationDef, now: dt.datetime) -> None:
    fire_at = next_fire(automation, now)
    payload = {"automation": automation.key, "fire_at": fire_at.isoformat()}
    jobs.schedule(
        conn, JOB_KIND, payload, fire_at, now=now, unique_key=job_key(automation, fire_at)
    )


def ensure_schedules(conn: sa.Connection, compiled, now: dt.datetime) -> int:
    """Give every active schedule automation its next job if it has none; returns how many."""
    added = 0
    for automation in compiled.definitions.automations.values():
        if automation.active and automation.trigger.type == "schedule":
            if not has_job(conn, automation):
                schedule_next(conn, automation, jobs.utc_naive(now))
                added += 1
    return added


def run_fire(flows, conn: sa.Connection, ctx, payload: dict) -> None:
    """The ``automation_schedule`` job: run for the latest fire time, then schedule the next."""
    compiled = compiled_for(flows, conn)
    automation = compiled.definitions.automations.get(payload["automation"])
    if automation is None or not automation.active or automation.trigger.type != "schedule":
        return  # deactivated or changed: the sweep gives a changed one its own job
    fire_at = latest_fire(automation, ctx.stamp)
    for record_id in matching_ids(flows, conn, compiled, ctx, automation):
        marker = f"{automation.key}:{record_id}:{fire_at.isoformat()}"
        run_guarded(flows, conn, ctx, automation, record_id, marker=marker)
    schedule_next(conn, automation, ctx.stamp)


def matching_ids(flows, conn, compiled, ctx, automation: AutomationDef):
    """Ids of the object's records whose condition holds, in id order, read in chunks.

    The condition becomes SQL when it can (fields of the record only); otherwise
    each record is read and the condition evaluated.
    """
    table = compiled.object(automation.object_name).table
    where = _sql_condition(automation, table, ctx)
    last_id = 0
    while True:
        query = sa.select(table).where(table.c.id > last_id).order_by(table.c.id).limit(CHUNK)
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query).mappings().all()
        if not rows:
            return
        for row in rows:
            if automation.condition is None or where is not None:
                yield row["id"]
            elif _holds(conn, compiled, ctx, automation, dict(row)):
                yield row["id"]
        last_id = rows[-1]["id"]


def _sql_condition(automation: AutomationDef, table: sa.Table, ctx):
    if automation.condition is None:
        return None
    try:
        return to_sql(automation.condition, dict(table.c.items()), now=ctx.local_now)
    except (ExpressionError, KeyError):
        return None


def _holds(conn, compiled, ctx, automation: AutomationDef, row: dict) -> bool:
    condition = automation.condition
    env = formula_env(conn, compiled, ctx, automation.object_name, row, [condition])
    return holds(condition, env, ctx, f"automation {automation.key} condition")
