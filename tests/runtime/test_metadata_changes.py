"""Changing definitions at runtime: new fields, archiving, narrowing and widening, uniqueness."""

from __future__ import annotations

import pytest

from trellis.runtime.errors import BadRequest, Invalid
from trellis.runtime.queries import ListRequest

LABEL = {"zh-CN": "微信号", "en": "WeChat ID"}


def _definition(crm, key):
    with crm.rt.engine.connect() as conn:
        obj, _, field = key.partition(".")
        return crm.rt.cache.get(conn).definitions.objects[obj].by_name[field]


def test_a_new_field_is_usable_at_once(crm):
    old = crm.lead("rep_east")
    result = crm.rt.metadata.add_field(
        "admin", "lead", {"api_name": "wechat_id", "type": "text", "label": LABEL, "length": 30}
    )
    assert [s["action"] for s in result.plan.as_json()] == ["add_column"]
    assert "wechat_id" in crm.columns("lead")
    lead = crm.lead("rep_east", wechat_id="wx_zhang")
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["wechat_id"] == "wx_zhang"
    assert crm.records.get(crm.ctx(), "lead", old["id"])["wechat_id"] is None
    page = crm.records.query(crm.ctx(), "lead", ListRequest(filter="wechat_id == 'wx_zhang'"))
    assert [r["id"] for r in page["records"]] == [lead["id"]]
    with pytest.raises(Invalid) as caught:
        crm.lead("rep_east", wechat_id="w" * 31)
    assert caught.value.details[0]["field"] == "wechat_id"


def test_a_new_picklist_field_and_validation_in_a_second_runtime(crm, database_url):
    """Another process (a second Runtime) picks up the new definitions on its next request."""
    from trellis.runtime.platform_runtime import Runtime

    other = Runtime(database_url)
    try:
        crm.lead("rep_east")
        other.records.query(other.context_for("rep_east"), "lead", ListRequest())  # warm cache
        crm.rt.metadata.add_field(
            "admin",
            "lead",
            {
                "api_name": "channel",
                "type": "picklist",
                "label": {"zh-CN": "渠道", "en": "Channel"},
                "values": [
                    {"api_name": "direct", "label": {"zh-CN": "直销", "en": "Direct"}},
                    {"api_name": "dealer", "label": {"zh-CN": "经销", "en": "Dealer"}},
                ],
            },
        )
        ctx = other.context_for("rep_east")
        made = other.records.create(
            ctx, "lead", {"company_name": "渠道公司", "email": "a@b.cn", "channel": "经销"}
        )
        assert made.record["channel"] == "dealer"
        with pytest.raises(Invalid):
            other.records.create(
                ctx, "lead", {"company_name": "渠道公司", "email": "a@b.cn", "channel": "nope"}
            )
    finally:
        other.dispose()


def test_archiving_a_field_hides_it_but_keeps_its_data(crm):
    crm.rt.metadata.add_field(
        "admin", "lead", {"api_name": "wechat_id", "type": "text", "label": LABEL}
    )
    lead = crm.lead("rep_east", wechat_id="wx_archive")
    crm.rt.metadata.archive_field("admin", "lead", "wechat_id")
    got = crm.records.get(crm.ctx(), "lead", lead["id"])
    assert "wechat_id" not in got
    listed = crm.records.query(crm.ctx(), "lead", ListRequest())["records"]
    assert all("wechat_id" not in r for r in listed)
    with pytest.raises(Invalid) as caught:
        crm.lead("rep_east", wechat_id="x")
    assert caught.value.details[0]["field"] == "wechat_id"
    with pytest.raises(BadRequest):
        crm.records.query(crm.ctx(), "lead", ListRequest(filter="wechat_id == 'wx_archive'"))
    with pytest.raises(BadRequest):
        crm.records.query(crm.ctx(), "lead", ListRequest(sort="wechat_id"))
    # The column and its value are still there ...
    assert "wechat_id" in crm.columns("lead")
    assert crm.raw("lead", lead["id"])["wechat_id"] == "wx_archive"
    # ... and come back with the field.
    crm.rt.metadata.patch("admin", "field:lead.wechat_id", {"archived": False})
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["wechat_id"] == "wx_archive"


def test_archiving_a_field_still_in_use_is_refused_with_every_place(crm):
    lead = crm.lead("rep_east", contact_name="还在用")
    with pytest.raises(Invalid) as caught:
        crm.rt.metadata.archive_field("admin", "lead", "contact_name")
    pointers = [d["pointer"] for d in caught.value.details]
    assert "object:lead/duplicate_rules/0/fields" in pointers
    assert "field:lead.display_title/formula" in pointers
    assert any(p.startswith("layout:lead.standard/") for p in pointers)
    assert any(p.startswith("list_view:lead.all_leads/") for p in pointers)
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["contact_name"] == "还在用"


