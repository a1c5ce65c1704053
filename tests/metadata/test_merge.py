"""Three-way merges and extensions on JSON values: what an admin sees survive an upgrade."""

from __future__ import annotations

from trellis.metadata.merge import ABSENT, describe, merge3, overlay, put


def _values(*names: str) -> list[dict]:
    return [{"api_name": n, "label": {"zh-CN": n, "en": n}} for n in names]


def test_the_side_that_changed_wins():
    assert merge3("a", "a", "b") == ("b", [])
    assert merge3("a", "b", "a") == ("b", [])
    assert merge3("a", "b", "b") == ("b", [])


def test_both_changed_the_same_place_differently_keeps_the_admins_value_as_a_clash():
    value, clashes = merge3("公司名称", "公司全称", "客户公司")
    assert value == "客户公司"
    assert [(c.base, c.vendor, c.admin) for c in clashes] == [("公司名称", "公司全称", "客户公司")]


def test_labels_merge_language_by_language():
    base = {"zh-CN": "线索", "en": "Lead"}
    vendor = {"zh-CN": "线索", "en": "Sales lead"}
    admin = {"zh-CN": "商机线索", "en": "Lead"}
    assert merge3(base, vendor, admin) == ({"zh-CN": "商机线索", "en": "Sales lead"}, [])


def test_picklist_values_added_on_both_sides_are_all_kept_in_a_sensible_order():
    base = _values("east", "north")
    vendor = _values("east", "north", "northwest")
    admin = _values("east", "north", "southwest")
    value, clashes = merge3(base, vendor, admin)
    assert clashes == []
    assert [v["api_name"] for v in value] == ["east", "north", "northwest", "southwest"]


def test_a_value_the_vendor_removed_goes_unless_the_admin_changed_it():
    base = _values("east", "north", "old")
    vendor = _values("east", "north")
    untouched, _ = merge3(base, vendor, _values("east", "north", "old", "mine"))
    assert [v["api_name"] for v in untouched] == ["east", "north", "mine"]
    relabelled = _values("east", "north") + [
        {"api_name": "old", "label": {"zh-CN": "旧", "en": "x"}}
    ]
    kept, clashes = merge3(base, vendor, relabelled)
    assert [v["api_name"] for v in kept] == ["east", "north", "old"]
    assert describe(clashes[0].path) == "[old]"


def test_a_clash_inside_a_list_item_names_the_item():
    base = _values("vip")
    vendor = [{"api_name": "vip", "label": {"zh-CN": "贵宾", "en": "vip"}}]
    admin = [{"api_name": "vip", "label": {"zh-CN": "重要客户", "en": "vip"}}]
    _, clashes = merge3(base, vendor, admin)
    assert describe(clashes[0].path) == "[vip]/label/zh-CN"


def test_put_sets_one_place_and_can_remove_it():
    value = {"values": _values("a", "b")}
    changed = put(value, ("values", {"api_name": "b"}, "label", "zh-CN"), "乙")
    assert changed["values"][1]["label"] == {"zh-CN": "乙", "en": "b"}
    assert value["values"][1]["label"]["zh-CN"] == "b"  # the original is untouched
    assert [v["api_name"] for v in put(value, ("values", {"api_name": "a"}), ABSENT)["values"]] == [
        "b"
    ]


def test_an_extension_merges_dicts_and_identified_items_and_can_remove_or_replace():
    base = {"label": {"zh-CN": "商机", "en": "Opportunity"}, "values": _values("a", "b")}
    top = {
        "label": {"zh-CN": "项目商机"},
        "values": [
            {"api_name": "c", "label": {"zh-CN": "c", "en": "c"}},
            {"api_name": "a", "$remove": True},
        ],
    }
    merged = overlay(base, top)
    assert merged["label"] == {"zh-CN": "项目商机", "en": "Opportunity"}
    assert [v["api_name"] for v in merged["values"]] == ["b", "c"]
    replaced = overlay(base, {"values": {"$replace": _values("z")}, "label": None})
    assert replaced == {"values": _values("z")}
