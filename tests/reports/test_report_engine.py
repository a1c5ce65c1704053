"""Reports run as aggregate SQL with the viewer's scope, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from trellis.reports import list_reports, run_report
from trellis.runtime.errors import BadRequest, Forbidden, Invalid
from trellis.runtime.queries import ListRequest

L = {"zh-CN": "测试报表", "en": "Test report"}


def define_report(runtime, definition: dict) -> None:
    runtime.metadata.define("admin", "report", {"label": L, **definition})


def listed(crm, ctx, drill) -> int:
    """How many records the records list API lists for a drill-down descriptor."""
    assert drill.exact, drill
    page = crm.records.query(
        ctx, drill.object, ListRequest(filter=drill.filter, limit=1, total=True)
    )
    return page["total"]


def seed_funnel(crm, scale: int = 10) -> None:
    """Seed 000's funnel, 3000 → 1200 → 800 → 260, divided by ``scale`` (the ratios stay)."""
    ctx = crm.ctx("rep_east")
    leads, accounts, opportunities, wins = (n // scale for n in (3000, 1200, 800, 260))
    account_ids = crm.records.bulk_create(
        ctx, "account", [{"account_name": f"漏斗客户{i}有限公司"} for i in range(accounts)]
    )
    rows = []
    for i in range(leads):
        row = {"company_name": f"漏斗线索{i}", "mobile": f"138{i:08d}", "status": "working"}
        if i < accounts:  # converted: the lead keeps the account it became
            row.update(status="converted", converted_account=account_ids[i])
        rows.append(row)
    lead_ids = crm.records.bulk_create(ctx, "lead", rows)
    crm.records.bulk_create(
        ctx,
        "opportunity",
        [
            {
                "opportunity_name": f"漏斗商机{i}",
                "account": account_ids[i],
                "lead": lead_ids[i],  # as conversion links them
                "amount": "100000",
                **(
                    {"stage": "won", "expected_close_date": "2026-03-01"}
                    if i < wins
                    else {"stage": "proposal"}
                ),
            }
            for i in range(opportunities)
        ],
    )


def test_the_seed_funnel_gives_its_ratios(runtime, crm):
    seed_funnel(crm)
    ctx = crm.ctx("manager")
    result = run_report(runtime, ctx, "lead.sales_funnel")
    totals = result.totals
    assert [totals.values[m] for m in ("leads", "accounts", "opportunities", "wins")] == [
        300,
        120,
        80,
        26,
    ]
    # Seed 000: 800 of 3000 leads became opportunities (26.7%), 260 were won (8.7%).
    assert totals.display["opportunity_rate"] == "26.7%"
    assert totals.display["win_rate"] == "8.7%"
    assert str(totals.values["win_rate"]) == "0.0867"
    # The wins' drill-down lists exactly the 26 leads whose opportunity was won.
    assert listed(crm, ctx, totals.measure_drill_downs["wins"]) == 26
    assert listed(crm, ctx, totals.measure_drill_downs["opportunities"]) == 80


def test_time_buckets_by_month_and_quarter(runtime, crm):
    account = crm.account("rep_east")["id"]
    for day, amount in (("2026-01-15", 100), ("2026-02-03", 200), ("2026-04-30", 400)):
        crm.opportunity("rep_east", account, expected_close_date=day, amount=str(amount))
    for bucket in ("month", "quarter"):
        define_report(
            runtime,
            {
                "api_name": f"by_{bucket}",
                "object": "opportunity",
                "group_by": [
                    {"field": "expected_close_date", "bucket": bucket, "api_name": "when"}
                ],
                "measures": [
                    {"api_name": "deals", "label": L, "function": "count"},
                    {"api_name": "amount", "label": L, "function": "sum", "field": "amount"},
                ],
            },
        )
    ctx = crm.ctx("rep_east")
    months = run_report(runtime, ctx, "opportunity.by_month")
    assert [(r.groups["when"].value, r.values["amount"]) for r in months.rows] == [
        ("2026-01", 100),
        ("2026-02", 200),
        ("2026-04", 400),
    ]
    assert months.rows[0].groups["when"].label == "2026年1月"
    quarters = run_report(runtime, crm.ctx("rep_east", locale="en"), "opportunity.by_quarter")
    assert [(r.groups["when"].label, r.values["deals"]) for r in quarters.rows] == [
        ("2026-Q1", 2),
        ("2026-Q2", 1),
    ]
    for row in quarters.rows:
        assert listed(crm, ctx, row.drill_down) == row.values["deals"]


def test_datetime_buckets_use_the_viewers_time_zone(runtime, crm):
    # 16:30 UTC on 31 March is 00:30 on 1 April in Shanghai: an April lead there.
    crm.lead("rep_east", received_at="2026-03-31T16:30:00+00:00")
    crm.lead("rep_east", received_at="2026-03-31T15:30:00+00:00")  # 23:30 on 31 March
    define_report(
        runtime,
        {
            "api_name": "received",
            "object": "lead",
            "group_by": [{"field": "received_at", "bucket": "month", "api_name": "month"}],
            "measures": [{"api_name": "leads", "label": L, "function": "count"}],
        },
    )
    ctx = crm.ctx("rep_east")
    result = run_report(runtime, ctx, "lead.received")
    assert [(r.groups["month"].value, r.values["leads"]) for r in result.rows] == [
        ("2026-03", 1),
        ("2026-04", 1),
    ]
    for row in result.rows:  # cut in the viewer's zone, so drilled down by record ids
        assert listed(crm, ctx, row.drill_down) == 1


def test_a_rep_sees_own_figures_and_the_manager_the_team(runtime, crm):
    east = crm.account("rep_east")["id"]
    north = crm.account("rep_north")["id"]
    for _ in range(3):
        crm.opportunity("rep_east", east, amount="1000")
    crm.opportunity("manager", east, amount="5000")
    crm.opportunity("rep_north", north, amount="70000")
    key = "opportunity.pipeline_by_stage"
    rep = run_report(runtime, crm.ctx("rep_east"), key).totals
    manager = run_report(runtime, crm.ctx("manager"), key).totals
    vp = run_report(runtime, crm.ctx("vp"), key).totals
    assert (rep.values["deals"], rep.values["amount"]) == (3, 3000)
    assert (manager.values["deals"], manager.values["amount"]) == (4, 8000)
    assert (vp.values["deals"], vp.values["amount"]) == (5, 78000)
    by_rep = run_report(runtime, crm.ctx("manager"), "opportunity.pipeline_by_stage")
    assert sum(r.values["deals"] for r in by_rep.rows) == 4


def test_drill_down_lists_exactly_the_records_counted(runtime, crm):
    regions = ["east", "east", "north", "south", None]
    for i, region in enumerate(regions):
        account = crm.account("rep_east", **({"region": region} if region else {}))["id"]
        for stage in ("proposal", "negotiation", "won")[: i % 3 + 1]:
            extra = {"expected_close_date": "2026-05-01"} if stage != "proposal" else {}
            crm.opportunity("rep_east", account, stage=stage, amount="10", **extra)
    define_report(
        runtime,
        {
            "api_name": "by_region",
            "object": "opportunity",
            "filter": "amount > 0",
            "group_by": [{"field": "account.region"}, {"field": "stage"}],
            "measures": [
                {"api_name": "deals", "label": L, "function": "count"},
                {"api_name": "big", "label": L, "function": "count", "filter": "stage == 'won'"},
            ],
        },
    )
    ctx = crm.ctx("manager")
    result = run_report(runtime, ctx, "opportunity.by_region")
    assert sum(r.values["deals"] for r in result.rows) == 1 + 2 + 3 + 1 + 2
    assert {r.groups["account_region"].label for r in result.rows} == {
        "华东",
        "华北",
        "华南",
        "（空）",
    }
    for row in result.rows:
        assert listed(crm, ctx, row.drill_down) == row.values["deals"], row.drill_down
        assert listed(crm, ctx, row.measure_drill_downs["big"]) == row.values["big"]
    assert listed(crm, ctx, result.totals.drill_down) == result.totals.values["deals"]


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"group_by": [{"field": "colour"}]}, "/group_by/0/field", "not a field of opportunity"),
        (
            {"group_by": [{"field": "account.nothing"}]},
            "/group_by/0/field",
            "not a field of account",
        ),
        ({"group_by": [{"field": "stage", "bucket": "month"}]}, "/group_by/0/bucket", "date"),
        ({"group_by": [{"field": "competitors"}]}, "/group_by/0/field", "group by"),
        (
            {"measures": [{"api_name": "x", "label": L, "function": "sum", "field": "stage"}]},
            "/measures/0/field",
            "number field",
        ),
        ({"filter": "stge == 'won'"}, "/filter", "stge"),
        (
            {"measures": [{"api_name": "x", "label": L, "function": "ratio", "numerator": "y"}]},
            "/measures/0/numerator",
            "not another measure",
        ),
        (
            {"measures": [{"api_name": "x", "label": L, "function": "avg"}]},
            "/measures/0/field",
            "needs",
        ),
        ({"sort": [{"by": "nothing"}]}, "/sort/0/by", "not a group or measure"),
        (
            {
                "measures": [
                    {
                        "api_name": "x",
                        "label": L,
                        "function": "count",
                        "having": {"object": "quote", "via": "account"},
                    }
                ]
            },
            "/measures/0/having/via",
            "points to opportunity",
        ),
    ],
)
def test_invalid_reports_are_refused_with_the_place_named(runtime, change, pointer, words):
    definition = {
        "api_name": "broken",
        "object": "opportunity",
        "measures": [{"api_name": "deals", "label": L, "function": "count"}],
        **change,
    }
    with pytest.raises(Invalid) as caught:
        define_report(runtime, definition)
    details = caught.value.details
    found = [d for d in details if d["pointer"] == f"report:opportunity.broken{pointer}"]
    assert found, details
    assert words in found[0]["message"]
    with runtime.engine.connect() as conn:  # refused: nothing was stored
        assert "opportunity.broken" not in runtime.cache.get(conn).definitions.reports


