"""Durable jobs (``trellis_job``) and done-markers (``trellis_effect``).

A job is work due at a moment: a timed automation, an SLA reminder, an outbox
delivery. It is written in the transaction of the write that caused it, so it
exists exactly when that write committed; ``trellis worker`` runs it later
(see ``trellis.flows.worker``). A job's life: ``pending`` → ``running`` (a
worker holds it) → ``done``, or back to ``pending`` with a backoff after a
failure, and ``dead`` after its last attempt (the dead-letter list admins
retry from).

A job's effect and the job's ``done`` commit in one transaction, so a
worker that dies mid-job leaves neither, and the job runs again. Two jobs may
still carry the same effect (an effect scheduled twice, a delivery the
outside world already received), so effects guard themselves with
:func:`mark_once`, whose marker commits or vanishes with them.

All times are naive UTC datetimes, like ``Context.stamp``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from trellis.flows.tables import effect_table, job_table

STATUSES = ("pending", "running", "done", "dead")
#: Keys (unique_key, done-markers) are columns of 255 characters.
MAX_KEY = 255


class JobSkipped(Exception):
    """Raised by a handler when its job has nothing to do (e.g. SMTP is not configured).

    The worker rolls back the handler's writes and ends the job ``done``, keeping
    the message in ``last_error`` as a note for admins; it is not retried.
    """


def utc_naive(moment: dt.datetime) -> dt.datetime:
    """``moment`` as a naive UTC datetime; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def schedule(
    conn: sa.Connection,
    kind: str,
    payload: Mapping[str, Any],
    due_at: dt.datetime,
    *,
    now: dt.datetime,
    unique_key: str | None = None,
    max_attempts: int = 5,
) -> int:
    """Add a pending job of ``kind`` due at ``due_at``; return its id.

    With ``unique_key`` there is one job per key: scheduling again moves the
    existing job (whatever its status) back to pending at ``due_at`` with the
    new payload and no attempts, so "remind me at T" rescheduled becomes one job.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    values = {
        "kind": kind,
        "unique_key": fit_key(unique_key) if unique_key is not None else None,
        "payload": _json_safe(payload),
        "due_at": utc_naive(due_at),
        "status": "pending",
        "attempts": 0,
        "max_attempts": max_attempts,
        "locked_by": None,
        "heartbeat_at": None,
        "last_error": None,
        "created_at": utc_naive(now),
        "finished_at": None,
    }
    if unique_key is None:
        return conn.execute(sa.insert(job_table).values(values)).inserted_primary_key[0]
    insert = _dialect_insert(conn, job_table).values(values)
    moved = {k: insert.excluded[k] for k in values if k not in ("unique_key", "created_at")}
    statement = insert.on_conflict_do_update(
        index_elements=[job_table.c.unique_key], set_=moved
    ).returning(job_table.c.id)
    return conn.execute(statement).scalar_one()


def cancel(conn: sa.Connection, unique_key: str) -> None:
    """Drop the job with ``unique_key`` unless a worker is running it right now."""
    conn.execute(
        sa.delete(job_table).where(
            job_table.c.unique_key == fit_key(unique_key), job_table.c.status != "running"
        )
    )


def mark_once(conn: sa.Connection, key: str, now: dt.datetime) -> bool:
    """Write the done-marker ``key``; False if it was already there.

    Call it in the effect's own transaction: if the effect rolls back, so does
    the marker, and a retry does the effect again; once committed, never again.
    No exception is raised on a duplicate, so an outer PostgreSQL transaction
    stays usable.
    """
    statement = (
        _dialect_insert(conn, effect_table)
        .values(key=fit_key(key), created_at=utc_naive(now))
        .on_conflict_do_nothing(index_elements=[effect_table.c.key])
        .returning(effect_table.c.key)  # rowcount of an INSERT is not reliable on every driver
    )
    return conn.execute(statement).first() is not None


def fit_key(key: str) -> str:
    """``key`` as stored: a longer key keeps its start and gets a digest of the whole."""
    if len(key) <= MAX_KEY:
        return key
    return f"{key[: MAX_KEY - 65]}#{hashlib.sha256(key.encode()).hexdigest()}"


def _dialect_insert(conn: sa.Connection, table: sa.Table):
    """INSERT with ``ON CONFLICT`` for the connection's database (both spell it the same)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _json_safe(value: Any) -> Any:
    """The payload as plain JSON: decimals become text, moments ISO text.

    The payload column is JSON; converting here gives a handler back exactly what
    the database will give it, and a clear error for what cannot be stored.
    """

    def convert(item: Any) -> Any:
        if isinstance(item, Decimal):
            return str(item)
        if isinstance(item, dt.date | dt.datetime | dt.time):
            return item.isoformat()
        if isinstance(item, set | frozenset | tuple):
            return list(item)
        raise TypeError(f"a job payload holds JSON values only, not {type(item).__name__}")

    return json.loads(json.dumps(dict(value), default=convert, ensure_ascii=False))


# -- the dead-letter list and other admin views -------------------------------------


def find(
    conn: sa.Connection, *, status: str | None = None, limit: int = 50, before_id: int | None = None
) -> list[dict[str, Any]]:
    """Jobs newest first, optionally of one status; ``before_id`` pages on."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown job status {status!r}; use one of {', '.join(STATUSES)}")
    query = sa.select(job_table).order_by(job_table.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(job_table.c.status == status)
    if before_id is not None:
        query = query.where(job_table.c.id < before_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def get(conn: sa.Connection, job_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(job_table).where(job_table.c.id == job_id)).mappings().first()
    return dict(row) if row is not None else None


def retry(conn: sa.Connection, job_id: int, now: dt.datetime) -> bool:
    """Give a dead job a fresh set of attempts, due ``now``; False if it is not dead."""
    moved = conn.execute(
        sa.update(job_table)
        .where(job_table.c.id == job_id, job_table.c.status == "dead")
        .values(
            status="pending",
            due_at=utc_naive(now),
            attempts=0,
            locked_by=None,
            heartbeat_at=None,
            last_error=None,
            finished_at=None,
        )
    )
    return moved.rowcount == 1
