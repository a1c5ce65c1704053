"""Dashboard pages: each viewer's own figures in KPI cards and charts, chart data embedded
for charts.js (record text kept as data), tables, and widgets a viewer may not see."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

SCRIPT = "<script>alert(1)</script>"


def text(response) -> str:
    return response.get_data(as_text=True)


def charts(page: str) -> dict[str, tuple[str, dict]]:
    """Every chart's JSON block by widget: (the raw text inside the block, the data)."""
    found = re.findall(
        r'<script type="application/json" id="chart-data-([a-z0-9_]+)">(.*?)</script>', page, re.S
    )
    return {name: (raw, json.loads(raw)) for name, raw in found}


def kpi(page: str, widget: str) -> str:
    block = re.search(r'data-testid="kpi-' + widget + r'">(.*?)</div>', page, re.S).group(1)
    value = re.search(r'class="kpi-value">(.*?)</p>', block, re.S).group(1)
    return unescape(re.sub(r"<[^>]+>", "", value)).strip()


def signed_in_as(pages, username: str):
    other = type(pages)(pages.app)
    other.sign_in(username)
    return other


def test_the_dashboards_page_lists_the_dashboards(pages):
    pages.sign_in("rep_east")
    page = text(pages.get("/dashboards"))
    assert 'href="/dashboards/sales"' in page and "销售看板" in page
    assert 'href="/dashboards/management"' in page
    assert pages.get("/dashboards/nothing").status_code == 404


def test_each_viewer_sees_the_dashboard_of_their_own_data_scope(pages, crm):
    account = crm.account("rep_east")["id"]
    mine = [crm.lead("rep_east")["id"] for _ in range(2)]
    for _ in range(3):
        crm.lead("manager")
    crm.lead("rep_north")  # another team: in neither view
    crm.opportunity("rep_east", account, lead=mine[0], stage="proposal", amount="100000")
    rep = signed_in_as(pages, "rep_east")
    manager = signed_in_as(pages, "manager")
    rep_page, manager_page = (
        text(rep.get("/dashboards/sales")),
        text(manager.get("/dashboards/sales")),
    )
    assert kpi(rep_page, "opportunity_rate") == "50.0%"  # 1 of the rep's 2 leads
    assert kpi(manager_page, "opportunity_rate") == "20.0%"  # 1 of the team's 5
    rep_funnel = charts(rep_page)["funnel"][1]["option"]["series"][0]["data"]
    manager_funnel = charts(manager_page)["funnel"][1]["option"]["series"][0]["data"]
    assert [s["value"] for s in rep_funnel] == [2, 0, 1, 0]
    assert [s["value"] for s in manager_funnel] == [5, 0, 1, 0]
    # The KPI links to the records behind it, in the viewer's scope.
    href = unescape(re.search(r'data-testid="kpi-win_rate">.*?href="([^"]+)"', rep_page, re.S)[1])
    assert href.startswith("/o/lead?view=")
    leads = text(rep.get(rep_funnel[0]["href"]))
    assert re.search(r'data-testid="list-count">共 2 条记录<', leads)


def test_every_widget_of_the_sales_dashboard_is_drawn_placed_and_linked(pages, crm):
    account = crm.account("rep_east")["id"]
    crm.opportunity(
        "rep_east", account, stage="won", amount="80000", expected_close_date="2026-03-01"
    )
    crm.opportunity(
        "rep_east", account, stage="negotiation", amount="20000", expected_close_date="2026-05-01"
    )
    pages.sign_in("rep_east")
    page = text(pages.get("/dashboards/sales"))
    drawn = charts(page)
    assert set(drawn) == {"funnel", "pipeline", "forecast", "close_month", "ranking"}
    assert {spec["chart"] for _raw, spec in drawn.values()} == {"funnel", "line", "bar"}
    for report in (
        "lead.sales_funnel",
        "opportunity.pipeline_by_stage",
        "opportunity.forecast",
        "opportunity.pipeline_by_close_month",
        "payment.per_capita_ranking",
    ):
        assert f'data-testid="chart-{report}"' in page
    assert 'src="/vendor/echarts.min.js"' in page and "/static/charts.js" in page
    assert re.search(
        r'data-testid="widget-funnel"\s+data-x="0" data-y="0" data-w="6" data-h="4"', page
    )
    close = drawn["close_month"][1]["option"]
    assert close["xAxis"]["data"] == ["2026年5月"]
    assert close["series"][0]["data"][0]["text"] == "20,000.00"
    # The win-rate table: one row per rep, the name linking to the rep's closed deals.
    table = re.search(r'data-testid="widget-reps".*?</table>', page, re.S).group(0)
    rep_link = unescape(re.search(r'<td data-label="[^"]*"><a href="([^"]+)">', table)[1])
    assert "100.0%" in table
    assert re.search(r'data-testid="list-count">共 1 条记录<', text(pages.get(rep_link)))
    # No inline code or style anywhere (the CSP would refuse it).
    assert "style=" not in page and "onclick" not in page
    assert not re.search(r"<script(?![^>]*(src=|type=\"application/json\"))", page)


def test_a_widget_the_viewer_may_not_see_says_so_and_the_rest_still_shows(pages, crm):
    crm.lead("rep_east")
    pages.sign_in("marketing")  # reads leads but no opportunities
    response = pages.get("/dashboards/sales")
    assert response.status_code == 200
    page = text(response)
    pipeline = re.search(r'data-testid="widget-pipeline".*?</section>', page, re.S).group(0)
    assert "你无权查看此报表。" in pipeline and "data-chart" not in pipeline
    assert "funnel" in charts(page)


@pytest.mark.parametrize("name", [SCRIPT, "{{7*7}}"])
def test_record_text_and_titles_stay_text_in_the_embedded_chart_data(pages, crm, name):
    campaign = crm.records.create(crm.ctx("admin"), "campaign", {"campaign_name": name}).record
    for _ in range(3):
        crm.lead("rep_east", campaign=campaign["id"])
    crm.lead("rep_east")
    widget = {"report": "lead.funnel_by_campaign", "title": {"zh-CN": name, "en": name}}
    crm.rt.metadata.define(
        "admin",
        "dashboard",
        {
            "api_name": "hostile",
            "label": {"zh-CN": name, "en": name},
            "widgets": [
                {**widget, "api_name": "pie", "chart": "pie", "measures": ["leads"],
                 "position": {"x": 0, "y": 0, "w": 6, "h": 4}},
                {**widget, "api_name": "bars", "chart": "bar", "measures": ["leads"],
                 "position": {"x": 6, "y": 0, "w": 6, "h": 4}},
                {**widget, "api_name": "kpi", "chart": "kpi", "measures": ["leads"],
                 "position": {"x": 0, "y": 4, "w": 3, "h": 2}},
            ],
        },
    )  # fmt: skip
    pages.sign_in("rep_east")
    page = text(pages.get("/dashboards/hostile"))
    assert "<script>alert(1)" not in page and ">49<" not in page
    assert f"<h1>{name.replace('<', '&lt;').replace('>', '&gt;')}</h1>" in page
    drawn = charts(page)
    assert set(drawn) == {"pie", "bars"}
    for raw, _spec in drawn.values():
        assert "</script" not in raw and "<" not in raw and ">" not in raw
    slices = drawn["pie"][1]["option"]["series"][0]["data"]
    assert {(s["name"], s["value"]) for s in slices} == {(name, 3), ("（空）", 1)}
    assert name in drawn["bars"][1]["option"]["xAxis"]["data"]
    assert kpi(page, "kpi") == "4"
