"""The standard CRM from contract to cash and service, as its users meet it.

Contracts go through the review with its parallel finance and technical step (平行审批) and the
vice-president above 1,000,000; orders add up their lines; payments matched to a plan reduce
what is outstanding and feed the contract, the commission and the customer's credit file
(诚信档案); claims show what was recovered; and the daily rules tag star and dormant customers,
run by the worker at chosen moments as ``trellis worker --once --as-of`` would.

Runs on the ``crm_standard`` pack as shipped, through the records service and the flow engine,
on SQLite and PostgreSQL (the ``crm`` fixture of ``tests/runtime/conftest.py``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from trellis.flows.tables import approval_task_table, notification_table
from trellis.flows.worker import Worker
from trellis.runtime.errors import Forbidden, Invalid, NotFound
from trellis.runtime.queries import ListRequest

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)


def shanghai(year, month, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


class Fulfilment:
    """The demo organisation at a pinned moment (``crm.NOW``: 2026-03-10 10:30 in Shanghai),
    with factories for the fulfilment chain and the approval and worker steps."""

    def __init__(self, crm):
        self.crm = crm
        self.rt = crm.rt
        self.records = crm.records
        self.now = crm.NOW
        self.today = self.now.astimezone(SHANGHAI).date()

    def ctx(self, who="rep_east", now=None):
        return self.crm.ctx(who, now=now or self.now)

    # -- records ------------------------------------------------------------------

    def create(self, object_name, values, who="rep_east", now=None):
        return self.records.create(self.ctx(who, now), object_name, values).record

    def update(self, object_name, record, values, who="rep_east", now=None):
        """Change a record, then read it back with what automations did after the write."""
        self.records.update(self.ctx(who, now), object_name, record["id"], values)
        return self.get(object_name, record)

    def get(self, object_name, record, who="admin"):
        return self.records.get(self.ctx(who), object_name, record["id"])

    def account(self, who="rep_east"):
        return self.crm.account(self.ctx(who))

    def contract(self, who="rep_east", account=None, **values):
        account = account or self.account(who)
        data = {
            "contract_name": f"年度供货合同{self.crm.serial()}",
            "account": account["id"],
            "amount": "500000.00",
            "start_date": "2026-04-01",
            "end_date": "2027-03-31",
            **values,
        }
        return self.create("contract", data, who)

    def executing_contract(self, who="rep_east", commission_rate=None, **values):
        """A contract in force (as after its review), owned by ``who``; finance sets the
        commission rate."""
        contract = self.contract(who, **values)
        if commission_rate is not None:
            self.update("contract", contract, {"commission_rate": commission_rate}, "finance")
        return self.update("contract", contract, {"status": "executing"}, who="admin")

    def order(self, account, who="rep_east", now=None, **values):
        return self.create("sales_order", {"account": account["id"], **values}, who, now)

    def line(self, order, quantity, unit_price, who="rep_east", now=None, **values):
        data = {
            "sales_order": order["id"],
            "product_name": values.pop("product_name", "双组份环氧结构胶"),
            "quantity": quantity,
            "unit_price": unit_price,
            **values,
        }
        return self.create("order_line", data, who, now)

    def plan(self, account, planned_amount, planned_date, **values):
        data = {
            "plan_name": f"回款计划{self.crm.serial()}",
            "account": account["id"],
            "planned_amount": planned_amount,
            "planned_date": planned_date.isoformat(),
            **values,
        }
        return self.create("payment_plan", data, "rep_east")

    def payment(self, account, amount, received_date=None, now=None, who="finance", **values):
        data = {
            "account": account["id"],
            "amount": amount,
            "received_date": (received_date or self.today).isoformat(),
            **values,
        }
        return self.create("payment", data, who, now)

    # -- approvals --------------------------------------------------------------------

    def submit(self, object_name, record, who="rep_east"):
        return self.rt.flows.approvals.submit(self.ctx(who), object_name, record["id"])

    def approve(self, instance, who):
        return self.rt.flows.approvals.approve(self.ctx(who), self._task(instance, who))

    def reject(self, instance, who):
        return self.rt.flows.approvals.reject(self.ctx(who), self._task(instance, who))

    def _task(self, instance, username):
        t = approval_task_table
        with self.rt.engine.connect() as conn:
            found = conn.execute(
                sa.select(t.c.id).where(
                    t.c.instance_id == instance["id"],
                    t.c.assignee_id == self.crm.user_id(username),
                    t.c.status == "pending",
                )
            ).all()
        assert len(found) == 1, (username, instance["current_nodes"])
        return found[0].id

    # -- the worker and what it tells people -------------------------------------------

    def start_schedules(self):
        """Give the daily rules their next run, as the worker's sweep does after install."""
        with self.rt.engine.begin() as conn:
            self.rt.flows.automations.ensure_schedules(conn, self.now)

    def run_worker(self, at: dt.datetime) -> None:
        Worker(self.rt, name="fulfilment-test").run_once(as_of=at)

    def follow_ups(self, account):
        found = self.records.query(
            self.ctx("admin"), "follow_up", ListRequest(filter=f"account == {account['id']}")
        )
        return found["records"]

    def notifications(self, username, title):
        n = notification_table
        with self.rt.engine.connect() as conn:
            rows = conn.execute(
                sa.select(n.c.title, n.c.body, n.c.record_id).where(
                    n.c.user_id == self.crm.user_id(username)
                )
            ).all()
        return [r for r in rows if r.title == title]


