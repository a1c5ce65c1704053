"""Reports and dashboards go through the pack lifecycle like every component kind:
customised by an admin, upgraded by a three-way merge, diffed and exported as a pack."""

from __future__ import annotations

import json
import shutil

from trellis.metadata.packs import locate
from trellis.reports import run_report

L = {"zh-CN": "我的报表", "en": "My report"}


def _new_version(tmp_path):
    folder = tmp_path / "crm_standard"
    shutil.copytree(locate("crm_standard"), folder)
    manifest = json.loads((folder / "pack.json").read_text("utf-8"))
    (folder / "pack.json").write_text(json.dumps({**manifest, "version": "1.1.0"}), "utf-8")
    return folder


def _edit(folder, name: str, **changes) -> None:
    path = folder / "reports" / f"{name}.json"
    path.write_text(json.dumps({**json.loads(path.read_text("utf-8")), **changes}), "utf-8")


def test_an_upgrade_merges_reports_with_the_admins_changes(runtime, crm, tmp_path):
    meta = runtime.metadata
    funnel = meta.definition("report", "lead.sales_funnel")
    meta.define("admin", "report", {**funnel, "label": {"zh-CN": "我们的漏斗", "en": "Our funnel"}})
    meta.define(
        "admin",
        "report",
        {
            "api_name": "mine",
            "object": "lead",
            "label": L,
            "measures": [{"api_name": "leads", "label": L, "function": "count"}],
        },
    )
    folder = _new_version(tmp_path)
    _edit(folder, "lead_sales_funnel", label={"zh-CN": "漏斗", "en": "Funnel"})  # both changed
    _edit(folder, "payment_per_capita_ranking", limit=5)  # only the vendor changed
    (folder / "reports" / "lead_by_region.json").write_text(
        json.dumps(
            {
                "api_name": "by_region",
                "object": "lead",
                "label": {"zh-CN": "区域线索", "en": "Leads by region"},
                "group_by": [{"field": "region"}],
                "measures": [{"api_name": "leads", "label": L, "function": "count"}],
            }
        ),
        "utf-8",
    )
    changed = {d["key"] for d in meta.diff_packs("crm_standard", str(folder))}
    assert {"report:lead.sales_funnel", "report:lead.by_region"} <= changed
    meta.upgrade_pack(str(folder), "admin")
    conflicts = [(c["key"], c["property"]) for c in meta.conflicts()]
    assert ("report:lead.sales_funnel", "label") in conflicts
    assert meta.definition("report", "lead.sales_funnel")["label"]["en"] == "Our funnel"
    assert meta.definition("report", "payment.per_capita_ranking")["limit"] == 5
    ctx = crm.ctx("admin", locale="en")
    assert run_report(runtime, ctx, "lead.by_region").label == "Leads by region"
    assert run_report(runtime, ctx, "lead.mine").label == "My report"

    files = meta.export_pack("acme_reports", tmp_path / "export")
    assert "reports/lead_mine.json" in files
    extension = json.loads((tmp_path / "export/reports/lead_sales_funnel.json").read_text())
    assert extension["extends"] is True and "label" in extension


def test_a_dashboard_is_customised_and_exported(runtime, tmp_path):
    meta = runtime.metadata
    sales = meta.definition("dashboard", "sales")
    meta.define("admin", "dashboard", {**sales, "widgets": sales["widgets"][:2]})
    assert len(meta.definition("dashboard", "sales")["widgets"]) == 2
    files = meta.export_pack("acme_dash", tmp_path / "export")
    assert "dashboards/sales.json" in files
