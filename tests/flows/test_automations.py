"""Record-triggered automations: created, updated (fields, ``old.*``), deleted; their
order, the depth limit, and failures that undo the write that triggered them."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from trellis.flows.engine import MAX_DEPTH
from trellis.flows.tables import automation_log_table, notification_table
from trellis.runtime.errors import Invalid

LABEL = {"zh-CN": "自动化", "en": "Automation"}


@pytest.fixture(autouse=True)
def without_pack_automations(runtime):
    """The pack's own automations switched off, so each test sees only its own."""
    quiet(runtime)


def quiet(runtime) -> None:
    with runtime.engine.connect() as conn:
        keys = list(runtime.cache.get(conn).definitions.automations)

    def edit(layers):
        for key in keys:
            layers = layers.with_patch(f"automation:{key}", "active", False)
        return layers

    runtime.metadata.change("admin", "switch off the pack's automations", edit)


def define(runtime, api_name: str, trigger: dict, actions: list, **extra) -> str:
    definition = {
        "api_name": api_name,
        "object": extra.pop("object", "lead"),
        "label": LABEL,
        "trigger": trigger,
        "actions": actions,
        **extra,
    }
    runtime.metadata.define("admin", "automation", definition)
    return f"{definition['object']}.{api_name}"


def log_rows(runtime, record_id: int | None = None) -> list[dict]:
    t = automation_log_table
    query = sa.select(t).order_by(t.c.id)
    if record_id is not None:
        query = query.where(t.c.record_id == record_id)
    with runtime.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def set_values(values: dict) -> dict:
    return {"type": "update_fields", "values": values}


def test_created_trigger_runs_inside_the_write_and_is_logged(runtime, crm):
    define(
        runtime,
        "hot_leads",
        {"type": "created"},
        [set_values({"priority": "'high'"})],
        condition="BLANKVALUE(score, 0) >= 80",
    )
    hot = crm.lead("manager", score=90)
    cold = crm.lead("manager", score=10)
    assert crm.raw("lead", hot["id"])["priority"] == "high"
    assert crm.raw("lead", cold["id"])["priority"] == "medium"
    [entry] = log_rows(runtime)
    assert (entry["automation"], entry["record_id"], entry["trigger"], entry["outcome"]) == (
        "lead.hot_leads",
        hot["id"],
        "created",
        "done",
    )


def test_updated_trigger_honours_fields_and_old_values(runtime, crm):
    define(
        runtime,
        "started_work",
        {
            "type": "updated",
            "fields": ["status"],
            "condition": "old.status == 'new' and status == 'working'",
        },
        [set_values({"score": "BLANKVALUE(score, 0) + 10"})],
    )
    lead = crm.lead("manager", score=5)
    ctx = crm.ctx("manager")  # sales reps may not write the score; managers may
    runtime.records.update(ctx, "lead", lead["id"], {"requirement": "需要报价"})
    assert crm.raw("lead", lead["id"])["score"] == 5  # status did not change
    runtime.records.update(ctx, "lead", lead["id"], {"status": "working"})
    assert crm.raw("lead", lead["id"])["score"] == 15
    runtime.records.update(
        ctx, "lead", lead["id"], {"status": "unqualified", "unqualified_reason": "no_demand"}
    )
    runtime.records.update(ctx, "lead", lead["id"], {"status": "working"})
    assert crm.raw("lead", lead["id"])["score"] == 15  # old.status was not 'new'
    assert [e["outcome"] for e in log_rows(runtime, lead["id"])] == ["done"]


