"""The reports and dashboards REST API: listing, definitions, running, and labels kept as data."""

from __future__ import annotations

from urllib.parse import quote

SCRIPT = "<script>alert(1)</script>"


def test_reports_are_listed_in_the_users_language(api):
    zh = api.get("/reports", as_="rep_east").get_json()["reports"]
    en = api.get("/reports", as_="rep_east", headers={"Accept-Language": "en"}).get_json()
    keys = {r["key"] for r in zh}
    assert {"lead.sales_funnel", "opportunity.pipeline_by_stage"} <= keys
    funnel = next(r for r in en["reports"] if r["key"] == "lead.sales_funnel")
    assert funnel["label"].startswith("Sales funnel")
    assert funnel["run"] == "/api/v1/reports/lead.sales_funnel/run"
    one = api.get("/reports/lead.sales_funnel", as_="rep_east").get_json()["report"]
    assert [m["api_name"] for m in one["measures"]][:4] == [
        "leads",
        "accounts",
        "opportunities",
        "wins",
    ]
    assert api.get("/reports/lead.nothing").status_code == 404


def test_running_a_report_with_an_extra_filter_and_drilling_down(api, crm):
    account = crm.account("rep_east")["id"]
    crm.opportunity("rep_east", account, amount="50000")
    crm.opportunity(
        "rep_east", account, amount="500000", stage="negotiation", expected_close_date="2026-05-01"
    )
    everything = api.get("/reports/opportunity.pipeline_by_stage/run").get_json()["result"]
    assert everything["totals"]["values"]["deals"] == 2
    assert everything["totals"]["values"]["amount"] == "550000.00"  # money as exact text
    big = api.post(
        "/reports/opportunity.pipeline_by_stage/run", json={"filter": "amount >= 100000"}
    ).get_json()["result"]
    assert big["totals"]["values"]["deals"] == 1
    row = big["rows"][0]
    assert row["groups"]["stage"] == {"value": "negotiation", "label": "商务谈判"}
    listed = api.get(row["drill_down"]["url"] + "&total=true").get_json()
    assert listed["total"] == row["values"]["deals"] == 1
    bad = api.get("/reports/opportunity.pipeline_by_stage/run?filter=" + quote("amount >>> 1"))
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"][0]["field"] == "filter"


def test_a_report_defined_through_the_definitions_api_keeps_its_label_as_data(api):
    definition = {
        "label": {"zh-CN": SCRIPT, "en": SCRIPT},
        "group_by": [{"field": "status"}],
        "measures": [
            {"api_name": "leads", "label": {"zh-CN": SCRIPT, "en": "{{7*7}}"}, "function": "count"}
        ],
    }
    put = api.request("PUT", "/definitions/report/lead.hostile", json=definition, as_="admin")
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["applied"] is True
    listed = api.get("/reports", as_="admin").get_json()["reports"]
    hostile = next(r for r in listed if r["key"] == "lead.hostile")
    assert hostile["label"] == SCRIPT
    run = api.get("/reports/lead.hostile/run", as_="admin", headers={"Accept-Language": "en"})
    assert run.mimetype == "application/json"
    result = run.get_json()["result"]
    assert result["label"] == SCRIPT and result["measures"][0]["label"] == "{{7*7}}"
    stored = api.get("/definitions/report/lead.hostile", as_="admin").get_json()
    assert stored["definition"]["label"]["zh-CN"] == SCRIPT
    refused = api.request(
        "PUT",
        "/definitions/report/lead.broken",
        json={**definition, "group_by": [{"field": "nope"}]},
        as_="admin",
    )
    assert refused.status_code == 422
    pointers = [d["pointer"] for d in refused.get_json()["error"]["details"]]
    assert "report:lead.broken/group_by/0/field" in pointers
    assert api.request("PUT", "/definitions/report/lead.x", json=definition).status_code == 403


def test_dashboards_are_listed_and_run_with_chart_data(api):
    names = [d["name"] for d in api.get("/dashboards").get_json()["dashboards"]]
    assert {"sales", "management"} <= set(names)
    dashboard = api.get("/dashboards/sales/run", as_="manager").get_json()["dashboard"]
    funnel = next(w for w in dashboard["widgets"] if w["api_name"] == "funnel")
    assert funnel["error"] is None
    series = funnel["chart_data"]["option"]["series"][0]
    assert series["type"] == "funnel"
    assert [d["name"] for d in series["data"]] == ["线索", "客户", "商机", "赢单"]
    assert all("drill_down" in d for d in series["data"])
    assert api.get("/dashboards/nothing/run").status_code == 404
    custom = {
        "label": {"zh-CN": "我的看板", "en": "Mine"},
        "widgets": [
            {
                "api_name": "w",
                "report": "lead.sales_funnel",
                "chart": "kpi",
                "measures": ["win_rate"],
                "position": {"x": 0, "y": 0, "w": 3, "h": 2},
            }
        ],
    }
    put = api.request("PUT", "/definitions/dashboard/mine", json=custom, as_="admin")
    assert put.status_code == 200, put.get_json()
    mine = api.get("/dashboards/mine/run").get_json()["dashboard"]
    assert mine["widgets"][0]["chart_data"]["kpi"]["format"] == "percent"
