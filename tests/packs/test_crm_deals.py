"""The deals part of crm_standard as users meet it: products and price books, quote lines and
the quote totals they drive, the two quote approvals (seed 000 discount, seed 004 large amount),
opportunity registration (商机报备) against 撞单, the forecast fields and competitors, on SQLite
and PostgreSQL.

New objects have no role permissions in the pack yet, so their records are written as admin;
quotes and opportunities belong to rep_east, whose manager is ``manager``.
"""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest

from trellis.metadata.packs import locate
from trellis.runtime import sample_data
from trellis.runtime.errors import Conflict, Invalid
from trellis.runtime.queries import ListRequest

_runtime = sys.modules["trellis_tests_runtime_conftest"]  # loaded by tests/conftest.py
runtime = _runtime.runtime
crm = _runtime.crm


class Deals:
    """Products, quotes and approvals of one test, written the way the pages would."""

    def __init__(self, crm):
        self.crm = crm
        self.records = crm.records
        self.approvals = crm.rt.flows.approvals

    def create(self, object_name, who="admin", **values):
        return self.records.create(self.crm.ctx(who), object_name, values).record

    def get(self, object_name, record):
        return self.records.get(self.crm.ctx("admin"), object_name, record["id"])

    def product(self, code, list_price, **values):
        values = {"product_name": f"产品{code}", "product_line": "adhesives", **values}
        return self.create("product", product_code=code, list_price=list_price, **values)

    def quote(self, **values):
        return self.create("quote", "rep_east", quote_name=f"报价{self.crm.serial()}", **values)

    def line(self, quote, product, quantity, **values):
        return self.create(
            "quote_line", quote=quote["id"], product=product["id"], quantity=quantity, **values
        )

    def submit(self, object_name, record, who="rep_east"):
        return self.approvals.submit(self.crm.ctx(who), object_name, record["id"])

    def waiting_on(self, instance):
        """Usernames with a pending task in the approval, and the node they are at."""
        fresh = self.approvals.instance(self.crm.ctx("admin"), instance["id"])
        return sorted(
            (t["node"], t["assignee"]["username"])
            for t in fresh["tasks"]
            if t["status"] == "pending"
        )

    def act(self, instance, who, verb="approve", **kwargs):
        ctx = self.crm.ctx(who)
        (task,) = [t for t in self.approvals.tasks(ctx) if t["approval"]["id"] == instance["id"]]
        return getattr(self.approvals, verb)(ctx, task["id"], **kwargs)


@pytest.fixture
def deals(crm):
    return Deals(crm)


def values_of(record, *names):
    """The record's values of ``names``, as a tuple to compare at once."""
    return tuple(record[n] for n in names)


# -- quote lines and quote totals ------------------------------------------------------------


def test_a_quote_line_takes_the_product_price_and_computes_its_values_of(deals):
    epoxy = deals.product("AD-EP-01", "120.00", unit="kg")
    quote = deals.quote()

    line = deals.line(quote, epoxy, "1000", discount="10")
    assert line["line_name"] == "AD-EP-01 产品AD-EP-01"
    assert line["list_price"] == "120.00"  # left blank: the product's list price
    assert values_of(line, "net_price", "line_list_amount", "line_amount") == (
        "108.00",
        "120000.00",
        "108000.00",
    )

    special = deals.line(quote, epoxy, "2.5", list_price="99.99")  # a typed price stays
    assert values_of(special, "net_price", "line_list_amount", "line_amount") == (
        "99.99",
        "249.98",
        "249.98",
    )
    changed = deals.records.update(
        deals.crm.ctx("admin"), "quote_line", special["id"], {"discount": "20"}
    ).record
    assert changed["line_amount"] == "199.98"


