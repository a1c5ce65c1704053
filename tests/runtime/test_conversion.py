"""Lead conversion (线索转化, ``conversion:lead.standard``): a lead becomes an account (or is
linked to an existing one), a contact and, if wanted, an opportunity, in one transaction
through the records service, and the lead keeps a link to each for funnel reports."""

from __future__ import annotations

import threading

import pytest

from trellis.runtime.errors import Conflict, Forbidden, Invalid, NotFound, StaleVersion
from trellis.runtime.records.conversion import AlreadyConverted, Conversions, DuplicatesFound

KEY = "lead.standard"


@pytest.fixture
def conversions(crm) -> Conversions:
    return Conversions(crm.records)


def _lead(crm, who="rep_east", **values):
    n = crm.serial()
    data = {
        "company_name": f"苏州新材料{n}有限公司",
        "contact_name": f"王经理{n}",
        "title": "采购经理",
        "mobile": f"1390000{n:04d}",
        "email": f"buyer{n}@example.com",
        "industry": "new_materials",
        "region": "east",
        "product_line": "adhesives",
        "estimated_amount": "250000",
        **values,
    }
    return crm.records.create(crm.ctx(who), "lead", data).record


def _counts(crm) -> dict[str, int]:
    return {name: crm.count(name) for name in ("account", "contact", "opportunity")}


def test_converting_creates_account_contact_and_opportunity_linked_both_ways(crm, conversions):
    lead = _lead(crm)
    ctx = crm.ctx("rep_east")

    result = conversions.convert(ctx, KEY, lead["id"], {"version": lead["version"]})

    account, contact, opp = (result.records[n] for n in ("account", "contact", "opportunity"))
    assert account["account_name"] == lead["company_name"]
    assert (account["industry"], account["region"]) == ("new_materials", "east")
    assert account["account_type"] == "prospect"
    assert (contact["contact_name"], contact["account"]) == (lead["contact_name"], account["id"])
    assert contact["mobile"] == lead["mobile"]
    assert (opp["account"], opp["primary_contact"], opp["lead"]) == (
        account["id"],
        contact["id"],
        lead["id"],
    )
    assert (opp["amount"], opp["opportunity_source"]) == ("250000.00", "lead_conversion")
    assert opp["stage"] == "initial_contact"  # the field's default applies
    marked = crm.records.get(ctx, "lead", lead["id"])
    assert marked["status"] == "converted" and marked["converted_at"] is not None
    assert (
        marked["converted_account"],
        marked["converted_contact"],
        marked["converted_opportunity"],
    ) == (account["id"], contact["id"], opp["id"])
    assert result.source["version"] == marked["version"]
    assert marked["first_response_at"] is not None  # automation first_response ran on it
    # The records service did the writing: owners, roll-ups, automations and history apply.
    assert {account["owner"], contact["owner"], opp["owner"]} == {crm.user_id("rep_east")}
    assert account["contact_count"] == 1 and account["converted_lead_count"] == 1
    assert account["total_opportunity_amount"] == "250000.00"
    assert opp["stage_changed_at"] is not None  # automation opportunity_stage_stamp ran
    changes = {h["field"] for h in crm.records.history(ctx, "lead", lead["id"])}
    assert {"status", "converted_account"} <= changes


def test_preview_proposes_values_without_writing(crm, conversions):
    lead = _lead(crm, contact_name=None)
    before = _counts(crm)

    preview = conversions.preview(crm.ctx("rep_east"), KEY, lead["id"])

    assert _counts(crm) == before
    assert preview["source"] == {
        "object": "lead",
        "id": lead["id"],
        "version": lead["version"],
        "can_convert": True,
    }
    targets = {t["api_name"]: t for t in preview["targets"]}
    assert list(targets) == ["account", "contact", "opportunity"]
    assert targets["account"]["values"]["account_name"] == lead["company_name"]
    assert targets["account"]["choose_existing"] is True
    assert targets["opportunity"]["optional"] is True
    assert targets["opportunity"]["values"]["amount"] == "250000.00"
    assert targets["contact"]["links"] == {"account": "account"}
    assert targets["contact"]["missing"] == ["contact_name"]  # the user has to type it


def test_choosing_an_existing_account_links_it_instead_of_creating_one(crm, conversions):
    existing = crm.account("rep_east", account_name="苏州新材料集团有限公司")
    lead = _lead(crm, company_name="苏州新材料集团有限公司")
    ctx = crm.ctx("rep_east")
    preview = conversions.preview(ctx, KEY, lead["id"])
    found = preview["targets"][0]["duplicates"]
    assert found[0]["action"] == "block"
    assert found[0]["records"] == [{"id": existing["id"], "name": "苏州新材料集团有限公司"}]
    before = _counts(crm)

    choices = {"targets": {"account": {"existing_id": existing["id"]}}}
    result = conversions.convert(ctx, KEY, lead["id"], choices)

    assert _counts(crm)["account"] == before["account"]
    assert result.linked_existing == ["account"]
    assert result.records["account"]["id"] == existing["id"]
    assert result.records["contact"]["account"] == existing["id"]
    assert result.records["opportunity"]["account"] == existing["id"]
    assert crm.raw("lead", lead["id"])["converted_account"] == existing["id"]


