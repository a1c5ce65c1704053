"""Approvals over REST: the seed discount flow end to end, my tasks, every action as a POST,
and the errors a client sees, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def _quote(api, quoted=60000, as_="rep_east"):
    return api.create(
        "quote",
        {"quote_name": "年度框架报价", "list_amount": 100000, "quoted_amount": quoted},
        as_=as_,
    )


def _submit(api, quote, as_="rep_east", **body):
    response = api.post(f"/objects/quote/records/{quote['id']}/approvals", json=body, as_=as_)
    assert response.status_code == 201, response.get_json()
    assert response.headers["Location"].endswith(
        f"/approvals/{response.get_json()['approval']['id']}"
    )
    return response.get_json()["approval"]


def _my_task(api, who, status="pending"):
    response = api.get(f"/approvals/tasks?status={status}", as_=who)
    assert response.status_code == 200
    return response.get_json()["tasks"]


def test_the_discount_seed_over_the_api(api):
    quote = _quote(api)
    instance = _submit(api, quote, comment="请审批")
    (task,) = _my_task(api, "manager")
    assert task["approval"]["id"] == instance["id"]
    assert task["approval"]["record_name"] == "年度框架报价"

    response = api.post(
        f"/approvals/tasks/{task['id']}/approve", json={"comment": "同意"}, as_="manager"
    )
    assert response.status_code == 200
    assert [n["id"] for n in response.get_json()["approval"]["current_nodes"]] == ["vp"]
    # A double click: the second approve of the same task is refused.
    again = api.post(f"/approvals/tasks/{task['id']}/approve", json={}, as_="manager")
    assert again.status_code == 409
    assert "already approved" in again.get_json()["error"]["message"]

    (vp_task,) = _my_task(api, "vp")
    done = api.post(f"/approvals/tasks/{vp_task['id']}/approve", as_="vp").get_json()["approval"]
    assert done["status"] == "approved"

    read = api.get(f"/approvals/{instance['id']}", as_="rep_east").get_json()["approval"]
    assert [e["action"] for e in read["history"]][:3] == ["submit", "approve", "approve"]
    assert read["history"][1]["comment"] == "同意"
    assert read["snapshot"]["quote_name"] == "年度框架报价"
    assert (
        api.get(f"/objects/quote/records/{quote['id']}").get_json()["record"]["approval_status"]
        == "approved"
    )
    assert len(_my_task(api, "manager", "done")) == 1


def test_the_record_is_locked_while_pending(api):
    quote = _quote(api)
    _submit(api, quote)
    response = api.patch(f"/objects/quote/records/{quote['id']}", json={"remarks": "x"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "record_locked"
    assert "华东销售经理" in error["message"]
    assert api.post(f"/objects/quote/records/{quote['id']}/approvals", json={}).status_code == 409
    as_manager = api.patch(
        f"/objects/quote/records/{quote['id']}", json={"remarks": "经理改"}, as_="manager"
    )
    assert as_manager.status_code == 200


def test_reject_recall_transfer_and_add_approver(api):
    rejected = _submit(api, _quote(api, 80000))
    (task,) = _my_task(api, "manager")
    body = api.post(
        f"/approvals/tasks/{task['id']}/reject", json={"comment": "价格太低"}, as_="manager"
    ).get_json()["approval"]
    assert body["status"] == "rejected" and rejected["id"] == body["id"]

    recalled = _submit(api, _quote(api, 80000))
    assert (
        api.post(f"/approvals/{recalled['id']}/recall", json={}, as_="manager").status_code == 403
    )
    response = api.post(f"/approvals/{recalled['id']}/recall", json={"comment": "撤回"})
    assert response.get_json()["approval"]["status"] == "recalled"

    moved = _submit(api, _quote(api, 80000))
    (task,) = _my_task(api, "manager")
    response = api.post(
        f"/approvals/tasks/{task['id']}/transfer", json={"to": "manager_north"}, as_="manager"
    )
    assert response.status_code == 200
    (north_task,) = _my_task(api, "manager_north")
    response = api.post(
        f"/approvals/tasks/{north_task['id']}/add-approver",
        json={"user": "finance", "position": "after"},
        as_="manager_north",
    )
    assert response.status_code == 200
    api.post(f"/approvals/tasks/{north_task['id']}/approve", as_="manager_north")
    (finance_task,) = _my_task(api, "finance")
    final = api.post(f"/approvals/tasks/{finance_task['id']}/approve", as_="finance")
    assert final.get_json()["approval"]["status"] == "approved"
    assert final.get_json()["approval"]["id"] == moved["id"]


def test_delegation_over_the_api(api):
    # The manager's calendar day (users live in Asia/Shanghai), not the machine's.
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    response = api.post(
        "/approvals/delegations",
        json={"to": "manager_north", "starts_on": today, "ends_on": today},
        as_="manager",
    )
    assert response.status_code == 201
    assert response.get_json()["delegation"]["delegate"]["username"] == "manager_north"
    _submit(api, _quote(api, 80000))
    (task,) = _my_task(api, "manager_north")
    assert task["original_assignee"]["username"] == "manager"


def test_clear_errors(api):
    quote = _quote(api)
    instance = _submit(api, quote)
    assert api.get(f"/approvals/{instance['id']}", as_="rep_north").status_code == 404
    assert api.get("/approvals/tasks?status=someday", as_="manager").status_code == 422
    (task,) = _my_task(api, "manager")
    assert api.post(f"/approvals/tasks/{task['id']}/approve", as_="rep_north").status_code == 404
    assert api.post(f"/approvals/tasks/{task['id']}/approve", as_="rep_east").status_code == 403
    bad_user = api.post(
        f"/approvals/tasks/{task['id']}/transfer", json={"to": "ghost"}, as_="manager"
    )
    assert bad_user.status_code == 422 and "ghost" in bad_user.get_json()["error"]["message"]
    bad_position = api.post(
        f"/approvals/tasks/{task['id']}/add-approver",
        json={"user": "vp", "position": "beside"},
        as_="manager",
    )
    assert bad_position.status_code == 422
    assert api.get(f"/approvals/tasks/{task['id']}/approve", as_="manager").status_code == 405
    other = _quote(api)
    unknown_flow = api.post(f"/objects/quote/records/{other['id']}/approvals", json={"flow": "x"})
    assert unknown_flow.status_code == 422
