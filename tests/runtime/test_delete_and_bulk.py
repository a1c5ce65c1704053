"""Delete rules (restrict, cascade, set_null) and bulk create (all or nothing)."""

from __future__ import annotations

import re

import pytest

from trellis.runtime.errors import Conflict, Invalid, NotFound


def test_restrict_refuses_and_deletes_nothing(crm):
    account = crm.account("rep_east")
    contact = crm.contact("rep_east", account["id"])  # cascade: would go first
    crm.opportunity("rep_east", account["id"])  # restrict
    with pytest.raises(Conflict) as caught:
        crm.records.delete(crm.ctx("admin"), "account", account["id"])
    assert "opportunity" in caught.value.message
    assert crm.raw("account", account["id"]) is not None
    assert crm.raw("contact", contact["id"]) is not None
    assert crm.count("opportunity") == 1


def test_cascade_deletes_the_children_with_the_parent(crm):
    account = crm.account("rep_east")
    other = crm.account("rep_east")
    c1 = crm.contact("rep_east", account["id"])
    c2 = crm.contact("rep_east", account["id"])
    kept = crm.contact("rep_east", other["id"])
    f1 = crm.follow_up("rep_east", account=account["id"], contact=c1["id"])
    crm.records.delete(crm.ctx("admin"), "account", account["id"])
    assert crm.raw("account", account["id"]) is None
    assert crm.raw("contact", c1["id"]) is None and crm.raw("contact", c2["id"]) is None
    assert crm.raw("follow_up", f1["id"]) is None
    assert crm.raw("contact", kept["id"]) is not None
    with pytest.raises(NotFound):
        crm.records.get(crm.ctx("admin"), "contact", c1["id"])


def test_set_null_clears_the_reference_and_bumps_the_version(crm):
    account = crm.account("rep_east")
    opp = crm.opportunity("rep_east", account["id"])
    contact = crm.contact("rep_east", account["id"])
    linked = crm.records.update(
        crm.ctx(), "opportunity", opp["id"], {"primary_contact": contact["id"]}
    ).record
    follow_up = crm.follow_up("rep_east", account=account["id"], opportunity=opp["id"])
    crm.records.delete(crm.ctx(), "contact", contact["id"])
    after = crm.records.get(crm.ctx(), "opportunity", opp["id"])
    assert after["primary_contact"] is None
    # a stale editor cannot put the deleted contact back
    assert after["version"] == linked["version"] + 1
    crm.records.delete(crm.ctx("manager"), "opportunity", opp["id"])
    assert crm.records.get(crm.ctx(), "follow_up", follow_up["id"])["opportunity"] is None


def test_set_null_on_a_group_parent(crm):
    group = crm.account("rep_east", account_name="集团总公司")
    child = crm.account("rep_east", account_name="子公司", parent_account=group["id"])
    crm.records.delete(crm.ctx("admin"), "account", group["id"])
    assert crm.records.get(crm.ctx(), "account", child["id"])["parent_account"] is None


def test_delete_with_a_stale_version_is_refused(crm):
    from trellis.runtime.errors import StaleVersion

    lead = crm.lead()
    crm.records.update(crm.ctx(), "lead", lead["id"], {"title": "x"})
    with pytest.raises(StaleVersion):
        crm.records.delete(crm.ctx(), "lead", lead["id"], expected_version=1)
    assert crm.raw("lead", lead["id"]) is not None
    crm.records.delete(crm.ctx(), "lead", lead["id"], expected_version=2)
    assert crm.raw("lead", lead["id"]) is None


# -- bulk create -----------------------------------------------------------------


def test_bulk_create_is_all_or_nothing_with_errors_per_row(crm):
    rows = [
        {"company_name": "好公司", "mobile": "13812345678"},
        {"mobile": "13812345678"},  # no company
        {"company_name": "坏邮箱", "email": "nope"},
        {"company_name": "好公司2", "email": "ok@example.com"},
        {"company_name": "无联系方式"},  # validation rule
    ]
    with pytest.raises(Invalid) as caught:
        crm.records.bulk_create(crm.ctx("rep_east", locale="en"), "lead", rows)
    by_row = {}
    for d in caught.value.details:
        by_row.setdefault(d["row"], []).append(d.get("field"))
    assert by_row == {1: ["company_name"], 2: ["email"], 4: ["mobile"]}
    rule = next(d for d in caught.value.details if d["row"] == 4)
    assert rule["message"] == "Enter a mobile number or an email address"
    assert "3 of 5 rows" in caught.value.message
    assert crm.count("lead") == 0