def test_a_field_hidden_from_the_viewer_cannot_be_grouped_or_measured(runtime, crm):
    role = crm.pack_role("sales_rep")
    role["objects"]["opportunity"]["fields"] = {"amount": "hidden"}
    runtime.metadata.define("admin", "role", role)
    key = "opportunity.pipeline_by_stage"  # sums the amount
    with pytest.raises(Forbidden) as caught:
        run_report(runtime, crm.ctx("rep_east"), key)
    assert "opportunity.amount" in caught.value.message
    assert key not in {r["key"] for r in list_reports(runtime, crm.ctx("rep_east"))}
    assert key in {r["key"] for r in list_reports(runtime, crm.ctx("manager"))}
    run_report(runtime, crm.ctx("manager"), key)  # the manager's role does not hide it
    define_report(
        runtime,
        {
            "api_name": "deals_by_stage",
            "object": "opportunity",
            "group_by": [{"field": "stage"}],
            "measures": [{"api_name": "deals", "label": L, "function": "count"}],
        },
    )
    run_report(runtime, crm.ctx("rep_east"), "opportunity.deals_by_stage")  # no amount: runs
    with pytest.raises(BadRequest):  # but the rep may not filter on the hidden field
        run_report(runtime, crm.ctx("rep_east"), "opportunity.deals_by_stage", "amount > 5")


