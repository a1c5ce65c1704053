"""The automation designer (issue 6, section 1), on SQLite and PostgreSQL.

An administrator lists the automations of each object, opens one, builds a new one (trigger,
condition, time offset, actions in order), sees a refused save's problem at the action it is
about with nothing saved, and test-runs an automation against a record: what the condition
gives with the values it read, what each action would change, create or send, and nothing
written at all. Everyone else finds no designer.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from trellis.flows.tables import automation_log_table, job_table, notification_table
from trellis.metadata import store
from trellis.runtime.errors import NotFound

NEW = "/admin/automations/new"


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _form(**extra) -> dict:
    """A new lead automation: when the score changes and it is 80 or more, set the title and
    tell the owner. ``extra`` replaces or adds form fields."""
    form = {
        "object": "lead",
        "api_name": "hot_lead_alert",
        "label_zh": "热线索提醒",
        "label_en": "Hot lead alert",
        "active": "on",
        "order": "50",
        "trigger_type": "updated",
        "trigger_fields": ["score"],
        "condition": "BLANKVALUE(score, 0) >= 80",
        "action": ["0", "1"],
        "a0-type": "update_fields",
        "a0-vrow": ["0", "1"],
        "a0-v0-field": "title",
        "a0-v0-formula": "'VIP'",
        "a0-v1-field": "",
        "a0-v1-formula": "",
        "a1-type": "notify",
        "a1-prow": ["0"],
        "a1-p0-type": "owner",
        "a1-p0-value": "",
        "a1-channels": ["in_app"],
        "a1-title_zh": "热线索",
        "a1-title_en": "Hot lead",
        "a1-message_zh": "{company_name} 评分 {score}",
        "a1-message_en": "{company_name} scored {score}",
    }
    form.update(extra)
    return form


def _counts(admin) -> tuple:
    rt = admin.runtime
    with rt.engine.connect() as conn:
        tables = [job_table, notification_table, automation_log_table]
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables
        ]
        counts += [
            conn.execute(sa.text(f"SELECT COUNT(*) FROM rec_{name}")).scalar_one()
            for name in ("lead", "follow_up")
        ]
        version = store.current_version(conn)
    return (*counts, version)


def test_the_list_shows_each_objects_automations_and_only_admins_reach_it(admin, pages):
    page = admin.get("/admin/automations?object=lead")
    assert page.status_code == 200
    html = _text(page)
    assert 'data-testid="admin-tab-automations"' in html
    assert 'data-automation="lead.recycle_unfollowed"' in html
    assert 'href="/admin/automations/lead.recycle_unfollowed"' in html
    assert "At a time set by the record" in html or "按记录中的时间" in html  # its trigger
    assert 'data-object="account"' not in html  # only the chosen object
    assert 'data-object="account"' in _text(admin.get("/admin/automations"))

    other = pages.__class__(pages.app)
    other.sign_in("rep_east")
    assert other.get("/admin/automations").status_code == 404
    assert other.get("/admin/automations/lead.recycle_unfollowed").status_code == 404
    assert other.get("/admin/automations/new?object=lead").status_code == 404


def test_a_pack_automation_opens_with_its_trigger_condition_and_actions(admin):
    definition = admin.runtime.metadata.definition("automation", "account.dormant")
    html = _text(admin.get("/admin/automations/account.dormant"))
    assert '<option value="schedule" selected>' in html
    assert definition["trigger"]["cron"] in html
    types = re.findall(r'class="automation-card card" data-slot="\d+" data-type="([a-z_]+)"', html)
    assert types == [a["type"] for a in definition["actions"]]
    assert "crm_standard" in html  # who owns it
    assert 'data-testid="formula-editor"' in html  # the condition in the shared editor
    assert definition["condition"] in html


def test_building_a_new_automation_saves_the_definition_in_the_order_of_the_cards(admin):
    admin.get(NEW + "?object=lead")
    response = admin.post(NEW, _form())
    assert response.status_code == 302, _text(response)[:2000]
    assert response.headers["Location"].endswith("/admin/automations/lead.hot_lead_alert")
    saved = admin.runtime.metadata.definition("automation", "lead.hot_lead_alert")
    assert saved["trigger"] == {"type": "updated", "fields": ["score"]}
    assert saved["condition"] == "BLANKVALUE(score, 0) >= 80"
    assert saved["order"] == 50 and saved["active"] is True
    assert [a["type"] for a in saved["actions"]] == ["update_fields", "notify"]
    assert saved["actions"][0]["values"] == {"title": "'VIP'"}
    assert saved["actions"][1]["recipients"] == [{"type": "owner"}]
    assert saved["actions"][1]["message"]["zh-CN"] == "{company_name} 评分 {score}"

    # Dragging the notify card first is sending its slot first: the order follows.
    admin.get("/admin/automations/lead.hot_lead_alert")
    response = admin.post("/admin/automations/lead.hot_lead_alert", _form(action=["1", "0"]))
    assert response.status_code == 302
    saved = admin.runtime.metadata.definition("automation", "lead.hot_lead_alert")
    assert [a["type"] for a in saved["actions"]] == ["notify", "update_fields"]
    page = _text(admin.get("/admin/automations/lead.hot_lead_alert"))
    assert "The automation hot_lead_alert is saved." in page or "已保存" in page


def test_a_time_trigger_keeps_its_offset_and_only_the_keys_it_takes(admin):
    admin.get(NEW + "?object=lead")
    form = _form(
        trigger_type="time",
        trigger_after="received_at",
        offset_days="-1",
        offset_hours="2",
        offset_minutes="",
        trigger_condition="old.score != score",  # left from another trigger type: not sent
    )
    assert admin.post(NEW, form).status_code == 302
    saved = admin.runtime.metadata.definition("automation", "lead.hot_lead_alert")
    assert saved["trigger"] == {
        "type": "time",
        "after": "received_at",
        "offset": {"days": -1, "hours": 2},
    }


def test_a_refused_save_shows_the_problem_at_its_action_and_saves_nothing(admin):
    admin.get(NEW + "?object=lead")
    before = _counts(admin)
    response = admin.post(
        NEW,
        _form(
            **{
                "a1-type": "update_fields",
                "a1-vrow": ["0"],
                "a1-v0-field": "score",
                "a1-v0-formula": "scroe + 1",
            }
        ),
    )
    assert response.status_code == 422
    html = _text(response)
    assert 'data-testid="save-refused"' in html
    second = html.split('data-testid="action-card"')[2]
    problems = re.search(r'data-testid="action-problems">(.*?)</ul>', second, re.S).group(1)
    assert "Unknown name `scroe`" in problems and "did you mean `score`?" in problems
    first = html.split('data-testid="action-card"')[1]
    assert 'data-testid="action-problems"' not in first
    assert _counts(admin) == before
    with pytest.raises(NotFound):
        admin.runtime.metadata.definition("automation", "lead.hot_lead_alert")
    # What the admin typed is still there to correct.
    assert "scroe + 1" in html and "热线索提醒" in html


def test_a_bad_schedule_is_shown_at_the_trigger(admin):
    admin.get(NEW + "?object=lead")
    response = admin.post(NEW, _form(trigger_type="schedule", trigger_cron="every day"))
    assert response.status_code == 422
    html = _text(response)
    trigger = re.search(r'data-testid="trigger-problems">(.*?)</ul>', html, re.S).group(1)
    assert "is not a five-field cron expression" in trigger
    assert 'data-testid="action-problems"' not in html


def test_a_test_run_shows_what_would_happen_and_writes_nothing(admin, crm):
    lead = crm.lead("admin", company_name="热门公司", score=90)
    admin.get(NEW + "?object=lead")
    before = (crm.raw("lead", lead["id"]), _counts(admin))

    response = admin.post(NEW, _form(do="test", test_record=str(lead["id"])))
    assert response.status_code == 200, _text(response)[:2000]
    html = _text(response)
    run = re.search(r'data-testid="test-run".*?</section>', html, re.S).group(0)
    assert 'data-runs="true"' in run
    assert 'data-holds="true"' in run and "BLANKVALUE(score, 0) &gt;= 80" in response.get_data(
        as_text=True
    )
    text = _plain(run)
    assert "90" in text  # the value the condition read
    assert "'VIP'" in text  # update_fields: title becomes VIP
    assert "热门公司 评分 90" in text  # the notification as the owner would read it
    assert "系统管理员" in text  # … and who gets it

    assert (crm.raw("lead", lead["id"]), _counts(admin)) == before
    with pytest.raises(NotFound):
        admin.runtime.metadata.definition("automation", "lead.hot_lead_alert")

    cold = crm.lead("admin", score=10)
    run = _text(admin.post(NEW, _form(do="test", test_record=str(cold["id"]))))
    assert 'data-runs="false"' in run and 'data-holds="false"' in run


def test_the_card_and_row_fragments_render_the_options_of_their_type(admin):
    card = _text(admin.get("/admin/automations/card?object=lead&slot=3&type=assign"))
    assert 'name="a3-rule"' in card and 'value="3"' in card
    changed = _text(admin.get("/admin/automations/card?object=lead&slot=2&a2-type=webhook"))
    assert 'name="a2-url"' in changed
    row = _text(admin.get("/admin/automations/row?object=lead&slot=1&row=4&kind=value"))
    assert 'name="a1-v4-field"' in row and 'name="a1-v4-formula"' in row
    person = _text(admin.get("/admin/automations/row?object=lead&slot=1&row=2&kind=person"))
    assert 'name="a1-p2-type"' in person
    assert admin.get("/admin/automations/card?object=lead&slot=x").status_code == 400
