"""Forms for reports and dashboards in the admin area (issue 6, §1), on SQLite and PostgreSQL.

An administrator builds a report in the form, previews its figures for data the test creates
before saving, saves it and finds the same figures on /reports; a dashboard arranges reports as
tiles whose order shows on /dashboards/<name>. Invalid input is refused at its control with
nothing written; anyone else finds no such page.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from trellis.metadata import store


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _error(html: str, control: str) -> list[str]:
    return re.findall(rf'data-testid="error-{control}">(.*?)</p>', html)


def _version(pages) -> int:
    with pages.runtime.engine.connect() as conn:
        return store.current_version(conn)


def _rows(html: str, testid: str = "report-table") -> list[list[str]]:
    """The cells of a result table as text, totals last."""
    table = re.search(rf'data-testid="{testid}">(.*?)</table>', html, re.S).group(1)
    body = table.split("</thead>", 1)[1]
    out = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return out


BY_REGION = {
    "object": "lead",
    "label_zh": "测试线索按区域",
    "label_en": "Test leads by region",
    "api_name": "test_by_region",
    "active": "on",
    "chart": "bar",
    "filter": "contact_name == '报表测试'",
    "groups-0-field": "region",
    "measures-0-api_name": "leads",
    "measures-0-label_zh": "线索",
    "measures-0-label_en": "Leads",
    "measures-0-function": "count",
    "measures-1-api_name": "amount",
    "measures-1-label_zh": "预计金额",
    "measures-1-label_en": "Estimated amount",
    "measures-1-function": "sum",
    "measures-1-field": "estimated_amount",
    "sort-0-by": "leads",
    "sort-0-direction": "desc",
}


def _test_leads(crm) -> None:
    for region, amount in (("east", 100), ("east", 200), ("north", 50)):
        crm.lead("rep_east", contact_name="报表测试", region=region, estimated_amount=amount)


def test_the_reports_list_and_a_pack_report_in_the_form(admin):
    html = _text(admin.get("/admin/reports"))
    row = re.search(r'<tr data-key="lead.sales_funnel">(.*?)</tr>', html, re.S).group(1)
    assert "crm_standard@" in row and 'data-testid="admin-tab-reports"' in html
    form = _text(admin.get("/admin/reports/lead.sales_funnel"))
    assert form.count('data-testid="measure"') > 4
    assert '<option value="opportunity.lead" selected>' in form  # having: opportunities via lead
    assert 'href="/reports/lead.sales_funnel"' in form


def test_a_new_report_previews_then_shows_its_figures_on_the_reports_page(admin, crm):
    _test_leads(crm)
    chooser = _text(admin.get("/admin/reports/new?object=lead"))
    assert '<option value="account.region">' not in chooser  # leads have no account lookup
    assert '<option value="campaign.channel">' in chooser or "campaign." in chooser
    before = _version(admin)
    preview = admin.post("/admin/reports/preview", BY_REGION)
    assert preview.status_code == 200, _text(preview)[:3000]
    html = _text(preview)
    assert 'data-testid="preview"' in html
    rows = _rows(html)
    assert rows[0][1:] == ["2", "300.00"] and rows[1][1:] == ["1", "50.00"]
    assert rows[-1][1:] == ["3", "350.00"]  # totals
    assert (
        _version(admin) == before
        and "lead.test_by_region"
        not in admin.runtime.cache.get(admin.runtime.engine.connect()).definitions.reports
    )

    saved = admin.post("/admin/reports/save", BY_REGION)
    assert saved.status_code == 302, _text(saved)[:3000]
    page = _text(admin.get("/reports/lead.test_by_region"))
    assert _rows(page) == rows
    assert "测试线索按区域" in _text(admin.get("/reports"))

    # Edit: count only the east leads with a measure filter, by month of creation too.
    edited = {
        **BY_REGION,
        "key": "lead.test_by_region",
        "measures-0-filter": "region == 'east'",
        "groups-1-field": "created_at",
        "groups-1-bucket": "month",
    }
    assert admin.post("/admin/reports/save", edited).status_code == 302
    stored = admin.runtime.metadata.definition("report", "lead.test_by_region")
    assert stored["group_by"] == [{"field": "region"}, {"field": "created_at", "bucket": "month"}]
    assert stored["measures"][0]["filter"] == "region == 'east'"
    totals = _rows(_text(admin.get("/reports/lead.test_by_region")))[-1]
    assert totals[2:] == ["2", "350.00"]


def test_an_invalid_report_is_refused_at_its_control_and_nothing_is_written(admin):
    before = _version(admin)
    bad = {**BY_REGION, "groups-0-bucket": "month"}  # region is a picklist
    for url in ("/admin/reports/save", "/admin/reports/preview"):
        refused = admin.post(url, bad)
        assert refused.status_code == 422
        html = _text(refused)
        assert "picklist" in " ".join(_error(html, "groups-0-bucket"))
        assert 'data-testid="preview"' not in html
    ratio = {
        **BY_REGION,
        "measures-1-function": "ratio",
        "measures-1-numerator": "leads",
        "measures-1-denominator": "nothing",
    }
    refused = admin.post("/admin/reports/save", ratio)
    assert refused.status_code == 422 and _error(_text(refused), "measures-1-denominator")
    assert _version(admin) == before
    assert admin.get("/admin/reports/lead.test_by_region").status_code == 404


# -- dashboards --------------------------------------------------------------------------------

DASHBOARD = {
    "label_zh": "测试看板",
    "label_en": "Test dashboard",
    "api_name": "test_board",
    "columns": "12",
    "tiles-0-api_name": "funnel",
    "tiles-0-report": "lead.sales_funnel",
    "tiles-0-chart": "funnel",
    "tiles-0-w": "6",
    "tiles-0-h": "4",
    "tiles-1-api_name": "win_rate",
    "tiles-1-report": "lead.sales_funnel",
    "tiles-1-chart": "kpi",
    "tiles-1-measures": ["lead.sales_funnel:win_rate"],
    "tiles-1-title_zh": "赢单率",
    "tiles-1-title_en": "Win rate",
    "tiles-1-w": "3",
    "tiles-1-h": "2",
}


def _tile_order(html: str) -> list[str]:
    return re.findall(r'data-testid="widget-([a-z0-9_]+)"', html)


def test_a_dashboard_built_in_the_form_shows_its_tiles_in_order(admin):
    html = _text(admin.get("/admin/dashboards"))
    assert 'data-key="sales"' in html and "crm_standard@" in html
    form = _text(admin.get("/admin/dashboards/sales"))
    assert 'href="/dashboards/sales"' in form and "data-sortable" in form

    saved = admin.post("/admin/dashboards/save", DASHBOARD)
    assert saved.status_code == 302, _text(saved)[:3000]
    stored = admin.runtime.metadata.definition("dashboard", "test_board")
    assert [w["api_name"] for w in stored["widgets"]] == ["funnel", "win_rate"]
    assert stored["widgets"][1]["measures"] == ["win_rate"]
    assert stored["widgets"][1]["position"] == {"x": 6, "y": 0, "w": 3, "h": 2}
    assert _tile_order(_text(admin.get("/dashboards/test_board"))) == ["funnel", "win_rate"]

    # Dragging the KPI card first: the form posts the tiles in the new order.
    swapped = {}
    for name, value in DASHBOARD.items():
        name = name.replace("tiles-0-", "tiles-x-").replace("tiles-1-", "tiles-0-")
        swapped[name.replace("tiles-x-", "tiles-1-")] = value
    swapped["key"] = "test_board"
    assert admin.post("/admin/dashboards/save", swapped).status_code == 302
    page = _text(admin.get("/dashboards/test_board"))
    assert _tile_order(page) == ["win_rate", "funnel"]
    assert "赢单率" in page


def test_an_invalid_dashboard_is_refused_at_the_tile(admin):
    before = _version(admin)
    bad = {**DASHBOARD, "tiles-1-report": "lead.nothing_here"}
    refused = admin.post("/admin/dashboards/save", bad)
    assert refused.status_code == 422
    assert _error(_text(refused), "tiles-1-report")
    assert _version(admin) == before
    assert admin.get("/dashboards/test_board").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/admin/reports",
        "/admin/reports/lead.sales_funnel",
        "/admin/dashboards",
        "/admin/dashboards/sales",
    ],
)
def test_non_admins_find_no_report_forms(pages, url):
    pages.sign_in("manager")
    assert pages.get(url).status_code == 404
    assert pages.post("/admin/reports/preview", BY_REGION).status_code == 404