def test_quote_line_rules_speak_the_users_language(deals):
    quote = deals.quote()
    no_price = deals.product("SV-01", None, product_line="services", unit="person_day")
    with pytest.raises(Invalid) as caught:
        deals.line(quote, no_price, "3")
    assert {d["rule"] for d in caught.value.details} == {"list_price_known"}
    assert deals.line(quote, no_price, "3", list_price="2000")["line_amount"] == "6000.00"

    with pytest.raises(Invalid) as caught:
        deals.line(quote, no_price, "0", list_price="2000")
    assert caught.value.details[0]["message"] == "数量必须大于0"

    retired = deals.product("AD-OLD", "50.00", active=False)
    with pytest.raises(Invalid) as caught:
        deals.line(quote, retired, "1")
    assert caught.value.details[0]["message"] == "该产品已停售，不能报价"


def test_quote_totals_roll_up_from_the_lines_and_its_amounts_follow_them(deals):
    sealant = deals.product("SE-01", "35.50", product_line="sealants", unit="cartridge")
    primer = deals.product("CT-01", "80.00", product_line="coatings")
    quote = deals.quote()  # a header first, without amounts
    deals.line(quote, sealant, "2000", discount="20")  # 71000 → 56800
    second = deals.line(quote, primer, "100")  # 8000

    totals = deals.get("quote", quote)
    assert values_of(totals, "line_count", "lines_list_amount", "lines_amount") == (
        2,
        "79000.00",
        "64800.00",
    )
    assert totals["discount_rate"] == "0.8203"

    # Saving the quote (any change) brings its amounts in line with the lines.
    deals.records.update(deals.crm.ctx("rep_east"), "quote", quote["id"], {"remarks": "含运费"})
    saved = deals.get("quote", quote)
    assert values_of(saved, "list_amount", "quoted_amount") == ("79000.00", "64800.00")

    # A typed amount does not stick on a quote with lines: the lines decide.
    deals.records.update(deals.crm.ctx("rep_east"), "quote", quote["id"], {"quoted_amount": 1})
    assert deals.get("quote", quote)["quoted_amount"] == "64800.00"

    deals.records.delete(deals.crm.ctx("admin"), "quote_line", second["id"])
    after = deals.get("quote", quote)
    assert values_of(after, "line_count", "lines_list_amount", "lines_amount") == (
        1,
        "71000.00",
        "56800.00",
    )


def test_a_quote_without_lines_keeps_the_amounts_typed_in(deals):
    quote = deals.quote(list_amount=100000, quoted_amount=60000)
    assert values_of(quote, "list_amount", "quoted_amount", "discount_rate", "line_count") == (
        "100000.00",
        "60000.00",
        "0.6000",
        0,
    )
    deals.records.update(deals.crm.ctx("rep_east"), "quote", quote["id"], {"quoted_amount": 65000})
    assert deals.get("quote", quote)["quoted_amount"] == "65000.00"


def test_a_quote_with_lines_is_approved_on_its_lines_and_keeps_them(deals):
    sealant = deals.product("SE-02", "50.00", product_line="sealants")
    quote = deals.quote()
    line = deals.line(quote, sealant, "2000", discount="40")  # 100000 → 60000: 60% of list

    instance = deals.submit("quote", quote)  # the header was never saved with the lines
    assert instance["flow"] == "quote.discount"
    assert [n["id"] for n in instance["current_nodes"]] == ["manager_then_vp"]
    submitted = deals.get("quote", quote)
    assert values_of(submitted, "approval_status", "list_amount", "quoted_amount") == (
        "pending",
        "100000.00",
        "60000.00",
    )

    with pytest.raises(Invalid) as caught:
        deals.records.update(deals.crm.ctx("admin"), "quote_line", line["id"], {"discount": 50})
    assert caught.value.details[0]["rule"] == "quote_not_locked"
    with pytest.raises(Invalid) as caught:
        deals.line(quote, sealant, "1")
    assert caught.value.details[0]["message"].startswith("报价审批中或已批准，明细不能再修改")

    deals.approvals.recall(deals.crm.ctx("rep_east"), instance["id"])
    changed = deals.records.update(
        deals.crm.ctx("admin"), "quote_line", line["id"], {"discount": 50}
    ).record
    assert changed["line_amount"] == "50000.00"


