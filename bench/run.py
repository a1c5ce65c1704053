#!/usr/bin/env python
"""Trellis benchmarks: the records service, bulk writes, list queries, formulas and schema
changes, each against hand-written SQLAlchemy Core doing the same work in the same run.

    .venv/bin/python bench/run.py                 # full sizes, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --quick         # a tenth of the sizes
    .venv/bin/python bench/run.py --only sqlite --skip-million

See bench/README.md for what each benchmark measures and how to read the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_env  # noqa: E402
from bench_report import Result, print_result, summary_table, write_json  # noqa: E402

RESULTS = HERE / "results"

FULL = {
    "creates": 10_000,
    "bulk": 100_000,
    "chunk": 5_000,
    "rows": 1_000_000,
    "queries": 200,
    "formula_evals": 200_000,
    "approvals": 1_000,
    "timers": 10_000,
    "pack_leads": 100_000,
    "page_requests": 500,
    "admin_saves": 50,
}
QUICK = {
    "creates": 1_000,
    "bulk": 10_000,
    "chunk": 1_000,
    "rows": 100_000,
    "queries": 50,
    "formula_evals": 20_000,
    "approvals": 100,
    "timers": 1_000,
    "pack_leads": 10_000,
    "page_requests": 100,
    "admin_saves": 10,
}
BENCHES = (
    "create",
    "bulk",
    "list",
    "formula",
    "add_field",
    "approvals",
    "timers",
    "packs",
    "pages",
    "admin",
)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick", action="store_true", help="a tenth of the full sizes, for development"
    )
    p.add_argument("--only", choices=("sqlite", "postgresql"), help="run on one database only")
    p.add_argument(
        "--skip-million",
        action="store_true",
        help="do not load the big table: list and add-field run on the rows the create "
        "benchmarks left (about 110,000; 11,000 with --quick)",
    )
    p.add_argument(
        "--bench",
        action="append",
        choices=BENCHES,
        help="run only this benchmark (repeatable); default: all",
    )
    p.add_argument("--creates", type=int, help="records for the single-create benchmark")
    p.add_argument("--bulk", type=int, help="records for the bulk benchmark")
    p.add_argument("--chunk", type=int, help="records per bulk_create call")
    p.add_argument("--rows", type=int, help="rows of the list / add-field table")
    p.add_argument("--queries", type=int, help="list queries per side")
    p.add_argument("--formula-evals", type=int, help="evaluations per formula")
    p.add_argument("--approvals", type=int, help="approval instances (two nodes each)")
    p.add_argument("--timers", type=int, help="due lead-recycle timers to drain")
    p.add_argument("--pack-leads", type=int, help="leads present while crm_standard upgrades")
    p.add_argument("--page-requests", type=int, help="record page requests per side")
    p.add_argument("--admin-saves", type=int, help="layout saves in the designer")
    p.add_argument("--seed", type=int, default=20261122)
    p.add_argument(
        "--profile",
        action="store_true",
        help="after timing, profile the Trellis side of each benchmark with cProfile "
        "(bench/results/profile-*.txt)",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="write the query plans of the list benchmark (bench/results/explain-*.txt)",
    )
    p.add_argument(
        "--pg-shared-buffers",
        default="256MB",
        help="shared_buffers of the throwaway PostgreSQL cluster (the test helper's "
        "32MB suits many small test servers, not a million rows); '' keeps it",
    )
    p.add_argument("--keep", action="store_true", help="keep the SQLite file (its path is printed)")
    p.add_argument(
        "--json", type=Path, default=RESULTS / "latest.json", help="where to write the results"
    )
    args = p.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for key in sizes:
        value = getattr(args, key)
        if value is not None:
            sizes[key] = value
    args.sizes = sizes
    args.benches = tuple(args.bench or BENCHES)
    return args


def failed(bench: str, database: str, exc: BaseException) -> Result:
    traceback.print_exc()
    return Result(
        bench,
        database,
        f"{bench} failed",
        float("nan"),
        None,
        "-",
        None,
        "-",
        False,
        [f"{type(exc).__name__}: {exc}"[:500]],
    )


def report(results: list[Result], new: Result | list[Result]) -> None:
    for r in new if isinstance(new, list) else [new]:
        results.append(r)
        print_result(r)


def run_database(db: bench_env.Database, args, results: list[Result], info: dict) -> None:
    import bench_list
    import bench_records
    import bench_schema
    from bench_data import LeadFactory

    sizes, kind = args.sizes, db.kind
    print(f"\n== {kind}: {db.description}", flush=True)
    began = time.perf_counter()
    env = bench_env.build_env(db)
    print(f"   Trellis initialised, crm_standard installed ({time.perf_counter() - began:.1f} s)")
    lead_rt = env.lead_runtime()
    factory = LeadFactory(lead_rt.definition, seed=args.seed)
    number = 0  # payload numbers keep every generated lead unique
    profile = args.profile

    if "create" in args.benches:
        print(f"-- 1. create {sizes['creates']:,} leads one call each", flush=True)
        try:
            result, number = bench_records.bench_create(
                env,
                factory,
                sizes["creates"],
                warmup=min(200, sizes["creates"] // 5),
                block=500,
                start=number,
            )
            report(results, result)
            if profile:
                number = bench_records.profile_create(
                    env,
                    factory,
                    min(2000, sizes["creates"]),
                    number,
                    RESULTS / f"profile-{kind}-create.txt",
                )
        except Exception as exc:  # noqa: BLE001 - report and go on with the other benchmarks
            report(results, failed("create", kind, exc))

    if "bulk" in args.benches:
        print(f"-- 2. bulk create {sizes['bulk']:,} leads, {sizes['chunk']:,} per call", flush=True)
        try:
            result, number = bench_records.bench_bulk(
                env,
                factory,
                sizes["bulk"],
                chunk=sizes["chunk"],
                warmup=sizes["chunk"],
                start=number,
            )
            report(results, result)
            if profile:
                number = bench_records.profile_bulk(
                    env,
                    factory,
                    min(20_000, sizes["bulk"]),
                    sizes["chunk"],
                    number,
                    RESULTS / f"profile-{kind}-bulk.txt",
                )
        except Exception as exc:  # noqa: BLE001
            report(results, failed("bulk", kind, exc))

    rows = bench_list.count_rows(env.engine, env.lead_table)
    if "list" in args.benches or "add_field" in args.benches:
        try:
            if args.skip_million:
                print(
                    f"-- 3. (--skip-million: list and add-field on the {rows:,} leads "
                    "already there)",
                    flush=True,
                )
                bench_list.copy_to_baseline(env)
                bench_list.analyse(env)
                load_note = "rows made by benchmarks 1-2 through the records service"
            else:
                rows = sizes["rows"]
                print(
                    f"-- 3. load {rows:,} leads (Core executemany into an emptied rec_lead, then "
                    "copied into the baseline table)",
                    flush=True,
                )
                load, number = bench_list.load_leads(env, factory, rows, number)
                info.setdefault("loads", {})[kind] = load
                print(
                    f"         {load['loaded_with_core']:,} rows loaded in {load['load_s']:.1f} s "
                    f"(after removing the {load['removed_first']:,} leads of benchmarks 1-2); "
                    f"copy {load['copy_s']:.1f} s, analyse {load['analyse_s']:.1f} s; "
                    f"{'rec_lead with indexes' if kind == 'postgresql' else 'database file'} "
                    f"{load['table_mb']:,} MB",
                    flush=True,
                )
                load_note = (
                    f"loaded with Core executemany into rec_lead ({load['load_s']:.0f} s), "
                    "owners spread over 8 users, created_at over 2 years"
                )
            rows = bench_list.count_rows(env.engine, env.lead_table)
        except Exception as exc:  # noqa: BLE001
            report(results, failed("list", kind, exc))
            load_note = "load failed"

    if "list" in args.benches:
        print(
            f"-- 3. list: filter + sort + first 50, {sizes['queries']} queries per side", flush=True
        )
        try:
            result, specs = bench_list.bench_list(
                env,
                factory,
                queries=sizes["queries"],
                warmup=20,
                seed=args.seed,
                rows=rows,
                load_note=load_note,
            )
            report(results, result)
            if args.explain:
                bench_list.explain(env, specs, RESULTS / f"explain-{kind}.txt")
            if profile:
                bench_list.profile_list(env, specs[:100], RESULTS / f"profile-{kind}-list.txt")
        except Exception as exc:  # noqa: BLE001
            report(results, failed("list", kind, exc))

    if "add_field" in args.benches:
        print(f"-- 5. add a field to the {rows:,}-row lead table", flush=True)
        try:
            report(results, bench_schema.bench_add_field(env, rows))
            if profile:
                bench_schema.profile_add_field(env, RESULTS / f"profile-{kind}-add_field.txt")
        except Exception as exc:  # noqa: BLE001
            report(results, failed("add_field", kind, exc))

    flow_benches = (
        ("approvals", f"-- 6. approvals: {sizes['approvals']:,} instances through two nodes"),
        ("timers", f"-- 7. timers: {sizes['timers']:,} due recycle jobs"),
    )
    for name, title in flow_benches:
        if name in args.benches:
            print(title, flush=True)
            try:
                import bench_flows

                report(results, getattr(bench_flows, f"bench_{name}")(env, sizes[name]))
            except Exception as exc:  # noqa: BLE001
                report(results, failed(name, kind, exc))

    if "packs" in args.benches:
        print(
            f"-- 8. packs: install on fresh databases, upgrade under {sizes['pack_leads']:,} leads",
            flush=True,
        )
        try:
            import bench_packs

            report(results, bench_packs.bench_packs(db, sizes["pack_leads"]))
        except Exception as exc:  # noqa: BLE001
            report(results, failed("packs", kind, exc))

    if "pages" in args.benches:
        print(
            f"-- 9. pages: record page with 3 related lists, {sizes['page_requests']} requests "
            "per side",
            flush=True,
        )
        try:
            import bench_pages

            report(results, bench_pages.bench_pages(env, sizes["page_requests"]))
        except Exception as exc:  # noqa: BLE001
            report(results, failed("pages", kind, exc))

    if "admin" in args.benches:
        print(
            f"-- 10. admin: {sizes['admin_saves']} layout saves in the designer, each shown "
            "on a record page served by another process",
            flush=True,
        )
        try:
            import bench_admin

            report(results, bench_admin.bench_admin(env, sizes["admin_saves"]))
        except Exception as exc:  # noqa: BLE001
            report(results, failed("admin", kind, exc))

    env.runtime.dispose()


def main(argv=None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    print(
        f"Trellis benchmarks ({'quick' if args.quick else 'full'} sizes: "
        + ", ".join(f"{k}={v:,}" for k, v in args.sizes.items())
        + ")"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} "
        "(other processes add noise; ratios compare interleaved runs of both sides)"
    )
    results: list[Result] = []
    info: dict = {
        "started": started.isoformat(),
        "sizes": args.sizes,
        "quick": args.quick,
        "skip_million": args.skip_million,
        "databases": {},
        "skipped": {},
    }

    if "formula" in args.benches:
        import bench_formula

        print("\n== 4. formulas (no database)", flush=True)
        try:
            report(
                results, bench_formula.bench_formulas(args.sizes["formula_evals"], seed=args.seed)
            )
        except Exception as exc:  # noqa: BLE001
            report(results, failed("formula", "-", exc))

    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    db_benches = set(args.benches) - {"formula"}
    for kind in kinds if db_benches else []:
        try:
            if kind == "sqlite":
                db = bench_env.sqlite_database(keep=args.keep)
            else:
                db = bench_env.postgres_database(shared_buffers=args.pg_shared_buffers or None)
        except bench_env.Unavailable as exc:
            print(f"\n== {kind}: SKIPPED - {exc}", flush=True)
            info["skipped"][kind] = str(exc)
            continue
        info["databases"][kind] = db.description
        try:
            run_database(db, args, results, info)
        finally:
            db.close()

    load_after = os.getloadavg()
    info["finished"] = dt.datetime.now(dt.UTC).isoformat()
    info["load_average"] = {"before": load_before[0], "after": load_after[0]}
    print(
        "\n== Summary (ratio = Trellis cost / baseline cost for the same work; "
        "baseline = hand-written SQLAlchemy Core)\n"
    )
    print(summary_table(results))
    for kind, why in info["skipped"].items():
        print(f"{kind}: SKIPPED - {why}")
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"({os.cpu_count()} CPUs)"
    )
    write_json(args.json, results, info)
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
