"""Removing the admin's own definitions from their forms (/admin/remove/<kind>/<key>).

The admin's report, dashboard, pool, rule, list view, layout, automation or approval flow
offers "Remove…"; a pack's does not. The confirm page is a dry run, so a removal that would
be refused (a dashboard still shows the report, the pool still holds records) says so before
anything is pressed; confirming removes it as one change that Change history can revert.
"""

from __future__ import annotations

from html import unescape

import pytest

from tests.api.test_definitions_api import FLOW
from tests.runtime.test_metadata_remove import define_dashboard, define_report, pool_holding_a_lead
from trellis.runtime.errors import NotFound

REPORT = "opportunity.stage_count"
CONFIRM = f"/admin/remove/report/{REPORT}"


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_an_admin_removes_their_own_report_after_confirming(admin):
    define_report(admin.runtime.metadata)
    form = _text(admin.get(f"/admin/reports/{REPORT}"))
    assert 'data-testid="remove"' in form and CONFIRM in form
    confirm = admin.get(CONFIRM)
    assert confirm.status_code == 200
    assert "删除报表 阶段统计 (opportunity.stage_count)？" in _text(confirm)
    assert admin.runtime.metadata.definition("report", REPORT)  # the page is a dry run

    done = admin.post(CONFIRM, {})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/reports")
    listing = _text(admin.get(done.headers["Location"]))
    assert "已删除报表 阶段统计" in listing and f'data-key="{REPORT}"' not in listing
    change = admin.runtime.metadata.history(limit=1)[0]
    assert change["summary"] == f"remove report:{REPORT}" and change["changed_by"] == "admin"


def test_a_packs_report_offers_no_removal_and_the_address_is_refused(admin):
    form = _text(admin.get("/admin/reports/opportunity.pipeline_by_stage"))
    assert 'data-testid="remove"' not in form
    refused = admin.post("/admin/remove/report/opportunity.pipeline_by_stage", {})
    assert refused.status_code == 422
    assert "comes with pack crm_standard" in _text(refused)
    assert admin.runtime.metadata.definition("report", "opportunity.pipeline_by_stage")


def test_a_report_on_a_dashboard_is_refused_on_the_confirm_page_naming_the_tile(admin):
    define_report(admin.runtime.metadata)
    define_dashboard(admin.runtime.metadata, REPORT)
    confirm = admin.get(CONFIRM)
    assert confirm.status_code == 422
    html = _text(confirm)
    assert "is still used by dashboard stage_board (/widgets/0/report)" in html
    assert 'data-testid="confirm-remove"' not in html
    assert "dashboard:stage_board/widgets/0/report" in html  # the place, in the problems table


def test_a_pool_holding_records_is_refused_until_they_are_claimed(admin, crm):
    lead = pool_holding_a_lead(crm)
    assert 'data-testid="remove"' in _text(admin.get("/admin/pools/lead.trial"))
    refused = admin.post("/admin/remove/pool/lead.trial", {})
    assert refused.status_code == 409 and "still holds 1 record(s)" in _text(refused)
    crm.rt.flows.pools.claim(crm.ctx("rep_east"), "lead", "trial", lead["id"])
    assert admin.post("/admin/remove/pool/lead.trial", {}).status_code == 302


def test_each_designer_offers_removal_of_the_admins_own(admin):
    defined = {
        "list_view": {
            "api_name": "mine",
            "object": "lead",
            "label": {"zh-CN": "我的", "en": "Mine"},
            "columns": ["company_name"],
        },
        "automation": {
            "api_name": "hello",
            "object": "lead",
            "label": {"zh-CN": "问候", "en": "Hello"},
            "trigger": {"type": "created"},
            "actions": [{"type": "update_fields", "values": {"requirement": "'hi'"}}],
        },
    }
    for kind, definition in defined.items():
        admin.runtime.metadata.define("admin", kind, definition)
    assert 'data-testid="remove"' in _text(admin.get("/admin/list-views/lead.mine"))
    assert 'data-testid="remove"' in _text(admin.get("/admin/automations/lead.hello"))
    assert 'data-testid="remove"' not in _text(admin.get("/admin/layouts/lead.standard"))
    admin.runtime.metadata.define(
        "admin", "approval_flow", {**FLOW, "api_name": "big_deal", "object": "opportunity"}
    )
    own = _text(admin.get("/admin/approvals/opportunity.big_deal"))
    assert "/admin/remove/approval_flow/opportunity.big_deal" in own
    shipped = admin.get("/admin/approvals/quote.large_amount")
    assert shipped.status_code == 200 and 'data-testid="remove"' not in _text(shipped)
    for kind, key in (("list_view", "lead.mine"), ("automation", "lead.hello")):
        assert admin.post(f"/admin/remove/{kind}/{key}", {}).status_code == 302
        with pytest.raises(NotFound):
            admin.runtime.metadata.definition(kind, key)


def test_others_and_unknown_kinds_get_404(admin, pages):
    define_report(admin.runtime.metadata)
    assert admin.get("/admin/remove/role/sales_rep").status_code == 404
    assert admin.get("/admin/remove/report/opportunity.nothing").status_code == 404
    pages.sign_in("manager")
    assert pages.get(CONFIRM).status_code == 404
    assert pages.post(CONFIRM, {}).status_code == 404
    assert admin.runtime.metadata.definition("report", REPORT)


def test_an_admins_duplicate_rule_is_deleted_and_the_packs_rule_stays(admin, crm):
    rule = {
        "object": "lead",
        "label_zh": "手机号重复",
        "label_en": "Same mobile",
        "api_name": "same_mobile",
        "fields": ["mobile"],
        "action": "block",
        "active": "on",
    }
    assert admin.post("/admin/duplicate-rules/save", rule).status_code == 302
    form = _text(admin.get("/admin/duplicate-rules/lead.same_mobile"))
    assert "/admin/duplicate-rules/lead.same_mobile/delete" in form
    confirm = _text(admin.get("/admin/duplicate-rules/lead.same_mobile/delete"))
    assert "删除查重规则 手机号重复 (lead.same_mobile)？" in confirm

    done = admin.post("/admin/duplicate-rules/lead.same_mobile/delete", {})
    assert done.status_code == 302
    rules = admin.runtime.metadata.definition("object", "lead")["duplicate_rules"]
    assert [r["api_name"] for r in rules] == ["same_company_contact"]
    crm.lead("rep_east", company_name="甲公司", mobile="13911112222")
    crm.lead("rep_east", company_name="乙公司", mobile="13911112222")  # no longer blocked

    shipped = "/admin/duplicate-rules/lead.same_company_contact"
    assert 'data-testid="remove"' not in _text(admin.get(shipped))
    refused = admin.post(f"{shipped}/delete", {})
    assert refused.status_code == 422 and "deactivate it instead" in _text(refused)
    rules = admin.runtime.metadata.definition("object", "lead")["duplicate_rules"]
    assert [r["api_name"] for r in rules] == ["same_company_contact"]
