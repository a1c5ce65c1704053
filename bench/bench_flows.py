"""Benchmarks 6 and 7: approvals and timers (the flow engine).

6. ``approvals``: N quotes below 70% of list price, each submitted by rep_east and
   approved by the manager and then the vice-president (the crm_standard discount flow: two
   approval nodes and a CC to finance), so 3 actions per instance. Baseline: the same number
   of plain ``records.update`` calls (one transaction each) on the same quotes, as the issue
   asks ("the ratio to the same number of plain record updates"); the hand-written Core
   UPDATE of the same rows is printed in the notes.
7. ``timers``: N leads whose 3-day recycle timers are all due, drained by ``trellis worker
   --once --as-of`` processes: one worker, then (PostgreSQL) two workers side by side on a
   fresh batch. Each lead must end in its pool exactly once: duplicates and lost jobs are
   counted from the database (pool entries, done-markers, the automation log). Baseline:
   hand-written Core doing the same effect per lead, one transaction each (lock the lead,
   clear the owner, insert the pool entry and a done-marker, mark the job done).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from bench_report import Result

from trellis.flows.worker import Worker
from trellis.runtime.database import WRITE

REPO = Path(__file__).resolve().parent.parent
TRELLIS = REPO / ".venv" / "bin" / "trellis"


# -- 6. approvals ---------------------------------------------------------------------------


def bench_approvals(env, n: int) -> list[Result]:
    rt = env.runtime
    rep, manager, vp = (rt.context_for(u) for u in ("rep_east", "manager", "vp"))
    quotes = _quotes(rt, rep, n)
    approvals = rt.flows.approvals

    began = time.perf_counter()
    for quote_id in quotes:
        instance = approvals.submit(rep, "quote", quote_id)
        approvals.approve(manager, _pending(instance))
        done = approvals.approve(vp, _pending(approvals.instance(vp, instance["id"])))
        assert done["status"] == "approved", done["status"]
    trellis_s = time.perf_counter() - began
    actions = 3 * n

    updates = _quotes(rt, rep, n)
    began = time.perf_counter()
    for i in range(actions):
        rt.records.update(rep, "quote", updates[i % n], {"remarks": f"第{i}次修改"})
    updates_s = time.perf_counter() - began

    core_s = _core_updates(env, updates, actions)

    per_s = actions / trellis_s
    baseline_per_s = actions / updates_s
    return [
        Result(
            "approvals",
            env.db.kind,
            f"{n:,} approvals through two nodes ({actions:,} actions: submit, approve, approve)",
            per_s,
            baseline_per_s,
            "actions/s",
            baseline_per_s / per_s,
            "info",
            None,
            [
                f"baseline: {actions:,} plain records.update calls on quotes, "
                f"{baseline_per_s:,.0f}/s",
                f"hand-written Core UPDATE of the same rows: {actions / core_s:,.0f}/s",
                f"per instance: {1000 * trellis_s / n:.1f} ms for its 3 actions, including "
                "the flow's field updates, notifications and SLA timers",
            ],
        )
    ]


def _quotes(rt, ctx, n: int) -> list[int]:
    rows = [
        {"quote_name": f"基准报价 {i}", "list_amount": "100000.00", "quoted_amount": "65000.00"}
        for i in range(n)
    ]
    return rt.records.bulk_create(ctx, "quote", rows)


def _pending(instance: dict) -> int:
    (task,) = [t for t in instance["tasks"] if t["status"] == "pending"]
    return task["id"]


def _core_updates(env, ids: list[int], count: int) -> float:
    with env.engine.connect() as conn:
        table = env.runtime.cache.get(conn).object("quote").table
    statement = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("rid"), table.c.version == sa.bindparam("v"))
        .values(remarks=sa.bindparam("text"), version=sa.bindparam("v") + 1)
    )
    with env.engine.connect() as conn:
        versions = dict(conn.execute(sa.select(table.c.id, table.c.version)).all())
    began = time.perf_counter()
    for i in range(count):
        rid = ids[i % len(ids)]
        with env.engine.begin() as conn:
            conn.execute(statement, {"rid": rid, "v": versions[rid], "text": f"core {i}"})
        versions[rid] += 1
    return time.perf_counter() - began


# -- 7. timers ------------------------------------------------------------------------------


def bench_timers(env, n: int) -> list[Result]:
    results = []
    rt = env.runtime
    rep = rt.context_for("rep_east")
    workers = [1, 2] if env.db.kind == "postgresql" else [1]
    # The catch-up sweeps queued when the pack was installed run first, so that the timed
    # passes below drain the benchmark's timers and nothing else.
    Worker(rt, name="bench-setup").run_once()
    baseline_per_s = _baseline_recycle(env, _leads(rt, rep, n, "基准"), rep)
    for count in workers:
        ids = _leads(rt, rep, n, f"W{count}")
        as_of = _as_of(env, ids)
        began = time.perf_counter()
        _run_workers(env, count, as_of)
        elapsed = time.perf_counter() - began
        duplicates, lost = _check_recycled(env, ids)
        per_s = n / elapsed
        results.append(
            Result(
                "timers",
                env.db.kind,
                f"{n:,} due lead-recycle timers drained by {count} worker process(es)",
                per_s,
                baseline_per_s,
                "jobs/s",
                baseline_per_s / per_s,
                "duplicates 0, lost 0",
                duplicates == 0 and lost == 0,
                [
                    f"duplicates {duplicates}, lost {lost}",
                    f"wall time {elapsed:.1f} s including process start-up",
                    f"baseline: hand-written Core doing each recycle in its own transaction, "
                    f"{baseline_per_s:,.0f}/s",
                ],
            )
        )
    return results


def _leads(rt, ctx, n: int, prefix: str) -> list[int]:
    rows = [
        {
            "company_name": f"{prefix} 回收线索 {i}",
            "email": f"{prefix}{i}@bench.cn",
            "region": "east",
        }
        for i in range(n)
    ]
    ids = []
    for start in range(0, n, 2000):
        ids += rt.records.bulk_create(ctx, "lead", rows[start : start + 2000])
    return ids


def _as_of(env, ids: list[int]) -> dt.datetime:
    from trellis.flows.tables import job_table as j

    keys = [f"time:lead.recycle_unfollowed:{i}" for i in (ids[0], ids[-1])]
    with env.engine.connect() as conn:
        latest = conn.execute(
            sa.select(sa.func.max(j.c.due_at)).where(j.c.unique_key.in_(keys))
        ).scalar_one()
    return latest.replace(tzinfo=dt.UTC) + dt.timedelta(minutes=1)


def _run_workers(env, count: int, as_of: dt.datetime) -> None:
    environ = {**os.environ, "TRELLIS_DATABASE_URL": env.db.url}
    command = [str(TRELLIS), "worker", "--once", "--as-of", as_of.isoformat()]
    processes = [
        subprocess.Popen(
            [*command, "--name", f"bench-{i}"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(count)
    ]
    for p in processes:
        _, err = p.communicate(timeout=3600)
        if p.returncode != 0:
            raise RuntimeError(f"trellis worker failed: {err.decode()[-500:]}")


def _check_recycled(env, ids: list[int]) -> tuple[int, int]:
    from trellis.flows.tables import automation_log_table as log
    from trellis.flows.tables import pool_entry_table as pool

    with env.engine.connect() as conn:
        entered = conn.execute(
            sa.select(sa.func.count()).where(pool.c.object == "lead", pool.c.record_id.in_(ids))
        ).scalar_one()
        runs = conn.execute(
            sa.select(log.c.record_id, sa.func.count())
            .where(
                log.c.automation == "lead.recycle_unfollowed",
                log.c.outcome == "done",
                log.c.record_id.in_(ids),
            )
            .group_by(log.c.record_id)
        ).all()
    duplicates = sum(c - 1 for _, c in runs if c > 1)
    return duplicates, len(ids) - entered


def _baseline_recycle(env, ids: list[int], ctx) -> float:
    """The same effect by hand: one transaction per lead, the lead row locked first."""
    from trellis.flows.tables import effect_table, job_table, pool_entry_table

    with env.engine.connect() as conn:
        lead = env.runtime.cache.get(conn).object("lead").table
    keys = {i: f"time:lead.recycle_unfollowed:{i}" for i in ids}
    with env.engine.begin() as conn:  # the baseline's leads are not the worker's to take
        conn.execute(sa.delete(job_table).where(job_table.c.unique_key.in_(list(keys.values()))))
    select = sa.select(lead.c.id, lead.c.owner, lead.c.version).where(
        lead.c.id == sa.bindparam("rid")
    )
    if env.db.kind == "postgresql":
        select = select.with_for_update()
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    writer = env.engine.execution_options(**WRITE)
    began = time.perf_counter()
    for rid in ids:
        with writer.begin() as conn:
            row = conn.execute(select, {"rid": rid}).one()
            conn.execute(
                sa.update(lead)
                .where(lead.c.id == rid, lead.c.version == row.version)
                .values(owner=None, department=None, version=row.version + 1, updated_at=stamp)
            )
            conn.execute(
                sa.insert(pool_entry_table).values(
                    object="lead",
                    record_id=rid,
                    pool="east_leads",
                    entered_at=stamp,
                    previous_owner=row.owner,
                    reason="recycled",
                )
            )
            conn.execute(
                sa.insert(effect_table).values(key=f"baseline:{keys[rid]}", created_at=stamp)
            )
    return len(ids) / (time.perf_counter() - began)
