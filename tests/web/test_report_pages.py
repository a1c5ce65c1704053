"""Report pages as sales people use them: the reports they may run, figures for their own
records, drill-down links to exactly the records behind a figure, the extra filter, time
buckets, CSV downloads, and record text shown literally in tables and chart data."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from urllib.parse import quote

import pytest

SCRIPT = "<script>alert(1)</script>"


def text(response) -> str:
    return response.get_data(as_text=True)


def link(page: str, label: str) -> str:
    """The href of the link whose text is ``label``."""
    found = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(label) + "</a>", page)
    assert found, f"no link {label!r}"
    return unescape(found.group(1))


def row_of(page: str, label: str) -> str:
    """The table row (<tr>…</tr>) that starts with ``label``."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if f">{label}<" in row:
            return row
    raise AssertionError(f"no row {label!r}")


def figures(row: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r'class="num">(.*?)</td>', row)]


def chart_json(page: str, block_id: str = "chart-data-report") -> tuple[str, dict]:
    found = re.search(
        r'<script type="application/json" id="' + block_id + r'">(.*?)</script>', page, re.S
    )
    assert found, f"no chart data {block_id}"
    return found.group(1), json.loads(found.group(1))


def listed(pages, href: str) -> str:
    page = text(pages.get(href))
    return re.search(r'data-testid="list-count">([^<]*)<', page).group(1), page


def test_the_reports_page_lists_what_the_user_may_run_by_object(pages):
    pages.sign_in("rep_east")
    page = text(pages.get("/reports"))
    assert "<h2>线索</h2>" in page and "<h2>商机</h2>" in page
    assert 'href="/reports/lead.sales_funnel"' in page
    assert "销售漏斗：线索→客户→商机→赢单" in page
    pages.post("/language", {"locale": "en", "next": "/reports"})
    assert "Sales funnel: leads → accounts → opportunities → wins" in text(pages.get("/reports"))
    marketing = type(pages)(pages.app)
    marketing.sign_in("marketing")
    theirs = text(marketing.get("/reports"))
    assert "lead.sales_funnel" in theirs and "opportunity.pipeline_by_stage" not in theirs


def test_a_report_shows_the_users_figures_and_each_row_drills_down_to_its_records(pages, crm):
    account = crm.account("rep_east")["id"]
    for name, amount in (("方案甲", "100000"), ("方案乙", "200000")):
        crm.opportunity("rep_east", account, opportunity_name=name, stage="proposal", amount=amount)
    crm.opportunity(
        "rep_east",
        account,
        opportunity_name="谈判丙",
        stage="negotiation",
        amount="500000",
        expected_close_date="2026-05-01",
    )
    north = crm.account("rep_north")["id"]
    crm.opportunity("rep_north", north, opportunity_name="北方丁", stage="proposal", amount="7")
    pages.sign_in("rep_east")
    page = text(pages.get("/reports/opportunity.pipeline_by_stage"))
    assert "商机阶段分布" in page
    assert figures(row_of(page, "方案制定"))[:2] == ["2", "300,000.00"]
    assert figures(row_of(page, "商务谈判"))[:2] == ["1", "500,000.00"]
    totals = re.search(r'data-testid="report-totals">(.*?)</tr>', page, re.S).group(1)
    assert figures(totals)[:2] == ["3", "800,000.00"]  # rep_north's deal is not the rep's
    href = link(page, "方案制定")
    assert href.startswith("/o/opportunity?view=&filter=")
    count, records = listed(pages, href)
    assert count == "共 2 条记录"
    assert "方案甲" in records and "方案乙" in records
    assert "谈判丙" not in records and "北方丁" not in records
    # The manager's report of the same stage counts the team, and the link lists them all.
    manager = type(pages)(pages.app)
    manager.sign_in("manager")
    theirs = text(manager.get("/reports/opportunity.pipeline_by_stage"))
    assert figures(row_of(theirs, "方案制定"))[0] == "2"
    vp = type(pages)(pages.app)
    vp.sign_in("vp")
    everyone = text(vp.get("/reports/opportunity.pipeline_by_stage"))
    assert figures(row_of(everyone, "方案制定"))[0] == "3"
    assert "北方丁" in listed(vp, link(everyone, "方案制定"))[1]


