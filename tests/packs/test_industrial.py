"""The industrial pack on top of the standard CRM, as a chemicals maker's people meet it.

Finance grants a customer credit (授信) and an order above what is left is refused with a
message saying why; a customer's admission (准入) goes to the sales manager, then the
vice-president for large credit, then finance; a supplier qualification document warns its
owner 30 days before it expires; opportunities carry the industrial funnel of seed 002 with its
fields, labels and stages; a sample request (送样) is approved, shipped and followed up; group
customers add up their subsidiaries.

Runs on ``crm_standard`` and ``industrial`` as shipped, through the records service, the
approval service and the worker (as ``trellis worker --once --as-of`` would), on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from trellis.flows.tables import approval_task_table, notification_table
from trellis.flows.worker import Worker
from trellis.metadata.packs import locate
from trellis.runtime import sample_data
from trellis.runtime.errors import Invalid

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)
#: What an order holds while it takes credit (the statuses after confirmation).
CREDIT_REFUSED = "订单金额超出客户可用授信额度"


class Industrial:
    """The demo organisation at a pinned moment (``crm.NOW``: 2026-03-10 10:30 in Shanghai)
    with crm_standard and industrial installed, and factories for the industrial records."""

    def __init__(self, crm):
        self.crm = crm
        self.rt = crm.rt
        self.records = crm.records
        self.now = crm.NOW
        self.today = self.now.astimezone(SHANGHAI).date()

    def ctx(self, who="rep_east", now=None):
        return self.crm.ctx(who, now=now or self.now)

    def create(self, object_name, values, who="rep_east", now=None):
        return self.records.create(self.ctx(who, now), object_name, values).record

    def update(self, object_name, record, values, who="rep_east", now=None):
        """Change a record, then read it back with what automations did after the write."""
        self.records.update(self.ctx(who, now), object_name, record["id"], values)
        return self.get(object_name, record)

    def get(self, object_name, record, who="admin"):
        return self.records.get(self.ctx(who), object_name, record["id"])

    def account(self, who="rep_east", **values):
        return self.create(
            "account", {"account_name": f"东晟新材料{self.crm.serial()}", **values}, who
        )

    def order(self, account, amount, who="admin"):
        """A draft order of one line worth ``amount``. Entered by admin: the order rights of the
        sales roles come with crm_standard's roles, not with this pack."""
        order = self.create(
            "sales_order", {"account": account["id"], "order_date": "2026-03-10"}, who
        )
        line = {"sales_order": order["id"], "product_name": "导热灌封胶 SI-3150", "unit": "kg"}
        self.create("order_line", {**line, "quantity": 1000, "unit_price": amount / 1000}, who)
        return self.get("sales_order", order)

    # -- approvals and the worker -----------------------------------------------------

    def submit(self, object_name, record, flow, who="rep_east"):
        return self.rt.flows.approvals.submit(self.ctx(who), object_name, record["id"], flow=flow)

    def approve(self, instance, who):
        return self.rt.flows.approvals.approve(self.ctx(who), self._task(instance, who))

    def reject(self, instance, who, comment):
        return self.rt.flows.approvals.reject(
            self.ctx(who), self._task(instance, who), comment=comment
        )

    def _task(self, instance, username):
        t = approval_task_table
        with self.rt.engine.connect() as conn:
            [task] = conn.execute(
                sa.select(t.c.id).where(
                    t.c.instance_id == instance["id"],
                    t.c.assignee_id == self.crm.user_id(username),
                    t.c.status == "pending",
                )
            ).all()
        return task.id

    def run_worker(self, as_of: dt.datetime) -> None:
        Worker(self.rt, name="test").run_once(as_of=as_of)

    def notifications(self, username) -> list[dict]:
        n = notification_table
        with self.rt.engine.connect() as conn:
            query = sa.select(n).where(n.c.user_id == self.crm.user_id(username))
            return [dict(r) for r in conn.execute(query.order_by(n.c.id)).mappings()]

    def titles(self, username) -> list[str]:
        return [n["title"] for n in self.notifications(username)]


