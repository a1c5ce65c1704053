"""The worker: due jobs, one transaction per job, backoff, dead letters, leases and takeovers.

Most tests register a job kind of their own on the runtime's flow engine (test code, not
product code) whose effect is a row in ``trellis_notification``, so "the effect happened" and
"it happened once" are plain counts. The crash test runs the real ``trellis worker`` command
on a real webhook delivery and kills it with SIGKILL in the middle.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from trellis.flows import delivery, jobs
from trellis.flows.jobs import JobSkipped
from trellis.flows.tables import effect_table, job_table, notification_table
from trellis.flows.worker import Worker
from trellis.runtime import people
from trellis.runtime.database import begin_write
from trellis.runtime.platform_runtime import Runtime

T = dt.datetime(2026, 3, 10, 2, 30, tzinfo=dt.UTC)
TRELLIS = Path(sys.executable).with_name("trellis")


@pytest.fixture
def rt(database_url):
    """A runtime on a database with the platform's tables and one user, ``ann``."""
    runtime = Runtime(database_url)
    runtime.metadata.init_database()
    with begin_write(runtime.engine) as conn:
        people.create_user(conn, "ann", "ann-password", display_name="Ann")
    try:
        yield runtime
    finally:
        runtime.dispose()


def record_effect(conn, ctx, payload):
    """The test job: one notification row per run, saying who ran it, when and why."""
    conn.execute(
        sa.insert(notification_table).values(
            user_id=payload.get("user_id") or 0,
            title=payload.get("label", "effect"),
            body=f"{ctx.principal.username}|{ctx.now.isoformat()}|{','.join(ctx.cause)}",
            source=str(ctx.trusted),
            created_at=ctx.stamp,
        )
    )


def effects(rt) -> list[dict]:
    with rt.engine.connect() as conn:
        rows = conn.execute(sa.select(notification_table).order_by(notification_table.c.id))
        return [dict(r) for r in rows.mappings()]


def job(rt, job_id) -> dict:
    with rt.engine.connect() as conn:
        return dict(
            conn.execute(sa.select(job_table).where(job_table.c.id == job_id)).mappings().one()
        )


def schedule(rt, kind, payload, due, **kwargs) -> int:
    with begin_write(rt.engine) as conn:
        return jobs.schedule(conn, kind, payload, due, now=T, **kwargs)


def test_run_once_runs_what_is_due_at_as_of_with_that_moment_as_now(rt):
    rt.flows.register_job("test_effect", record_effect)
    with rt.engine.connect() as conn:
        ann = people.user_id(conn, "ann")
    now_job = schedule(rt, "test_effect", {"user_id": ann, "label": "now"}, T)
    later = schedule(rt, "test_effect", {"label": "later"}, T + dt.timedelta(hours=1))
    worker = Worker(rt, name="w1")

    assert worker.run_once(T) == 1
    assert job(rt, later)["status"] == "pending"
    assert worker.run_once(T + dt.timedelta(minutes=59)) == 0
    assert worker.run_once((T + dt.timedelta(hours=1)).replace(tzinfo=None)) == 1  # naive = UTC

    first, second = effects(rt)
    assert first["body"] == f"ann|{T.isoformat()}|job:test_effect"
    assert first["source"] == "True"  # the job acts as a trusted context on ann's behalf
    assert second["body"].startswith(f"system|{(T + dt.timedelta(hours=1)).isoformat()}|")
    done = job(rt, now_job)
    assert (done["status"], done["attempts"], done["locked_by"]) == ("done", 1, "w1")
    assert done["finished_at"] == T.replace(tzinfo=None)