@pytest.fixture
def f(crm):
    return Fulfilment(crm)


def current(instance):
    return sorted(n["id"] for n in instance["current_nodes"])


def refused_fields(excinfo) -> dict[str, str]:
    return {d["field"]: d["message"] for d in excinfo.value.details}


# -- contracts: the review with its parallel step, changes and termination -----------------


def test_a_large_contract_is_reviewed_by_the_manager_then_finance_and_tech_at_once_then_the_vp(f):
    contract = f.contract(amount="1200000.00")
    assert contract["status"] == "draft"
    assert contract["contract_number"].startswith("HT-2026")

    instance = f.submit("contract", contract)
    assert instance["flow"] == "contract.review"
    assert current(instance) == ["manager"]
    assert f.get("contract", contract)["status"] == "in_approval"

    instance = f.approve(instance, "manager")
    assert current(instance) == ["finance", "tech"]  # 平行审批: both reviews open together
    instance = f.approve(instance, "tech_lead")
    assert current(instance) == ["finance"]  # the join waits for the other branch
    assert f.get("contract", contract)["status"] == "in_approval"
    instance = f.approve(instance, "finance")
    assert current(instance) == ["vp"]  # 1,200,000 ≥ 1,000,000

    done = f.approve(instance, "vp")
    assert done["status"] == "approved"
    assert done["path"][:2] == ["manager", "split"]
    assert done["path"][-3:] == ["route", "vp", "end"]
    assert sorted(done["path"][2:-3]) == ["finance", "meet", "meet", "tech"]
    approved = f.get("contract", contract)
    assert approved["status"] == "executing"
    assert approved["approved_at"] is not None
    assert len(f.notifications("rep_east", "合同审批通过")) == 1


def test_a_smaller_contract_needs_no_vp_and_a_rejection_sends_it_back_to_draft(f):
    small = f.contract(amount="300000.00")
    instance = f.approve(f.submit("contract", small), "manager")
    instance = f.approve(instance, "finance")
    done = f.approve(instance, "tech_lead")
    assert done["status"] == "approved"
    assert "vp" not in done["path"]
    assert f.get("contract", small)["status"] == "executing"

    other = f.contract(amount="300000.00")
    instance = f.approve(f.submit("contract", other), "manager")
    rejected = f.reject(instance, "finance")
    assert rejected["status"] == "rejected"
    assert {t["status"] for t in rejected["tasks"]} >= {"rejected", "cancelled"}
    assert f.get("contract", other)["status"] == "draft"


def test_terminating_a_contract_needs_a_reason_and_the_managers_finance_and_vp(f):
    contract = f.executing_contract()
    with pytest.raises(Invalid) as refused:
        f.update("contract", contract, {"change_request": "terminate"})
    assert refused_fields(refused) == {"termination_reason": "终止合同必须填写终止原因"}

    f.update(
        "contract",
        contract,
        {"change_request": "terminate", "termination_reason": "客户产线停产，双方协商解除"},
    )
    instance = f.submit("contract", contract)
    assert instance["flow"] == "contract.change"
    instance = f.approve(f.approve(instance, "manager"), "finance")
    assert current(instance) == ["vp"]
    assert f.approve(instance, "vp")["status"] == "approved"
    terminated = f.get("contract", contract)
    assert terminated["status"] == "terminated"
    assert terminated["terminated_date"] == f.today.isoformat()
    assert terminated["change_request"] is None


