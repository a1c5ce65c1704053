"""Benchmarks 1 and 2: creating leads one at a time, and in bulk.

1. ``records.create`` once per lead (one transaction each) against a Core single-row
   INSERT of the same stored values, one transaction each, returning the new id.
2. ``records.bulk_create`` in chunks against Core executemany of the same chunks, one
   transaction per chunk on both sides.

The two sides run interleaved, block by block (alternating which goes first), so that
noise from other processes on the machine falls on both alike. Both write into tables of
the same shape that grow in step. The baseline's stored values (E.164 mobile, Decimal
money, UTC datetimes, is_key_lead, the duplicate key, a lead number) are computed before
the clock starts: the baseline measures what the database and SQLAlchemy Core cost.
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_data import LeadFactory, lead_number, system_values, today_in_shanghai, utc_stamp
from bench_report import Result

LEAD = "lead"


class BaselineWriter:
    """The hand-written side: rows computed up front, lead numbers from its own counter."""

    def __init__(self, env):
        self.env = env
        self.table = env.baseline
        self.counter = _max_number(env.engine, self.table)
        self.user, self.department = env.users["admin"]
        self.today = today_in_shanghai()

    def rows(self, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        stamp = utc_stamp()
        for payload in payloads:
            self.counter += 1
            row = LeadFactory.stored(payload)
            row.update(
                system_values(
                    owner=self.user, department=self.department, user=self.user, stamp=stamp
                ),
                lead_number=lead_number(self.counter, self.today),
            )
            out.append(row)
        return out


def _max_number(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


# -- 1. single creates --------------------------------------------------------------------


def bench_create(env, factory: LeadFactory, n: int, *, warmup: int, block: int, start: int):
    """Returns (Result, next payload number)."""
    rt = env.runtime
    ctx = env.admin
    writer = BaselineWriter(env)
    insert = sa.insert(env.baseline)
    engine = env.engine

    def trellis(payloads):
        began = time.perf_counter()
        for payload in payloads:
            rt.records.create(ctx, LEAD, payload)
        return time.perf_counter() - began

    def baseline(rows):
        began = time.perf_counter()
        for row in rows:
            with engine.begin() as conn:
                conn.execute(insert, row).inserted_primary_key[0]  # noqa: B018 - like the service
        return time.perf_counter() - began

    # Warm up both sides (caches, statement compilation, the pool, the file).
    payloads = factory.payloads(start, warmup)
    start += warmup
    trellis(payloads)
    baseline(writer.rows(factory.payloads(start, warmup)))
    start += warmup
    check_same_values(env, factory, start)
    start += 1

    t_total, b_total, start = _interleaved(trellis, baseline, factory, writer, start, n, block)
    ratio = t_total / b_total
    result = Result(
        bench="create",
        database=env.db.kind,
        measure=f"{n:,} single creates",
        trellis=t_total,
        baseline=b_total,
        unit="s",
        ratio=ratio,
        target="ratio <= 3",
        passed=ratio <= 3,
        notes=[
            f"per record: Trellis {t_total / n * 1e6:,.0f} us, "
            f"Core INSERT {b_total / n * 1e6:,.0f} us",
            "records.create as admin, one transaction each (context reused across calls)",
        ],
        extra={"n": n, "warmup": warmup, "block": block},
    )
    return result, start


def check_same_values(env, factory: LeadFactory, number: int) -> None:
    """Create one lead through Trellis and compare the stored row with the factory's
    prediction (what the baseline and the million-row load store)."""
    payload = factory.payloads(number, 1)[0]
    created = env.runtime.records.create(env.admin, LEAD, payload).record
    table = env.lead_table
    with env.engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == created["id"])).mappings().one()
    expected = LeadFactory.stored(payload)
    differing = {k: (row[k], v) for k, v in expected.items() if row[k] != v}
    if differing:
        raise AssertionError(
            f"the benchmark's stored values differ from what Trellis stores: {differing}"
        )


# -- 2. bulk creates ----------------------------------------------------------------------


def bench_bulk(env, factory: LeadFactory, n: int, *, chunk: int, warmup: int, start: int):
    rt = env.runtime
    ctx = env.admin
    writer = BaselineWriter(env)
    insert = sa.insert(env.baseline)
    engine = env.engine

    def trellis(payloads):
        began = time.perf_counter()
        ids = rt.records.bulk_create(ctx, LEAD, payloads)
        elapsed = time.perf_counter() - began
        assert len(ids) == len(payloads)
        return elapsed

    def baseline(rows):
        began = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert, rows)
        return time.perf_counter() - began

    trellis(factory.payloads(start, warmup))
    start += warmup
    baseline(writer.rows(factory.payloads(start, warmup)))
    start += warmup

    t_total, b_total, start = _interleaved(trellis, baseline, factory, writer, start, n, chunk)
    t_rate, b_rate = n / t_total, n / b_total
    ratio = t_total / b_total
    sqlite = env.db.kind == "sqlite"
    passed = ratio <= 4 and (t_rate >= 20_000 if sqlite else True)
    result = Result(
        bench="bulk",
        database=env.db.kind,
        measure=f"{n:,} bulk creates ({chunk:,}/call)",
        trellis=t_rate,
        baseline=b_rate,
        unit="rows/s",
        ratio=ratio,
        target=">= 20,000 rows/s and ratio <= 4" if sqlite else "ratio <= 4",
        passed=passed,
        notes=[
            f"total: Trellis {t_total:.2f} s, Core executemany {b_total:.2f} s",
            "records.bulk_create as admin, one transaction per call; the baseline does "
            "not fetch the new ids (Trellis returns them)",
        ],
        extra={"n": n, "chunk": chunk, "trellis_s": t_total, "baseline_s": b_total},
    )
    return result, start


# -- profiling ----------------------------------------------------------------------------


def profile_create(env, factory: LeadFactory, n: int, start: int, out: Path) -> int:
    payloads = factory.payloads(start, n)
    profiler = cProfile.Profile()
    profiler.enable()
    for payload in payloads:
        env.runtime.records.create(env.admin, LEAD, payload)
    profiler.disable()
    write_profile(profiler, out, f"{n} x records.create on {env.db.kind}")
    return start + n


def profile_bulk(env, factory: LeadFactory, n: int, chunk: int, start: int, out: Path) -> int:
    batches = [factory.payloads(start + i, min(chunk, n - i)) for i in range(0, n, chunk)]
    profiler = cProfile.Profile()
    profiler.enable()
    for batch in batches:
        env.runtime.records.bulk_create(env.admin, LEAD, batch)
    profiler.disable()
    write_profile(
        profiler, out, f"{n} rows through records.bulk_create ({chunk}/call) on {env.db.kind}"
    )
    return start + n


def write_profile(profiler: cProfile.Profile, out: Path, title: str, lines: int = 40) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    text.write(f"# {title}\n\n## by own time (tottime)\n")
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(lines)
    text.write("\n## by cumulative time\n")
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(lines)
    out.write_text(text.getvalue())
    profiler.dump_stats(str(out.with_suffix(".prof")))
    print(f"         profile written to {out}")


def _interleaved(trellis, baseline, factory, writer, start: int, n: int, block: int):
    """Time ``n`` records in blocks, alternating which side goes first, so drift in the
    machine's load falls on both sides alike.

    Returns (Trellis seconds, baseline seconds, the next unused payload number).
    """
    t_total = b_total = 0.0
    done = turn = 0
    while done < n:
        size = min(block, n - done)
        t_payloads = factory.payloads(start, size)
        start += size
        b_rows = writer.rows(factory.payloads(start, size))
        start += size
        gc.collect()
        if turn % 2 == 0:
            t_total += trellis(t_payloads)
            b_total += baseline(b_rows)
        else:
            b_total += baseline(b_rows)
            t_total += trellis(t_payloads)
        done += size
        turn += 1
    return t_total, b_total, start