def test_a_failing_job_leaves_no_effect_and_retries_with_backoff_until_dead(rt):
    def failing(conn, ctx, payload):
        record_effect(conn, ctx, payload)
        raise ConnectionError("the ERP at erp.example is down")

    rt.flows.register_job("test_failing", failing)
    job_id = schedule(rt, "test_failing", {}, T, max_attempts=3)
    worker = Worker(rt, name="w1")

    assert worker.run_once(T) == 0
    row = job(rt, job_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["due_at"] == (T + dt.timedelta(seconds=30)).replace(tzinfo=None)
    assert row["last_error"] == "ConnectionError: the ERP at erp.example is down"
    assert row["locked_by"] is None
    assert effects(rt) == []

    assert worker.run_once(T + dt.timedelta(seconds=29)) == 0
    assert job(rt, job_id)["attempts"] == 1  # not due yet: untouched
    worker.run_once(T + dt.timedelta(seconds=30))
    assert job(rt, job_id)["due_at"] == (T + dt.timedelta(seconds=90)).replace(tzinfo=None)
    worker.run_once(T + dt.timedelta(seconds=90))
    row = job(rt, job_id)
    assert (row["status"], row["attempts"]) == ("dead", 3)
    assert "Traceback" not in row["last_error"]
    assert effects(rt) == []
    assert worker.run_once(T + dt.timedelta(days=1)) == 0  # dead jobs wait for an admin

    with begin_write(rt.engine) as conn:
        assert jobs.retry(conn, job_id, T + dt.timedelta(days=1))
    assert worker.run_once(T + dt.timedelta(days=1)) == 0
    assert job(rt, job_id)["attempts"] == 1  # a fresh set of attempts


def test_an_unknown_job_kind_fails_naming_the_kinds_there_are(rt):
    job_id = schedule(rt, "no_such_kind", {}, T, max_attempts=1)
    Worker(rt, name="w1").run_once(T)
    row = job(rt, job_id)
    assert row["status"] == "dead"
    assert "no handler for job kind 'no_such_kind'" in row["last_error"]
    assert "deliver_webhook" in row["last_error"]


def test_a_skipped_job_ends_done_with_its_note_and_keeps_nothing_it_wrote(rt):
    def skipping(conn, ctx, payload):
        record_effect(conn, ctx, payload)
        raise JobSkipped("the lead was converted meanwhile")

    rt.flows.register_job("test_skipping", skipping)
    job_id = schedule(rt, "test_skipping", {}, T)
    assert Worker(rt, name="w1").run_once(T) == 1
    row = job(rt, job_id)
    assert (row["status"], row["last_error"]) == ("done", "the lead was converted meanwhile")
    assert effects(rt) == []


def test_jobs_scheduled_by_a_job_for_the_same_moment_run_in_the_same_pass(rt):
    def chain(conn, ctx, payload):
        record_effect(conn, ctx, payload)
        if payload["left"]:
            jobs.schedule(conn, "test_chain", {"left": payload["left"] - 1}, ctx.now, now=ctx.now)

    rt.flows.register_job("test_chain", chain)
    schedule(rt, "test_chain", {"left": 3}, T)
    assert Worker(rt, name="w1", batch=1).run_once(T) == 4
    assert len(effects(rt)) == 4


def test_a_stopped_worker_hands_back_the_jobs_it_had_not_started(rt):
    stop = threading.Event()

    def stopping(conn, ctx, payload):
        record_effect(conn, ctx, payload)
        stop.set()  # Ctrl-C arrives while the first job runs

    rt.flows.register_job("test_stop", stopping)
    ids = [schedule(rt, "test_stop", {}, T) for _ in range(3)]
    assert Worker(rt, name="w1", batch=3).run_once(T, stop=stop) == 1
    assert [job(rt, i)["status"] for i in ids] == ["done", "pending", "pending"]
    assert [job(rt, i)["attempts"] for i in ids] == [1, 0, 0]
    assert job(rt, ids[1])["locked_by"] is None


def test_a_job_whose_worker_died_on_its_last_attempt_is_dead(rt):
    rt.flows.register_job("test_effect", record_effect)
    job_id = schedule(rt, "test_effect", {}, T, max_attempts=2)
    stale = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=5)
    with begin_write(rt.engine) as conn:
        conn.execute(
            sa.update(job_table)
            .where(job_table.c.id == job_id)
            .values(status="running", attempts=2, locked_by="gone", heartbeat_at=stale)
        )
    assert Worker(rt, name="w1", lease_seconds=60).run_once(T) == 0
    row = job(rt, job_id)
    assert row["status"] == "dead" and "stopped" in row["last_error"]
    assert effects(rt) == []


# -- several workers (PostgreSQL) ---------------------------------------------------------


@pytest.fixture
def pg_rt(postgres_database_url):
    runtime = Runtime(postgres_database_url)
    runtime.metadata.init_database()
    try:
        yield runtime
    finally:
        runtime.dispose()


def test_a_job_taken_over_by_another_worker_is_rolled_back_in_the_first(pg_rt):
    rt = pg_rt
    second = Worker(rt, name="second", lease_seconds=30)
    runs = []

    def slow_first_run(conn, ctx, payload):
        runs.append(len(runs))
        record_effect(conn, ctx, {"label": f"run {len(runs)}"})
        if len(runs) == 1:
            # The first worker stalls beyond its lease (its heartbeat never came): the
            # second worker takes the job over and finishes it while the first still runs.
            with begin_write(rt.engine) as other:
                other.execute(
                    sa.update(job_table).values(
                        heartbeat_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)
                        - dt.timedelta(minutes=1)
                    )
                )
            assert second.run_once(T) == 1

    rt.flows.register_job("test_slow", slow_first_run)
    job_id = schedule(rt, "test_slow", {}, T)
    assert Worker(rt, name="first", lease_seconds=30).run_once(T) == 0
    assert [e["title"] for e in effects(rt)] == ["run 2"]
    row = job(rt, job_id)
    assert (row["status"], row["locked_by"], row["attempts"]) == ("done", "second", 2)


