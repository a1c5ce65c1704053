"""The automation test run (``AutomationService.explain``): what an automation, saved or only
drafted, would do to one record (condition with its values, each action's changes, the new
record, the notification), with nothing written at all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from trellis.flows.tables import automation_log_table, job_table, notification_table
from trellis.runtime.errors import NotFound

LABEL = {"zh-CN": "测试运行", "en": "Test run"}


def _draft(runtime, **extra):
    """The automation as built by a dry run of define: checked, never saved."""
    definition = {
        "api_name": "explain_me",
        "object": "lead",
        "label": LABEL,
        "trigger": {"type": "updated", "fields": ["score"]},
        "condition": "BLANKVALUE(score, 0) >= 80",
        "actions": [
            {"type": "update_fields", "values": {"title": "'VIP'"}},
            {
                "type": "create_record",
                "object": "follow_up",
                "values": {"lead": "id", "subject": "CONCAT('Call ', company_name)"},
            },
            {
                "type": "notify",
                "recipients": [{"type": "owner"}],
                "title": {"zh-CN": "热线索", "en": "Hot lead"},
                "message": {"zh-CN": "{company_name} 职务 {title}", "en": "{company_name}"},
            },
            {"type": "webhook", "url": "https://erp.example/hook"},
        ],
        **extra,
    }
    result = runtime.metadata.define("admin", "automation", definition, dry_run=True)
    return result.definitions.automations["lead.explain_me"]


def _counts(runtime) -> tuple:
    with runtime.engine.connect() as conn:
        return tuple(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (job_table, notification_table, automation_log_table)
        )


def test_explain_says_what_would_happen_and_writes_nothing(runtime, crm):
    lead = crm.lead("admin", company_name="热门公司", score=90)
    automation = _draft(runtime)
    before = (crm.raw("lead", lead["id"]), crm.count("follow_up"), _counts(runtime))
    ctx = crm.ctx("admin", locale="zh-CN")

    result = runtime.flows.automations.explain(ctx, automation, lead["id"])

    assert result.runs is True
    assert result.condition.holds is True and result.condition.values == {"score": 90}
    update, create, notify, webhook = result.actions
    assert update.changes == [("title", None, "VIP")]
    assert create.object == "follow_up"
    assert create.values == {"lead": lead["id"], "subject": "Call 热门公司"}
    assert notify.recipients == ["系统管理员"]  # the owner, by display name
    assert notify.title == "热线索"
    assert notify.message == "热门公司 职务 VIP"  # sees the update before it
    assert webhook.target == "https://erp.example/hook"
    assert result.record_version == before[0]["version"]
    assert (crm.raw("lead", lead["id"]), crm.count("follow_up"), _counts(runtime)) == before
    with pytest.raises(NotFound):  # the draft was checked, never saved
        runtime.metadata.definition("automation", "lead.explain_me")


def test_a_condition_that_does_not_hold_is_shown_with_the_values_it_read(runtime, crm):
    lead = crm.lead("admin", score=10)
    result = runtime.flows.automations.explain(crm.ctx("admin"), _draft(runtime), lead["id"])
    assert result.runs is False
    assert result.condition.holds is False and result.condition.values == {"score": 10}
    assert result.actions[0].changes == [("title", None, "VIP")]  # previewed anyway


def test_a_formula_that_cannot_be_computed_is_reported_at_its_action(runtime, crm):
    lead = crm.lead("admin", score=10)
    automation = _draft(
        runtime, actions=[{"type": "update_fields", "values": {"score": "score ** 1000"}}]
    )
    [action] = runtime.flows.automations.explain(crm.ctx("admin"), automation, lead["id"]).actions
    assert action.error and "exponent" in action.error


def test_a_record_the_user_cannot_see_is_not_found(runtime, crm):
    theirs = crm.lead("rep_north")
    with pytest.raises(NotFound):
        runtime.flows.automations.explain(crm.ctx("rep_east"), _draft(runtime), theirs["id"])