@pytest.fixture
def ind(runtime, crm):
    runtime.metadata.install_pack("industrial")
    return Industrial(crm)


def refused(excinfo) -> dict[str, str]:
    """The refused rules of an Invalid as {rule or field: message}."""
    return {d.get("rule", d.get("field")): d["message"] for d in excinfo.value.details}


# -- credit limit (授信) -------------------------------------------------------------------


def test_an_order_over_the_available_credit_is_refused_with_a_clear_message(ind):
    account = ind.account()
    with pytest.raises(Invalid) as excinfo:  # a rep cannot grant credit; finance does
        ind.update("account", account, {"credit_limit": "100000"}, who="rep_east")
    assert refused(excinfo) == {"credit_limit": "you may not change 'credit_limit'"}
    account = ind.update("account", account, {"credit_limit": "100000"}, who="finance")
    assert account["available_credit"] == "100000.00"

    first = ind.order(account, 80000)
    first = ind.update("sales_order", first, {"status": "confirmed"}, who="admin")
    assert first["credit_checked"] is True
    account = ind.get("account", account)
    assert (account["credit_used"], account["available_credit"]) == ("80000.00", "20000.00")

    second = ind.order(account, 30000)
    with pytest.raises(Invalid) as excinfo:
        ind.update("sales_order", second, {"status": "confirmed"}, who="admin")
    assert CREDIT_REFUSED in refused(excinfo)["within_credit_limit"]
    assert "提高授信额度" in refused(excinfo)["within_credit_limit"]
    assert excinfo.value.details[0]["field"] == "amount"
    assert ind.get("sales_order", second)["status"] == "draft"

    # The confirmed order moves on without being counted twice.
    assert (
        ind.update("sales_order", first, {"status": "shipped"}, who="admin")["status"] == "shipped"
    )

    # A payment frees credit, and the second order goes through.
    ind.create(
        "payment",
        {"account": account["id"], "amount": "50000", "received_date": "2026-03-09"},
        who="admin",
    )
    assert ind.get("account", account)["available_credit"] == "70000.00"
    second = ind.update("sales_order", second, {"status": "confirmed"}, who="admin")
    assert ind.get("account", account)["available_credit"] == "40000.00"


def test_the_refusal_speaks_the_users_language(ind):
    account = ind.update("account", ind.account(), {"credit_limit": "1000"}, who="finance")
    order = ind.order(account, 5000)
    english = ind.crm.ctx("admin", now=ind.now, locale="en")
    with pytest.raises(Invalid) as excinfo:
        ind.records.update(english, "sales_order", order["id"], {"status": "confirmed"})
    assert "exceeds the customer's available credit" in refused(excinfo)["within_credit_limit"]


def test_accounts_without_a_credit_limit_are_not_checked(ind):
    account = ind.account()
    order = ind.update("sales_order", ind.order(account, 900000), {"status": "confirmed"}, "admin")
    assert order["status"] == "confirmed"
    assert ind.get("account", account)["available_credit"] is None


def test_a_suspended_customer_cannot_have_an_order_confirmed(ind):
    account = ind.account()
    ind.update("account", account, {"admission_status": "suspended"}, who="admin")
    order = ind.order(account, 1000)
    with pytest.raises(Invalid) as excinfo:
        ind.update("sales_order", order, {"status": "confirmed"}, who="admin")
    assert "暂停交易" in refused(excinfo)["customer_admitted"]


# -- customer admission (准入) -----------------------------------------------------------------


def test_admission_with_a_large_credit_limit_goes_to_manager_vp_and_finance(ind):
    account = ind.account(tier="major", admission_reason="年需求30吨，现由外资品牌供货")
    account = ind.update("account", account, {"credit_limit": "2000000"}, who="finance")
    instance = ind.submit("account", account, "admission")
    assert [n["id"] for n in instance["current_nodes"]] == ["manager"]
    assert ind.get("account", account)["admission_status"] == "pending"

    assert [n["id"] for n in ind.approve(instance, "manager")["current_nodes"]] == ["vp"]
    assert [n["id"] for n in ind.approve(instance, "vp")["current_nodes"]] == ["finance"]
    finished = ind.approve(instance, "finance")
    assert finished["status"] == "approved"
    assert finished["path"] == ["manager", "route", "vp", "finance", "end"]
    account = ind.get("account", account)
    assert account["admission_status"] == "admitted"
    assert account["admission_date"] == ind.today.isoformat()
    assert "客户准入已通过" in ind.titles("rep_east")