def test_contract_rules_name_the_field_and_say_what_is_wrong(f):
    contract = f.executing_contract()
    with pytest.raises(Invalid) as refused:
        f.update("contract", contract, {"status": "terminated"}, who="admin")
    assert refused_fields(refused) == {
        "termination_reason": "终止合同必须填写终止原因",
        "terminated_date": "终止合同必须填写终止日期",
    }
    with pytest.raises(Invalid) as refused:
        f.contract(start_date="2026-05-01", end_date="2026-04-30")
    assert refused_fields(refused) == {"end_date": "到期日期不能早于生效日期"}
    with pytest.raises(Invalid) as refused:
        f.contract(record_type="dealer")
    assert refused_fields(refused) == {"dealer": "三方合同必须选择经销商"}

    dealer = f.account()
    three_party = f.contract(record_type="dealer", dealer=dealer["id"])
    assert (three_party["record_type"], three_party["dealer"]) == ("dealer", dealer["id"])


def test_reps_see_their_own_contracts_and_payments_recorded_by_finance(f):
    east = f.executing_contract("rep_east")
    with pytest.raises(NotFound):
        f.get("contract", east, who="rep_north")
    assert f.get("contract", east, who="manager")["id"] == east["id"]  # the rep's manager
    with pytest.raises(NotFound):
        f.get("contract", east, who="manager_north")
    assert f.get("contract", east, who="finance")["id"] == east["id"]
    with pytest.raises(Forbidden):
        f.payment({"id": east["account"]}, "1000.00", contract=east["id"], who="rep_east")
    # Finance records the payment; it is credited to the contract's owner, who sees it.
    paid = f.payment({"id": east["account"]}, "1000.00", contract=east["id"])
    rep = f.crm.user_id("rep_east")
    assert (paid["credited_to"], paid["owner"]) == (rep, rep)
    assert f.get("payment", paid, who="rep_east")["amount"] == "1000.00"
    with pytest.raises(NotFound):
        f.get("payment", paid, who="rep_north")
    with pytest.raises(Forbidden):
        f.update("payment", paid, {"amount": "2000.00"}, who="rep_east")


# -- orders: lines, amounts, progress --------------------------------------------------


def test_an_order_amount_is_the_sum_of_its_lines_and_moves_with_them(f):
    contract = f.executing_contract()
    account = {"id": contract["account"]}
    order = f.order(account, contract=contract["id"], contract_batch=1)
    assert order["status"] == "draft"
    assert order["order_date"] == f.today.isoformat()
    assert order["amount"] == "0.00"

    first = f.line(order, "1000", "38.50")
    assert first["line_amount"] == "38500.00"
    second = f.line(order, "200", "120.25", product_name="有机硅灌封胶")
    order = f.get("sales_order", order)
    assert (order["amount"], order["line_count"]) == ("62550.00", 2)
    assert f.get("contract", contract)["ordered_amount"] == "62550.00"
    assert f.get("contract", contract)["order_count"] == 1

    f.update("order_line", second, {"quantity": "100"})
    assert f.get("sales_order", order)["amount"] == "50525.00"
    f.records.delete(f.ctx(), "order_line", first["id"])
    order = f.get("sales_order", order)
    assert order["amount"] == "12025.00"
    assert f.get("contract", contract)["unordered_amount"] == "487975.00"

    f.update("order_line", second, {"delivered_quantity": "25"})
    assert f.get("sales_order", order)["delivery_progress"] == "25.00"
    with pytest.raises(Invalid) as refused:
        f.update("order_line", second, {"delivered_quantity": "101"})
    assert refused_fields(refused) == {"delivered_quantity": "已交付数量必须在0到订购数量之间"}

    shipped = f.update("sales_order", order, {"status": "shipped"})
    assert shipped["shipped_date"] == f.today.isoformat()


