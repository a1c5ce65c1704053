"""Manual automations (a button on a record or a list selection) and the automation log
over the API."""

from __future__ import annotations

import pytest

MARK_HOT = {
    "label": {"zh-CN": "标为重点", "en": "Mark as hot"},
    "trigger": {"type": "manual"},
    "condition": "status != 'qualified'",
    "actions": [
        {"type": "update_fields", "values": {"priority": "'high'"}},
        {
            "type": "notify",
            "recipients": [{"type": "owner"}],
            "title": {"zh-CN": "{company_name} 已标为重点", "en": "{company_name} is hot"},
            "message": {"zh-CN": "请优先跟进", "en": "Follow it up first"},
        },
    ],
}


@pytest.fixture
def mark_hot(api) -> str:
    response = api.request(
        "PUT", "/definitions/automation/lead.mark_hot", json=MARK_HOT, as_="admin"
    )
    assert response.status_code == 200, response.get_json()
    return "lead.mark_hot"


def test_a_manual_run_acts_on_each_record_and_reports_per_record(api, crm, mark_hot):
    first = api.create("lead", {"company_name": "一号公司", "mobile": "13800000001"})
    second = api.create("lead", {"company_name": "二号公司", "mobile": "13800000002"})
    response = api.post(f"/automations/{mark_hot}/run", json={"ids": [first["id"], second["id"]]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["results"] == [
        {"id": first["id"], "outcome": "done", "message": None},
        {"id": second["id"], "outcome": "done", "message": None},
    ]
    record = api.get(f"/objects/lead/records/{first['id']}").get_json()["record"]
    assert record["priority"] == "high"
    notes = api.get("/notifications").get_json()["notifications"]
    assert sorted(n["title"] for n in notes if n["record_id"] in (first["id"], second["id"])) == [
        "一号公司 已标为重点",
        "二号公司 已标为重点",
    ]


def test_records_the_user_cannot_see_or_edit_are_refused_before_anything_runs(api, crm, mark_hot):
    mine = api.create("lead", {"company_name": "我的公司", "mobile": "13800000003"})
    theirs = api.create(
        "lead", {"company_name": "别人的公司", "mobile": "13800000004"}, as_="rep_north"
    )
    response = api.post(f"/automations/{mark_hot}/run", json={"ids": [mine["id"], theirs["id"]]})
    assert response.status_code == 404
    assert str(theirs["id"]) in response.get_json()["error"]["message"]
    assert crm.raw("lead", mine["id"])["priority"] == "medium"  # nothing ran
    # The manager reads the rep's leads but edits only their subordinates' (rep_north is not).
    response = api.post(f"/automations/{mark_hot}/run", json={"ids": [theirs["id"]]}, as_="manager")
    assert response.status_code in (403, 404)


def test_the_condition_and_the_trigger_type_are_checked(api, crm, mark_hot):
    lead = api.create("lead", {"company_name": "已转化公司", "mobile": "13800000005"})
    crm.records.update(crm.ctx("admin"), "lead", lead["id"], {"status": "qualified"})
    response = api.post(f"/automations/{mark_hot}/run", json={"ids": [lead["id"]]})
    [result] = response.get_json()["results"]
    assert result["outcome"] == "skipped"
    assert crm.raw("lead", lead["id"])["priority"] != "high"
    not_manual = api.post(
        "/automations/lead.key_lead_priority/run", json={"ids": [lead["id"]]}, as_="admin"
    )
    assert not_manual.status_code == 422
    assert "manual" in not_manual.get_json()["error"]["message"]
    missing = api.post("/automations/lead.nothing/run", json={"ids": [lead["id"]]})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": "1"}, {"ids": ["x"]}, {"ids": [1], "extra": True}, {"ids": [True]}],
)
def test_bad_run_requests_say_what_to_send(api, mark_hot, body):
    response = api.post(f"/automations/{mark_hot}/run", json=body)
    assert response.status_code == 400
    assert "ids" in response.get_json()["error"]["message"] or "extra" in str(response.get_json())


def test_the_log_is_for_admins_or_for_one_readable_record(api, crm, mark_hot):
    lead = api.create("lead", {"company_name": "日志公司", "mobile": "13800000006"})
    api.post(f"/automations/{mark_hot}/run", json={"ids": [lead["id"]]})
    own = api.get(f"/automations/log?object=lead&record_id={lead['id']}")
    assert own.status_code == 200
    entries = [e for e in own.get_json()["entries"] if e["automation"] == mark_hot]
    assert [(e["outcome"], e["trigger"], e["record_id"]) for e in entries] == [
        ("done", "manual", lead["id"])
    ]
    assert api.get("/automations/log").status_code == 403  # the whole log: admins only
    assert (
        api.get(f"/automations/log?object=lead&record_id={lead['id']}", as_="rep_north").status_code
        == 404
    )
    everything = api.get(f"/automations/log?automation={mark_hot}", as_="admin").get_json()
    assert [e["record_id"] for e in everything["entries"]] == [lead["id"]]
    assert api.get("/automations/log?record_id=abc", as_="admin").status_code == 400