def test_admission_without_credit_needs_only_the_manager(ind):
    instance = ind.submit("account", ind.account(), "admission")
    finished = ind.approve(instance, "manager")
    assert finished["status"] == "approved"
    assert finished["path"] == ["manager", "route", "end"]


def test_a_rejected_admission_goes_back_to_the_rep_who_may_submit_again(ind):
    account = ind.account()
    instance = ind.submit("account", account, "admission")
    ind.reject(instance, "manager", comment="缺少营业执照与开票资料")
    assert ind.get("account", account)["admission_status"] == "rejected"
    assert "客户准入未通过" in ind.titles("rep_east")
    again = ind.submit("account", account, "admission")
    assert again["status"] == "pending"


# -- supplier qualification documents (供应商资质) -----------------------------------------------


def test_a_qualification_document_warns_30_days_before_it_expires(ind):
    expiry = ind.today + 60 * DAY
    document = ind.create(
        "qualification_document",
        {
            "document_name": "IATF 16949 证书",
            "account": ind.account()["id"],
            "document_type": "iatf16949",
            "certificate_number": "IATF0412376",
            "issued_date": "2024-05-01",
            "expiry_date": expiry.isoformat(),
            "status": "accepted",
            "submitted_date": "2026-01-10",
        },
    )
    assert document["days_to_expiry"] == 60
    warning_day = dt.datetime.combine(expiry - 30 * DAY, dt.time(), SHANGHAI)

    ind.run_worker(warning_day - MINUTE)
    assert ind.get("qualification_document", document)["status"] == "accepted"
    assert "资质即将到期" not in ind.titles("rep_east")

    ind.run_worker(warning_day + MINUTE)
    assert ind.get("qualification_document", document)["status"] == "expiring"
    [warning] = [n for n in ind.notifications("rep_east") if n["title"] == "资质即将到期"]
    assert "IATF 16949 证书" in warning["body"] and expiry.isoformat() in warning["body"]
    assert "资质即将到期" in ind.titles("manager")  # the owner's manager hears too

    ind.run_worker(dt.datetime.combine(expiry + DAY, dt.time(), SHANGHAI) + MINUTE)
    assert ind.get("qualification_document", document)["status"] == "expired"


def test_a_document_cannot_expire_before_it_was_issued(ind):
    with pytest.raises(Invalid) as excinfo:
        ind.create(
            "qualification_document",
            {
                "document_name": "营业执照",
                "account": ind.account()["id"],
                "document_type": "business_license",
                "issued_date": "2026-03-01",
                "expiry_date": "2026-02-01",
            },
        )
    assert refused(excinfo)["expiry_after_issue"] == "有效期至必须晚于发证日期"


# -- opportunities: the industrial funnel -------------------------------------------------------


def test_opportunities_carry_the_industrial_labels_fields_and_stages(ind):
    opportunity = ind.rt.metadata.definition("object", "opportunity")
    assert opportunity["label"] == {"zh-CN": "项目商机", "en": "Project opportunity"}
    stage = ind.rt.metadata.definition("field", "opportunity.stage")
    assert stage["label"] == {"zh-CN": "漏斗阶段", "en": "Stage"}  # the English label stays
    values = [v["api_name"] for v in stage["values"]]
    assert values[:7] == [  # crm_standard's stages stay, in their order
        "initial_contact",
        "needs_confirmed",
        "proposal",
        "quote_approval",
        "negotiation",
        "won",
        "lost",
    ]
    assert {"solution_confirmed", "customer_trial"} <= set(values)
    for name in ("demand_quantity_kg", "market_price_per_kg", "target_hardness_shore_a"):
        assert ind.rt.metadata.definition("field", f"opportunity.{name}")["label"]["zh-CN"]