def test_created_or_updated_and_deleted_triggers(runtime, crm):
    define(
        runtime,
        "stamp_touch",
        {"type": "created_or_updated", "fields": ["score"]},
        [set_values({"requirement": "CONCAT('score ', TEXT(score))"})],
    )
    define(
        runtime,
        "tell_owner_deleted",
        {"type": "deleted"},
        [
            {
                "type": "notify",
                "recipients": [{"type": "owner"}],
                "title": {
                    "zh-CN": "线索 {company_name} 已删除",
                    "en": "Lead {company_name} deleted",
                },
                "message": {"zh-CN": "评分 {score}", "en": "score {score}"},
            }
        ],
    )
    lead = crm.lead("manager", score=3, company_name="删除测试公司")
    assert crm.raw("lead", lead["id"])["requirement"] == "score 3"
    runtime.records.update(crm.ctx("manager"), "lead", lead["id"], {"score": 4})
    assert crm.raw("lead", lead["id"])["requirement"] == "score 4"
    runtime.records.delete(crm.ctx("admin"), "lead", lead["id"])
    with runtime.engine.connect() as conn:
        notes = conn.execute(sa.select(notification_table)).mappings().all()
    assert [(n["user_id"], n["title"], n["body"]) for n in notes] == [
        (crm.user_id("manager"), "线索 删除测试公司 已删除", "评分 4")
    ]
    assert notes[0]["source"] == "automation:lead.tell_owner_deleted"


def test_automations_of_one_trigger_run_by_order_then_name(runtime, crm):
    define(runtime, "b_second", {"type": "created"}, [set_values({"requirement": "'A'"})], order=10)
    define(
        runtime,
        "a_third",
        {"type": "created"},
        [set_values({"requirement": "CONCAT(requirement, 'C')"})],
        order=20,
    )
    define(
        runtime,
        "c_fourth",
        {"type": "created"},
        [set_values({"requirement": "CONCAT(requirement, 'D')"})],
        order=20,
    )
    define(runtime, "z_first", {"type": "created"}, [set_values({"title": "'经理'"})], order=5)
    lead = crm.lead()
    assert crm.raw("lead", lead["id"])["requirement"] == "ACD"
    assert [e["automation"] for e in log_rows(runtime, lead["id"])] == [
        "lead.z_first",
        "lead.b_second",
        "lead.a_third",
        "lead.c_fourth",
    ]


def test_an_automation_triggering_itself_stops_at_the_depth_limit(runtime, crm):
    define(
        runtime,
        "bump",
        {"type": "updated"},
        [set_values({"score": "BLANKVALUE(score, 0) + 1"})],
    )
    lead = crm.lead("manager", score=0)
    result = runtime.records.update(crm.ctx("manager"), "lead", lead["id"], {"score": 50})
    # The user's write went through, and the answer shows the record as the automations left
    # it (with its current version, so the client's next If-Match is not stale).
    stored = crm.raw("lead", lead["id"])
    assert stored["score"] == 50 + MAX_DEPTH
    assert (result.record["score"], result.record["version"]) == (
        stored["score"],
        stored["version"],
    )
    entries = log_rows(runtime, lead["id"])
    assert [e["outcome"] for e in entries] == ["done"] * MAX_DEPTH + ["stopped"]
    stopped = entries[-1]
    assert stopped["depth"] == MAX_DEPTH
    chain = " → ".join(["automation:lead.bump"] * (MAX_DEPTH + 1))
    assert chain in stopped["message"]


def test_update_fields_evaluates_formulas_with_now(runtime, crm):
    define(
        runtime,
        "first_touch",
        {"type": "created"},
        [set_values({"last_followed_up_at": "NOW()", "score": "LEN(company_name) * 2"})],
    )
    lead = crm.lead(crm.ctx("rep_east", now=crm.NOW), company_name="甲乙丙")
    row = runtime.records.get(crm.ctx("admin"), "lead", lead["id"])
    assert dt.datetime.fromisoformat(row["last_followed_up_at"]) == crm.NOW
    assert row["score"] == 6


def test_create_record_reads_the_triggering_record(runtime, crm):
    define(
        runtime,
        "call_back",
        {"type": "created"},
        [
            {
                "type": "create_record",
                "object": "follow_up",
                "values": {"lead": "id", "subject": "CONCAT('回访 ', company_name)"},
            }
        ],
    )
    lead = crm.lead("rep_north", company_name="回访公司")
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT lead, subject, owner FROM rec_follow_up")).all()
    assert [tuple(r) for r in rows] == [(lead["id"], "回访 回访公司", crm.user_id("rep_north"))]


