"""The worker: takes due jobs from ``trellis_job`` and runs their handlers.

One pass (:meth:`Worker.run_once`) claims a batch of due jobs, runs each in a
transaction of its own, and goes on until nothing is due. Claiming marks the
jobs ``running`` under this worker's name in a short transaction; on
PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several workers share the table,
on SQLite the claim takes the database's one write lock.

While it holds jobs, a heartbeat thread keeps their ``heartbeat_at`` fresh. A
``running`` job whose heartbeat is older than the lease belongs to a worker
that died: the next claim takes it over. The dead worker's transaction never
committed, so the job's effect is not there yet; and should the first worker
still be alive after all, its final ``UPDATE ... WHERE locked_by = me`` finds
the job gone and it rolls back everything it did.

A failing job rolls back, then goes back to ``pending`` with a backoff
(30 s, 1 min, 2 min … at most an hour) and the error in ``last_error``; after
``max_attempts`` it is ``dead`` and waits for an admin's retry.

"Due" is judged against ``as_of`` (``trellis worker --once --as-of``, or
the clock), leases always against the real clock: a worker's liveness is
about now, not about the moment being simulated.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trellis.flows.jobs import JobSkipped, utc_naive
from trellis.flows.tables import job_table
from trellis.runtime.database import begin_write, is_postgresql

log = logging.getLogger("trellis.worker")

FIRST_BACKOFF = dt.timedelta(seconds=30)
MAX_BACKOFF = dt.timedelta(hours=1)
#: A job that keeps rescheduling itself at or before ``as_of`` would make one
#: pass endless; after this many runs of one job in a pass, the pass ends.
MAX_RUNS_PER_PASS = 100
#: last_error keeps the start of the message; the full story is in the worker's log.
MAX_ERROR = 2000


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this one
    max_attempts: int


class _LeaseLost(Exception):
    """Another worker took the job over while this one ran it."""


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt ``attempts + 1``: 30 s doubling, at most an hour."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


class Worker:
    """Runs due jobs of one runtime under the name ``name`` (unique per running worker)."""

    def __init__(self, runtime, *, name: str, lease_seconds: float = 60, batch: int = 20):
        if lease_seconds <= 0:
            raise ValueError("the lease must be a positive number of seconds")
        if batch < 1:
            raise ValueError("a batch holds at least one job")
        self.runtime = runtime
        self.flows = runtime.flows
        self.engine: sa.Engine = runtime.engine
        self.name = name
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.batch = batch
        self._beating = False

    # -- the loops ---------------------------------------------------------------------

    def run_once(
        self, as_of: dt.datetime | None = None, *, stop: threading.Event | None = None
    ) -> int:
        """Run every job due at ``as_of`` (default: now, read before each claim).

        Returns how many jobs ended ``done``. With ``stop`` set, the pass ends
        after the current job and hands the rest of its batch back.
        """
        moment = _aware(as_of) if as_of is not None else None
        done = 0
        runs: collections.Counter[int] = collections.Counter()
        with self._heartbeat():
            while not (stop and stop.is_set()):
                batch = self._claim(utc_naive(moment or _clock()))
                if not batch:
                    break
                try:
                    for job in batch:
                        if (stop and stop.is_set()) or runs[job.id] >= MAX_RUNS_PER_PASS:
                            break
                        runs[job.id] += 1
                        done += self._execute(job, moment)
                finally:
                    self._release(batch)
                if runs and max(runs.values()) >= MAX_RUNS_PER_PASS:
                    log.warning("a job keeps rescheduling itself into this pass; pass ended")
                    break
        return done

    def run_forever(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Run due jobs until ``stop`` is set; between passes wait ``poll_seconds``."""
        log.info("worker %s started (lease %ss)", self.name, self.lease.total_seconds())
        with self._heartbeat():
            while not stop.is_set():
                try:
                    self.run_once(stop=stop)
                except sa.exc.DBAPIError as exc:
                    # The database restarting or being locked must not end the worker.
                    log.warning("worker %s: database unavailable: %s", self.name, _describe(exc))
                except Exception:
                    # Nor may a bug in one pass silently end the worker thread of `serve`.
                    log.exception("worker %s: the pass failed; trying again", self.name)
                stop.wait(poll_seconds)
        log.info("worker %s stopped", self.name)

    # -- claiming ------------------------------------------------------------------------

    def _claim(self, as_of: dt.datetime) -> list[ClaimedJob]:
        now = utc_naive(_clock())
        job = job_table.c
        due = sa.or_(
            sa.and_(job.status == "pending", job.due_at <= as_of),
            sa.and_(job.status == "running", job.heartbeat_at < now - self.lease),
        )
        query = (
            sa.select(job.id, job.kind, job.payload, job.status, job.attempts, job.max_attempts)
            .where(due)
            .order_by(job.due_at, job.id)
            .limit(self.batch)
        )
        with self.engine.connect() as conn:
            # A plain read first: an idle worker polling must not take SQLite's write lock.
            if conn.execute(query.with_only_columns(job.id)).first() is None:
                return []
        with begin_write(self.engine) as conn:
            if is_postgresql(conn):
                query = query.with_for_update(skip_locked=True)
            rows = conn.execute(query).all()
            abandoned = [r for r in rows if r.status == "running" and r.attempts >= r.max_attempts]
            taken = [r for r in rows if r not in abandoned]
            if abandoned:
                self._bury(conn, [r.id for r in abandoned], now)
            if taken:
                conn.execute(
                    sa.update(job_table)
                    .where(job.id.in_([r.id for r in taken]))
                    .values(
                        status="running",
                        locked_by=self.name,
                        heartbeat_at=now,
                        attempts=job.attempts + 1,
                    )
                )
        return [
            ClaimedJob(r.id, r.kind, dict(r.payload or {}), r.attempts + 1, r.max_attempts)
            for r in taken
        ]

    def _bury(self, conn: sa.Connection, ids: list[int], now: dt.datetime) -> None:
        """Jobs whose worker died on their last attempt: dead, not taken again and again."""
        log.warning("jobs %s: their worker stopped during the last attempt; now dead", ids)
        conn.execute(
            sa.update(job_table)
            .where(job_table.c.id.in_(ids))
            .values(
                status="dead",
                finished_at=now,
                last_error="the worker running it stopped (crashed or was killed) "
                "during its last attempt",
            )
        )

    def _release(self, batch: list[ClaimedJob]) -> None:
        """Hand back jobs of the batch this worker claimed but did not run (it was stopped)."""
        held = job_table.c.locked_by == self.name
        with begin_write(self.engine) as conn:
            conn.execute(
                sa.update(job_table)
                .where(job_table.c.id.in_([j.id for j in batch]), held)
                .where(job_table.c.status == "running")
                .values(
                    status="pending",
                    locked_by=None,
                    heartbeat_at=None,
                    attempts=job_table.c.attempts - 1,
                )
            )

    # -- running one job -----------------------------------------------------------------

    def _execute(self, job: ClaimedJob, as_of: dt.datetime | None) -> bool:
        """Run ``job`` and its ending in one transaction; True if it ended done."""
        now = as_of or _clock()
        try:
            with begin_write(self.engine) as conn:
                ctx = self.flows.context(
                    conn, job.payload.get("user_id"), now, cause=f"job:{job.kind}"
                )
                self.flows.handler(job.kind)(conn, ctx, job.payload)
                if not self._end(conn, job, status="done", now=now):
                    raise _LeaseLost
        except _LeaseLost:
            log.warning("job %s (%s): taken over by another worker; rolled back", job.id, job.kind)
            return False
        except JobSkipped as exc:
            with begin_write(self.engine) as conn:
                return self._end(conn, job, status="done", now=now, note=str(exc))
        except Exception as exc:
            log.exception("job %s (%s) failed, attempt %s", job.id, job.kind, job.attempts)
            self._fail(job, now, exc)
            return False
        return True

    def _end(
        self,
        conn: sa.Connection,
        job: ClaimedJob,
        *,
        status: str,
        now: dt.datetime,
        note: str | None = None,
        due_at: dt.datetime | None = None,
    ) -> bool:
        """Move a job this worker holds out of ``running``; False if it no longer holds it."""
        values: dict[str, Any] = {
            "status": status,
            "heartbeat_at": None,
            "last_error": note[:MAX_ERROR] if note else None,
        }
        if status in ("done", "dead"):
            values["finished_at"] = utc_naive(now)  # locked_by stays: who ended it
        else:
            values["locked_by"] = None
        if due_at is not None:
            values["due_at"] = due_at
        ended = conn.execute(
            sa.update(job_table)
            .where(
                job_table.c.id == job.id,
                job_table.c.locked_by == self.name,
                job_table.c.status == "running",
            )
            .values(values)
        )
        return ended.rowcount == 1

    def _fail(self, job: ClaimedJob, now: dt.datetime, exc: Exception) -> None:
        message = _describe(exc)
        try:
            with begin_write(self.engine) as conn:
                if job.attempts >= job.max_attempts:
                    self._end(conn, job, status="dead", now=now, note=message)
                else:
                    retry_at = utc_naive(now) + backoff(job.attempts)
                    self._end(conn, job, status="pending", now=now, note=message, due_at=retry_at)
        except sa.exc.DBAPIError:
            # The job stays running; once its heartbeat expires a worker takes it again.
            log.exception("job %s: could not record its failure", job.id)

    # -- heartbeat -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _heartbeat(self) -> Iterator[None]:
        """Keep the heartbeat of the jobs this worker holds fresh while the block runs."""
        if self._beating:
            yield
            return
        self._beating = True
        done = threading.Event()
        thread = threading.Thread(
            target=self._beat, args=(done,), name=f"heartbeat {self.name}", daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self._beating = False

    def _beat(self, done: threading.Event) -> None:
        interval = self.lease.total_seconds() / 3
        while not done.wait(interval):
            try:
                with begin_write(self.engine) as conn:
                    conn.execute(
                        sa.update(job_table)
                        .where(job_table.c.locked_by == self.name, job_table.c.status == "running")
                        .values(heartbeat_at=utc_naive(_clock()))
                    )
            except sa.exc.DBAPIError as exc:
                log.warning("worker %s: heartbeat failed: %s", self.name, _describe(exc))


def _clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    """An aware UTC moment; a naive one is UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _describe(exc: BaseException) -> str:
    """The error's message for ``last_error``: no traceback, no SQL statement."""
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR]