def test_a_dashboard_naming_a_missing_report_is_refused(runtime):
    with pytest.raises(Invalid) as caught:
        runtime.metadata.define(
            "admin",
            "dashboard",
            {
                "api_name": "broken",
                "label": L,
                "widgets": [{"api_name": "w", "report": "lead.nothing", "chart": "bar"}],
            },
        )
    assert caught.value.details[0]["pointer"] == "dashboard:broken/widgets/0/report"
    assert "no report 'lead.nothing'" in caught.value.details[0]["message"]


def test_every_shipped_report_and_dashboard_runs_on_the_demo_data(runtime, crm, demo_records):
    ctx = crm.ctx("admin", now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    with runtime.engine.connect() as conn:
        reports = sorted(runtime.cache.get(conn).definitions.reports)
    assert len(reports) >= 14
    for key in reports:
        result = run_report(runtime, ctx, key)
        assert result.totals.values, key
    funnel = run_report(runtime, ctx, "lead.sales_funnel").totals.values
    assert funnel["leads"] > 0 and funnel["accounts"] > 0
    from trellis.reports import run_dashboard

    for name in ("sales", "management"):
        dashboard = run_dashboard(runtime, ctx, name)
        assert [w.error for w in dashboard.widgets] == [None] * len(dashboard.widgets)
        assert all(w.chart_data for w in dashboard.widgets)
    rep = run_dashboard(runtime, crm.ctx("rep_east"), "sales")
    assert rep.widgets[0].chart_data["option"]["series"][0]["type"] == "funnel"
