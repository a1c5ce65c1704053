"""One run of an automation on one record, and the automation log that shows it.

Every run ends in one ``trellis_automation_log`` row: ``done``, ``skipped``
(its condition did not hold when it was due), ``stopped`` (the chain of
causes reached ``MAX_DEPTH``) or ``failed`` (an action raised; what it wrote
was rolled back). Rows are written in the run's own transaction, so the log
shows exactly what committed. The ids order the rows: automations of one
trigger appear in the order they ran.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from trellis.flows.actions import run_actions
from trellis.flows.engine import MAX_DEPTH
from trellis.flows.tables import automation_log_table
from trellis.metadata.flow_definitions import AutomationDef
from trellis.runtime.errors import TrellisError

#: Errors a timed, scheduled or manual run logs as ``failed`` instead of raising:
#: definitions that do not fit the data. Database errors still raise, so the
#: worker retries the job (a deadlock or lost connection may go away).
RUN_ERRORS = (TrellisError, LookupError, ValueError)


def cause(automation: AutomationDef) -> str:
    """How an automation appears in a chain of causes (``Context.cause``)."""
    return f"automation:{automation.key}"


def too_deep(ctx) -> bool:
    """Whether a write at this depth may trigger no more automations."""
    return len(ctx.cause) >= MAX_DEPTH


def chain_message(ctx, automation: AutomationDef) -> str:
    chain = " → ".join((*ctx.cause, cause(automation)))
    return (
        f"stopped at depth {len(ctx.cause)} (the limit is {MAX_DEPTH}): {chain}; an automation "
        "probably triggers itself: narrow its trigger fields or its condition"
    )


def log(
    conn: sa.Connection,
    ctx,
    automation: AutomationDef,
    record_id: int | None,
    outcome: str,
    message: str | None = None,
) -> None:
    conn.execute(
        sa.insert(automation_log_table).values(
            automation=automation.key,
            object=automation.object_name,
            record_id=record_id,
            trigger=automation.trigger.type,
            outcome=outcome,
            message=message,
            depth=len(ctx.cause),
            at=ctx.stamp,
        )
    )


def failure(automation: AutomationDef, exc: TrellisError) -> TrellisError:
    """The same error, saying which automation raised it (the write it broke fails).

    The innermost automation of a chain names itself; the ones around it pass it on.
    """
    if "automation" in exc.extra:
        return exc
    return type(exc)(
        f"automation {automation.key!r} failed, so this change was not saved: {exc.message}",
        exc.details,
        **exc.extra,
        automation=automation.key,
    )


def run_guarded(
    flows,
    conn: sa.Connection,
    ctx,
    automation: AutomationDef,
    record_id: int,
    *,
    marker: str | None = None,
) -> tuple[str, str | None]:
    """Run the actions in a savepoint and log the outcome: a failure rolls back this
    run only. With ``marker`` the run happens once per marker (``jobs.mark_once``).

    Returns ``(outcome, message)``; outcome ``already`` (marker seen) is not logged.
    """
    from trellis.flows import jobs

    if too_deep(ctx):
        message = chain_message(ctx, automation)
        log(conn, ctx, automation, record_id, "stopped", message)
        return "stopped", message
    try:
        with conn.begin_nested():
            if marker is not None and not jobs.mark_once(conn, marker, ctx.stamp):
                return "already", None
            log(conn, ctx, automation, record_id, "done")  # before: nested runs log after it
            run_actions(
                flows,
                conn,
                ctx.acting_for(cause(automation)),
                automation.actions,
                automation.object_name,
                record_id,
            )
    except RUN_ERRORS as exc:
        message = getattr(exc, "message", None) or str(exc)
        log(conn, ctx, automation, record_id, "failed", message)
        return "failed", message
    return "done", None


def read_log(
    conn: sa.Connection,
    *,
    object_name: str | None = None,
    record_id: int | None = None,
    automation: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Log rows newest first, filtered by object, record and automation key."""
    t = automation_log_table
    query = sa.select(t).order_by(t.c.id.desc()).limit(limit)
    if object_name is not None:
        query = query.where(t.c.object == object_name)
    if record_id is not None:
        query = query.where(t.c.record_id == record_id)
    if automation is not None:
        query = query.where(t.c.automation == automation)
    return [dict(r) for r in conn.execute(query).mappings()]
