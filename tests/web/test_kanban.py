"""The kanban board: columns per picklist value with counts and sums, moves through the
records service (rules, approvals, rights and versions apply), and the no-JS move form."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

JSON = {"Accept": "application/json"}


def _opportunity(crm, who="rep_east", **values):
    account = crm.account(who)
    return crm.opportunity(who, account["id"], **values)


def _column(html: str, value: str) -> str:
    """The HTML of one column of the board."""
    found = re.search(
        rf'<section class="board-column" data-value="{value}".*?</section>', html, re.S
    )
    assert found, f"no column {value}"
    return found.group(0)


def _move(pages, record, value, *, json=True, field="stage", version=None):
    headers = JSON if json else {}
    return pages.post(
        f"/o/opportunity/{record['id']}/move",
        {"field": field, "value": value, "version": version or record["version"]},
        headers=headers,
    )


def test_the_board_has_a_column_per_stage_with_counts_and_sums(signed_in, crm):
    _opportunity(crm, opportunity_name="一期项目", amount=100000)
    _opportunity(crm, opportunity_name="二期项目", amount=250000, stage="proposal")
    _opportunity(crm, opportunity_name="三期项目", amount=50000, stage="proposal")
    _opportunity(crm, "rep_north", opportunity_name="北方项目", amount=999999, stage="proposal")

    page = signed_in.get("/o/opportunity/kanban")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    titles = re.findall(r'<section class="board-column" data-value="([a-z_]+)"', html)
    assert titles == [
        "initial_contact",
        "needs_confirmed",
        "proposal",
        "quote_approval",
        "negotiation",
        "won",
        "lost",
    ]
    proposal = _column(html, "proposal")
    assert "方案制定" in proposal  # the label in the page language
    assert "data-count>2<" in proposal
    assert "300,000.00" in proposal  # the sum of its amounts
    assert "二期项目" in proposal and "三期项目" in proposal
    assert "北方项目" not in html  # another rep's record is outside the scope
    assert "一期项目" in _column(html, "initial_contact")
    assert 'src="/vendor/Sortable.min.js"' in html


def test_the_list_filters_apply_to_the_board(signed_in, crm):
    _opportunity(crm, opportunity_name="华东改造", amount=100)
    _opportunity(crm, opportunity_name="西南扩建", amount=100)
    html = signed_in.get("/o/opportunity/kanban?view=&q=华东").get_data(as_text=True)
    assert "华东改造" in html and "西南扩建" not in html
    assert "data-count>1<" in _column(html, "initial_contact")


def test_leads_default_to_their_status_and_a_non_picklist_is_refused(signed_in, crm):
    crm.lead("rep_east", company_name="看板线索公司")
    html = signed_in.get("/o/lead/kanban").get_data(as_text=True)
    assert 'data-field="status"' in html and "看板线索公司" in _column(html, "new")
    refused = signed_in.get("/o/lead/kanban?field=company_name")
    assert refused.status_code == 400
    assert "company_name 不是此对象的选项列表字段" in refused.get_data(as_text=True)


def test_the_list_page_links_to_the_board(signed_in):
    html = signed_in.get("/o/opportunity").get_data(as_text=True)
    assert 'data-testid="list-kanban"' in html and "/o/opportunity/kanban" in html


def test_a_drag_moves_the_stage_through_the_records_service(signed_in, crm):
    record = _opportunity(crm, opportunity_name="拖动项目", amount=80000)
    assert crm.raw("opportunity", record["id"])["probability"] == 10

    moved = _move(signed_in, record, "proposal")
    assert moved.status_code == 200, moved.get_data(as_text=True)
    body = moved.get_json()
    row = crm.raw("opportunity", record["id"])
    assert row["stage"] == "proposal"
    assert row["probability"] == 40  # the stage's probability automation ran
    assert body["version"] == row["version"] > record["version"]
    counts = {c["value"]: c["count"] for c in body["columns"]}
    assert counts["proposal"] == 1 and counts["initial_contact"] == 0


def test_a_move_refused_by_a_rule_changes_nothing_and_shows_the_rule(signed_in, crm):
    record = _opportunity(crm, opportunity_name="输单项目")
    refused = _move(signed_in, record, "lost")
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "输单时必须填写输单原因"
    assert crm.raw("opportunity", record["id"])["stage"] == "initial_contact"

    # Without JavaScript: the board comes back with the message, the card where it was.
    page = _move(signed_in, record, "lost", json=False)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "输单时必须填写输单原因" in html
    assert "输单项目" in _column(html, "initial_contact")
    assert crm.raw("opportunity", record["id"])["stage"] == "initial_contact"


def test_the_move_form_works_without_javascript(signed_in, crm):
    record = _opportunity(crm, opportunity_name="表单项目")
    html = signed_in.get("/o/opportunity/kanban?view=&q=表单").get_data(as_text=True)
    action = re.search(rf'action="(/o/opportunity/{record["id"]}/move\?[^"]*)"', html).group(1)
    moved = signed_in.post(
        unescape(action),
        {"field": "stage", "value": "needs_confirmed", "version": record["version"]},
    )
    assert moved.status_code == 302
    back = moved.headers["Location"]
    assert back.startswith("/o/opportunity/kanban?") and "field=stage" in back
    assert crm.raw("opportunity", record["id"])["stage"] == "needs_confirmed"


def test_a_stale_card_is_refused(signed_in, crm):
    record = _opportunity(crm, opportunity_name="旧版本项目")
    crm.records.update(crm.ctx("rep_east"), "opportunity", record["id"], {"next_step": "拜访"})
    refused = _move(signed_in, record, "proposal")
    assert refused.status_code == 412
    assert "reload" in refused.get_json()["message"] or "刷新" in refused.get_json()["message"]
    assert crm.raw("opportunity", record["id"])["stage"] == "initial_contact"


def test_moving_another_reps_record_is_not_found(signed_in, crm):
    other = _opportunity(crm, "rep_north", opportunity_name="别人的项目")
    assert _move(signed_in, other, "proposal").status_code == 404
    assert _move(signed_in, other, "proposal", json=False).status_code == 404
    assert crm.raw("opportunity", other["id"])["stage"] == "initial_contact"


def test_a_record_locked_by_an_approval_does_not_move(signed_in, crm, app):
    record = _opportunity(
        crm,
        opportunity_name="审批中项目",
        amount=100000,
        expected_close_date=(dt.date.today() + dt.timedelta(days=30)).isoformat(),
    )
    rep = crm.ctx("rep_east")
    app.extensions["trellis"].flows.approvals.submit(rep, "opportunity", record["id"])
    fresh = crm.records.get(rep, "opportunity", record["id"])
    refused = _move(signed_in, fresh, "needs_confirmed")
    assert refused.status_code == 409
    assert "approval" in refused.get_json()["message"] or "审批" in refused.get_json()["message"]
    assert crm.raw("opportunity", record["id"])["stage"] == "initial_contact"


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "{{7*7}}"])
def test_names_show_literally_on_the_board(signed_in, crm, name):
    _opportunity(crm, opportunity_name=name)
    html = signed_in.get("/o/opportunity/kanban").get_data(as_text=True)
    if name.startswith("<"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)</script>" not in html
    else:
        assert "{{7*7}}" in html and ">49<" not in html