def test_an_order_line_can_name_a_catalogue_product(f):
    product = f.create(
        "product",
        {
            "product_code": "PU-600",
            "product_name": "单组份聚氨酯密封胶",
            "product_line": "sealants",
            "specification": "600ml/支",
        },
        who="admin",
    )
    order = f.order(f.account())
    line = f.line(order, "500", "32", who="admin", product_name=None, product=product["id"])
    assert (line["product_name"], line["specification"]) == ("单组份聚氨酯密封胶", "600ml/支")
    with pytest.raises(Invalid) as refused:
        f.line(order, "1", "1", product_name=None)
    assert refused_fields(refused) == {"product": "请选择产品或填写产品名称"}


def test_no_new_order_under_a_contract_that_is_not_in_force(f):
    draft = f.contract()
    with pytest.raises(Invalid) as refused:
        f.order({"id": draft["account"]}, contract=draft["id"])
    assert refused_fields(refused) == {"contract": "合同尚未生效或已终止、完成，不能据此下单"}
    contract = f.executing_contract()
    with pytest.raises(Invalid) as refused:
        f.order(f.account(), contract=contract["id"])
    assert refused_fields(refused) == {"account": "订单客户必须是合同的客户或经销商"}


# -- payments: matched to plans, outstanding, commission, credit file ------------------


def test_a_payment_matched_to_a_plan_reduces_what_is_outstanding(f):
    contract = f.executing_contract(amount="300000.00", commission_rate="3")
    account = {"id": contract["account"]}
    plan = f.plan(account, "100000.00", f.today + 5 * DAY, contract=contract["id"], batch=1)
    assert (plan["received_amount"], plan["outstanding_amount"]) == ("0.00", "100000.00")

    first = f.payment(account, "40000.00", payment_plan=plan["id"])
    assert first["contract"] == contract["id"]  # filled in from the plan
    assert first["commission_amount"] == "1200.00"  # 3% of what was collected
    plan = f.get("payment_plan", plan)
    assert (plan["matched_amount"], plan["outstanding_amount"]) == ("40000.00", "60000.00")
    assert plan["collection_rate"] == "40.00"
    contract = f.get("contract", contract)
    assert (contract["collected_amount"], contract["outstanding_amount"]) == (
        "40000.00",
        "260000.00",
    )
    assert contract["commission_amount"] == "1200.00"

    with pytest.raises(Invalid) as refused:
        f.payment(account, "-100.00", payment_plan=plan["id"])
    assert refused_fields(refused) == {"amount": "回款金额必须大于0"}

    f.payment(account, "60000.00", payment_plan=plan["id"])
    assert f.get("payment_plan", plan)["outstanding_amount"] == "0.00"
    # Fully received before its date: the overdue rule finds nothing to say.
    f.run_worker(shanghai(2026, 3, 16, 9))
    assert f.get("payment_plan", plan)["is_overdue"] is False
    assert f.notifications("finance", "回款逾期") == []


def test_an_amount_entered_on_the_plan_still_counts_and_is_never_added_twice(f):
    account = f.account()
    plan = f.plan(account, "100000.00", f.today, collected_amount="30000.00")
    assert plan["outstanding_amount"] == "70000.00"
    # The same money recorded again as a payment is not counted twice.
    f.payment(account, "30000.00", payment_plan=plan["id"])
    assert f.get("payment_plan", plan)["outstanding_amount"] == "70000.00"
    f.payment(account, "20000.00", payment_plan=plan["id"])
    assert f.get("payment_plan", plan)["outstanding_amount"] == "50000.00"


def test_a_late_payment_shows_in_the_customers_credit_file(f):
    account = f.account()
    plan = f.plan(account, "50000.00", f.today)
    f.payment(account, "20000.00", payment_plan=plan["id"])
    f.run_worker(shanghai(2026, 3, 11, 0, 5))  # a day after the planned date
    plan = f.get("payment_plan", plan)
    assert (plan["is_overdue"], plan["overdue_amount"]) == (True, "30000.00")
    alerts = f.notifications("finance", "回款逾期")
    assert [a.body for a in alerts] == [
        f"回款计划 {plan['plan_name']} 已逾期：计划 2026-03-10 回款 50000.00，"
        "已回款 20000.00，未回款 30000.00"
    ]
    credit = f.get("account", account)
    assert (credit["overdue_plan_count"], credit["overdue_amount"]) == (1, "30000.00")

    later = f.now + 2 * DAY
    late = f.payment(account, "30000.00", f.today + 2 * DAY, now=later, payment_plan=plan["id"])
    assert late["days_after_plan"] == 2
    assert f.get("payment_plan", plan)["overdue_amount"] == "0.00"
    credit = f.get("account", account)
    assert (credit["overdue_plan_count"], credit["late_plan_count"]) == (0, 1)
    assert (credit["payment_count"], credit["late_payment_count"]) == (2, 1)
    assert credit["on_time_payment_rate"] == "50.00"
    assert credit["collected_amount"] == "50000.00"