def test_the_opportunity_page_gains_an_industrial_section_and_keeps_its_own(ind):
    crm_layout = json.loads(
        (locate("crm_standard") / "layouts" / "opportunity_standard.json").read_text("utf-8")
    )
    layout = ind.rt.metadata.definition("layout", "opportunity.standard")
    sections = [s["label"]["zh-CN"] for s in layout["sections"]]
    assert sections == [s["label"]["zh-CN"] for s in crm_layout["sections"]] + ["工业品需求"]
    industrial = layout["sections"][-1]["fields"]
    assert "demand_quantity_kg" in industrial and "market_price_per_kg" in industrial
    projects = ind.rt.metadata.definition("layout", "opportunity.industrial")
    assert projects["record_types"] == ["industrial"]
    assert [s["label"]["zh-CN"] for s in projects["sections"]][1:5] == [
        "确认需求",
        "方案确认：目标产品性能",
        "客户评估试用",
        "商务谈判",
    ]


def test_an_industrial_project_follows_the_seed_002_funnel(ind):
    account = ind.account()
    project = ind.crm.opportunity(
        ind.ctx(), account["id"], record_type="industrial", opportunity_name="灌封胶国产替代"
    )
    assert project["stage"] == "needs_confirmed"  # the industrial funnel starts at 确认需求
    assert ind.crm.opportunity(ind.ctx(), account["id"])["stage"] == "initial_contact"

    with pytest.raises(Invalid) as excinfo:  # 方案制定 belongs to the standard funnel
        ind.update("opportunity", project, {"stage": "proposal"})
    assert refused(excinfo)["stage"] == "'proposal' is not offered for record type 'industrial'"
    with pytest.raises(Invalid) as excinfo:
        ind.update("opportunity", project, {"stage": "solution_confirmed"})
    assert refused(excinfo)["demand_after_confirmation"].startswith("确认需求后请填写客户需求量")

    project = ind.update(
        "opportunity",
        project,
        {
            "stage": "solution_confirmed",
            "demand_quantity_kg": "120000",
            "expected_share_kg": "60000",
            "market_price_per_kg": "26.00",
            "target_viscosity": "3500±500",
            "target_hardness_shore_a": "45",
            "mixing_ratio": "1:1",
            "certification_requirements": ["ul", "rohs"],
        },
    )
    assert project["probability"] == "40.00"  # the stage's default, as for crm_standard's stages
    assert project["expected_share_percent"] == "50.00"
    assert project["estimated_volume_value"] == "1560000.00"
    with pytest.raises(Invalid) as excinfo:
        ind.update("opportunity", project, {"stage": "customer_trial"})
    assert "客户应用工艺" in refused(excinfo)["process_before_trial"]
    with pytest.raises(Invalid) as excinfo:
        ind.update("opportunity", project, {"expected_share_kg": "130000"})
    assert refused(excinfo)["share_within_demand"] == "我司预计采购量不能大于客户需求量"


# -- sample requests (送样) ----------------------------------------------------------------------


def test_a_large_sample_is_approved_shipped_and_followed_up(ind):
    account = ind.account()
    sample = ind.create(
        "sample_request",
        {"account": account["id"], "product_name": "导热灌封胶 SI-3150", "quantity_kg": "50"},
    )
    instance = ind.submit("sample_request", sample, "sample_approval")
    assert ind.get("sample_request", sample)["status"] == "submitted"
    assert [n["id"] for n in ind.approve(instance, "manager")["current_nodes"]] == ["tech"]
    assert ind.approve(instance, "tech_lead")["status"] == "approved"
    assert ind.get("sample_request", sample)["status"] == "approved"
    assert "送样已批准" in ind.titles("rep_east")

    with pytest.raises(Invalid) as excinfo:
        ind.update("sample_request", sample, {"status": "shipped"})
    assert refused(excinfo)["shipped_date_required"] == "样品寄出后请填写寄出日期"
    ind.update("sample_request", sample, {"status": "shipped", "shipped_date": "2026-03-10"})

    shipped = dt.datetime(2026, 3, 10, tzinfo=SHANGHAI)
    ind.run_worker(shipped + 13 * DAY)
    assert "请跟进样品评估" not in ind.titles("rep_east")
    ind.run_worker(shipped + 14 * DAY + MINUTE)
    assert "请跟进样品评估" in ind.titles("rep_east")

    ind.update("sample_request", sample, {"status": "passed", "evaluation_result": "试产通过"})
    assert "样品评估结果" in ind.titles("manager")


