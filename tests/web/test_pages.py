"""Lists, record pages and forms as a sales rep uses them, with the rep's data scope."""

from __future__ import annotations

import re

import pytest


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_lead_list_shows_only_the_reps_own_leads_with_a_count(signed_in, crm):
    mine = crm.lead("rep_east", company_name="东方精密机械")
    crm.lead("rep_north", company_name="北方重工集团")
    page = text(signed_in.get("/o/lead"))
    assert "东方精密机械" in page and "北方重工集团" not in page
    assert re.search(r'data-testid="list-count">共 1 条记录<', page)
    assert f'href="/o/lead/{mine["id"]}"' in page


def test_a_record_outside_the_reps_scope_is_not_found(signed_in, crm):
    other = crm.lead("rep_north", company_name="北方重工集团")
    for url in (f"/o/lead/{other['id']}", f"/o/lead/{other['id']}/edit"):
        response = signed_in.get(url)
        assert response.status_code == 404
        assert "北方重工集团" not in text(response)
    assert signed_in.get("/o/no_such_object").status_code == 404


def test_quick_search_filter_builder_and_expressions_narrow_the_list(signed_in, crm):
    crm.lead("rep_east", company_name="甲公司", estimated_amount=900000)
    crm.lead("rep_east", company_name="乙公司", estimated_amount=1000)
    assert "乙公司" not in text(signed_in.get("/o/lead?view=&q=甲"))
    built = text(signed_in.get("/o/lead?view=&f0=estimated_amount&op0=gt&v0=50000"))
    assert "甲公司" in built and "乙公司" not in built
    expressed = text(signed_in.get("/o/lead?view=&filter=estimated_amount+<+50000"))
    assert "乙公司" in expressed and "甲公司" not in expressed
    broken = signed_in.get("/o/lead?view=&filter=estimated_amount+<<+5")
    assert broken.status_code == 200
    assert 'data-testid="filter-error"' in text(broken)


def test_htmx_requests_get_only_the_table(signed_in, crm):
    crm.lead("rep_east", company_name="甲公司")
    partial = text(signed_in.get("/o/lead?q=甲", headers={"HX-Request": "true"}))
    assert "甲公司" in partial and "<html" not in partial


def test_paging_carries_a_cursor_to_the_next_page(signed_in, crm):
    for i in range(55):
        crm.lead("rep_east", company_name=f"分页公司{i:02d}")
    first = text(signed_in.get("/o/lead?view=&sort=company_name"))
    assert "分页公司00" in first and "分页公司54" not in first
    cursor = re.search(r'href="\?([^"]*cursor=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = text(signed_in.get(f"/o/lead?{cursor}"))
    assert "分页公司54" in second and "分页公司00" not in second


def test_the_record_page_shows_sections_and_related_lists(signed_in, crm):
    account = crm.account("rep_east", account_name="华东电气有限公司")
    crm.contact("rep_east", account["id"], contact_name="王经理")
    crm.opportunity("rep_east", account["id"], opportunity_name="二期改造")
    page = text(signed_in.get(f"/o/account/{account['id']}"))
    assert 'data-testid="record-title">华东电气有限公司<' in page
    assert 'data-related="contact"' in page and "王经理" in page
    assert 'data-related="opportunity"' in page and "二期改造" in page


def test_creating_a_lead_checks_rules_at_the_field_and_keeps_what_was_typed(signed_in, crm):
    before = crm.count("lead")
    response = signed_in.post(
        "/o/lead/new", {"company_name": "缺联系方式公司", "estimated_amount": "12.5"}
    )
    assert response.status_code == 422
    page = text(response)
    assert 'data-testid="error-mobile"' in page and "手机和邮箱至少填写一项" in page
    assert 'value="缺联系方式公司"' in page
    assert crm.count("lead") == before
    saved = signed_in.post(
        "/o/lead/new",
        {"company_name": "新线索公司", "mobile": "13912345678", "estimated_amount": "88000"},
    )
    assert saved.status_code == 302
    assert "新线索公司" in text(signed_in.get(saved.headers["Location"]))


def test_a_possible_duplicate_is_shown_with_a_link_before_anything_is_saved(signed_in, crm):
    first = crm.lead("rep_east", company_name="重复测试公司", contact_name="李雷")
    form = {"company_name": "重复测试公司", "contact_name": "李雷", "mobile": "13700000000"}
    warned = signed_in.post("/o/lead/new", form)
    assert warned.status_code == 409
    page = text(warned)
    assert 'data-testid="duplicate-warning"' in page
    assert f'href="/o/lead/{first["id"]}"' in page
    assert crm.count("lead") == 1
    saved = signed_in.post("/o/lead/new", {**form, "confirm_duplicates": "1"})
    assert saved.status_code == 302
    assert crm.count("lead") == 2


def test_an_edit_of_a_record_changed_meanwhile_is_refused_and_says_by_whom(signed_in, crm):
    lead = crm.lead("rep_east", company_name="原名公司")
    form = text(signed_in.get(f"/o/lead/{lead['id']}/edit"))
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    crm.records.update(crm.ctx("manager"), "lead", lead["id"], {"company_name": "经理改名公司"})
    response = signed_in.post(
        f"/o/lead/{lead['id']}/edit",
        {"version": version, "company_name": "我的新名字", "mobile": "13812345678"},
    )
    assert response.status_code == 412
    assert "在你打开此记录后修改了它" in text(response)
    assert crm.raw("lead", lead["id"])["company_name"] == "经理改名公司"


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "{{7*7}}"])
def test_text_from_records_shows_literally_everywhere(signed_in, crm, name):
    account = crm.account("rep_east", account_name=name)
    crm.contact("rep_east", account["id"], contact_name=name)
    for url in (
        "/o/account",
        f"/o/account/{account['id']}",
        f"/o/account/{account['id']}/edit",
        f"/search?q={name[:4]}",
        "/o/contact",
    ):
        page = text(signed_in.get(url))
        assert "<script>alert(1)" not in page and ">49<" not in page, url
        escaped = name.replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in page, url


def test_global_search_finds_readable_records_only(signed_in, crm):
    crm.account("rep_east", account_name="搜索目标有限公司")
    crm.account("rep_north", account_name="搜索目标北方公司")
    page = text(signed_in.get("/search?q=搜索目标"))
    assert "搜索目标有限公司" in page and "搜索目标北方公司" not in page


def test_lookup_choices_offer_matching_records_for_a_lookup_field(signed_in, crm):
    crm.account("rep_east", account_name="查找客户有限公司")
    response = signed_in.get("/lookup/account?field=account&q=查找")
    assert response.status_code == 200
    assert "查找客户有限公司" in text(response) and 'name="account"' in text(response)
    assert signed_in.get("/lookup/account?field=x%22onmouseover&q=a").status_code == 400
