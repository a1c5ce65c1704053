"""``automation`` cases: an automation fires for a record, when expected, and its effects.

A record-triggered automation runs inside the write (the given records, or the
case's ``update``): the automation log must show it ``done`` for the record.
A time-triggered one fires at ``fires_at``: the worker runs as of one second
before (``Worker.run_once(as_of=...)``, as ``trellis worker --once --as-of``
does), when it must not have fired yet, then as of ``fires_at``, when the log
must show it done. Judging by what the worker does, not by the job's due time,
matters: a job is re-checked when due and moved if the record's date moved
(a follow-up logged meanwhile), so its first due time may not be its last.
With ``fires: false`` the log must show no run that did something.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from trellis.flows.tables import automation_log_table, job_table
from trellis.flows.worker import Worker
from trellis.packtests.case_run import CaseFailed, CaseRun, describe
from trellis.packtests.cases import AutomationCheck
from trellis.packtests.expectations import compare_state
from trellis.runtime.errors import TrellisError

#: "Not before": the worker first runs this long before the expected moment.
JUST_BEFORE = dt.timedelta(seconds=1)


def key_of(name: str, object_name: str) -> str:
    """``object.api_name`` of the automation a case names."""
    return name if "." in name else f"{object_name}.{name}"


def run(case: CaseRun, check: AutomationCheck) -> list[str]:
    object_name, record_id = case.record(check.record)
    key = key_of(check.name, object_name)
    if check.update is not None:
        _update(case, check, object_name, record_id)
    if check.fires_at is not None:
        early = _run_worker(case, key, record_id, check.fires_at - JUST_BEFORE)
        if early and check.fires:
            return [
                f"automation {key} fired for {check.record} at {_shown(early, check.fires_at)}, "
                f"before {check.fires_at.isoformat()}"
            ]
        _run_worker(case, key, record_id, check.fires_at)
    failures = _fired(case, key, record_id, check)
    if failures:
        return failures
    return compare_state(case, object_name, record_id, check.then, f"automation:{key}")


def _update(case: CaseRun, check: AutomationCheck, object_name: str, record_id: int) -> None:
    update = check.update
    ctx = case.context(update.as_user, update.at)
    try:
        case.runtime.records.update(ctx, object_name, record_id, case.resolve(update.values))
    except TrellisError as exc:
        raise CaseFailed(f"the update of {check.record} was refused: {describe(exc)}") from None


def _run_worker(case: CaseRun, key: str, record_id: int, as_of: dt.datetime) -> dt.datetime | None:
    """Run every job due at ``as_of``; when the automation did something for the
    record by then, the moment it did (else None)."""
    Worker(case.runtime, name="pack-tests").run_once(as_of=as_of)
    done = [r.at for r in _log(case, key, record_id) if r.outcome == "done"]
    return done[0].replace(tzinfo=dt.UTC) if done else None


def _log(case: CaseRun, key: str, record_id: int) -> list:
    t = automation_log_table
    query = (
        sa.select(t.c.outcome, t.c.message, t.c.at)
        .where(t.c.automation == key, t.c.record_id == record_id)
        .order_by(t.c.id)
    )
    with case.runtime.engine.connect() as conn:
        return list(conn.execute(query).all())


def _timer(case: CaseRun, key: str, record_id: int) -> str:
    """Where the record's timer of the automation stands, for a failure message."""
    query = sa.select(job_table.c.due_at, job_table.c.status).where(
        job_table.c.unique_key == f"time:{key}:{record_id}"
    )
    with case.runtime.engine.connect() as conn:
        job = conn.execute(query).first()
    if job is None:
        return "it has no timer for this record (is its trigger.after blank?)"
    due = job.due_at.replace(tzinfo=dt.UTC).astimezone(case.case.now.tzinfo)
    return f"its timer is {job.status}, due at {due.isoformat()}"


def _shown(moment: dt.datetime, like: dt.datetime) -> str:
    return moment.astimezone(like.tzinfo).isoformat()


def _fired(case: CaseRun, key: str, record_id: int, check: AutomationCheck) -> list[str]:
    runs = _log(case, key, record_id)
    did = [r for r in runs if r.outcome == "done"]
    if check.fires and not did:
        told = "; ".join(f"{r.outcome}: {r.message or '-'}" for r in runs)
        when = f" at {check.fires_at.isoformat()}" if check.fires_at else ""
        why = f"its log: {told}" if told else "it did not run"
        if check.fires_at is not None:
            why += f"; {_timer(case, key, record_id)}"
        return [f"automation {key} did not fire for {check.record}{when} ({why})"]
    if not check.fires and did:
        at = _shown(did[0].at.replace(tzinfo=dt.UTC), case.case.now)
        return [f"automation {key} fired for {check.record} (at {at}), expected it not to"]
    return []
