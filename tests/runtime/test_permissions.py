"""Data scopes (own, subordinates, department tree, all), edit vs read scope, field security."""

from __future__ import annotations

import pytest

from trellis.runtime.errors import BadRequest, Forbidden, Invalid, NotFound
from trellis.runtime.queries import ListRequest


def _ids(crm, who, object_name="lead", **request):
    page = crm.records.query(crm.ctx(who), object_name, ListRequest(total=True, **request))
    return {r["id"] for r in page["records"]}, page["total"]


@pytest.fixture
def leads(crm):
    """One lead per sales user, named after its owner."""
    return {u: crm.lead(u, company_name=f"{u}的线索")["id"] for u in _SALES}


_SALES = ["rep_east", "rep_north", "manager", "manager_north", "vp"]


def test_a_rep_cannot_read_another_reps_record_and_it_looks_missing(crm, leads):
    north = leads["rep_north"]
    with pytest.raises(NotFound) as hidden:
        crm.records.get(crm.ctx("rep_east"), "lead", north)
    missing_id = north + 1000
    with pytest.raises(NotFound) as missing:
        crm.records.get(crm.ctx("rep_east"), "lead", missing_id)
    assert crm.same_message(hidden.value, missing.value, north, missing_id)
    assert "rep_north" not in str(hidden.value)


def test_records_outside_the_scope_are_not_listed_or_counted(crm, leads):
    ids, total = _ids(crm, "rep_east")
    assert ids == {leads["rep_east"]} and total == 1
    ids, total = _ids(crm, "rep_east", filter="company_name == 'rep_north的线索'")
    assert ids == set() and total == 0
    ids, total = _ids(crm, "rep_east", filter=f"id == {leads['rep_north']}")
    assert ids == set() and total == 0


def test_a_manager_sees_the_department_tree_and_the_vp_sees_all(crm, leads):
    ids, total = _ids(crm, "manager")
    assert ids == {leads["rep_east"], leads["manager"]} and total == 2
    ids, _ = _ids(crm, "manager_north")
    assert ids == {leads["rep_north"], leads["manager_north"]}
    ids, total = _ids(crm, "vp")
    assert ids == set(leads.values()) and total == len(leads)
    ids, _ = _ids(crm, "admin")
    assert ids == set(leads.values())
    assert crm.records.get(crm.ctx("manager"), "lead", leads["rep_east"])["id"] == leads["rep_east"]
    with pytest.raises(NotFound):
        crm.records.get(crm.ctx("manager"), "lead", leads["rep_north"])


def test_a_manager_may_read_but_not_change_records_outside_the_edit_scope(crm):
    # A colleague in the east department who does not report to the manager.
    crm.add_user("rep_east2", department="sales_east", manager="vp", roles=["sales_rep"])
    lead = crm.lead("rep_east2", company_name="同部门不同线")
    assert crm.records.get(crm.ctx("manager"), "lead", lead["id"])["id"] == lead["id"]
    with pytest.raises(Forbidden):
        crm.records.update(crm.ctx("manager"), "lead", lead["id"], {"title": "改"})
    with pytest.raises(Forbidden):
        crm.records.delete(crm.ctx("manager"), "lead", lead["id"])
    row = crm.raw("lead", lead["id"])
    assert (row["title"], row["version"]) == (None, 1)
    # A report's record is within the edit scope.
    mine = crm.lead("rep_east")
    changed = crm.records.update(crm.ctx("manager"), "lead", mine["id"], {"title": "改"}).record
    assert changed["title"] == "改"


def test_a_rep_cannot_change_another_reps_record(crm, leads):
    with pytest.raises(NotFound):
        crm.records.update(crm.ctx("rep_east"), "lead", leads["rep_north"], {"title": "x"})
    with pytest.raises(NotFound):
        crm.records.delete(crm.ctx("rep_east"), "lead", leads["rep_north"])
    assert crm.raw("lead", leads["rep_north"])["title"] is None


def test_references_to_invisible_records_are_refused(crm):
    theirs = crm.account("rep_north", account_name="北方客户")
    mine = crm.account("rep_east")
    with pytest.raises(Invalid) as caught:
        crm.contact("rep_east", theirs["id"])
    assert [d["field"] for d in caught.value.details] == ["account"]
    assert "北方客户" not in str(caught.value.as_json())
    missing = theirs["id"] + 1000
    with pytest.raises(Invalid) as gone:
        crm.contact("rep_east", missing)
    assert crm.same_message(caught.value, gone.value, theirs["id"], missing)
    assert crm.count("contact") == 0
    # Re-pointing an existing record is checked the same way.
    contact = crm.contact("rep_east", mine["id"])
    with pytest.raises(Invalid):
        crm.records.update(crm.ctx(), "contact", contact["id"], {"account": theirs["id"]})
    assert crm.raw("contact", contact["id"])["account"] == mine["id"]


def test_references_are_checked_in_bulk_too(crm):
    theirs = crm.account("rep_north")
    mine = crm.account("rep_east")
    rows = [
        {"contact_name": "甲", "account": mine["id"], "email": "a@example.com"},
        {"contact_name": "乙", "account": theirs["id"], "email": "b@example.com"},
    ]
    with pytest.raises(Invalid) as caught:
        crm.records.bulk_create(crm.ctx(), "contact", rows)
    assert any(d.get("field") == "account" for d in caught.value.details)
    assert crm.count("contact") == 0


def test_cross_object_formula_does_not_read_through_an_invisible_lookup(crm):
    theirs = crm.account("rep_north", region="north")
    with pytest.raises(Invalid):
        crm.opportunity("rep_east", theirs["id"])
    assert crm.count("opportunity") == 0