def test_a_live_worker_keeps_its_job_through_heartbeats(pg_rt):
    rt = pg_rt
    started, checked = threading.Event(), threading.Event()
    others = []

    def long_job(conn, ctx, payload):
        started.set()
        checked.wait(10)
        record_effect(conn, ctx, payload)

    rt.flows.register_job("test_long", long_job)
    schedule(rt, "test_long", {}, T)
    first = Worker(rt, name="first", lease_seconds=1)
    thread = threading.Thread(target=lambda: others.append(first.run_once(T)))
    thread.start()
    try:
        assert started.wait(10)
        time.sleep(2.5)  # well past the lease: only heartbeats keep the job
        others.append(Worker(rt, name="second", lease_seconds=1).run_once(T))
    finally:
        checked.set()
        thread.join(10)
    assert others == [0, 1]  # the second found nothing to take; the first finished
    assert len(effects(rt)) == 1


def test_two_workers_share_due_jobs_and_run_each_exactly_once(pg_rt):
    rt = pg_rt
    ran: list[int] = []
    lock = threading.Lock()

    def counted(conn, ctx, payload):
        with lock:
            ran.append(payload["n"])
        record_effect(conn, ctx, {"label": str(payload["n"])})
        time.sleep(0.01)

    rt.flows.register_job("test_counted", counted)
    for n in range(60):
        schedule(rt, "test_counted", {"n": n}, T)
    done: dict[str, int] = {}
    gate = threading.Barrier(2)

    def work(name):
        gate.wait()
        done[name] = Worker(rt, name=name, batch=5).run_once(T)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(ran) == list(range(60))  # no job was ever run twice, not even rolled back
    assert sorted(int(e["title"]) for e in effects(rt)) == list(range(60))
    assert done["a"] + done["b"] == 60 and done["a"] > 0 and done["b"] > 0


# -- a worker killed in the middle of a job --------------------------------------------------


class BlockingReceiver(http.server.ThreadingHTTPServer):
    """A webhook receiver whose first request hangs (the worker is killed meanwhile)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _BlockingHandler)
        self.requests: list[tuple[dict, bytes]] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _BlockingHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        server.requests.append((dict(self.headers), body))
        if len(server.requests) == 1:
            server.first_arrived.set()
            server.release.wait(60)
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = BlockingReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


def worker_command(rt, tmp_path, *args) -> subprocess.Popen:
    env = {
        **os.environ,
        "TRELLIS_DATABASE_URL": rt.database_url,
        "TRELLIS_INSTANCE_PATH": str(tmp_path / "instance"),
        "TRELLIS_SECRET_KEY": "tests-only",
        "TRELLIS_WEBHOOK_SECRETS": json.dumps({"erp": "s3cret"}),
    }
    log = tmp_path / f"worker-{len(list(tmp_path.glob('worker-*')))}.log"
    with log.open("w") as output:  # a file, not a pipe: a killed worker leaves no open pipe
        process = subprocess.Popen(
            [str(TRELLIS), "worker", *args], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    process.log = log
    return process


@pytest.mark.slow
def test_a_killed_worker_s_job_is_taken_over_after_its_lease_and_done_once(rt, receiver, tmp_path):
    with begin_write(rt.engine) as conn:
        ctx = rt.flows.context(conn, None, T, cause="test")
        delivery.enqueue_webhook(
            conn, ctx, receiver.url, "erp", {"lead": 42, "名称": "华东"}, key="lead:42:v3"
        )
    first = worker_command(rt, tmp_path, "--name", "first", "--lease", "2", "--poll", "0.2")
    try:
        assert receiver.first_arrived.wait(30), first.log.read_text()
        running = job(rt, 1)
        assert (running["status"], running["locked_by"]) == ("running", "first")
        # The delivery's done-marker is written but not committed while the POST hangs.
        with rt.engine.connect() as conn:
            assert conn.execute(sa.select(effect_table.c.key)).scalars().all() == []
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    time.sleep(2.2)  # the lease runs out: nobody beats for the job any more

    second = worker_command(rt, tmp_path, "--once", "--name", "second", "--lease", "2")
    assert second.wait(60) == 0, second.log.read_text()
    assert "worker second: 1 job(s) done" in second.log.read_text()

    finished = job(rt, 1)
    assert (finished["status"], finished["locked_by"], finished["attempts"]) == (
        "done",
        "second",
        2,
    )
    with rt.engine.connect() as conn:
        markers = conn.execute(sa.select(effect_table.c.key)).scalars().all()
    assert markers == ["delivered:lead:42:v3"]
    # At least once: the receiver saw the hung attempt and the retry, one delivery id for both.
    assert len(receiver.requests) == 2
    (h1, b1), (h2, b2) = receiver.requests
    assert h1["X-Trellis-Delivery"] == h2["X-Trellis-Delivery"] == "lead:42:v3"
    assert b1 == b2 and json.loads(b2) == {"lead": 42, "名称": "华东"}
    assert h2["X-Trellis-Signature"] == delivery.signature("s3cret", b2)
