"""Shipped packs build, layers merge property by property, and customizations
keep their provenance."""

from __future__ import annotations

import pytest

from trellis.metadata import UNSET, Component, Layers, build
from trellis.metadata.names import name_problem
from trellis.metadata.packs import dependency_problems, locate, read, shipped_packs


def _layers(*names: str) -> Layers:
    layers = Layers()
    for name in names:
        layers = layers.with_pack(read(locate(name)))
    return layers


def test_shipped_packs_build_alone_and_together():
    assert {"crm_standard", "industrial"} <= set(shipped_packs())
    crm = build(_layers("crm_standard").effective())
    assert {"lead", "account", "contact", "opportunity", "follow_up"} <= set(crm.objects)
    both = build(_layers("crm_standard", "industrial").effective())
    assert "sample_request" in both.objects
    assert both.objects["sample_request"].by_name["account"].options["target"] == "account"


def test_industrial_pack_needs_crm_standard():
    manifest = read(locate("industrial")).manifest
    problems = dependency_problems(manifest, {})
    assert problems and "install it first" in problems[0].message
    assert dependency_problems(manifest, {"crm_standard": "1.0.0"}) == []
    assert dependency_problems(manifest, {"crm_standard": "1.7.2"}) == []
    assert "is installed" in dependency_problems(manifest, {"crm_standard": "2.0.0"})[0].message
    assert "is installed" in dependency_problems(manifest, {"crm_standard": "0.9.0"})[0].message


def test_customization_patches_one_property_and_keeps_the_rest():
    layers = _layers("crm_standard").with_patch(
        "field:lead.company_name", "label", {"zh-CN": "公司全称", "en": "Company full name"}
    )
    lead = build(layers.effective()).objects["lead"]
    assert lead.by_name["company_name"].label.zh == "公司全称"
    assert lead.by_name["company_name"].required  # the pack's other properties stay
    assert layers.provenance("field:lead.company_name").startswith("crm_standard@")
    removed = layers.with_patch("field:lead.company_name", "label", UNSET)
    with pytest.raises(Exception, match="label"):
        build(removed.effective())


def test_admin_created_components_come_after_pack_components():
    field = Component(
        "field:lead.wechat_id",
        {"api_name": "wechat_id", "type": "text", "label": {"zh-CN": "微信号", "en": "WeChat ID"}},
    )
    layers = _layers("crm_standard").with_created(field)
    lead = build(layers.effective(), provenance=layers.provenance).objects["lead"]
    assert lead.fields[-1].api_name == "wechat_id"
    assert lead.fields[-1].provenance == "custom"


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("amount", None),
        ("contract_amount", None),
        ("x", "must start"),
        ("Amount", "must start"),
        ("select", "reserved"),
        ("class", "reserved"),
        ("owner", "system field"),
        ("trellis_meta", "prefix"),
        ("a__b", "double underscores"),
        ("records", "platform"),
        ("a" * 41, "must start"),
        ("名称", "must start"),
    ],
)
def test_api_name_rules(name, fragment):
    problem = name_problem(name)
    assert (problem is None) if fragment is None else (fragment in problem)