# -- service: complaints, returns, claims ----------------------------------------------


def test_a_new_complaint_goes_to_the_service_team_with_a_due_date(f):
    account = f.account()
    complaint = f.create(
        "complaint",
        {
            "subject": "灌封胶固化后表面发黏",
            "account": account["id"],
            "category": "quality",
            "severity": "critical",
            "description": "第三批次产品在25℃下24小时仍未完全固化。",
        },
    )
    assert complaint["owner"] == f.crm.user_id("service")
    assert complaint["status"] == "assigned"
    assert complaint["due_date"] == (f.today + DAY).isoformat()
    assert len(f.notifications("service", "新客诉待处理")) == 1

    with pytest.raises(Invalid) as refused:
        f.update(
            "complaint",
            complaint,
            {"status": "closed", "resolution": "更换批次并现场指导配比"},
            who="service",
        )
    assert set(refused_fields(refused)) == {"root_cause", "responsibility"}
    closed = f.update(
        "complaint",
        complaint,
        {
            "status": "closed",
            "resolution": "更换批次并现场指导配比",
            "root_cause": "customer_usage",
            "responsibility": "customer",
        },
        who="service",
    )
    assert closed["resolved_at"] is not None


def test_a_claim_shows_the_share_recovered(f):
    account = f.account()
    complaint = f.create(
        "complaint",
        {
            "subject": "运输途中包装破损",
            "account": account["id"],
            "category": "packaging",
            "description": "到货12桶中3桶破损泄漏。",
            "loss_amount": "80000.00",
        },
    )
    claim = f.create(
        "claim",
        {
            "claim_name": "向承运商追偿运输破损损失",
            "account": account["id"],
            "complaint": complaint["id"],
            "party_type": "carrier",
            "party_name": "顺达物流",
            "amount_claimed": "50000.00",
            "amount_recovered": "20000.00",
        },
        who="service",
    )
    assert claim["recovered_ratio"] == "40.00"
    complaint = f.get("complaint", complaint)
    assert (complaint["claimed_amount"], complaint["recovered_amount"]) == (
        "50000.00",
        "20000.00",
    )
    assert complaint["loss_recovery_rate"] == "25.00"

    settled = f.update("claim", claim, {"amount_recovered": "50000.00"}, who="service")
    assert settled["recovered_ratio"] == "100.00"
    with pytest.raises(Invalid) as refused:
        f.update("claim", claim, {"amount_recovered": "60000.00"}, who="service")
    assert refused_fields(refused) == {"amount_recovered": "已获赔金额必须在0到索赔金额之间"}


def test_a_return_cannot_exceed_what_was_ordered(f):
    account = f.account()
    order = f.order(account)
    line = f.line(order, "10", "100")
    returned = f.create(
        "return_request",
        {
            "account": account["id"],
            "sales_order": order["id"],
            "order_line": line["id"],
            "request_type": "return",
            "quantity": "4",
            "reason": "quality",
            "refund_amount": "400.00",
        },
    )
    assert f.get("sales_order", order)["return_count"] == 1
    with pytest.raises(Invalid) as refused:
        f.update("return_request", returned, {"quantity": "11"})
    assert refused_fields(refused) == {"quantity": "退换货数量不能超过订单明细的数量"}


# -- the daily customer tags: star customer and dormant ---------------------------------