def test_narrowing_a_text_field_with_longer_values_is_refused_with_the_row_count(crm):
    crm.lead("rep_east", contact_name="欧阳娜娜娜娜")  # 6 characters
    crm.lead("rep_east", contact_name="司马相如相如相")  # 7
    crm.lead("rep_east", contact_name="张三")
    with pytest.raises(Invalid) as caught:
        crm.rt.metadata.patch("admin", "field:lead.contact_name", {"length": 5})
    detail = caught.value.details[0]
    assert (detail["field"], detail["rows"]) == ("contact_name", 2)
    assert "2 record(s)" in detail["message"]
    # Nothing changed: the definition, the column, what may be written.
    assert _definition(crm, "lead.contact_name").options["length"] == 100
    long = crm.lead("rep_east", contact_name="长" * 100)
    assert len(long["contact_name"]) == 100
    # Narrowing to a length every value fits is applied.
    with pytest.raises(Invalid):
        crm.rt.metadata.patch("admin", "field:lead.contact_name", {"length": 50})
    crm.records.update(crm.ctx(), "lead", long["id"], {"contact_name": "短"})
    crm.rt.metadata.patch("admin", "field:lead.contact_name", {"length": 7})
    with pytest.raises(Invalid):
        crm.lead("rep_east", contact_name="八个字八个字八个")


def test_narrowing_a_decimal_field_is_refused_when_values_do_not_fit(crm):
    account = crm.account()
    crm.opportunity("rep_east", account["id"], amount="12345678.90")
    with pytest.raises(Invalid) as caught:
        crm.rt.metadata.patch("admin", "field:opportunity.amount", {"precision": 8})
    assert caught.value.details[0]["rows"] == 1
    assert _definition(crm, "opportunity.amount").options["precision"] == 18


def test_safe_widening_is_applied(crm):
    crm.lead("rep_east", company_name="短名")
    result = crm.rt.metadata.patch("admin", "field:lead.company_name", {"length": 300})
    assert [s["action"] for s in result.plan.as_json()] == ["widen_column"]
    wide = crm.lead("rep_east", company_name="宽" * 300)
    assert len(crm.records.get(crm.ctx(), "lead", wide["id"])["company_name"]) == 300
    with pytest.raises(Invalid):
        crm.lead("rep_east", company_name="宽" * 301)
    if crm.rt.engine.dialect.name == "postgresql":
        assert crm.columns("lead")["company_name"]["type"].length == 300


def test_unique_on_a_field_with_duplicates_is_refused(crm):
    crm.lead("rep_east", contact_name="重名", company_name="甲")
    crm.lead("rep_east", contact_name="重名", company_name="乙")
    crm.lead("rep_north", contact_name="独一", company_name="丙")
    with pytest.raises(Invalid) as caught:
        crm.rt.metadata.patch("admin", "field:lead.contact_name", {"unique": True})
    detail = caught.value.details[0]
    assert (detail["field"], detail["rows"]) == ("contact_name", 1)
    assert _definition(crm, "lead.contact_name").unique is False
    crm.lead("rep_east", contact_name="重名", company_name="丁")  # still allowed


def test_unique_is_enforced_once_applied(crm):
    from trellis.runtime.errors import Conflict

    crm.lead("rep_east", contact_name="唯一甲")
    crm.rt.metadata.patch("admin", "field:lead.contact_name", {"unique": True})
    with pytest.raises(Conflict) as caught:
        crm.lead("rep_north", contact_name="唯一甲")
    assert caught.value.details[0]["field"] == "contact_name"
    assert crm.count("lead") == 1


def test_a_refused_definition_changes_nothing(crm):
    with pytest.raises(Invalid) as caught:
        crm.rt.metadata.add_field(
            "admin",
            "lead",
            {
                "api_name": "select",  # SQL keyword
                "type": "text",
                "label": LABEL,
            },
        )
    assert any("reserved" in d["message"] for d in caught.value.details)
    with pytest.raises(Invalid):
        crm.rt.metadata.add_field(
            "admin",
            "lead",
            {
                "api_name": "sneaky",
                "type": "formula",
                "label": LABEL,
                "return_type": "text",
                "formula": "().__class__.__name__",
            },
        )
    assert "select" not in crm.columns("lead") and "sneaky" not in crm.columns("lead")
    with crm.rt.engine.connect() as conn:
        assert "sneaky" not in crm.rt.cache.get(conn).definitions.objects["lead"].by_name