def test_a_quote_needs_amounts_or_lines_before_approval(deals):
    with pytest.raises(Invalid) as caught:
        deals.submit("quote", deals.quote())
    assert (
        caught.value.details[0]["message"] == "提交审批前请填写目录价总额和报价金额，或添加报价明细"
    )


# -- the two quote approvals -----------------------------------------------------------------


def test_a_full_price_quote_over_50000_needs_manager_tech_lead_and_finance_in_turn(deals):
    quote = deals.quote(list_amount=80000, quoted_amount=80000)
    instance = deals.submit("quote", quote)
    assert instance["flow"] == "quote.large_amount"
    assert deals.waiting_on(instance) == [("sales_manager", "manager")]

    deals.act(instance, "manager", comment="价格合理")
    assert deals.waiting_on(instance) == [("tech_lead", "tech_lead")]
    assert deals.get("quote", quote)["approval_status"] == "pending"

    deals.act(instance, "tech_lead", comment="技术方案可行")
    assert deals.waiting_on(instance) == [("finance", "finance")]

    done = deals.act(instance, "finance", comment="账期可接受")
    assert done["status"] == "approved"
    approved = deals.get("quote", quote)
    assert approved["approval_status"] == "approved"
    assert approved["approved_at"] is not None


def test_the_large_amount_flow_stops_at_any_level_that_rejects(deals):
    instance = deals.submit("quote", deals.quote(list_amount=200000, quoted_amount=200000))
    deals.act(instance, "manager")
    rejected = deals.act(instance, "tech_lead", "reject", comment="交期无法满足")
    assert rejected["status"] == "rejected"
    assert deals.waiting_on(rejected) == []


def test_the_discount_flow_keeps_every_discounted_or_small_quote(deals):
    routes = {
        (100000, 80000): ("quote.discount", ["manager"]),  # 80% of list: the manager
        (100000, 60000): ("quote.discount", ["manager_then_vp"]),  # below 70%: manager, VP
        (40000, 40000): ("quote.discount", ["manager"]),  # full price, small
        (50000, 50000): ("quote.discount", ["manager"]),  # 50000 is not above 50000
        (50001, 50001): ("quote.large_amount", ["sales_manager"]),
    }
    for (list_amount, quoted), (flow, nodes) in routes.items():
        instance = deals.submit("quote", deals.quote(list_amount=list_amount, quoted_amount=quoted))
        assert (instance["flow"], [n["id"] for n in instance["current_nodes"]]) == (
            flow,
            nodes,
        ), (list_amount, quoted)


# -- opportunity registration (商机报备) -------------------------------------------------------


@pytest.fixture
def account(crm):
    return crm.account("rep_east", region="east")


def test_registration_goes_to_the_sales_manager_and_sets_the_status(deals, crm, account):
    deal = crm.opportunity("rep_east", account["id"], amount="300000")
    assert deal["registration_status"] == "none"

    instance = deals.submit("opportunity", deal)
    assert instance["flow"] == "opportunity.registration"
    assert deals.waiting_on(instance) == [("manager", "manager")]
    pending = deals.get("opportunity", deal)
    assert pending["registration_status"] == "pending"
    assert pending["registration_submitted_at"] is not None

    deals.act(instance, "manager", comment="确认归属华东")
    registered = deals.get("opportunity", deal)
    assert registered["registration_status"] == "approved"
    assert registered["registered_at"] is not None
    with pytest.raises(Invalid, match="no active approval flow of opportunity accepts"):
        deals.submit("opportunity", deal)  # registered once is enough


def test_registration_of_a_deal_from_one_million_also_needs_the_vp(deals, crm, account):
    deal = crm.opportunity("rep_east", account["id"], amount="1000000")
    instance = deals.submit("opportunity", deal)
    assert deals.waiting_on(instance) == [("manager_then_vp", "manager")]
    deals.act(instance, "manager")
    assert deals.waiting_on(instance) == [("vp", "vp")]
    assert deals.get("opportunity", deal)["registration_status"] == "pending"
    deals.act(instance, "vp")
    assert deals.get("opportunity", deal)["registration_status"] == "approved"


