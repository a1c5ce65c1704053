"""Benchmark 8: installing and upgrading packs.

* Install crm_standard, then industrial, on a fresh database: read the pack, check every
  definition, plan and apply the DDL, store the layers. Baseline: ``MetaData.create_all``
  of the very same tables on another fresh database (what a hand-written app runs at
  set-up), then industrial's new tables and columns.
* Upgrade crm_standard under 100,000 existing leads: a new version that changes labels,
  adds a picklist value and two fields and removes one (archived, its rows counted), with
  an admin's customization to merge. Baseline: the two ``ALTER TABLE … ADD COLUMN`` a
  developer would run by hand.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from bench_data import LeadFactory, lead_number, today_in_shanghai, utc_stamp
from bench_report import Result

NEW_FIELDS = (
    {
        "api_name": "wechat_group",
        "type": "text",
        "length": 60,
        "label": {"zh-CN": "微信群", "en": "WeChat group"},
    },
    {
        "api_name": "budget_confirmed",
        "type": "boolean",
        "label": {"zh-CN": "预算已确认", "en": "Budget confirmed"},
    },
)


def bench_packs(db, leads: int) -> list[Result]:
    from trellis.runtime.platform_runtime import Runtime

    results = []
    rt = Runtime(db.fresh())
    try:
        began = time.perf_counter()
        rt.metadata.init_database()
        rt.metadata.install_pack("crm_standard", "bench")
        t_crm = time.perf_counter() - began
        began = time.perf_counter()
        rt.metadata.install_pack("industrial", "bench")
        t_ind = time.perf_counter() - began
        b_crm, b_ind = _baseline_install(rt, db.fresh())
        for name, t, b in (("crm_standard", t_crm, b_crm), ("industrial", t_ind, b_ind)):
            results.append(
                Result(
                    bench="packs",
                    database=db.kind,
                    measure=f"install {name} on a fresh database",
                    trellis=t,
                    baseline=b,
                    unit="s",
                    ratio=t / b,
                    target="-",
                    passed=None,
                    notes=[f"trellis pack install vs create_all of the same tables ({name})"],
                )
            )
        results.append(_bench_upgrade(rt, db, leads))
    finally:
        rt.dispose()
    return results


def _baseline_install(rt, url: str) -> tuple[float, float]:
    """create_all of crm_standard's tables, then industrial's new tables and columns."""
    from trellis.metadata.packs import locate, read

    with rt.engine.connect() as conn:
        compiled = rt.cache.get(conn)
    industrial = read(locate("industrial")).components
    new_tables = {k.split(":", 1)[1] for k in industrial if k.startswith("object:")}
    crm_meta, ind_meta = sa.MetaData(), sa.MetaData()
    added_columns = []
    for name in compiled.definitions.objects:
        table = compiled.object(name).table
        if name in new_tables:
            table.to_metadata(ind_meta)
            continue
        copy_ = table.to_metadata(crm_meta)
        for column in list(copy_.columns):
            if f"field:{name}.{column.name}" in industrial:
                added_columns.append((copy_.name, column))
                copy_._columns.remove(column)
    engine = sa.create_engine(url)
    try:
        with engine.connect():  # connect once first: Trellis' engine is warm too
            pass
        began = time.perf_counter()
        with engine.begin() as conn:
            crm_meta.create_all(conn)
        b_crm = time.perf_counter() - began
        began = time.perf_counter()
        with engine.begin() as conn:
            ind_meta.create_all(conn)
            for table, column in added_columns:
                ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {ddl}")
        b_ind = time.perf_counter() - began
    finally:
        engine.dispose()
    return b_crm, b_ind


def _bench_upgrade(rt, db, leads: int) -> Result:
    from trellis.metadata.packs import locate

    lead_rt = _lead_runtime(rt)
    _load_leads(rt, lead_rt, leads)
    rt.metadata.patch(
        "bench", "field:lead.company_name", {"label": {"zh-CN": "客户公司", "en": "Company"}}
    )
    baseline_table = _baseline_copy(rt, lead_rt.table)
    folder = Path(tempfile.mkdtemp(prefix="trellis-bench-pack-")) / "crm_standard"
    try:
        shutil.copytree(locate("crm_standard"), folder)
        _next_version(folder)
        dry = rt.metadata.upgrade_pack(folder, "bench", dry_run=True)
        began = time.perf_counter()
        done = rt.metadata.upgrade_pack(folder, "bench")
        t = time.perf_counter() - began
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    baseline = _baseline_upgrade(rt, baseline_table)
    report = done.as_json()
    return Result(
        bench="packs",
        database=db.kind,
        measure=f"upgrade crm_standard under {leads:,} leads",
        trellis=t,
        baseline=baseline,
        unit="s",
        ratio=t / baseline,
        target="-",
        passed=None,
        notes=[
            "trellis pack upgrade (three-way merge, checks, DDL, archive count) vs the two "
            "ALTER TABLE ADD COLUMN by hand",
            f"{len(report['conflicts'])} conflict, {len(report['arrived'])} new fields, "
            f"{len(report['archived'])} archived ({report['rows_affected']:,} rows with data); "
            f"dry run matched: {dry.report.as_json() == done.report.as_json()}",
        ],
        extra={"leads": leads},
    )


def _lead_runtime(rt):
    with rt.engine.connect() as conn:
        return rt.cache.get(conn).object("lead")


def _load_leads(rt, lead_rt, total: int) -> None:
    """Core executemany of realistic leads (the list benchmark's generator)."""
    from trellis.runtime.records.autonumber import reserve

    factory = LeadFactory(lead_rt.definition)
    number_field = lead_rt.definition.by_name["lead_number"]
    insert, today, now = sa.insert(lead_rt.table), today_in_shanghai(), utc_stamp()
    rng = random.Random(8)
    for start in range(0, total, 10_000):
        size = min(10_000, total - start)
        with rt.engine.begin() as conn:
            first = reserve(conn, number_field.path, size)
            rows = []
            for i, payload in enumerate(factory.payloads(start, size)):
                row = LeadFactory.stored(payload)
                stamp = now - dt.timedelta(seconds=rng.randrange(10**7))
                row.update(
                    owner=None,
                    department=None,
                    record_type=None,
                    created_by=None,
                    created_at=stamp,
                    updated_by=None,
                    updated_at=stamp,
                    version=1,
                    lead_number=lead_number(first + i, today),
                )
                rows.append(row)
            conn.execute(insert, rows)


def _next_version(folder: Path) -> None:
    manifest = json.loads((folder / "pack.json").read_text("utf-8"))
    manifest["version"] = "1.1.0"
    (folder / "pack.json").write_text(json.dumps(manifest), "utf-8")
    lead = json.loads((folder / "objects/lead.json").read_text("utf-8"))
    for f in lead["fields"]:
        if f["api_name"] == "company_name":
            f["label"]["zh-CN"] = "公司全称"
        if f["api_name"] == "title":
            f["label"]["en"] = "Position"
        if f["api_name"] == "region":
            f["values"].append({"api_name": "hainan", "label": {"zh-CN": "海南", "en": "Hainan"}})
    lead["fields"] = [f for f in lead["fields"] if f["api_name"] != "requirement"]
    lead["fields"] += [copy.deepcopy(f) for f in NEW_FIELDS]
    (folder / "objects/lead.json").write_text(json.dumps(lead, ensure_ascii=False), "utf-8")
    for path in (folder / "layouts").glob("lead_*.json"):
        layout = json.loads(path.read_text("utf-8"))
        for section in layout.get("sections", []):
            section["fields"] = [
                f
                for f in section.get("fields", [])
                if (f if isinstance(f, str) else f.get("field")) != "requirement"
            ]
        path.write_text(json.dumps(layout, ensure_ascii=False), "utf-8")


def _baseline_copy(rt, lead_table: sa.Table) -> sa.Table:
    """A hand-made table of rec_lead's shape holding the same rows (before the upgrade)."""
    from bench_env import create_baseline_table

    baseline = create_baseline_table(rt.engine, lead_table)
    names = [c.name for c in baseline.columns]
    with rt.engine.begin() as conn:
        rows = sa.select(*(lead_table.c[n] for n in names))
        conn.execute(sa.insert(baseline).from_select(names, rows))
    return baseline


def _baseline_upgrade(rt, baseline: sa.Table) -> float:
    """The same two columns added by hand."""
    began = time.perf_counter()
    with rt.engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {baseline.name} ADD COLUMN wechat_group VARCHAR(60)")
        conn.exec_driver_sql(f"ALTER TABLE {baseline.name} ADD COLUMN budget_confirmed BOOLEAN")
    return time.perf_counter() - began