def test_an_existing_account_must_be_one_the_user_can_see(crm, conversions):
    theirs = crm.account("rep_north")
    lead = _lead(crm)
    before = _counts(crm)

    with pytest.raises(Invalid) as caught:
        conversions.convert(
            crm.ctx("rep_east"),
            KEY,
            lead["id"],
            {"targets": {"account": {"existing_id": theirs["id"]}}},
        )

    assert caught.value.details[0]["pointer"] == "/targets/account/existing_id"
    assert _counts(crm) == before


def test_skipping_the_opportunity(crm, conversions):
    lead = _lead(crm)
    before = _counts(crm)

    result = conversions.convert(
        crm.ctx("rep_east"), KEY, lead["id"], {"targets": {"opportunity": {"skip": True}}}
    )

    assert result.records["opportunity"] is None
    assert _counts(crm) == {
        **before,
        "account": before["account"] + 1,
        "contact": before["contact"] + 1,
    }
    row = crm.raw("lead", lead["id"])
    assert row["converted_opportunity"] is None and row["converted_account"] is not None
    assert row["status"] == "converted"


def test_values_typed_by_the_user_override_the_proposal(crm, conversions):
    lead = _lead(crm, contact_name=None)
    choices = {
        "targets": {
            "contact": {"values": {"contact_name": "李工", "is_decision_maker": True}},
            "opportunity": {
                "values": {"opportunity_name": "2026年胶粘剂年度框架", "amount": 300000}
            },
        }
    }

    result = conversions.convert(crm.ctx("rep_east"), KEY, lead["id"], choices)

    assert result.records["contact"]["contact_name"] == "李工"
    assert result.records["contact"]["is_decision_maker"] is True
    assert result.records["opportunity"]["opportunity_name"] == "2026年胶粘剂年度框架"
    assert result.records["opportunity"]["amount"] == "300000.00"


def test_a_blocking_duplicate_account_is_refused_and_nothing_is_written(crm, conversions):
    existing = crm.account("rep_east", account_name="无锡精细化工有限公司")
    lead = _lead(crm, company_name="无锡精细化工有限公司")
    before = _counts(crm)

    with pytest.raises(Conflict) as caught:
        conversions.convert(crm.ctx("rep_east"), KEY, lead["id"])

    error = caught.value
    assert error.extra["target"] == "account"
    assert error.extra["duplicates"][0]["records"][0]["id"] == existing["id"]
    assert _counts(crm) == before
    assert crm.raw("lead", lead["id"])["status"] == "new"


def test_a_duplicate_warning_is_returned_until_the_user_confirms(runtime, crm, conversions):
    account_rule = {
        "api_name": "same_name",
        "label": {"zh-CN": "客户名称重复", "en": "Same account name"},
        "fields": ["account_name"],
        "action": "warn",
    }
    runtime.metadata.patch("admin", "object:account", {"duplicate_rules": [account_rule]})
    existing = crm.account("rep_east", account_name="常州高分子材料有限公司")
    lead = _lead(crm, company_name="常州高分子材料有限公司")
    ctx = crm.ctx("rep_east")
    before = _counts(crm)

    with pytest.raises(DuplicatesFound) as caught:
        conversions.convert(ctx, KEY, lead["id"])

    assert caught.value.status == 409
    found = caught.value.extra["duplicates"]["account"]
    assert found[0]["action"] == "warn" and found[0]["records"][0]["id"] == existing["id"]
    assert _counts(crm) == before
    assert crm.raw("lead", lead["id"])["converted_account"] is None

    result = conversions.convert(ctx, KEY, lead["id"], {"confirm_duplicates": True})

    assert result.records["account"]["id"] != existing["id"]
    assert result.duplicates["account"][0]["records"][0]["id"] == existing["id"]
    assert _counts(crm)["account"] == before["account"] + 1


def test_a_converted_lead_cannot_be_converted_again(crm, conversions):
    lead = _lead(crm)
    ctx = crm.ctx("rep_east")
    first = conversions.convert(ctx, KEY, lead["id"])
    before = _counts(crm)

    with pytest.raises(AlreadyConverted) as caught:
        conversions.convert(ctx, KEY, lead["id"])

    assert caught.value.status == 409
    assert caught.value.extra["converted"]["account"] == {
        "object": "account",
        "id": first.records["account"]["id"],
    }
    assert _counts(crm) == before