def test_a_rejected_registration_can_be_submitted_again_and_a_recalled_one_is_undone(
    deals, crm, account
):
    deal = crm.opportunity("rep_east", account["id"], amount="500000")
    deals.act(deals.submit("opportunity", deal), "manager", "reject", comment="与北区商机撞单")
    assert deals.get("opportunity", deal)["registration_status"] == "rejected"

    again = deals.submit("opportunity", deal)
    assert deals.get("opportunity", deal)["registration_status"] == "pending"
    deals.approvals.recall(deals.crm.ctx("rep_east"), again["id"])
    assert deals.get("opportunity", deal)["registration_status"] == "none"


def test_a_second_deal_on_the_same_account_and_product_line_warns_of_a_clash(crm, account):
    crm.opportunity("rep_east", account["id"], product_line="sealants")
    second = crm.records.create(
        crm.ctx("manager"),
        "opportunity",
        {
            "opportunity_name": "另一个密封胶项目",
            "account": account["id"],
            "product_line": "sealants",
        },
    )
    assert [w["rule"] for w in second.warnings] == ["same_account_product_line"]


# -- forecast, cycle length, key people, competitors -------------------------------------------


def test_stage_probability_forecast_category_and_closing_date_follow_the_deal(crm, account):
    ctx = crm.ctx("rep_east")
    deal = crm.opportunity(
        "rep_east", account["id"], amount="200000", expected_close_date="2026-03-31"
    )
    fresh = crm.records.get(ctx, "opportunity", deal["id"])
    assert values_of(fresh, "probability", "weighted_amount", "forecast_category") == (
        "10.00",
        "20000.00",
        "pipeline",
    )
    assert (fresh["days_open"], fresh["days_in_stage"]) == (0, 0)

    def move(**changes):
        crm.records.update(ctx, "opportunity", deal["id"], changes)
        return crm.records.get(ctx, "opportunity", deal["id"])

    proposal = move(stage="proposal")
    assert values_of(proposal, "probability", "weighted_amount") == ("40.00", "80000.00")
    assert move(stage="negotiation", probability=70)["probability"] == "70.00"  # typed: kept
    assert move(committed=True)["forecast_category"] == "commit"
    assert move(committed=False)["forecast_category"] == "best_case"
    assert move(forecast_category="commit")["committed"] is True

    with pytest.raises(Invalid) as caught:
        move(forecast_category="closed")
    assert caught.value.details[0]["rule"] == "closed_forecast_needs_won"

    won = move(stage="won")
    assert values_of(won, "probability", "forecast_category") == ("100.00", "closed")
    assert won["closed_date"] is not None and won["days_in_stage"] == 0
    reopened = move(stage="negotiation")  # still committed: back in the commit forecast
    assert values_of(reopened, "forecast_category", "closed_date") == ("commit", None)
    lost = move(stage="lost", loss_reason="budget")
    assert values_of(lost, "probability", "forecast_category") == ("0.00", "omitted")
    assert lost["closed_date"] is not None


def test_the_commit_category_and_the_committed_flag_move_together(crm, account):
    ctx = crm.ctx("rep_east")
    deal = crm.opportunity("rep_east", account["id"], forecast_category="commit")
    fresh = crm.records.get(ctx, "opportunity", deal["id"])
    assert values_of(fresh, "forecast_category", "committed") == ("commit", True)

    crm.records.update(ctx, "opportunity", deal["id"], {"forecast_category": "best_case"})
    fresh = crm.records.get(ctx, "opportunity", deal["id"])
    assert values_of(fresh, "forecast_category", "committed") == ("best_case", False)

    ticked = crm.opportunity(
        "rep_east", account["id"], committed=True, forecast_category="best_case"
    )
    fresh = crm.records.get(ctx, "opportunity", ticked["id"])
    assert values_of(fresh, "forecast_category", "committed") == ("commit", True)