def test_a_small_sample_needs_only_the_manager(ind):
    sample = ind.create(
        "sample_request",
        {"account": ind.account()["id"], "product_name": "三防涂料小样", "quantity_kg": "5"},
    )
    instance = ind.submit("sample_request", sample, "sample_approval")
    assert ind.approve(instance, "manager")["path"] == ["manager", "route", "end"]


# -- group customers and contribution ------------------------------------------------------------


def test_group_customers_add_up_their_subsidiaries_and_are_graded(ind):
    group = ind.account(who="admin")
    subsidiary = ind.account(
        who="admin", parent_account=group["id"], annual_purchase_amount="2300000"
    )
    ind.account(who="admin", parent_account=group["id"], annual_purchase_amount="950000")
    group = ind.get("account", group)
    assert group["is_group_customer"] is True
    assert group["group_purchase_amount"] == "3250000.00"
    assert ind.get("account", subsidiary)["is_group_customer"] is True
    assert ind.get("account", subsidiary)["contribution_grade"] == "b"
    assert ind.account()["is_group_customer"] is False
    # The grade follows the purchases a rep enters, though the rep cannot set it by hand.
    own = ind.account(annual_purchase_amount="6000000")
    assert own["contribution_grade"] == "a"
    assert (
        ind.update("account", own, {"annual_purchase_amount": "150000"})["contribution_grade"]
        == "d"
    )


def test_reps_do_not_see_the_cost_behind_a_suggested_price(ind):
    request = ind.create(
        "quote_support",
        {
            "subject": "车灯密封胶报价测算",
            "account": ind.account()["id"],
            "support_types": ["pricing", "cost"],
        },
    )
    answered = ind.update(
        "quote_support",
        request,
        {"unit_cost_per_kg": "27.50", "suggested_price_per_kg": "38.00"},
        who="tech_lead",
    )
    assert answered["gross_margin"] == "27.63"
    seen_by_rep = ind.get("quote_support", request, who="rep_east")
    assert "unit_cost_per_kg" not in seen_by_rep and "gross_margin" not in seen_by_rep
    assert seen_by_rep["suggested_price_per_kg"] == "38.00"


def test_a_receipt_must_belong_to_the_shipments_customer(ind):
    shipment = ind.create(
        "shipment", {"account": ind.account()["id"], "quantity_kg": "6000", "status": "planned"}
    )
    with pytest.raises(Invalid) as excinfo:
        ind.create(
            "delivery_receipt",
            {
                "shipment": shipment["id"],
                "account": ind.account()["id"],
                "received_date": "2026-03-10",
                "received_quantity_kg": "6000",
            },
        )
    assert "签收单的客户必须与发货单的客户一致" in refused(excinfo).values()


def test_the_demo_records_load_on_top_of_the_standard_demo(ind, demo_records):
    loaded = sample_data.load_records(ind.rt, locate("industrial") / "sample_data", "admin")
    assert loaded == 49
    with ind.rt.engine.connect() as conn:
        group = conn.execute(
            sa.text(
                "SELECT subsidiary_count, group_purchase_amount, contribution_grade "
                "FROM rec_account WHERE account_name = '浙江东晟新材料集团有限公司'"
            )
        ).one()
    assert (group[0], Decimal(group[1]), group[2]) == (2, Decimal("3250000"), "a")