def test_a_read_only_field_cannot_be_written_by_the_role(crm):
    with pytest.raises(Invalid) as caught:
        crm.lead("rep_east", score=90)
    assert [d["field"] for d in caught.value.details] == ["score"]
    assert crm.count("lead") == 0
    lead = crm.lead("rep_east")
    with pytest.raises(Invalid):
        crm.records.update(crm.ctx(), "lead", lead["id"], {"score": 90})
    assert crm.raw("lead", lead["id"])["score"] is None
    # The manager may, and the rep still reads it.
    crm.records.update(crm.ctx("manager"), "lead", lead["id"], {"score": 90})
    assert crm.records.get(crm.ctx(), "lead", lead["id"])["score"] == 90


def test_finance_edits_only_the_credit_rating(crm):
    account = crm.account("rep_east", account_name="信用公司")
    with pytest.raises(Invalid):
        crm.records.update(crm.ctx("finance"), "account", account["id"], {"account_name": "改"})
    rated = crm.records.update(
        crm.ctx("finance"), "account", account["id"], {"credit_rating": "aa"}
    ).record
    assert (rated["credit_rating"], rated["account_name"]) == ("aa", "信用公司")
    with pytest.raises(Forbidden):
        crm.account("finance")


def test_roles_without_the_right_are_forbidden(crm):
    with pytest.raises(Forbidden):
        crm.account("tech_lead")
    with pytest.raises(Forbidden):  # tech leads have no rights on leads at all
        crm.records.query(crm.ctx("tech_lead"), "lead", ListRequest())
    account = crm.account("rep_east")
    assert crm.records.get(crm.ctx("tech_lead"), "account", account["id"])["id"] == account["id"]
    with pytest.raises(Forbidden):
        crm.records.update(crm.ctx("tech_lead"), "account", account["id"], {"phone": None})
    with pytest.raises(Forbidden):  # reps may not delete accounts
        crm.records.delete(crm.ctx("rep_east"), "account", account["id"])
    assert crm.count("account") == 1


@pytest.fixture
def hidden_amount(crm):
    """sales_rep customised: lead.estimated_amount hidden (the pack hides nothing)."""
    role = crm.pack_role("sales_rep")
    role["objects"]["lead"]["fields"]["estimated_amount"] = "hidden"
    crm.rt.metadata.patch("admin", "role:sales_rep", {"objects": role["objects"]})
    return crm


def test_hidden_fields_are_absent_from_reads_and_lists(hidden_amount):
    crm = hidden_amount
    lead = crm.lead("manager", estimated_amount="123456")
    mine = crm.lead("rep_east")
    assert "estimated_amount" not in mine
    crm.records.update(crm.ctx("manager"), "lead", mine["id"], {"estimated_amount": "999"})
    assert "estimated_amount" not in crm.records.get(crm.ctx("rep_east"), "lead", mine["id"])
    listed = crm.records.query(crm.ctx("rep_east"), "lead", ListRequest())["records"]
    assert listed and all("estimated_amount" not in r for r in listed)
    history = crm.records.history(crm.ctx("rep_east"), "lead", mine["id"])
    assert all(h["field"] != "estimated_amount" for h in history)
    # Others still see it.
    assert crm.records.get(crm.ctx("manager"), "lead", lead["id"])["estimated_amount"] == (
        "123456.00"
    )


def test_hidden_fields_cannot_be_used_to_filter_sort_or_select(hidden_amount):
    crm = hidden_amount
    crm.lead("rep_east")
    for request in [
        {"filter": "estimated_amount > 100"},
        {"filter": "ISBLANK(estimated_amount)"},
        {"sort": "-estimated_amount"},
        {"fields": ("company_name", "estimated_amount")},
    ]:
        with pytest.raises(BadRequest):
            crm.records.query(crm.ctx("rep_east"), "lead", ListRequest(**request))


def test_hidden_fields_cannot_be_written(hidden_amount):
    crm = hidden_amount
    with pytest.raises(Invalid) as caught:
        crm.lead("rep_east", estimated_amount="10")
    assert [d["field"] for d in caught.value.details] == ["estimated_amount"]
    assert crm.count("lead") == 0


def test_writing_a_hidden_field_answers_like_an_unknown_field(hidden_amount):
    crm = hidden_amount
    answers = {}
    for name in ("estimated_amount", "no_such_amount"):
        with pytest.raises(Invalid) as caught:
            crm.lead("rep_east", **{name: "10"})
        message = caught.value.details[0]["message"]
        # A "did you mean" hint names a close visible field; which one depends on the name.
        assert "estimated_amount" not in message.replace(name, "X")
        answers[name] = message.split(";")[0].replace(name, "X")
    assert answers["estimated_amount"] == answers["no_such_amount"]
    assert "has no field" in answers["estimated_amount"]


def test_a_formula_over_a_hidden_field_is_hidden_too(hidden_amount):
    crm = hidden_amount
    mine = crm.lead("rep_east")
    crm.records.update(crm.ctx("manager"), "lead", mine["id"], {"estimated_amount": "600000"})
    lead = crm.records.query(crm.ctx("rep_east"), "lead", ListRequest())["records"][0]
    assert "is_key_lead" not in lead  # it would tell whether estimated_amount >= 500,000
    with pytest.raises(BadRequest):
        crm.records.query(crm.ctx("rep_east"), "lead", ListRequest(filter="is_key_lead"))
    manager = crm.records.query(crm.ctx("manager"), "lead", ListRequest())["records"][0]
    assert manager["is_key_lead"] is True
