"""Where a field is used (trellis.metadata.usage): what the designer shows before an admin
changes or archives a field — layouts, list views, formulas, roll-ups, validation rules,
flows, reports and roles, also through lookups from other objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from trellis.metadata import Layers, build, explode
from trellis.metadata.usage import Usage, usages

CASE = Path(__file__).parent.parent / "definitions" / "valid" / "flows.json"
FOLDERS = {
    "objects": "object",
    "roles": "role",
    "approval_flows": "approval_flow",
    "automations": "automation",
    "pools": "pool",
    "assignment_rules": "assignment_rule",
    "layouts": "layout",
    "list_views": "list_view",
    "reports": "report",
}


def _label(en: str) -> dict:
    return {"zh-CN": en, "en": en}


def _case() -> dict:
    """The flows case (deals with a client lookup) plus a layout, a list view, a report,
    a formula through the lookup, a roll-up, a validation rule and field security."""
    case = copy.deepcopy(json.loads(CASE.read_text("utf-8")))
    client, deal = case["objects"][0], case["objects"][1]
    deal["fields"].append(
        {
            "api_name": "client_grade",
            "type": "formula",
            "label": _label("Client grade"),
            "formula": "client.grade",
            "return_type": "text",
        }
    )
    deal["validation_rules"] = [
        {
            "api_name": "big_needs_date",
            "error_condition": "amount > 1000000 and ISBLANK(close_date)",
            "message": _label("Big deals need a close date"),
        }
    ]
    client["fields"].append(
        {
            "api_name": "deal_total",
            "type": "rollup",
            "label": _label("Deal total"),
            "object": "deal",
            "via": "client",
            "function": "sum",
            "field": "amount",
            "return_type": "currency",
        }
    )
    case["layouts"] = [
        {
            "api_name": "standard",
            "object": "deal",
            "label": _label("Deal"),
            "sections": [{"label": _label("Main"), "fields": ["deal_name", "amount"]}],
        }
    ]
    case["list_views"] = [
        {
            "api_name": "big",
            "object": "deal",
            "label": _label("Big deals"),
            "columns": ["deal_name", "close_date"],
            "filter": "amount > 100",
            "sort": "-close_date",
        }
    ]
    case["reports"] = [
        {
            "api_name": "by_urgency",
            "object": "deal",
            "label": _label("Deals by urgency"),
            "group_by": [{"field": "urgency"}],
            "measures": [
                {
                    "api_name": "total",
                    "label": _label("Total"),
                    "function": "sum",
                    "field": "amount",
                }
            ],
        }
    ]
    finance = next(r for r in case["roles"] if r["api_name"] == "finance")
    finance["objects"] = {"deal": {"read": True, "fields": {"discount": "read_only"}}}
    return case


@pytest.fixture(scope="module")
def defs():
    layers = Layers()
    for prop, kind in FOLDERS.items():
        for definition in _case().get(prop, []):
            for comp in explode(kind, definition):
                layers = layers.with_created(comp)
    return build(layers.effective())


def _keys(found: list[Usage]) -> set[str]:
    return {u.key for u in found}


def test_layouts_list_views_reports_and_the_roll_up_that_read_amount(defs):
    found = usages(defs, "deal", "amount")
    assert Usage("layout", "layout:deal.standard", "sections/0/fields/1") in found
    assert Usage("list_view", "list_view:deal.big", "filter") in found
    assert Usage("report", "report:deal.by_urgency", "measures/0/path") in found
    assert Usage("field", "field:client.deal_total", "rollup") in found
    assert (
        Usage("validation_rule", "validation_rule:deal.big_needs_date", "error_condition") in found
    )
    assert {"approval_flow:deal.discount", "automation:deal.either"} <= _keys(found)


def test_a_field_read_through_a_lookup_is_used_by_the_other_objects_formulas_and_flows(defs):
    found = usages(defs, "client", "grade")
    assert Usage("field", "field:deal.client_grade", "formula") in found
    assert "assignment_rule:deal.by_grade" in _keys(found)
    # the lookup itself is used by the same formula and by the roll-up summarising through it
    through = usages(defs, "deal", "client")
    assert {"field:deal.client_grade", "field:client.deal_total"} <= _keys(through)


def test_flows_name_the_place_inside_them(defs):
    places = {(u.key, u.place) for u in usages(defs, "deal", "stage")}
    assert ("automation:deal.stamp", "trigger/fields") in places
    assert ("automation:deal.stamp", "trigger/condition") in places  # old.stage != stage
    assert ("pool:deal.open_deals", "condition") in places
    discount = {(u.key, u.place) for u in usages(defs, "deal", "discount")}
    assert ("approval_flow:deal.discount", "nodes/route/branches/0/when") in discount
    assert ("approval_flow:deal.discount", "nodes/finance_check/editable_fields") in discount
    assert ("role:finance", "objects/deal/fields") in discount


def test_sort_columns_timed_triggers_and_an_unused_field(defs):
    close = usages(defs, "deal", "close_date")
    assert Usage("list_view", "list_view:deal.big", "sort") in close
    assert Usage("list_view", "list_view:deal.big", "columns") in close
    approved = usages(defs, "deal", "approved_at")
    assert Usage("automation", "automation:deal.recycle", "trigger/after") in approved
    assert usages(defs, "client", "client_name") == []
