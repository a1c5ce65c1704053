"""The actions shared by automations and approval flows, run directly with ``run_actions``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from trellis.expressions import compile_expression
from trellis.flows.actions import ACTIONS, action, run_actions
from trellis.flows.tables import job_table, pool_entry_table
from trellis.metadata.flow_definitions import ActionDef
from trellis.runtime.errors import Invalid, NotFound


def formulas(runtime, object_name: str, values: dict[str, str]) -> dict:
    """Compile action formulas against ``object_name`` (what the metadata build does)."""
    from trellis.metadata.formulas import FormulaCompiler

    with runtime.engine.connect() as conn:
        objects = runtime.cache.get(conn).definitions.objects
    names = FormulaCompiler(dict(objects)).env(object_name)
    return {field: compile_expression(source, names) for field, source in values.items()}


def run(runtime, crm, actions: tuple[ActionDef, ...], object_name: str, record_id: int, **kw):
    flows = runtime.flows
    with runtime.engine.begin() as conn:
        ctx = flows.context(conn, crm.user_id("rep_east"), crm.NOW, cause="automation:test")
        run_actions(flows, conn, ctx, actions, object_name, record_id, **kw)


def test_every_documented_action_type_has_one_function():
    assert sorted(ACTIONS) == [
        "assign",
        "create_record",
        "move_to_pool",
        "notify",
        "submit_for_approval",
        "update_fields",
        "webhook",
    ]
    with pytest.raises(ValueError, match="already runs"):
        action("notify")(lambda *args: None)


def test_each_action_sees_what_the_previous_one_wrote(runtime, crm):
    lead = crm.lead(company_name="顺序公司")
    first = ActionDef("update_fields", values=formulas(runtime, "lead", {"title": "'总监'"}))
    second = ActionDef(
        "update_fields",
        values=formulas(runtime, "lead", {"requirement": "CONCAT(title, ' / ', company_name)"}),
    )
    run(runtime, crm, (first, second), "lead", lead["id"])
    row = crm.raw("lead", lead["id"])
    assert (row["title"], row["requirement"]) == ("总监", "总监 / 顺序公司")
    assert row["updated_by"] == crm.user_id("rep_east")  # on whose behalf it acted


def test_create_record_gives_the_new_record_the_owner_of_the_triggering_one(runtime, crm):
    # rep_east acts (the automation runs on their behalf); the lead is theirs to see.
    lead = crm.lead("rep_east", company_name="跟进公司")
    create = ActionDef(
        "create_record",
        object="follow_up",
        values=formulas(runtime, "lead", {"lead": "id", "subject": "company_name"}),
    )
    run(runtime, crm, (create,), "lead", lead["id"])
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT lead, subject, owner FROM rec_follow_up")).all()
    assert [tuple(r) for r in rows] == [(lead["id"], "跟进公司", crm.user_id("rep_east"))]


def test_webhook_goes_to_the_outbox_with_the_record(runtime, crm):
    lead = crm.lead(company_name="钩子公司")
    hook = ActionDef("webhook", url="http://127.0.0.1:9/hook", secret=None)
    run(runtime, crm, (hook,), "lead", lead["id"])
    with runtime.engine.connect() as conn:
        [job] = conn.execute(
            sa.select(job_table).where(job_table.c.kind == "deliver_webhook")
        ).mappings()
    body = job["payload"]["body"]
    assert body["object"] == "lead" and body["cause"] == "automation:test"
    assert body["record"]["company_name"] == "钩子公司" and body["record"]["id"] == lead["id"]


def test_move_to_pool_and_assign_hand_the_record_over(runtime, crm):
    lead = crm.lead(region="east")
    run(runtime, crm, (ActionDef("move_to_pool"),), "lead", lead["id"])
    assert crm.raw("lead", lead["id"])["owner"] is None
    with runtime.engine.connect() as conn:
        entry = conn.execute(sa.select(pool_entry_table)).mappings().one()
    assert (entry["pool"], entry["reason"]) == ("east_leads", "recycled")
    run(runtime, crm, (ActionDef("assign", rule="by_region"),), "lead", lead["id"])
    assert crm.raw("lead", lead["id"])["owner"] is not None


def test_a_deleted_record_can_be_announced_but_not_changed(runtime, crm):
    lead = crm.lead()
    gone = dict(crm.raw("lead", lead["id"]))
    runtime.records.delete(crm.ctx("admin"), "lead", lead["id"])
    update = ActionDef("update_fields", values=formulas(runtime, "lead", {"title": "'x'"}))
    with pytest.raises(NotFound, match="deleted"):
        run(runtime, crm, (update,), "lead", lead["id"], deleted=gone)
    with pytest.raises(NotFound, match="deleted"):
        run(runtime, crm, (update,), "lead", lead["id"])


def test_an_unknown_action_type_names_the_known_ones(runtime, crm):
    lead = crm.lead()
    with pytest.raises(ValueError, match="update_fields"):
        run(runtime, crm, (ActionDef("teleport"),), "lead", lead["id"])


def test_a_value_that_breaks_the_objects_rules_is_refused_like_a_users(runtime, crm):
    lead = crm.lead()
    bad = ActionDef("update_fields", values=formulas(runtime, "lead", {"score": "1000"}))
    with pytest.raises(Invalid) as caught:
        run(runtime, crm, (bad,), "lead", lead["id"])
    assert "score" in str(caught.value.details)
    assert crm.raw("lead", lead["id"])["score"] is None