def test_bulk_create_writes_every_row_with_distinct_numbers(crm):
    before = crm.lead()["lead_number"]
    rows = [{"company_name": f"批量{i}", "email": f"b{i}@example.com"} for i in range(30)]
    ids = crm.records.bulk_create(crm.ctx(), "lead", rows)
    assert len(ids) == 30 == len(set(ids))
    numbers = [crm.records.get(crm.ctx(), "lead", i)["lead_number"] for i in ids]
    assert len(set(numbers) | {before}) == 31
    counters = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert counters == list(range(2, 32))  # in input order
    assert crm.records.get(crm.ctx(), "lead", ids[7])["company_name"] == "批量7"
    assert crm.count("lead") == 31


def test_bulk_create_updates_rollups_once_per_parent(crm):
    a = crm.account("rep_east")
    b = crm.account("rep_east")
    rows = [
        {"opportunity_name": f"批量{i}", "account": (a if i % 2 else b)["id"], "amount": "100"}
        for i in range(20)
    ]
    with crm.statements() as seen:
        crm.records.bulk_create(crm.ctx(), "opportunity", rows)
    account_updates = [s for s in seen if re.match(r"\s*UPDATE rec_account\b", s)]
    # One UPDATE per roll-up over opportunities (3), not one per row.
    assert 0 < len(account_updates) <= 3, account_updates
    for acc in (a, b):
        got = crm.records.get(crm.ctx(), "account", acc["id"])
        assert (got["total_opportunity_amount"], got["open_opportunity_count"]) == ("1000.00", 10)


def test_bulk_create_refuses_duplicates_within_the_batch_for_block_rules(crm):
    rows = [
        {"account_name": "甲乙丙有限公司"},
        {"account_name": "其他公司"},
        {"account_name": "甲乙丙 有限公司"},
    ]
    with pytest.raises(Conflict) as caught:
        crm.records.bulk_create(crm.ctx(), "account", rows)
    assert [d["row"] for d in caught.value.details] == [2]
    assert "row 0" in caught.value.details[0]["message"]
    assert crm.count("account") == 0


def test_bulk_create_refuses_duplicates_of_existing_records(crm):
    crm.account("rep_north", account_name="ＡＢＣ有限公司")
    rows = [{"account_name": "新公司"}, {"account_name": "abc有限公司"}]
    with pytest.raises(Conflict) as caught:
        crm.records.bulk_create(crm.ctx("rep_east"), "account", rows)
    assert [d["row"] for d in caught.value.details] == [1]
    assert "ＡＢＣ" not in str(caught.value.as_json())
    assert crm.count("account") == 1


def test_bulk_create_allows_warn_duplicates(crm):
    rows = [{"company_name": "同名", "contact_name": "甲", "email": f"{i}@x.cn"} for i in range(3)]
    assert len(crm.records.bulk_create(crm.ctx(), "lead", rows)) == 3


def test_bulk_create_needs_a_list_of_objects(crm):
    with pytest.raises(Invalid):
        crm.records.bulk_create(crm.ctx(), "lead", {"company_name": "x"})
    with pytest.raises(Invalid) as caught:
        crm.records.bulk_create(crm.ctx(), "lead", [{"company_name": "ok", "email": "a@b.cn"}, 7])
    assert [d["row"] for d in caught.value.details] == [1]
    assert crm.count("lead") == 0


def test_bulk_create_respects_read_only_fields_and_create_rights(crm):
    from trellis.runtime.errors import Forbidden

    with pytest.raises(Invalid) as caught:
        crm.records.bulk_create(
            crm.ctx(), "lead", [{"company_name": "x", "email": "a@b.cn", "score": 99}]
        )
    assert caught.value.details[0]["field"] == "score"
    with pytest.raises(Forbidden):
        crm.records.bulk_create(crm.ctx("tech_lead"), "account", [{"account_name": "x"}])
    assert crm.count("lead") == crm.count("account") == 0
