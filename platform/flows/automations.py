"""The automations service: runs automations when records are written, when they
are due, on a schedule, and by hand (docs/flows.md, "Automations").

Record-triggered automations (created, updated, created_or_updated, deleted)
run inside the transaction of the write that triggered them, in ``(order,
api_name)`` order; an action that fails fails the write, with an error naming
the automation, so nothing is half-written. A write caused by an automation
carries the chain of causes; at ``MAX_DEPTH`` the next automation is not run
and the log says which chain looped (the write itself still succeeds).

Time triggers live in ``trellis.flows.timing``, schedule triggers in
``trellis.flows.schedule``; both run as jobs of the worker. The log
(``trellis_automation_log``) is written by ``trellis.flows.automation_runs``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import Any

import sqlalchemy as sa

from trellis.flows import automation_explain, jobs, schedule, timing
from trellis.flows.actions import run_actions
from trellis.flows.automation_runs import (
    cause,
    chain_message,
    failure,
    log,
    read_log,
    run_guarded,
    too_deep,
)
from trellis.flows.record_values import compiled_for, formula_env, holds, load_row, with_old
from trellis.metadata.flow_definitions import AutomationDef
from trellis.runtime.database import begin_write
from trellis.runtime.errors import BadRequest, Forbidden, Invalid, NotFound, TrellisError
from trellis.runtime.events import RecordEvent
from trellis.runtime.permissions import is_admin

#: The job that catches up an automation just defined or changed: time jobs for the
#: records that already exist, the first job of a schedule.
SWEEP_KIND = "automation_sweep"
#: Records one manual run may name.
MAX_MANUAL = 500

#: Which record event fires which trigger type.
_FIRES = {
    "created": ("created", "created_or_updated"),
    "updated": ("updated", "created_or_updated"),
    "deleted": ("deleted",),
}


class AutomationService:
    def __init__(self, flows):
        self.flows = flows
        self._index: tuple[int, dict[str, tuple[AutomationDef, ...]]] | None = None
        for kind in _FIRES:
            flows.events.subscribe(kind, self._on_event)
        flows.register_job(timing.JOB_KIND, partial(timing.run_due, flows))
        flows.register_job(schedule.JOB_KIND, partial(schedule.run_fire, flows))
        flows.register_job(SWEEP_KIND, self._sweep)
        flows.runtime.metadata.after_change.append(self._definitions_changed)

    def _definitions_changed(self, conn: sa.Connection, changed: set[str], defs) -> None:
        """A new, changed or re-activated timed or scheduled automation catches up: the
        worker gives existing records their timers and a schedule its next run."""
        now = dt.datetime.now(dt.UTC)
        for key in sorted(k.split(":", 1)[1] for k in changed if k.startswith("automation:")):
            automation = defs.automations.get(key)
            if automation is not None and automation.active:
                if automation.trigger.type in ("time", "schedule"):
                    self.enqueue_sweep(conn, key, now)

    # -- definitions ------------------------------------------------------------

    def of_object(self, compiled, object_name: str) -> tuple[AutomationDef, ...]:
        """The object's active automations in the order they run: ``(order, api_name)``."""
        index = self._index
        if index is None or index[0] != compiled.version:
            by_object: dict[str, list[AutomationDef]] = {}
            for automation in compiled.definitions.automations.values():
                if automation.active:
                    by_object.setdefault(automation.object_name, []).append(automation)
            index = (
                compiled.version,
                {
                    name: tuple(sorted(found, key=lambda a: (a.order, a.api_name)))
                    for name, found in by_object.items()
                },
            )
            self._index = index
        return index[1].get(object_name, ())

    def get(self, compiled, key: str) -> AutomationDef:
        automation = compiled.definitions.automations.get(key)
        if automation is None:
            raise NotFound(
                f"there is no automation {key[:120]!r}; name it as object.api_name, "
                "e.g. lead.recycle_stale_leads"
            )
        return automation

    # -- record events ----------------------------------------------------------

    def _on_event(self, conn: sa.Connection, ctx, event: RecordEvent) -> None:
        compiled = compiled_for(self.flows, conn)
        for automation in self.of_object(compiled, event.object_name):
            kind = automation.trigger.type
            if kind == "time":
                timing.on_write(self.flows, conn, ctx, automation, event)
            elif kind in _FIRES[event.kind]:
                self._run_on_write(conn, compiled, ctx, automation, event)

    def _run_on_write(self, conn, compiled, ctx, automation: AutomationDef, event) -> None:
        try:
            if not self._triggered(conn, compiled, ctx, automation, event):
                return
            if too_deep(ctx):
                log(
                    conn,
                    ctx,
                    automation,
                    event.record_id,
                    "stopped",
                    chain_message(ctx, automation),
                )
                return
            # Logged before the actions run, so the log shows outer runs before the runs
            # their writes trigger; a failure rolls the row back with everything else.
            log(conn, ctx, automation, event.record_id, "done")
            run_actions(
                self.flows,
                conn,
                ctx.acting_for(cause(automation)),
                automation.actions,
                event.object_name,
                event.record_id,
                deleted=dict(event.old) if event.kind == "deleted" else None,
            )
        except TrellisError as exc:
            wrapped = failure(automation, exc)
            if wrapped is exc:
                raise
            raise wrapped from exc

    def _triggered(self, conn, compiled, ctx, automation: AutomationDef, event) -> bool:
        """Whether this write fires the automation: trigger fields, trigger condition
        (new values and ``old.<field>``) and the automation's condition."""
        trigger = automation.trigger
        if event.kind == "updated" and trigger.fields and not set(trigger.fields) & event.changed:
            return False
        record = event.old if event.kind == "deleted" else event.new
        formulas = [trigger.condition, automation.condition]
        env = formula_env(conn, compiled, ctx, automation.object_name, record, formulas)
        if trigger.condition is not None and event.kind != "deleted":
            old = (
                formula_env(conn, compiled, ctx, automation.object_name, event.old, formulas)
                if event.kind == "updated"
                else dict.fromkeys(env)  # a new record had no old values: all blank
            )
            where = f"automation {automation.key} trigger.condition"
            if not holds(trigger.condition, with_old(env, old), ctx, where):
                return False
        return holds(automation.condition, env, ctx, f"automation {automation.key} condition")

    def explain(self, ctx, automation: AutomationDef, record_id: int):
        """What ``automation`` (saved or only drafted) would do to one record, doing nothing:
        the designer's test run (``trellis.flows.automation_explain``)."""
        return automation_explain.explain(self.flows, ctx, automation, record_id)

    # -- by hand ----------------------------------------------------------------

    def run_manual(self, ctx, key: str, ids: Iterable[Any]) -> list[dict[str, Any]]:
        """Run a manual automation on records the user may edit; one outcome per record.

        Records the user cannot see answer 404 and records they cannot edit 403,
        before anything runs. Each record runs in its own savepoint: one failing
        record does not undo the others.
        """
        record_ids = _record_ids(ids)
        with begin_write(self.flows.engine) as conn:
            compiled = compiled_for(self.flows, conn)
            automation = self.get(compiled, key)
            if automation.trigger.type != "manual" or not automation.active:
                raise Invalid(
                    f"automation {key!r} is not an active manual automation (its trigger is "
                    f"{automation.trigger.type!r}); only manual automations run by hand"
                )
            self._check_editable(conn, compiled, ctx, automation.object_name, record_ids)
            return [self._run_one(conn, compiled, ctx, automation, rid) for rid in record_ids]

    def _check_editable(self, conn, compiled, ctx, object_name: str, record_ids) -> None:
        records = self.flows.records
        rt = records.object(compiled, object_name)
        access = records.authorize(compiled, ctx, rt, "edit")
        t = rt.table
        for condition, error in (
            (access.read_condition(t), NotFound),
            (access.edit_condition(t), Forbidden),
        ):
            query = sa.select(t.c.id).where(t.c.id.in_(record_ids))
            if condition is not None:
                query = query.where(condition)
            missing = sorted(set(record_ids) - set(conn.execute(query).scalars()))
            if missing:
                shown = ", ".join(map(str, missing[:10]))
                raise error(
                    f"no {object_name} you can edit with id(s) {shown}"
                    if error is NotFound
                    else f"you may read but not change {object_name} {shown}; "
                    "ask its owner or your manager"
                )

    def _run_one(self, conn, compiled, ctx, automation: AutomationDef, record_id: int) -> dict:
        ctx = ctx.on(conn)
        row = load_row(conn, compiled, automation.object_name, record_id, lock=True)
        env = formula_env(conn, compiled, ctx, automation.object_name, row, [automation.condition])
        try:
            held = holds(automation.condition, env, ctx, f"automation {automation.key} condition")
        except Invalid as exc:
            log(conn, ctx, automation, record_id, "failed", exc.message)
            return {"id": record_id, "outcome": "failed", "message": exc.message}
        if not held:
            message = "the automation's condition does not hold for this record"
            log(conn, ctx, automation, record_id, "skipped", message)
            return {"id": record_id, "outcome": "skipped", "message": message}
        outcome, message = run_guarded(self.flows, conn, ctx, automation, record_id)
        return {"id": record_id, "outcome": outcome, "message": message}

    # -- the log ------------------------------------------------------------------

    def log_for(
        self,
        ctx,
        *,
        object_name: str | None = None,
        record_id: int | None = None,
        automation: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Log rows newest first: admins see everything; others one record they can read."""
        with self.flows.engine.connect() as conn:
            compiled = compiled_for(self.flows, conn)
            if not is_admin(compiled.definitions, ctx.principal):
                if object_name is None or record_id is None:
                    raise Forbidden(
                        "only administrators read the whole automation log; give object "
                        "and record_id of a record you can read"
                    )
                self.flows.records.get(ctx.on(conn), object_name, record_id)  # 404 if unseen
            rows = read_log(
                conn,
                object_name=object_name,
                record_id=record_id,
                automation=automation,
                limit=limit,
            )
        for row in rows:
            row["at"] = row["at"].replace(tzinfo=dt.UTC).isoformat()
        return rows

    # -- catching up ------------------------------------------------------------------

    def enqueue_sweep(self, conn: sa.Connection, key: str, now: dt.datetime) -> None:
        """Ask the worker to catch up automation ``key`` (just defined or changed)."""
        jobs.schedule(
            conn, SWEEP_KIND, {"automation": key}, now, now=now, unique_key=f"sweep:{key}"
        )

    def _sweep(self, conn: sa.Connection, ctx, payload: dict) -> None:
        key = payload.get("automation")
        if key is None:
            self.ensure_schedules(conn, ctx.now)
            return
        compiled = compiled_for(self.flows, conn)
        automation = compiled.definitions.automations.get(key)
        if automation is None or not automation.active:
            return
        if automation.trigger.type == "time":
            timing.schedule_existing(self.flows, conn, compiled, ctx, automation)
        elif automation.trigger.type == "schedule":
            if not schedule.has_job(conn, automation):
                schedule.schedule_next(conn, automation, ctx.stamp)

    def schedule_existing(self, conn: sa.Connection, compiled, key: str, now: dt.datetime) -> int:
        """Time jobs for every record of a time automation's object; returns how many."""
        automation = self.get(compiled, key)
        if automation.trigger.type != "time":
            raise Invalid(f"automation {key!r} is not time-triggered; it has no timed jobs")
        ctx = self.flows.context(conn, None, _aware(now), f"sweep:{key}")
        return timing.schedule_existing(self.flows, conn, compiled, ctx, automation)

    def ensure_schedules(self, conn: sa.Connection, now: dt.datetime) -> int:
        """Create the missing next job of every active schedule automation."""
        return schedule.ensure_schedules(conn, compiled_for(self.flows, conn), _aware(now))


def _aware(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)


def _record_ids(ids: Iterable[Any]) -> list[int]:
    if isinstance(ids, str | bytes) or not isinstance(ids, list | tuple):
        raise BadRequest('send {"ids": [record ids]}: a list of the records to run it on')
    out: list[int] = []
    for value in ids:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise BadRequest(f"{str(value)[:40]!r} is not a record id; ids are whole numbers")
        if value not in out:
            out.append(value)
    if not out or len(out) > MAX_MANUAL:
        raise BadRequest(f"give from 1 to {MAX_MANUAL} record ids")
    return out
