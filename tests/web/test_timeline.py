"""The follow-up timeline on record pages: the follow-ups linked to this record, newest
first, within the viewer's scope, with an "add" link that opens a prefilled form."""

from __future__ import annotations

import re


def text(response) -> str:
    return response.get_data(as_text=True)


def _timeline(page: str) -> str:
    return re.search(r'data-testid="timeline">(.*?)</section>', page, re.S).group(1)


def test_a_leads_follow_ups_show_newest_first_with_an_add_link(signed_in, crm):
    lead = crm.lead("rep_east", company_name="时间线公司")
    other = crm.lead("rep_east", company_name="别的线索")
    crm.follow_up(
        "rep_east",
        lead=lead["id"],
        subject="首次电话",
        occurred_at="2026-03-01T09:00:00",
        note="客户对密封胶感兴趣",
    )
    crm.follow_up(
        "rep_east",
        lead=lead["id"],
        subject="上门拜访",
        occurred_at="2026-03-05T14:30:00",
        follow_up_type="visit",
    )
    crm.follow_up("rep_east", lead=other["id"], subject="别的跟进")

    timeline = _timeline(text(signed_in.get(f"/o/lead/{lead['id']}")))
    assert timeline.index("上门拜访") < timeline.index("首次电话")
    assert "别的跟进" not in timeline
    assert "客户对密封胶感兴趣" in timeline and "拜访" in timeline
    assert "2026-03-05 14:30" in timeline
    assert "(2)" in timeline
    add = re.search(r'href="([^"]+)" data-testid="timeline-add"', timeline).group(1)
    assert add == f"/o/follow_up/new?lead={lead['id']}"
    form = text(signed_in.get(add))
    assert f'name="lead" value="{lead["id"]}" checked' in form


def test_an_accounts_timeline_and_the_viewers_scope(signed_in, crm):
    account = crm.account("rep_east", account_name="范围客户")
    crm.follow_up("rep_east", account=account["id"], subject="我的跟进")
    theirs = crm.follow_up("admin", account=account["id"], subject="别人的跟进")
    crm.records.transfer(crm.ctx("admin"), "follow_up", theirs["id"], crm.user_id("rep_north"))
    timeline = _timeline(text(signed_in.get(f"/o/account/{account['id']}")))
    assert "我的跟进" in timeline
    assert "别人的跟进" not in timeline
    assert f"/o/follow_up/new?account={account['id']}" in timeline


def test_an_empty_timeline_and_markup_in_subjects(signed_in, crm):
    lead = crm.lead("rep_east")
    assert "还没有跟进记录" in _timeline(text(signed_in.get(f"/o/lead/{lead['id']}")))
    crm.follow_up("rep_east", lead=lead["id"], subject="<script>alert(1)</script>{{7*7}}")
    timeline = _timeline(text(signed_in.get(f"/o/lead/{lead['id']}")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in timeline
    assert "<script>" not in timeline


def test_the_follow_up_page_itself_has_no_timeline(signed_in, crm):
    lead = crm.lead("rep_east")
    follow_up = crm.follow_up("rep_east", lead=lead["id"])
    assert 'data-testid="timeline"' not in text(signed_in.get(f"/o/follow_up/{follow_up['id']}"))
