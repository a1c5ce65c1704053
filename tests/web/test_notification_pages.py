"""Notifications as a rep reads them (newest first, unread marked, a link to the record, mark
one or all read, the header badge follows), and manual automation buttons on a record page,
whose effects arrive as notifications."""

from __future__ import annotations

import re

import pytest


def text(response) -> str:
    return response.get_data(as_text=True)


def _notify(crm, username: str, title: str, body: str = "", **about) -> None:
    flows = crm.rt.flows
    with crm.rt.engine.begin() as conn:
        flows.notifications.send(
            conn, crm.ctx("admin"), [crm.user_id(username)], title, body or title, **about
        )


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-notification="(\d+)"', page)]


def test_the_list_is_newest_first_with_unread_marked_and_a_link(signed_in, crm):
    lead = crm.lead("rep_east", company_name="东方精密机械")
    _notify(crm, "rep_east", "第一条通知", "较早")
    _notify(crm, "rep_east", "线索已分配", "请跟进", object_name="lead", record_id=lead["id"])
    _notify(crm, "rep_north", "别人的通知")

    page = text(signed_in.get("/notifications"))
    assert page.index("线索已分配") < page.index("第一条通知")
    assert "别人的通知" not in page
    assert page.count("notification unread") == 2
    assert f'href="/o/lead/{lead["id"]}"' in page
    assert 'data-testid="unread-count">2<' in page


def test_marking_read_updates_the_badge(signed_in, crm):
    _notify(crm, "rep_east", "通知一")
    _notify(crm, "rep_east", "通知二")
    newest, older = _ids(text(signed_in.get("/notifications")))

    response = signed_in.post(f"/notifications/{newest}/read")
    assert response.status_code == 303
    page = text(signed_in.get(response.headers["Location"]))
    assert 'data-testid="unread-count">1<' in page
    assert page.count("notification unread") == 1
    unread = text(signed_in.get("/notifications?unread=1"))
    assert _ids(unread) == [older]

    response = signed_in.post("/notifications/read-all")
    page = text(signed_in.get(response.headers["Location"]))
    assert 'data-testid="unread-count"' not in page
    assert "已将 1 条通知标为已读" in page
    assert _ids(text(signed_in.get("/notifications?unread=1"))) == []
    assert _ids(page) == [newest, older]  # read ones stay in the list


def test_another_users_notification_cannot_be_marked(signed_in, pages, crm):
    _notify(crm, "rep_north", "别人的通知")
    theirs = type(pages)(pages.app)
    theirs.sign_in("rep_north")
    (their_id,) = _ids(text(theirs.get("/notifications")))
    assert signed_in.post(f"/notifications/{their_id}/read").status_code == 404
    assert 'data-testid="unread-count">1<' in text(theirs.get("/notifications"))


def test_markup_in_notifications_shows_literally(signed_in, crm):
    _notify(crm, "rep_east", "<script>alert(1)</script>", "{{7*7}} <b>粗</b>")
    page = text(signed_in.get("/notifications"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;粗&lt;/b&gt;" in page and "{{7*7}}" in page
    assert "<script>alert(1)" not in page and "<b>粗" not in page


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
    return "mark_hot"


def test_a_manual_automation_button_runs_and_its_notification_arrives(signed_in, crm, mark_hot):
    lead = crm.lead("rep_east", company_name="按钮公司")
    url = f"/o/lead/{lead['id']}"
    page = text(signed_in.get(url))
    assert 'data-testid="automation-buttons"' in page and "标为重点" in page
    assert 'data-testid="unread-count"' not in page

    response = signed_in.post(f"{url}/automations/{mark_hot}", {})
    assert response.status_code == 303
    page = text(signed_in.get(response.headers["Location"]))
    assert "标为重点：已完成" in page
    assert 'data-testid="unread-count">1<' in page
    assert crm.raw("lead", lead["id"])["priority"] == "high"
    assert "按钮公司 已标为重点" in text(signed_in.get("/notifications"))

    crm.records.update(crm.ctx("admin"), "lead", lead["id"], {"status": "qualified"})
    response = signed_in.post(f"{url}/automations/{mark_hot}", {})
    assert "未执行" in text(signed_in.get(response.headers["Location"]))


def test_automation_buttons_refuse_what_the_user_may_not_run(signed_in, pages, crm, mark_hot):
    theirs = crm.lead("rep_north", company_name="别人的线索")
    assert signed_in.post(f"/o/lead/{theirs['id']}/automations/{mark_hot}", {}).status_code == 404
    mine = crm.lead("rep_east")
    missing = signed_in.post(f"/o/lead/{mine['id']}/automations/nothing_here", {})
    assert missing.status_code == 404
    not_manual = signed_in.post(f"/o/lead/{mine['id']}/automations/key_lead_priority", {})
    assert not_manual.status_code == 303
    assert "未执行" in text(signed_in.get(not_manual.headers["Location"]))
    assert crm.raw("lead", theirs["id"])["priority"] != "high"