def test_notify_sends_in_app_in_each_recipients_language(runtime, crm):
    with runtime.engine.begin() as conn:
        conn.execute(sa.text("UPDATE trellis_user SET locale = 'en' WHERE username = 'finance'"))
    define(
        runtime,
        "big_lead_alert",
        {"type": "created"},
        [
            {
                "type": "notify",
                "recipients": [{"type": "owner"}, {"type": "role", "role": "finance"}],
                "title": {"zh-CN": "大线索：{company_name}", "en": "Big lead: {company_name}"},
                "message": {"zh-CN": "预计 {estimated_amount} 元", "en": "{estimated_amount} CNY"},
            }
        ],
        condition="estimated_amount >= 1000000",
    )
    crm.lead(company_name="小公司", estimated_amount=10)
    lead = crm.lead(company_name="大公司", estimated_amount=2000000)
    with runtime.engine.connect() as conn:
        notes = conn.execute(
            sa.select(notification_table).order_by(notification_table.c.user_id)
        ).mappings()
        got = {(n["user_id"], n["title"], n["body"], n["record_id"]) for n in notes}
    assert got == {
        (crm.user_id("rep_east"), "大线索：大公司", "预计 2000000.00 元", lead["id"]),
        (crm.user_id("finance"), "Big lead: 大公司", "2000000.00 CNY", lead["id"]),
    }


def test_a_message_can_name_a_looked_up_field(runtime, crm):
    define(
        runtime,
        "new_contact",
        {"type": "created"},
        [
            {
                "type": "notify",
                "recipients": [{"type": "owner"}],
                "title": {"zh-CN": "{account.account_name} 新联系人", "en": "New contact"},
                "message": {"zh-CN": "{contact_name}（{account.grade}）", "en": "-"},
            }
        ],
        object="contact",
    )
    account = crm.account(account_name="华东精细化工有限公司", grade="gold")
    crm.contact("rep_east", account["id"], contact_name="王经理")
    with runtime.engine.connect() as conn:
        note = conn.execute(sa.select(notification_table)).mappings().one()
    assert note["title"] == "华东精细化工有限公司 新联系人"
    assert note["body"] == "王经理（gold）"


def test_a_failing_action_fails_the_write_and_names_the_automation(runtime, crm):
    define(
        runtime,
        "broken",
        {"type": "created"},
        [set_values({"score": "LEN(company_name) * 1000"})],  # scores go up to 100
    )
    before = crm.count("lead")
    with pytest.raises(Invalid) as caught:
        crm.lead()
    assert "lead.broken" in caught.value.message
    assert caught.value.extra["automation"] == "lead.broken"
    assert crm.count("lead") == before
    assert log_rows(runtime) == []  # nothing of the failed write remains


def test_inactive_automations_do_not_run(runtime, crm):
    define(
        runtime,
        "sleeping",
        {"type": "created"},
        [set_values({"priority": "'high'"})],
        active=False,
    )
    lead = crm.lead()
    assert crm.raw("lead", lead["id"])["priority"] == "medium"


def test_a_write_on_another_object_does_not_trigger(runtime, crm):
    define(runtime, "lead_only", {"type": "created"}, [set_values({"priority": "'high'"})])
    account = crm.account()
    assert account["id"] and log_rows(runtime) == []


def test_old_values_of_a_new_record_are_blank(runtime, crm):
    define(
        runtime,
        "status_moved",
        {"type": "created_or_updated", "condition": "old.status != status"},
        [set_values({"score": "BLANKVALUE(score, 0) + 1"})],
    )
    lead = crm.lead("manager", score=0)
    assert crm.raw("lead", lead["id"])["score"] == 1  # blank → 'new' is a change
    runtime.records.update(crm.ctx("manager"), "lead", lead["id"], {"title": "经理"})
    assert crm.raw("lead", lead["id"])["score"] == 1
    runtime.records.update(crm.ctx("manager"), "lead", lead["id"], {"status": "working"})
    assert crm.raw("lead", lead["id"])["score"] == 2