def test_an_extra_filter_narrows_the_report_and_a_bad_one_says_why(pages, crm):
    account = crm.account("rep_east")["id"]
    crm.opportunity("rep_east", account, stage="proposal", amount="100000")
    crm.opportunity("rep_east", account, stage="proposal", amount="300000")
    pages.sign_in("rep_east")
    url = "/reports/opportunity.pipeline_by_stage?filter=" + quote("amount >= 150000")
    page = text(pages.get(url))
    assert figures(row_of(page, "方案制定"))[:2] == ["1", "300,000.00"]
    assert 'value="amount &gt;= 150000"' in page  # the box keeps what was typed
    count, _records = listed(pages, link(page, "方案制定"))
    assert count == "共 1 条记录"
    bad = pages.get("/reports/opportunity.pipeline_by_stage?filter=" + quote("amount >>> 1"))
    assert bad.status_code == 200
    shown = text(bad)
    error = re.search(r'data-testid="report-error">([^<]*)<', shown).group(1)
    assert "the filter is not valid" in error
    assert 'data-testid="report-table"' not in shown
    unknown = pages.get("/reports/opportunity.pipeline_by_stage?filter=" + quote("nothing == 1"))
    assert unknown.status_code == 200 and 'data-testid="report-error"' in text(unknown)


def test_a_report_on_an_object_the_user_cannot_read_is_not_found(pages):
    pages.sign_in("marketing")  # marketing reads no opportunities
    for url in (
        "/reports/opportunity.pipeline_by_stage",
        "/reports/opportunity.pipeline_by_stage/result.csv",
        "/reports/lead.no_such_report",
    ):
        response = pages.get(url)
        assert response.status_code == 404, url
        assert "商机阶段分布" not in text(response)
    assert pages.get("/reports/lead.sales_funnel").status_code == 200


