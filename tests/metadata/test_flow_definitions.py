"""Flows as metadata: a pack ships them in folders, an admin's change is kept per
property, the frozen definitions carry compiled formulas the engine can evaluate,
and a running approval can rebuild the flow it was submitted with."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from trellis.metadata import DefinitionError, Layers, build, explode
from trellis.metadata.flow_build import flow_from_json
from trellis.metadata.packs import read

CASE = Path(__file__).parent.parent / "definitions" / "valid" / "flows.json"
NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
FOLDERS = {
    "objects": "object",
    "roles": "role",
    "approval_flows": "approval_flow",
    "automations": "automation",
    "pools": "pool",
    "assignment_rules": "assignment_rule",
}


def _case() -> dict:
    return json.loads(CASE.read_text("utf-8"))


def _layers(case: dict) -> Layers:
    layers = Layers()
    for prop, kind in FOLDERS.items():
        for definition in case.get(prop, []):
            for comp in explode(kind, definition):
                layers = layers.with_created(comp)
    return layers


@pytest.fixture(scope="module")
def definitions():
    return build(_layers(_case()).effective())


def test_a_pack_ships_flows_in_its_folders(tmp_path):
    case = _case()
    (tmp_path / "pack.json").write_text(
        json.dumps(
            {"name": "deals", "version": "1.0.0", "label": {"zh-CN": "交易", "en": "Deals"}}
        ),
        encoding="utf-8",
    )
    for folder in FOLDERS:
        for definition in case.get(folder, []):
            path = (
                tmp_path / folder / f"{definition.get('object', 'x')}_{definition['api_name']}.json"
            )
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(definition, ensure_ascii=False), encoding="utf-8")
    layer = read(tmp_path)
    assert "approval_flow:deal.discount" in layer.components
    layers = Layers().with_pack(layer)
    built = build(layers.effective(), provenance=layers.provenance)
    assert built.approval_flows["deal.discount"].provenance == "deals@1.0.0"
    assert set(built.automations) >= {"deal.recycle", "deal.weekly"}
    assert built.pools["deal.open_deals"].claims_per_day == 20
    assert built.assignment_rules["deal.by_grade"].on_create is True


def test_a_pack_file_with_a_bad_flow_is_refused_with_its_path(tmp_path):
    (tmp_path / "pack.json").write_text(
        json.dumps({"name": "bad", "version": "1.0.0", "label": {"zh-CN": "坏", "en": "Bad"}}),
        encoding="utf-8",
    )
    (tmp_path / "approval_flows").mkdir()
    (tmp_path / "approval_flows" / "deal_x.json").write_text(
        json.dumps({"api_name": "xy", "object": "deal", "nodes": []}), encoding="utf-8"
    )
    with pytest.raises(DefinitionError) as caught:
        read(tmp_path)
    pointers = {p.as_json()["pointer"] for p in caught.value.problems}
    assert pointers == {"approval_flows/deal_x.json", "approval_flows/deal_x.json/nodes"}


def test_condition_branches_and_entry_criteria_evaluate_on_record_values(definitions):
    flow = definitions.approval_flows["deal.discount"]
    assert flow.start == "route" and flow.priority == 10
    route = flow.nodes["route"]
    record = {"discount": Decimal("35"), "amount": Decimal("5000")}
    taken = next(
        b.next for b in route.branches if b.when is None or b.when.evaluate(record, now=NOW)
    )
    assert taken == "split"
    assert flow.entry_criteria.evaluate({"discount": Decimal("0")}, now=NOW) is False
    assert flow.nodes["split"].join == "meet"
    assert [b.next for b in flow.nodes["split"].branches] == ["finance_check", "vp"]
    assert flow.nodes["vp"].sla.escalate_after_hours == 48
    assert flow.nodes["finance_check"].editable_fields == ("discount", "close_date")


def test_actions_carry_compiled_values_for_the_target_fields(definitions):
    flow = definitions.approval_flows["deal.discount"]
    stamp, follow_up = flow.on_approved
    assert stamp.values["approved_at"].evaluate({}, now=NOW) == NOW
    assert follow_up.object == "task_item"
    subject = follow_up.values["subject"].evaluate({"deal_name": "Big deal"}, now=NOW)
    assert subject == "Send contract for Big deal"
    notify = flow.on_rejected[0]
    assert (
        notify.channels == ("in_app", "email") and notify.message.en == "{deal_name} was rejected"
    )


def test_update_triggers_read_old_values_and_time_triggers_keep_their_offset(definitions):
    stamp = definitions.automations["deal.stamp"]
    assert stamp.trigger.fields == ("stage",)
    condition = stamp.trigger.condition
    assert condition.evaluate({"stage": "won", "old.stage": "open"}, now=NOW) is True
    assert condition.evaluate({"stage": "won", "old.stage": "won"}, now=NOW) is False
    recycle = definitions.automations["deal.recycle"].trigger
    assert recycle.offset_minutes == 3 * 1440 - 120
    assert definitions.automations["deal.on_close"].trigger.offset_minutes == -1440
    weekly = definitions.automations["deal.weekly"].trigger
    assert (weekly.cron, weekly.time_zone) == ("0 9 * * 1-5", "Europe/Berlin")
    assert definitions.automations["deal.on_new"].trigger.time_zone == "Asia/Shanghai"


def test_an_admin_patch_is_part_of_the_flow_source(definitions):
    layers = _layers(_case())
    nodes = copy.deepcopy(layers.effective()["approval_flow:deal.discount"].definition["nodes"])
    nodes[-2]["approvers"] = [{"type": "user", "users": ["vp"]}]
    patched = build(layers.with_patch("approval_flow:deal.discount", "nodes", nodes).effective())
    flow = patched.approval_flows["deal.discount"]
    assert flow.source["nodes"][-2]["approvers"] == [{"type": "user", "users": ["vp"]}]
    assert flow.nodes["manager"].approvers[0].users == ("vp",)
    json.dumps(flow.source)  # stored with a running instance as JSON


def test_a_stored_snapshot_rebuilds_the_flow_it_was_submitted_with(definitions):
    flow = definitions.approval_flows["deal.discount"]
    snapshot = json.loads(json.dumps(flow.source))
    snapshot["nodes"][0]["branches"][0]["when"] = "discount > 50"  # an older version
    rebuilt = flow_from_json(snapshot, definitions)
    assert rebuilt.nodes.keys() == flow.nodes.keys()
    assert rebuilt.nodes["route"].branches[0].when.source == "discount > 50"
    assert rebuilt.source == snapshot


def test_a_snapshot_that_no_longer_compiles_is_refused(definitions):
    case = _case()
    deal = next(o for o in case["objects"] if o["api_name"] == "deal")
    gone = ("discount", "net_amount")  # net_amount reads discount
    deal["fields"] = [f for f in deal["fields"] if f["api_name"] not in gone]
    case["approval_flows"] = []
    case["automations"] = []
    without_discount = build(_layers(case).effective())
    source = dict(definitions.approval_flows["deal.discount"].source)
    with pytest.raises(DefinitionError) as caught:
        flow_from_json(source, without_discount)
    assert any(
        p.place == "/entry_criteria" and "discount" in p.message for p in caught.value.problems
    )
    with pytest.raises(DefinitionError):
        flow_from_json({**source, "nodes": []}, definitions)


def test_every_problem_of_a_flow_is_reported_at_once():
    case = _case()
    flow = case["approval_flows"][0]
    flow["entry_criteria"] = "amount"
    flow["nodes"][2]["approvers"][0]["role"] = "nobody"
    flow["nodes"].append({"id": "orphan", "type": "end"})
    with pytest.raises(DefinitionError) as caught:
        build(_layers(case).effective())
    places = {p.place for p in caught.value.problems}
    assert places == {
        "/entry_criteria",
        "/nodes/2/approvers/0/role",
        f"/nodes/{len(flow['nodes']) - 1}",
    }