def test_three_orders_over_200000_in_a_year_make_a_star_customer_until_one_ages_out(f):
    account = f.account()
    for days_ago in (300, 100, 10):
        order = f.order(account, order_date=(f.today - days_ago * DAY).isoformat())
        f.line(order, "1000", "80")
    counted = f.get("account", account)
    assert (counted["order_count_12m"], counted["ordered_amount_12m"]) == (3, "240000.00")
    assert counted["is_star_customer"] is False  # tagged by the daily run, not at once

    f.start_schedules()
    f.run_worker(shanghai(2026, 3, 11, 1, 31))
    assert f.get("account", account)["is_star_customer"] is True
    assert len(f.notifications("rep_east", "新的明星客户")) == 1

    # 2026-05-14 the first order (2025-05-14) is a year old: it leaves the last-year count ...
    f.run_worker(shanghai(2026, 5, 14, 0, 5))
    counted = f.get("account", account)
    assert (counted["order_count_12m"], counted["ordered_amount_12m"]) == (2, "160000.00")
    assert counted["order_count"] == 3
    # ... and the next daily run takes the tag away.
    f.run_worker(shanghai(2026, 5, 14, 1, 31))
    assert f.get("account", account)["is_star_customer"] is False


def test_six_months_without_an_order_tags_a_dormant_customer_and_plans_a_wake_up_call(f):
    account = f.account()
    order = f.order(account, order_date="2025-09-20")
    f.line(order, "10", "100")
    assert f.get("account", account)["last_order_date"] == "2025-09-20"
    f.start_schedules()

    f.run_worker(shanghai(2026, 3, 11, 1, 31))  # 5 months and 3 weeks: not yet
    assert f.get("account", account)["is_dormant"] is False

    f.run_worker(shanghai(2026, 3, 21, 1, 31))  # six months after 2025-09-20
    assert f.get("account", account)["is_dormant"] is True
    tasks = f.follow_ups(account)
    assert [t["subject"] for t in tasks] == [f"休眠客户唤醒：{account['account_name']}"]
    assert tasks[0]["owner"] == f.crm.user_id("rep_east")
    assert tasks[0]["next_follow_up_date"] == "2026-03-28"
    assert len(f.notifications("rep_east", "休眠客户提醒")) == 1

    f.run_worker(shanghai(2026, 3, 22, 1, 31))  # the next day: tagged already, no second task
    assert len(f.follow_ups(account)) == 1

    woken = f.order(account, now=shanghai(2026, 3, 25, 10))
    f.line(woken, "5", "100", now=shanghai(2026, 3, 25, 10))
    f.run_worker(shanghai(2026, 3, 26, 1, 31))
    assert f.get("account", account)["is_dormant"] is False


# -- the demo data -------------------------------------------------------------------------


def test_the_demo_data_runs_from_contract_to_cash_and_service(f, demo_records):
    admin = f.ctx("admin")

    def listed(object_name, filter_text=None):
        request = ListRequest(limit=500, filter=filter_text)
        return f.records.query(admin, object_name, request)["records"]

    contracts = listed("contract")
    assert {c["record_type"] for c in contracts} == {"direct", "dealer"}
    assert {c["status"] for c in contracts} == {
        "draft",
        "executing",
        "changed",
        "supplemented",
        "terminated",
        "completed",
    }
    for c in contracts:
        assert Decimal(c["ordered_amount"]) <= Decimal(c["amount"]), c["contract_name"]
        assert Decimal(c["collected_amount"]) <= Decimal(c["amount"]), c["contract_name"]
        if c["status"] == "completed":
            assert c["collection_rate"] == "100.00", c["contract_name"]
    assert all(c["dealer"] for c in contracts if c["record_type"] == "dealer")

    orders = listed("sales_order")
    assert {o["status"] for o in orders} == {
        "confirmed",
        "processing",
        "shipped",
        "delivered",
        "cancelled",
    }
    assert all(Decimal(o["amount"]) > 0 for o in orders)
    assert listed("sales_order", "erp_sync_status == 'failed'")

    overdue = listed("payment_plan", "is_overdue and outstanding_amount > 0")
    assert overdue and all(Decimal(p["overdue_amount"]) > 0 for p in overdue)
    assert listed("payment", "ISBLANK(payment_plan)")  # payments not matched to a plan
    assert listed("invoice", "status == 'requested'") and listed("invoice", "status == 'void'")

    complaints = listed("complaint")
    assert {"intake", "handling", "resolved", "accepted", "closed"} <= {
        c["status"] for c in complaints
    }
    assert {r["request_type"] for r in listed("return_request")} == {"return", "exchange"}
    ratios = [Decimal(c["recovered_ratio"]) for c in listed("claim")]
    assert min(ratios) == 0 and max(ratios) == 100
