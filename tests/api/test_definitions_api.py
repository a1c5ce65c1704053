"""PUT and GET /api/v1/definitions/{kind}/{object}.{name}: administrators define
approval flows, automations, pools and assignment rules (and change a pack's
layouts and list views) with whole JSON documents; refused ones answer 422 with
every problem at its JSON pointer and change nothing."""

from __future__ import annotations

import copy

import sqlalchemy as sa

from trellis.metadata import store

FLOW = {
    "label": {"zh-CN": "大额商机审批", "en": "Big deal approval"},
    "entry_criteria": "amount > 1000000",
    "nodes": [
        {
            "id": "route",
            "type": "condition",
            "branches": [
                {"when": "amount > 5000000", "next": "vp"},
                {"next": "manager"},
            ],
        },
        {"id": "manager", "type": "approval", "approvers": [{"type": "manager"}], "next": "end"},
        {
            "id": "vp",
            "type": "approval",
            "approvers": [{"type": "role", "role": "sales_vp"}],
            "next": "end",
        },
        {"id": "end", "type": "end"},
    ],
    "on_approved": [{"type": "update_fields", "values": {"next_step": "'sign the contract'"}}],
}
PATH = "/definitions/approval_flow/opportunity.big_deal"


def _definitions(api):
    rt = api.runtime
    with rt.engine.connect() as conn:
        return rt.cache.get(conn).definitions


def test_an_admin_defines_a_flow_and_reads_it_back(api):
    response = api.request("PUT", PATH, json=FLOW, as_="admin")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["applied"] is True
    flow = _definitions(api).approval_flows["opportunity.big_deal"]
    assert flow.start == "route" and flow.nodes["vp"].approvers[0].role == "sales_vp"
    body = api.get(PATH, as_="admin").get_json()
    assert body["definition"] == {**FLOW, "api_name": "big_deal", "object": "opportunity"}


def test_sending_it_again_changes_only_what_differs(api):
    first = api.request("PUT", PATH, json=FLOW, as_="admin").get_json()
    assert api.request("PUT", PATH, json=FLOW, as_="admin").get_json()["applied"] is False
    changed = copy.deepcopy(FLOW)
    changed["entry_criteria"] = "amount > 2000000"
    del changed["on_approved"]
    second = api.request("PUT", PATH, json=changed, as_="admin").get_json()
    assert second["metadata_version"] == first["metadata_version"] + 1
    definition = api.get(PATH, as_="admin").get_json()["definition"]
    assert definition["entry_criteria"] == "amount > 2000000"
    assert "on_approved" not in definition
    assert _definitions(api).approval_flows["opportunity.big_deal"].on_approved == ()


def test_a_pack_component_keeps_its_pack_and_records_the_admins_patch(api):
    path = "/definitions/list_view/lead.new_leads"
    shipped = api.get(path, as_="admin").get_json()["definition"]
    label = {"zh-CN": "待跟进线索", "en": "Leads to follow up"}
    response = api.request("PUT", path, json={**shipped, "label": label}, as_="admin")
    assert response.status_code == 200, response.get_json()
    view = _definitions(api).list_views["lead.new_leads"]
    assert view.label.en == "Leads to follow up"
    with api.runtime.engine.connect() as conn:
        layers = store.load(conn)
        patches = conn.execute(sa.select(store.customization_table.c.property)).scalars().all()
    assert layers.provenance("list_view:lead.new_leads").startswith("crm_standard@")
    assert patches == ["label"]


def test_a_dry_run_checks_but_defines_nothing(api):
    response = api.request("PUT", PATH + "?dry_run=true", json=FLOW, as_="admin")
    assert response.status_code == 200 and response.get_json()["applied"] is False
    assert api.get(PATH, as_="admin").status_code == 404
    assert "opportunity.big_deal" not in _definitions(api).approval_flows


def test_a_bad_flow_is_422_with_every_problem_and_its_pointer(api):
    bad = copy.deepcopy(FLOW)
    bad["nodes"][0]["branches"][0]["when"] = "amount + 1"
    bad["nodes"][1]["next"] = "nowhere"
    bad["nodes"][2]["approvers"][0]["role"] = "chief"
    response = api.request("PUT", PATH, json=bad, as_="admin")
    assert response.status_code == 422
    problems = {p["pointer"]: p["message"] for p in response.get_json()["error"]["details"]}
    key = "approval_flow:opportunity.big_deal"
    assert "true/false" in problems[f"{key}/nodes/0/branches/0/when"]
    assert "there is no node 'nowhere'" in problems[f"{key}/nodes/1/next"]
    assert "there is no role 'chief'" in problems[f"{key}/nodes/2/approvers/0/role"]
    assert api.get(PATH, as_="admin").status_code == 404


def test_automations_pools_and_rules_go_through_the_same_door(api):
    automation = {
        "label": {"zh-CN": "状态变化提醒", "en": "Status change alert"},
        "trigger": {"type": "updated", "fields": ["status"], "condition": "old.status != status"},
        "actions": [
            {
                "type": "notify",
                "recipients": [{"type": "owner"}],
                "message": {"zh-CN": "线索 {company_name} 状态变化", "en": "{company_name} moved"},
            }
        ],
    }
    path = "/definitions/automation/lead.status_alert"
    assert api.request("PUT", path, json=automation, as_="admin").status_code == 200
    assert _definitions(api).automations["lead.status_alert"].trigger.fields == ("status",)
    broken = {**automation, "trigger": {"type": "schedule", "cron": "every monday"}}
    response = api.request("PUT", path, json=broken, as_="admin")
    assert response.status_code == 422
    assert "five-field cron" in response.get_json()["error"]["details"][0]["message"]


def test_only_administrators_define_and_read_definitions(api):
    assert api.request("PUT", PATH, json=FLOW, as_="manager").status_code == 403
    assert api.get(PATH, as_="rep_east").status_code == 403
    assert api.get(PATH, as_="admin").status_code == 404


def test_the_address_names_the_definition(api):
    response = api.request("PUT", PATH, json={**FLOW, "api_name": "other"}, as_="admin")
    assert response.status_code == 422
    assert "differs from the address" in response.get_json()["error"]["message"]
    assert api.request("PUT", "/definitions/widget/lead.x", json={}, as_="admin").status_code == 404
    assert api.get("/definitions/approval_flow/no_dot", as_="admin").status_code == 404
    body = api.request("PUT", PATH, data="[]", content_type="application/json", as_="admin")
    assert body.status_code == 400


def test_an_admin_removes_their_own_flow_and_a_packs_stays(api):
    api.request("PUT", PATH, json=FLOW, as_="admin")
    assert api.request("DELETE", PATH + "?dry_run=true", as_="admin").get_json()["applied"] is False
    assert api.get(PATH, as_="admin").status_code == 200
    assert api.request("DELETE", PATH, as_="manager").status_code == 403
    response = api.request("DELETE", PATH, as_="admin")
    assert response.status_code == 200 and response.get_json()["applied"] is True
    assert "opportunity.big_deal" not in _definitions(api).approval_flows
    assert api.request("DELETE", PATH, as_="admin").status_code == 404

    shipped = api.request(
        "DELETE", "/definitions/report/opportunity.pipeline_by_stage", as_="admin"
    )
    assert shipped.status_code == 422
    assert "comes with pack crm_standard" in shipped.get_json()["error"]["message"]
