"""Bulk actions on a list page: tick records, then change their owner, move them to a pool
or delete them; each record is its own write, refusals are named with the reason."""

from __future__ import annotations

import re

LIST = "/o/lead"
BULK = "/o/lead/bulk"


def text(response) -> str:
    return response.get_data(as_text=True)


def _bulk(pages, action: str, ids: list[int], **extra):
    return pages.post(BULK, {"action": action, "ids": [str(i) for i in ids], **extra})


def test_the_list_has_a_checkbox_per_row_in_the_bulk_form(signed_in, crm):
    lead = crm.lead(company_name="勾选公司")
    html = text(signed_in.get(LIST))
    assert 'id="bulk-form"' in html and 'data-testid="bulk-pick-all"' in html
    box = re.search(rf'<input type="checkbox" name="ids" value="{lead["id"]}"[^>]*>', html)
    assert box and 'form="bulk-form"' in box.group(0)
    assert f'aria-label="选择 {lead["lead_number"]}"' in box.group(0)  # the row's first column
    assert "list_tools.js" in html  # select all, from a file (no inline script)
    for action in ("transfer", "pool", "delete"):
        assert f'name="action" value="{action}"' in html
    assert "华北销售代表 (rep_north)" in html  # owners to choose from
    assert "华东线索公海" in html  # the lead pools

    # The table htmx puts in #list-table keeps its checkboxes tied to the bar's form.
    swapped = text(signed_in.get(f"{LIST}?q=勾选", headers={"HX-Request": "true"}))
    assert "<html" not in swapped
    assert f'name="ids" value="{lead["id"]}" form="bulk-form"' in swapped


def test_a_rep_gives_two_leads_to_another_rep(signed_in, crm):
    first, second = crm.lead(company_name="转移一"), crm.lead(company_name="转移二")
    kept = crm.lead(company_name="留下")
    north = crm.user_id("rep_north")
    done = _bulk(signed_in, "transfer", [first["id"], second["id"]], owner=str(north))
    assert done.status_code == 200
    html = text(done)
    assert 'data-testid="bulk-done">2 条已完成<' in html
    assert 'href="/o/lead?' in html  # back to the list
    records = signed_in.runtime.records
    for lead in (first, second):
        assert records.get(crm.ctx("rep_north"), "lead", lead["id"])["owner"] == north
    assert records.get(crm.ctx("rep_east"), "lead", kept["id"])["owner"] == crm.user_id("rep_east")


def test_a_record_out_of_scope_is_refused_and_the_others_still_happen(signed_in, crm):
    mine = crm.lead(company_name="我的线索")
    theirs = crm.lead("rep_north", company_name="别人的线索")
    manager = crm.user_id("manager")
    html = text(_bulk(signed_in, "transfer", [theirs["id"], mine["id"]], owner=str(manager)))
    assert "1 条已完成" in html
    failure = re.search(r'data-testid="bulk-failures">(.*?)</ul>', html, re.S).group(1)
    assert f"#{theirs['id']}" in failure and "别人的线索" not in failure  # its name stays hidden
    assert "此记录不存在，或您无权查看。" in failure
    assert crm.raw("lead", mine["id"])["owner"] == manager
    assert crm.raw("lead", theirs["id"])["owner"] == crm.user_id("rep_north")


def test_delete_asks_first_and_deletes_only_once_confirmed(signed_in, crm):
    first, second = crm.lead(company_name="删除一"), crm.lead(company_name="删除二")
    ids = [first["id"], second["id"]]
    asked = _bulk(signed_in, "delete", ids)
    assert asked.status_code == 200
    html = text(asked)
    assert 'data-testid="bulk-confirm"' in html and "删除这 2 条记录" in html
    names = re.search(r'data-testid="bulk-names">(.*?)</ul>', html, re.S).group(1)
    assert "删除一" in names and "删除二" in names
    assert 'name="confirmed" value="1"' in html
    assert re.findall(r'type="hidden" name="ids" value="(\d+)"', html) == [str(i) for i in ids]
    assert crm.raw("lead", first["id"]) is not None and crm.raw("lead", second["id"]) is not None

    done = _bulk(signed_in, "delete", ids, confirmed="1")
    assert "2 条已完成" in text(done)
    assert crm.raw("lead", first["id"]) is None and crm.raw("lead", second["id"]) is None


def test_move_to_pool_puts_the_lead_into_the_pool(signed_in, crm):
    lead = crm.lead(company_name="入池公司", region="east")
    html = text(_bulk(signed_in, "pool", [lead["id"]], pool="east_leads"))
    assert "1 条已完成" in html
    assert crm.raw("lead", lead["id"])["owner"] is None
    page = signed_in.runtime.flows.pools.records(crm.ctx("rep_north"), "lead", "east_leads")
    entry = next(e for e in page["entries"] if e["record"]["id"] == lead["id"])
    assert entry["reason"] == "moved"
    assert entry["previous_owner"]["id"] == crm.user_id("rep_east")

    # A pool whose condition does not take the lead: refused with the reason, nothing moves.
    north = crm.lead(company_name="不入池公司", region="south")
    refused = text(_bulk(signed_in, "pool", [north["id"]], pool="north_leads"))
    assert "0 条已完成" in refused
    assert "华北线索公海 不接收此记录（其条件不满足）：请选择其他公海。" in refused
    assert crm.raw("lead", north["id"])["owner"] == crm.user_id("rep_east")


def test_no_delete_right_no_delete_action_and_a_forged_post_is_403(signed_in, crm):
    account = crm.account(account_name="不可删除客户")
    html = text(signed_in.get("/o/account"))
    assert 'id="bulk-form"' in html  # a rep may still change the owner of their accounts
    assert 'value="delete"' not in html
    forged = signed_in.post(
        "/o/account/bulk", {"action": "delete", "ids": [str(account["id"])], "confirmed": "1"}
    )
    assert forged.status_code == 403
    assert crm.raw("account", account["id"]) is not None


def test_nothing_ticked_and_too_many_ticked_are_400(signed_in, crm):
    empty = _bulk(signed_in, "delete", [])
    assert empty.status_code == 400
    assert 'data-testid="bulk-empty"' in text(empty)
    lead = crm.lead()
    too_many = _bulk(signed_in, "transfer", list(range(1, 202)), owner="1")
    assert too_many.status_code == 400
    assert "每次最多选择 200 条记录。" in text(too_many)
    assert crm.raw("lead", lead["id"])["owner"] == crm.user_id("rep_east")


def test_names_with_markup_show_literally(signed_in, crm):
    lead = crm.lead(company_name="<script>alert(1)</script>公司")
    html = text(_bulk(signed_in, "delete", [lead["id"]]))
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in html
    listing = text(signed_in.get(LIST))
    assert "<script>alert(1)" not in listing