def test_decision_maker_and_supporter_are_contacts_of_the_account(crm, account):
    insider = crm.contact("rep_east", account["id"], title="采购总监")
    elsewhere = crm.contact("rep_east", crm.account("rep_east")["id"])
    deal = crm.opportunity(
        "rep_east", account["id"], decision_maker=insider["id"], supporter=insider["id"]
    )
    assert deal["decision_maker"] == insider["id"]
    with pytest.raises(Invalid) as caught:
        crm.opportunity("rep_east", account["id"], supporter=elsewhere["id"])
    assert caught.value.details[0]["message"] == "支持者必须是该商机客户的联系人"


def test_a_competitor_counts_the_deals_won_and_lost_against_it(crm, deals, account):
    rival = deals.create("competitor", competitor_name="汉高", threat_level="high")
    for stage, extra in (
        ("won", {"expected_close_date": "2026-03-01"}),
        ("lost", {"loss_reason": "price"}),
        ("lost", {"loss_reason": "competitor"}),
        ("proposal", {}),
    ):
        crm.opportunity(  # as admin: reps get no rights on competitors until roles are merged
            "admin",
            account["id"],
            main_competitor=rival["id"],
            stage=stage,
            amount="100000",
            **extra,
        )
    record = deals.get("competitor", rival)
    assert values_of(record, "opportunity_count", "won_count", "lost_count", "lost_amount") == (
        4,
        1,
        2,
        "200000.00",
    )
    assert Decimal(record["win_rate"]) == Decimal("33.33")
    with pytest.raises(Conflict, match="duplicates existing records"):
        deals.create("competitor", competitor_name="汉 高")


# -- products and price books ----------------------------------------------------------------


def test_a_product_appears_once_in_a_price_book(deals):
    epoxy = deals.product("AD-EP-02", "120.00")
    standard = deals.create("price_book", price_book_name="2026标准价格表", is_standard=True)
    dealers = deals.create("price_book", price_book_name="2026经销商价格表")
    deals.create("price_book_entry", price_book=standard["id"], product=epoxy["id"], unit_price=120)

    with pytest.raises(Conflict) as caught:
        deals.create(
            "price_book_entry", price_book=standard["id"], product=epoxy["id"], unit_price=110
        )
    assert "one_product_per_book" in str(caught.value)
    entry = deals.create(
        "price_book_entry", price_book=dealers["id"], product=epoxy["id"], unit_price=102
    )
    assert values_of(entry, "entry_name", "product_list_price") == (
        "AD-EP-02 产品AD-EP-02",
        "120.00",
    )
    assert deals.get("price_book", standard)["entry_count"] == 1
    assert standard["currency"] == "cny"


def test_product_codes_are_unique_and_price_books_have_a_sane_period(deals):
    deals.product("PU-01", "45.00", product_line="polyurethane")
    with pytest.raises(Conflict, match="product_code"):
        deals.product("PU-01", "46.00", product_line="polyurethane")
    with pytest.raises(Invalid) as caught:
        deals.create(
            "price_book",
            price_book_name="促销价",
            valid_from="2026-06-30",
            valid_to="2026-06-01",
        )
    assert caught.value.details[0]["message"] == "失效日期不能早于生效日期"


# -- the pack's demo data --------------------------------------------------------------------


def test_the_demo_quotes_agree_with_their_lines(runtime, deals):
    sample_data.load_records(runtime, locate("crm_standard") / "sample_data", "admin")
    admin = deals.crm.ctx("admin")
    products = deals.records.query(admin, "product", ListRequest(limit=100, total=True))
    assert 10 <= products["total"] <= 15
    quotes = deals.records.query(admin, "quote", ListRequest(limit=100))["records"]
    with_lines = [q for q in quotes if q["line_count"]]
    assert with_lines, "the demo quotes have lines"
    for q in with_lines:
        assert (q["lines_list_amount"], q["lines_amount"]) == (
            q["list_amount"],
            q["quoted_amount"],
        ), q["quote_name"]
    standard = deals.records.query(
        admin, "price_book", ListRequest(limit=10, filter="is_standard")
    )["records"]
    assert len(standard) == 1 and standard[0]["entry_count"] == products["total"]