def test_double_submission_converts_once(crm, conversions):
    lead = _lead(crm)
    ctx = crm.ctx("rep_east")
    before = _counts(crm)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def submit():
        start.wait()
        try:
            outcomes.append(conversions.convert(ctx, KEY, lead["id"], {"version": lead["version"]}))
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test compares
            outcomes.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(errors) == 1, outcomes
    assert isinstance(errors[0], AlreadyConverted)
    assert _counts(crm) == {k: v + 1 for k, v in before.items()}


def test_a_stale_version_is_refused(crm, conversions):
    lead = _lead(crm)
    ctx = crm.ctx("rep_east")
    crm.records.update(ctx, "lead", lead["id"], {"priority": "high"})
    before = _counts(crm)

    with pytest.raises(StaleVersion):
        conversions.convert(ctx, KEY, lead["id"], {"version": lead["version"]})

    assert _counts(crm) == before


def test_a_rep_cannot_convert_another_reps_lead(crm, conversions):
    lead = _lead(crm, who="rep_east")
    before = _counts(crm)

    with pytest.raises(NotFound):
        conversions.convert(crm.ctx("rep_north"), KEY, lead["id"])
    with pytest.raises(NotFound):
        conversions.preview(crm.ctx("rep_north"), KEY, lead["id"])

    assert _counts(crm) == before


def test_a_user_without_edit_rights_on_leads_is_refused(crm, conversions):
    lead = _lead(crm)

    with pytest.raises(Forbidden):
        conversions.convert(crm.ctx("finance"), KEY, lead["id"])


def test_a_failing_contact_leaves_no_account_behind(crm, conversions):
    lead = _lead(crm, contact_name=None)
    before = _counts(crm)

    with pytest.raises(Invalid) as caught:
        conversions.convert(crm.ctx("rep_east"), KEY, lead["id"])

    error = caught.value
    assert error.extra["target"] == "contact"
    assert {"field": "contact_name", "target": "contact"}.items() <= error.details[0].items()
    assert _counts(crm) == before
    row = crm.raw("lead", lead["id"])
    assert (row["status"], row["converted_account"], row["version"]) == ("new", None, 1)


def test_an_unqualified_lead_cannot_be_converted(crm, conversions):
    lead = _lead(crm, status="unqualified", unqualified_reason="no_budget")

    with pytest.raises(Invalid) as caught:
        conversions.convert(crm.ctx("rep_east", locale="en"), KEY, lead["id"])

    assert "unqualified lead cannot be converted" in caught.value.message


def test_bad_choices_name_their_place(crm, conversions):
    lead = _lead(crm)
    choices = {
        "targets": {
            "account": {"skip": True},
            "contact": {"existing_id": 1},
            "opportunity": {"values": {"lead": 5}},
            "quote": {},
        },
        "confirm": True,
    }

    with pytest.raises(Invalid) as caught:
        conversions.convert(crm.ctx("rep_east"), KEY, lead["id"], choices)

    pointers = {d["pointer"] for d in caught.value.details}
    assert pointers == {
        "/confirm",
        "/targets/account/skip",
        "/targets/contact/existing_id",
        "/targets/opportunity/values/lead",
        "/targets/quote",
    }


def test_an_unknown_conversion_is_not_found(crm, conversions):
    lead = _lead(crm)
    with pytest.raises(NotFound, match="lead.standard"):
        conversions.convert(crm.ctx("rep_east"), "lead.express", lead["id"])


def test_a_bad_conversion_definition_is_refused_with_its_places(runtime):
    bad = {
        "api_name": "quick",
        "object": "lead",
        "label": {"zh-CN": "快速转化", "en": "Quick conversion"},
        "targets": [
            {
                "api_name": "contact",
                "object": "contact",
                "link_field": "converted_account",
                "values": {"contact_name": "score", "nickname": "contact_name"},
                "links": {"account": "account"},
            },
            {
                "api_name": "account",
                "object": "account",
                "link_field": "converted_account",
                "values": {"region": "industry", "account_type": "'vip'"},
            },
        ],
    }

    with pytest.raises(Invalid) as caught:
        runtime.metadata.define("admin", "conversion", bad)

    problems = {d["pointer"]: d["message"] for d in caught.value.details}
    place = "conversion:lead.quick/targets"
    assert "lookup to account" in problems[f"{place}/0/link_field"]
    assert "number" in problems[f"{place}/0/values/contact_name"]
    assert "not a field of contact" in problems[f"{place}/0/values/nickname"]
    assert "list 'account' earlier" in problems[f"{place}/0/links/account"]
    assert "account.account_name is required" in problems[f"{place}/1/values"]
    assert "each target needs its own link field" in problems[f"{place}/1/link_field"]
    assert "'vip' is not a value" in problems[f"{place}/1/values/account_type"]
    assert f"{place}/1/values/region" not in problems  # text into a picklist: checked per record
