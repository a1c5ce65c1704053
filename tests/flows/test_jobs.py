"""The durable jobs table: scheduling, rescheduling by key, cancelling, done-markers, retries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from trellis.flows import jobs
from trellis.flows.tables import effect_table, job_table
from trellis.runtime.database import begin_write
from trellis.runtime.platform_runtime import Runtime

NOW = dt.datetime(2026, 3, 10, 2, 30)
LATER = NOW + dt.timedelta(hours=3)


@pytest.fixture
def engine(database_url):
    """A database with the platform's tables and nothing else: jobs need no pack."""
    rt = Runtime(database_url)
    rt.metadata.init_database()
    try:
        yield rt.engine
    finally:
        rt.dispose()


def job_row(engine, job_id):
    with engine.connect() as conn:
        return conn.execute(sa.select(job_table).where(job_table.c.id == job_id)).mappings().one()


def test_a_scheduled_job_waits_pending_with_its_payload_as_json(engine):
    with begin_write(engine) as conn:
        job_id = jobs.schedule(
            conn,
            "deliver_webhook",
            {"amount": Decimal("12.50"), "on": dt.date(2026, 3, 9), "ids": (1, 2)},
            dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            now=NOW,
        )
    row = job_row(engine, job_id)
    assert row["status"] == "pending" and row["attempts"] == 0 and row["max_attempts"] == 5
    # An aware due time is stored as naive UTC, like every stamp.
    assert row["due_at"] == dt.datetime(2026, 3, 10, 4, 0)
    assert row["payload"] == {"amount": "12.50", "on": "2026-03-09", "ids": [1, 2]}


def test_a_payload_that_is_not_json_is_refused_with_the_offending_type(engine):
    with begin_write(engine) as conn, pytest.raises(TypeError, match="JSON values only, not"):
        jobs.schedule(conn, "x", {"what": object()}, NOW, now=NOW)


@pytest.mark.parametrize("status", ["pending", "done", "dead"])
def test_scheduling_a_key_again_moves_the_one_job(engine, status):
    with begin_write(engine) as conn:
        first = jobs.schedule(conn, "remind", {"v": 1}, NOW, now=NOW, unique_key="remind:7")
        conn.execute(
            sa.update(job_table)
            .where(job_table.c.id == first)
            .values(status=status, attempts=3, last_error="boom")
        )
    with begin_write(engine) as conn:
        again = jobs.schedule(conn, "remind", {"v": 2}, LATER, now=LATER, unique_key="remind:7")
    assert again == first
    row = job_row(engine, first)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 0, None)
    assert row["due_at"] == LATER and row["payload"] == {"v": 2}
    assert row["created_at"] == NOW
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(job_table)).scalar() == 1


def test_cancel_drops_a_waiting_job_but_not_one_being_run(engine):
    with begin_write(engine) as conn:
        waiting = jobs.schedule(conn, "remind", {}, LATER, now=NOW, unique_key="a")
        running = jobs.schedule(conn, "remind", {}, NOW, now=NOW, unique_key="b")
        conn.execute(sa.update(job_table).where(job_table.c.id == running).values(status="running"))
    with begin_write(engine) as conn:
        jobs.cancel(conn, "a")
        jobs.cancel(conn, "b")
        jobs.cancel(conn, "never-scheduled")
    with engine.connect() as conn:
        left = conn.execute(sa.select(job_table.c.id)).scalars().all()
    assert left == [running] and waiting not in left


def test_mark_once_is_true_once_and_leaves_the_transaction_usable(engine):
    with begin_write(engine) as conn:
        assert jobs.mark_once(conn, "time:lead.recycle:42:2026-03-10", NOW) is True
        # The duplicate neither raises nor breaks the outer transaction (PostgreSQL would
        # refuse every later statement after a failed INSERT).
        assert jobs.mark_once(conn, "time:lead.recycle:42:2026-03-10", NOW) is False
        assert jobs.mark_once(conn, "time:lead.recycle:43:2026-03-10", NOW) is True
    with begin_write(engine) as conn:
        assert jobs.mark_once(conn, "time:lead.recycle:42:2026-03-10", LATER) is False


def test_a_marker_rolls_back_with_its_effect(engine):
    with pytest.raises(RuntimeError), begin_write(engine) as conn:
        assert jobs.mark_once(conn, "effect:1", NOW)
        raise RuntimeError("the effect failed")
    with begin_write(engine) as conn:
        assert jobs.mark_once(conn, "effect:1", NOW) is True
    with engine.connect() as conn:
        assert conn.execute(sa.select(effect_table.c.key)).scalars().all() == ["effect:1"]


def test_only_a_dead_job_can_be_retried_and_it_starts_afresh(engine):
    with begin_write(engine) as conn:
        dead = jobs.schedule(conn, "deliver_email", {}, NOW, now=NOW)
        alive = jobs.schedule(conn, "deliver_email", {}, NOW, now=NOW)
        conn.execute(
            sa.update(job_table)
            .where(job_table.c.id == dead)
            .values(status="dead", attempts=5, last_error="refused", finished_at=NOW)
        )
    with begin_write(engine) as conn:
        assert jobs.retry(conn, dead, LATER) is True
        assert jobs.retry(conn, alive, LATER) is False
        assert jobs.retry(conn, 999999, LATER) is False
    row = job_row(engine, dead)
    assert (row["status"], row["attempts"], row["due_at"]) == ("pending", 0, LATER)
    assert row["last_error"] is None and row["finished_at"] is None
    with engine.connect() as conn:
        assert [j["id"] for j in jobs.find(conn, status="pending")] == [alive, dead]
        with pytest.raises(ValueError, match="unknown job status 'lost'"):
            jobs.find(conn, status="lost")


def test_long_keys_are_kept_apart_and_still_found(engine):
    base = "webhook:automation:opportunity.stale:" + "x" * 300
    with begin_write(engine) as conn:
        assert jobs.mark_once(conn, base + "1", NOW) is True
        assert jobs.mark_once(conn, base + "2", NOW) is True  # same start, another key
        assert jobs.mark_once(conn, base + "1", NOW) is False
        first = jobs.schedule(conn, "remind", {}, NOW, now=NOW, unique_key=base + "1")
        assert jobs.schedule(conn, "remind", {}, LATER, now=NOW, unique_key=base + "1") == first
        jobs.cancel(conn, base + "1")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(job_table)).scalar() == 0
        keys = conn.execute(sa.select(effect_table.c.key)).scalars().all()
    assert all(len(k) <= jobs.MAX_KEY for k in keys) and len(set(keys)) == 2