def seed_funnel(crm, scale: int = 20) -> None:
    """Seed 000's funnel, 3000 → 1200 → 800 → 260, divided by ``scale`` (the ratios stay)."""
    ctx = crm.ctx("rep_east")
    leads, accounts, opportunities, wins = (n // scale for n in (3000, 1200, 800, 260))
    account_ids = crm.records.bulk_create(
        ctx, "account", [{"account_name": f"漏斗客户{i}"} for i in range(accounts)]
    )
    rows = []
    for i in range(leads):
        row = {"company_name": f"漏斗线索{i}", "mobile": f"138{i:08d}", "status": "working"}
        if i < accounts:
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
                "lead": lead_ids[i],
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


def test_the_funnel_reads_its_conversion_rates_and_each_stage_drills_down(pages, crm):
    seed_funnel(crm)
    pages.sign_in("manager")
    page = text(pages.get("/reports/lead.sales_funnel"))
    totals = figures(re.search(r'data-testid="report-totals">(.*?)</tr>', page, re.S).group(1))
    assert totals == ["150", "60", "40", "13", "26.7%", "8.7%"]
    raw, spec = chart_json(page)
    assert 'data-testid="chart-lead.sales_funnel"' in page
    assert 'data-chart="chart-data-report"' in page
    stages = spec["option"]["series"][0]["data"]
    assert spec["chart"] == "funnel"
    assert [(s["name"], s["value"]) for s in stages] == [
        ("线索", 150),
        ("客户", 60),
        ("商机", 40),
        ("赢单", 13),
    ]
    assert [s["share"] for s in stages] == ["100.0%", "40.0%", "26.7%", "8.7%"]
    assert all(s["href"].startswith("/o/lead?view=") for s in stages)
    wins = stages[3]["href"]
    assert wins == link(page, "13")  # the table's figure and the chart's segment agree
    assert listed(pages, wins)[0] == "共 13 条记录"
    assert listed(pages, stages[2]["href"])[0] == "共 40 条记录"
    assert listed(pages, stages[1]["href"])[0] == "共 60 条记录"


def test_a_time_bucket_can_be_recut_and_its_drill_down_is_the_date_range(pages, crm):
    account = crm.account("rep_east")["id"]
    for day, name in (("2026-05-03", "五月商机"), ("2026-06-20", "六月商机")):
        crm.opportunity(
            "rep_east",
            account,
            opportunity_name=name,
            stage="proposal",
            amount="1000",
            expected_close_date=day,
        )
    crm.opportunity(
        "rep_east", account, opportunity_name="九月商机", stage="proposal",
        amount="1000", expected_close_date="2026-09-01",
    )  # fmt: skip
    pages.sign_in("rep_east")
    monthly = text(pages.get("/reports/opportunity.pipeline_by_close_month"))
    assert '<option value="month" selected>月</option>' in monthly
    assert figures(row_of(monthly, "2026年5月"))[0] == "1"
    quarterly = text(pages.get("/reports/opportunity.pipeline_by_close_month?bucket=quarter"))
    assert '<option value="quarter" selected>季度</option>' in quarterly
    assert figures(row_of(quarterly, "2026年第2季度"))[0] == "2"
    count, records = listed(pages, link(quarterly, "2026年第2季度"))
    assert count == "共 2 条记录"
    assert "五月商机" in records and "六月商机" in records and "九月商机" not in records
    assert (
        pages.get("/reports/opportunity.pipeline_by_close_month?bucket=decade").status_code == 400
    )
    # A report without a time bucket offers no choice.
    assert 'name="bucket"' not in text(pages.get("/reports/opportunity.pipeline_by_stage"))


def campaign_with_leads(crm, name: str, leads: int) -> int:
    campaign = crm.records.create(crm.ctx("admin"), "campaign", {"campaign_name": name}).record
    for _ in range(leads):
        crm.lead("rep_east", campaign=campaign["id"])
    return campaign["id"]


def test_the_result_downloads_as_csv_with_numbers_and_neutralised_text(pages, crm):
    campaign_with_leads(crm, '=HYPERLINK("http://x")', 2)
    campaign_with_leads(crm, "春季展会", 1)
    pages.sign_in("rep_east")
    response = pages.get("/reports/lead.funnel_by_campaign/result.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="lead.funnel_by_campaign.csv"' in response.headers["Content-Disposition"]
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert lines[0][:2] == ["市场活动", "线索"] and lines[0][-1] == "赢单率 (%)"
    assert ['\'=HYPERLINK("http://x")', "2"] in [line[:2] for line in lines]  # never a formula
    assert ["春季展会", "1"] in [line[:2] for line in lines]
    assert lines[-1][:2] == ["合计", "3"]
    page = text(pages.get("/reports/lead.funnel_by_campaign"))
    assert 'href="/reports/lead.funnel_by_campaign/result.csv?' in page


@pytest.mark.parametrize("name", [SCRIPT, "{{7*7}}"])
def test_record_text_shows_literally_in_the_table_and_the_chart_data(pages, crm, name):
    campaign_with_leads(crm, name, 2)
    pages.sign_in("rep_east")
    page = text(pages.get("/reports/lead.funnel_by_campaign"))
    assert "<script>alert(1)" not in page and ">49<" not in page
    assert name.replace("<", "&lt;").replace(">", "&gt;") in page
    raw, spec = chart_json(page)
    assert "</script" not in raw and "<script" not in raw  # tojson escapes < and >
    assert name in spec["option"]["xAxis"]["data"]
    assert figures(row_of(page, name.replace("<", "&lt;").replace(">", "&gt;")))[0] == "2"


def test_the_navigation_leads_to_reports_and_dashboards(pages):
    pages.sign_in("rep_east")
    home = text(pages.get("/"))
    assert 'data-testid="tile-reports"' in home and 'href="/reports"' in home
    assert 'data-testid="tile-dashboards"' in home and 'href="/dashboards"' in home
    assert re.search(r'href="/reports"[^>]*aria-current="page">报表<', text(pages.get("/reports")))
