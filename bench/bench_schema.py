"""Benchmark 5: adding a field to the (million-row) lead table.

Trellis: ``runtime.metadata.add_field(...)`` — load the layers, validate the new
definitions, plan the DDL against the live database, ALTER TABLE, store the new metadata
version and compile it. Baseline: the ALTER TABLE ... ADD COLUMN a developer would run on
the baseline table, in a transaction. Target: under one second on both databases.

An indexed field is measured too, for information: its CREATE INDEX has to read every row,
so it grows with the table on both sides.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from bench_report import Result

LEAD = "lead"


def _column_sql(env, name: str) -> str:
    """The column as Trellis declared it, so the baseline adds the very same type."""
    with env.engine.connect() as conn:
        column = env.runtime.cache.get(conn).object(LEAD).table.c[name]
    return f"{name} {column.type.compile(dialect=env.engine.dialect)}"


def bench_add_field(env, rows: int) -> list[Result]:
    rt = env.runtime
    results = []

    # Warm the metadata path once (imports, JSON Schema validators) on a field of its own.
    rt.metadata.add_field(
        "admin",
        LEAD,
        {"api_name": "bench_warm", "type": "text", "label": {"zh-CN": "预热", "en": "Warm-up"}},
    )

    began = time.perf_counter()
    rt.metadata.add_field(
        "admin",
        LEAD,
        {
            "api_name": "bench_note",
            "type": "text",
            "length": 200,
            "label": {"zh-CN": "备注", "en": "Note"},
        },
    )
    t = time.perf_counter() - began
    column = _column_sql(env, "bench_note")
    began = time.perf_counter()
    with env.engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {env.baseline.name} ADD COLUMN {column}")
    b = time.perf_counter() - began
    results.append(
        Result(
            bench="add_field",
            database=env.db.kind,
            measure=f"add text field ({rows:,} rows)",
            trellis=t,
            baseline=b,
            unit="s",
            ratio=t / b,
            target="< 1 s",
            passed=t < 1.0,
            notes=[f"runtime.metadata.add_field vs ALTER TABLE ADD COLUMN {column}"],
            extra={"rows": rows},
        )
    )

    began = time.perf_counter()
    rt.metadata.add_field(
        "admin",
        LEAD,
        {
            "api_name": "bench_segment",
            "type": "text",
            "length": 40,
            "indexed": True,
            "label": {"zh-CN": "细分", "en": "Segment"},
        },
    )
    t = time.perf_counter() - began
    column = _column_sql(env, "bench_segment")
    began = time.perf_counter()
    with env.engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {env.baseline.name} ADD COLUMN {column}")
        conn.execute(
            sa.schema.CreateIndex(
                sa.Index(
                    "bx_baseline_lead_bench_segment",
                    sa.Table(
                        env.baseline.name, sa.MetaData(), sa.Column("bench_segment", sa.String(40))
                    ).c.bench_segment,
                )
            )
        )
    b = time.perf_counter() - began
    results.append(
        Result(
            bench="add_field",
            database=env.db.kind,
            measure=f"add indexed field ({rows:,} rows)",
            trellis=t,
            baseline=b,
            unit="s",
            ratio=t / b,
            target="(info: CREATE INDEX reads every row)",
            passed=None,
            notes=["runtime.metadata.add_field with indexed: true vs ALTER TABLE + CREATE INDEX"],
            extra={"rows": rows},
        )
    )
    return results


def profile_add_field(env, out) -> None:
    import cProfile

    from bench_records import write_profile

    profiler = cProfile.Profile()
    profiler.enable()
    env.runtime.metadata.add_field(
        "admin",
        LEAD,
        {
            "api_name": "bench_profiled",
            "type": "text",
            "label": {"zh-CN": "剖析", "en": "Profiled"},
        },
    )
    profiler.disable()
    write_profile(profiler, out, f"runtime.metadata.add_field on {env.db.kind}")
