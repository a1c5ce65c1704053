"""Pools pages (公海): members browse a pool, claim (领取) a record, and an owner releases
(退回公海) one from its record page; limits and membership refusals show plainly."""

from __future__ import annotations

import re
from html import unescape

import pytest

EAST = "/pools/lead/east_leads"


def text(response) -> str:
    return response.get_data(as_text=True)


def _browser(pages, username: str):
    """Another browser (its own cookies) signed in as ``username``."""
    other = type(pages)(pages.app)
    other.sign_in(username)
    return other


def _pooled(crm, name: str, who: str = "rep_east") -> dict:
    """A lead of ``who`` in the East China pool."""
    lead = crm.lead(who, company_name=name, region="east")
    crm.rt.flows.pools.move(crm.ctx(who), "lead", lead["id"], pool="east_leads")
    return lead


def _entry_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-record="(\d+)"', html)]


def _claim(browser, lead: dict):
    return browser.post(f"{EAST}/{lead['id']}/claim")


@pytest.fixture
def rep(signed_in):
    return signed_in


@pytest.fixture
def north(pages):
    return _browser(pages, "rep_north")


def test_a_rep_sees_the_pools_with_their_counts(rep, crm):
    _pooled(crm, "公海一"), _pooled(crm, "公海二")
    home = text(rep.get("/"))
    assert 'data-testid="tile-pools"' in home and 'data-testid="nav-pools"' in home
    html = text(rep.get("/pools"))
    row = re.search(r'<tr data-pool="lead.east_leads">(.*?)</tr>', html, re.S).group(1)
    assert "华东线索公海" in row and 'href="/pools/lead/east_leads"' in row
    assert 'data-testid="pool-count">2<' in row
    assert "0 / 20" in row  # claimed today of the daily limit
    assert 'data-pool="account.account_pool"' in html and 'data-pool="lead.north_leads"' in html


def test_a_rep_claims_a_lead_and_it_leaves_the_pool(rep, north, crm):
    lead, other = _pooled(crm, "可领取公司"), _pooled(crm, "另一家公司")
    page = text(north.get(EAST))
    assert _entry_ids(page) == [other["id"], lead["id"]]  # newest entry first
    assert re.search(r'data-testid="nav-pools"\s+aria-current="page"', page)
    row = re.search(rf'<tr data-record="{lead["id"]}">(.*?)</tr>', page, re.S).group(1)
    assert "可领取公司" in row and "华东销售代表" in row  # who had it before
    assert "移入公海" in row  # the reason
    assert 'aria-label="领取 可领取公司"' in row

    claimed = _claim(north, lead)
    assert claimed.status_code == 303 and claimed.headers["Location"] == EAST
    after = text(north.get(EAST))
    assert "已领取：可领取公司 现在归您了。" in after
    assert _entry_ids(after) == [other["id"]]
    mine = north.runtime.records.get(crm.ctx("rep_north"), "lead", lead["id"])
    assert mine["owner"] == crm.user_id("rep_north")
    assert text(north.get(f"/o/lead/{lead['id']}")).count("可领取公司") >= 1

    # Someone else was quicker: the page says so, without a stack trace.
    late = _claim(rep, lead)
    assert late.status_code == 409
    assert "已被他人先领取" in text(late)


def test_claiming_beyond_the_daily_limit_is_refused_plainly(north, crm):
    crm.rt.metadata.patch("admin", "pool:lead.east_leads", {"claims_per_day": 1})
    first, second = _pooled(crm, "第一家"), _pooled(crm, "第二家")
    assert _claim(north, first).status_code == 303
    refused = _claim(north, second)
    assert refused.status_code == 422
    html = text(refused)
    message = re.search(r'data-testid="pool-refusal">(.*?)</p>', html).group(1)
    assert message == "您今天已从此公海领取 1 条记录，已达每日上限：请明天再领取。"
    assert "Traceback" not in html
    assert _entry_ids(html) == [second["id"]]  # still in the pool, still offered
    assert crm.raw("lead", second["id"])["owner"] is None
    assert 'data-testid="pool-claimed-today">今日已领取：1 / 1<' in html


def test_a_user_not_a_member_gets_404(pages, crm):
    lead = _pooled(crm, "非成员公司")
    tech = _browser(pages, "tech_lead")
    assert tech.get(EAST).status_code == 404
    assert _claim(tech, lead).status_code == 404
    assert crm.raw("lead", lead["id"])["owner"] is None
    assert 'data-testid="no-pools"' in text(tech.get("/pools"))
    assert tech.get("/pools/lead/nowhere").status_code == 404


def test_the_owner_releases_from_the_record_page_and_another_rep_sees_it(rep, north, crm):
    lead = crm.lead("rep_east", company_name="退回公司", region="east")
    record_url = f"/o/lead/{lead['id']}"
    page = text(rep.get(record_url))
    assert 'data-testid="pool-release"' in page and "退回公海" in page
    assert 'value="east_leads"' in page
    # Not the owner: no release form; a forged post is refused.
    manager = _browser(rep, "manager")
    assert 'data-testid="pool-release"' not in text(manager.get(record_url))
    assert manager.post(f"{record_url}/release", {"pool": "east_leads"}).status_code == 403

    released = rep.post(f"{record_url}/release", {"pool": "east_leads"})
    assert released.status_code == 303 and released.headers["Location"] == EAST
    assert "已退回至 华东线索公海。" in text(rep.get(EAST))
    assert crm.raw("lead", lead["id"])["owner"] is None

    seen = text(north.get(EAST))
    row = re.search(rf'<tr data-record="{lead["id"]}">(.*?)</tr>', seen, re.S).group(1)
    assert "退回公司" in row and "华东销售代表" in row and "负责人退回" in row


def test_a_pool_that_does_not_take_the_record_is_refused_on_the_record_page(rep, crm):
    lead = crm.lead("rep_east", company_name="南方公司", region="south")
    url = f"/o/lead/{lead['id']}"
    refused = rep.post(f"{url}/release", {"pool": "north_leads"})
    assert refused.status_code == 303 and refused.headers["Location"] == url
    said = "未退回：华北线索公海 不接收此记录（其条件不满足）：请选择其他公海。"
    assert said in text(rep.get(url))
    assert crm.raw("lead", lead["id"])["owner"] == crm.user_id("rep_east")


def test_markup_in_names_shows_literally(north, crm):
    _pooled(crm, "<script>alert(1)</script>公司")
    html = text(north.get(EAST))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in html


def test_a_long_pool_pages_with_more(north, crm):
    leads = [_pooled(crm, f"分页公司{i}") for i in range(26)]
    first = text(north.get(EAST))
    assert len(_entry_ids(first)) == 25
    more = re.search(r'href="(\?cursor=[^"]+)" data-testid="pool-more"', first).group(1)
    second = text(north.get(EAST + unescape(more)))
    shown = _entry_ids(first) + _entry_ids(second)
    assert sorted(shown) == sorted(lead["id"] for lead in leads)
    assert 'data-testid="pool-more"' not in second
