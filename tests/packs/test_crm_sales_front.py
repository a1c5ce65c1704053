"""The marketing and front-of-sales half of crm_standard as users meet it: campaign returns,
market plans, revenue targets decomposed top-down, account registration (报备), visit plans with
their reminder, first-response times, the marketing and service roles, and the demo funnel."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from trellis.flows.tables import notification_table
from trellis.flows.worker import Worker
from trellis.runtime import sample_data
from trellis.runtime.errors import Forbidden, Invalid
from trellis.runtime.queries import ListRequest

_runtime = sys.modules["trellis_tests_runtime_conftest"]  # loaded by tests/conftest.py
runtime = _runtime.runtime
crm = _runtime.crm

SHANGHAI = ZoneInfo("Asia/Shanghai")


def create(crm, who, object_name, **values):
    ctx = who if not isinstance(who, str) else crm.ctx(who)
    return crm.records.create(ctx, object_name, values).record


def update(crm, who, object_name, record, **values):
    return crm.records.update(crm.ctx(who), object_name, record["id"], values).record


def get(crm, object_name, record, who="admin"):
    return crm.records.get(crm.ctx(who), object_name, record["id"])


def campaign(crm, **values):
    data = {
        "campaign_name": f"活动{crm.serial()}",
        "channel_type": "offline",
        "channel": "exhibition",
        **values,
    }
    return create(crm, "admin", "campaign", **data)


def notifications(crm, username):
    uid = crm.user_id(username)
    n = notification_table
    with crm.rt.engine.connect() as conn:
        query = sa.select(n.c.title, n.c.body).where(n.c.user_id == uid).order_by(n.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


# -- campaigns and market plans ---------------------------------------------------------------


def test_a_campaign_shows_its_funnel_and_roi(crm):
    expo = campaign(crm, budget="150000", actual_cost="100000", expected_lead_count=4)
    assert Decimal(expo["roi"]) == -100  # spent, nothing won yet
    account = crm.account("admin", campaign=expo["id"])
    converted = crm.lead(
        "admin", campaign=expo["id"], status="converted", converted_account=account["id"]
    )
    crm.lead("admin", campaign=expo["id"])
    crm.lead("admin", campaign=expo["id"], status="working")
    won = crm.opportunity(
        "admin",
        account["id"],
        campaign=expo["id"],
        amount="250000",
        stage="won",
        expected_close_date="2026-06-30",
    )
    crm.opportunity("admin", account["id"], campaign=expo["id"], amount="80000")

    shown = get(crm, "campaign", expo)
    assert (shown["lead_count"], shown["converted_lead_count"], shown["account_count"]) == (3, 1, 1)
    assert (shown["opportunity_count"], shown["won_opportunity_count"]) == (2, 1)
    assert Decimal(shown["won_amount"]) == 250000
    assert Decimal(shown["pipeline_amount"]) == 80000
    # ROI = (won amount − actual cost) ÷ actual cost = (250,000 − 100,000) ÷ 100,000.
    assert Decimal(shown["roi"]) == 150
    assert Decimal(shown["cost_per_lead"]) == Decimal("33333.33")
    assert Decimal(shown["lead_conversion_rate"]) == Decimal("33.33")
    assert Decimal(shown["win_rate"]) == 50
    assert Decimal(shown["lead_target_rate"]) == 75
    assert Decimal(shown["budget_usage"]) == Decimal("66.67")
    assert get(crm, "lead", converted)["campaign"] == expo["id"]

    # Spending more lowers the ROI at once; a cost of 0 or none gives no ROI, not an error.
    assert Decimal(update(crm, "admin", "campaign", expo, actual_cost="200000")["roi"]) == 25
    assert update(crm, "admin", "campaign", expo, actual_cost="0")["roi"] is None
    assert update(crm, "admin", "campaign", expo, actual_cost=None)["roi"] is None
    # A deal reopened leaves the won amount and goes back into the pipeline.
    crm.records.update(crm.ctx("admin"), "opportunity", won["id"], {"stage": "negotiation"})
    reopened = get(crm, "campaign", expo)
    assert (Decimal(reopened["won_amount"]), Decimal(reopened["pipeline_amount"])) == (0, 330000)


def test_a_campaign_channel_must_match_online_or_offline(crm):
    with pytest.raises(Invalid) as caught:
        campaign(crm, channel_type="online", channel="exhibition")
    assert caught.value.details[0]["field"] == "channel"
    assert "online" in caught.value.details[0]["message"]
    # The labels users see are accepted too.
    assert campaign(crm, channel_type="线上", channel="搜索引擎")["channel"] == "search"


def test_a_lead_takes_its_campaigns_channel_as_source(crm):
    ads = campaign(crm, channel_type="online", channel="online_ads")
    lead = crm.lead("rep_east", campaign=ads["id"])
    assert get(crm, "lead", lead)["source"] == "online_ads"
    told = crm.lead("rep_east", campaign=ads["id"], source="referral")
    assert get(crm, "lead", told)["source"] == "referral"  # a source given is kept


def test_a_finished_campaign_needs_its_actual_cost(crm):
    with pytest.raises(Invalid) as caught:
        campaign(crm, status="completed")
    assert caught.value.details[0]["field"] == "actual_cost"


def test_a_market_plan_adds_up_its_campaigns(crm):
    plan = create(
        crm, "admin", "market_plan", plan_name="2026年度市场计划", year=2026, budget="1000000"
    )
    campaign(crm, market_plan=plan["id"], budget="300000", actual_cost="280000")
    campaign(crm, market_plan=plan["id"], budget="200000")
    shown = get(crm, "market_plan", plan)
    assert shown["campaign_count"] == 2
    assert Decimal(shown["campaign_budget"]) == 500000
    assert Decimal(shown["unallocated_budget"]) == 500000
    assert Decimal(shown["campaign_cost"]) == 280000
    assert Decimal(shown["budget_usage"]) == 28


# -- revenue targets --------------------------------------------------------------------------


def target(crm, who="admin", **values):
    data = {"target_name": f"目标{crm.serial()}", "year": 2026, **values}
    return create(crm, who, "revenue_target", **data)


def test_a_revenue_target_shows_what_is_left_to_allocate(crm):
    company = target(crm, level="company", target_amount="10000000")
    assert company["unallocated_amount"] is None  # not decomposed yet
    east = target(
        crm,
        level="department",
        target_department="sales_east",
        target_amount="6000000",
        parent_target=company["id"],
    )
    target(
        crm,
        level="department",
        target_department="sales_north",
        target_amount="3000000",
        parent_target=company["id"],
    )
    shown = get(crm, "revenue_target", company)
    assert (shown["child_count"], Decimal(shown["allocated_amount"])) == (2, 9000000)
    assert Decimal(shown["unallocated_amount"]) == 1000000
    assert Decimal(shown["allocation_rate"]) == 90
    # Raising a department's share uses up the rest; more than the whole shows as negative.
    update(crm, "admin", "revenue_target", east, target_amount="7500000")
    assert Decimal(get(crm, "revenue_target", company)["unallocated_amount"]) == -500000
    # A target with children cannot be deleted from under them.
    with pytest.raises(Exception, match="revenue_target|下级|referenced|restrict"):
        crm.records.delete(crm.ctx("admin"), "revenue_target", company["id"])


def test_a_person_target_is_its_owners_until_handed_down(crm):
    target_of = lambda t: get(crm, "revenue_target", t)["target_user"]  # noqa: E731
    draft = target(crm, "manager", level="person", target_amount="500000")
    assert target_of(draft) == crm.user_id("manager")
    assert_hidden_from_rep = pytest.raises(Exception, match="that you can see")
    with assert_hidden_from_rep:
        crm.records.get(crm.ctx("rep_east"), "revenue_target", draft["id"])
    # 下发: the manager hands the target to the rep, who now carries it and sees it.
    crm.records.transfer(crm.ctx("manager"), "revenue_target", draft["id"], crm.user_id("rep_east"))
    assert target_of(draft) == crm.user_id("rep_east")
    assert crm.records.get(crm.ctx("rep_east"), "revenue_target", draft["id"])["id"] == draft["id"]
    # A person named on the target stays when the record changes hands.
    named = target(
        crm, "manager", level="person", target_amount="1", target_user=crm.user_id("rep_east")
    )
    crm.records.transfer(crm.ctx("manager"), "revenue_target", named["id"], crm.user_id("vp"))
    assert target_of(named) == crm.user_id("rep_east")


def test_revenue_target_periods_are_checked(crm):
    quarter = target(crm, level="company", period_type="quarter", quarter=2, target_amount="1")
    assert quarter["period_label"] == "2026-Q2"
    month = target(crm, level="company", period_type="month", quarter=2, month=5, target_amount="1")
    assert month["period_label"] == "2026-05"
    cases = [
        ({"period_type": "quarter"}, "quarter"),
        ({"period_type": "month", "quarter": 1}, "month"),
        ({"period_type": "month", "quarter": 1, "month": 5}, "month"),
        ({"level": "department"}, "target_department"),
        ({"year": 2027, "parent_target": quarter["id"]}, "parent_target"),
    ]
    for values, field in cases:
        with pytest.raises(Invalid) as caught:
            target(crm, **{"level": "company", "target_amount": "1", **values})
        assert [d["field"] for d in caught.value.details] == [field], values


# -- accounts -----------------------------------------------------------------------------------


def test_account_registration_goes_to_the_submitters_manager(crm):
    approvals = crm.rt.flows.approvals
    account = crm.account("rep_east")
    assert account["registration_status"] == "none"

    instance = approvals.submit(crm.ctx("rep_east"), "account", account["id"], comment="新客户报备")
    assert instance["flow"] == "account.registration"
    assert crm.raw("account", account["id"])["registration_status"] == "pending"
    inbox = approvals.tasks(crm.ctx("manager"))
    assert [t["approval"]["record_id"] for t in inbox] == [account["id"]]
    assert approvals.tasks(crm.ctx("manager_north")) == []  # another department's manager

    done = approvals.approve(crm.ctx("manager"), inbox[0]["id"], comment="同意")
    assert done["status"] == "approved"
    registered = crm.raw("account", account["id"])
    assert registered["registration_status"] == "approved"
    assert registered["registered_at"] is not None
    assert any("报备已通过" in n["title"] for n in notifications(crm, "rep_east"))

    # The north rep's registration goes to the north manager.
    north = crm.account("rep_north")
    approvals.submit(crm.ctx("rep_north"), "account", north["id"])
    assert [t["approval"]["record_id"] for t in approvals.tasks(crm.ctx("manager_north"))] == [
        north["id"]
    ]


def test_a_rejected_registration_can_be_submitted_again(crm):
    approvals = crm.rt.flows.approvals
    account = crm.account("rep_east")
    approvals.submit(crm.ctx("rep_east"), "account", account["id"])
    [task] = approvals.tasks(crm.ctx("manager"))
    approvals.reject(crm.ctx("manager"), task["id"], comment="该客户已由他人跟进")
    assert crm.raw("account", account["id"])["registration_status"] == "rejected"
    again = approvals.submit(crm.ctx("rep_east"), "account", account["id"])
    assert again["status"] == "pending"


def test_reps_cannot_approve_their_own_registration(crm):
    account = crm.account("rep_east")
    with pytest.raises((Forbidden, Invalid)):
        crm.records.update(
            crm.ctx("rep_east"), "account", account["id"], {"registration_status": "approved"}
        )
    assert crm.raw("account", account["id"])["registration_status"] == "none"


def test_a_group_account_counts_its_subsidiaries(crm):
    group = crm.account("admin")
    crm.account("admin", parent_account=group["id"])
    crm.account("admin", parent_account=group["id"])
    assert get(crm, "account", group)["subsidiary_count"] == 2


# -- visit plans ----------------------------------------------------------------------------------


def visit(crm, account, planned_date, who="rep_east", **values):
    data = {"subject": "拜访", "account": account["id"], "planned_date": planned_date, **values}
    return create(crm, crm.ctx(who, now=crm.NOW), "visit_plan", **data)


def run_worker(crm, day, hour, minute=0):
    moment = dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)
    return Worker(crm.rt, name="visits").run_once(as_of=moment)


def test_the_owner_is_reminded_at_nine_the_day_before_a_visit(crm):
    account = crm.account("rep_east", account_name="苏州精创电子科技有限公司")
    visit(crm, account, "2026-03-13", subject="UV胶量产问题技术交流")
    cancelled = visit(crm, account, "2026-03-13", subject="取消的拜访")
    update(crm, "rep_east", "visit_plan", cancelled, status="cancelled")

    run_worker(crm, 12, 8, 59)
    assert [n for n in notifications(crm, "rep_east") if "拜访" in n["title"]] == []
    run_worker(crm, 12, 9, 1)
    reminders = [n for n in notifications(crm, "rep_east") if "拜访" in n["title"]]
    assert len(reminders) == 1
    assert reminders[0]["title"] == "明日拜访提醒"
    assert "苏州精创电子科技有限公司" in reminders[0]["body"]
    assert "UV胶量产问题技术交流" in reminders[0]["body"]
    run_worker(crm, 12, 18)
    assert len([n for n in notifications(crm, "rep_east") if "拜访" in n["title"]]) == 1


def test_a_reminder_that_comes_too_late_is_not_sent(crm):
    account = crm.account("rep_east")
    visit(crm, account, "2026-03-11")
    run_worker(crm, 12, 9)  # the worker was down until after the visit
    assert [n for n in notifications(crm, "rep_east") if "拜访" in n["title"]] == []


def test_completing_a_visit_plans_the_next_one_by_account_grade(crm):
    gold = crm.account("rep_east", grade="gold")
    first = visit(crm, gold, "2026-03-12")
    assert (first["visit_frequency_days"], first["next_visit_due"]) == (14, "2026-03-26")
    with pytest.raises(Invalid) as caught:
        update(crm, "rep_east", "visit_plan", first, status="completed")
    assert caught.value.details[0]["field"] == "result"

    crm.records.update(
        crm.ctx("rep_east", now=dt.datetime(2026, 3, 12, 8, tzinfo=dt.UTC)),
        "visit_plan",
        first["id"],
        {"status": "completed", "result": "客户认可方案，下周寄样"},
    )
    assert get(crm, "visit_plan", first)["completed_date"] == "2026-03-12"  # made today
    planned = crm.records.query(
        crm.ctx("rep_east"),
        "visit_plan",
        ListRequest(filter=f"status == 'planned' and account == {gold['id']}"),
    )
    assert [(v["planned_date"], v["owner"]) for v in planned["records"]] == [
        ("2026-03-26", crm.user_id("rep_east"))
    ]
    assert get(crm, "account", gold)["next_visit_date"] == "2026-03-26"

    normal = crm.account("rep_east", grade="normal")
    assert visit(crm, normal, "2026-03-12")["next_visit_due"] == "2026-06-10"  # 90 days


def test_the_contact_visited_works_at_the_account(crm):
    here, elsewhere = crm.account("rep_east"), crm.account("rep_east")
    stranger = crm.contact("rep_east", elsewhere["id"])
    with pytest.raises(Invalid) as caught:
        visit(crm, here, "2026-03-20", contact=stranger["id"])
    assert caught.value.details[0]["field"] == "contact"
    colleague = crm.contact("rep_east", here["id"])
    assert visit(crm, here, "2026-03-20", contact=colleague["id"])["contact"] == colleague["id"]


# -- leads ---------------------------------------------------------------------------------------


def test_a_leads_first_response_is_stamped_and_measured(crm):
    received = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
    lead = crm.lead("rep_east", received_at=received.isoformat())
    assert lead["first_response_at"] is None and lead["response_hours"] is None
    later = crm.ctx("rep_east", now=received + dt.timedelta(hours=2, minutes=30))
    crm.records.update(later, "lead", lead["id"], {"status": "working"})
    shown = get(crm, "lead", lead)
    assert Decimal(shown["response_hours"]) == Decimal("2.5")
    assert shown["responded_within_hour"] is False
    # The first response stays the first one.
    crm.records.update(crm.ctx("rep_east"), "lead", lead["id"], {"status": "qualified"})
    assert get(crm, "lead", lead)["first_response_at"] == shown["first_response_at"]


def test_a_converted_lead_keeps_its_account_and_time(crm):
    account = crm.account("rep_east")
    lead = crm.lead("rep_east")
    with pytest.raises(Invalid) as caught:
        crm.records.update(crm.ctx("rep_east"), "lead", lead["id"], {"status": "converted"})
    assert caught.value.details[0]["field"] == "converted_account"
    crm.records.update(
        crm.ctx("rep_east"),
        "lead",
        lead["id"],
        {"status": "converted", "converted_account": account["id"]},
    )
    shown = get(crm, "lead", lead)
    assert shown["converted_at"] is not None
    assert get(crm, "account", account)["converted_lead_count"] == 1


# -- roles ----------------------------------------------------------------------------------------


def test_marketing_runs_campaigns_and_service_reads_accounts(crm):
    expo = create(
        crm,
        "marketing",
        "campaign",
        campaign_name="秋季展会",
        channel_type="offline",
        channel="exhibition",
    )
    lead = crm.lead("marketing", campaign=expo["id"])
    assert crm.records.get(crm.ctx("marketing"), "lead", lead["id"])["campaign"] == expo["id"]
    with pytest.raises(Forbidden):
        crm.records.create(crm.ctx("rep_east"), "campaign", {"campaign_name": "销售自建活动"})
    assert crm.records.get(crm.ctx("rep_east"), "campaign", expo["id"])["id"] == expo["id"]

    account = crm.account("rep_north")
    assert crm.records.get(crm.ctx("service"), "account", account["id"])["id"] == account["id"]
    with pytest.raises(Forbidden):
        crm.records.update(crm.ctx("service"), "account", account["id"], {"remarks": "x"})
    with pytest.raises(Forbidden):
        crm.records.create(crm.ctx("service"), "campaign", {"campaign_name": "x"})


# -- the demo data --------------------------------------------------------------------------------


def test_the_demo_funnel_follows_the_seeds_ratios(crm, tmp_path):
    folder = tmp_path / "sample"
    folder.mkdir()
    for name in ("org.json", "records.json"):  # this file only: the other helpers' come later
        shutil.copy(_runtime.ORG / name, folder / name)
    sample_data.load_records(crm.rt, folder, "admin")

    with crm.rt.engine.connect() as conn:

        def one(sql):
            return conn.execute(sa.text(sql)).one()

        leads, converted, accounts = one(
            "SELECT COUNT(*), SUM(CASE WHEN status = 'converted' THEN 1 ELSE 0 END), "
            "COUNT(DISTINCT converted_account) FROM rec_lead WHERE campaign IS NOT NULL"
        )
        assert (leads, converted, accounts) == (300, 120, 120)  # seed 000: 3000 → 1200
        campaigns = one("SELECT COUNT(DISTINCT channel), SUM(lead_count) FROM rec_campaign")
        assert campaigns[0] >= 4 and campaigns[1] == 300
        answered, average, within_hour = one(
            "SELECT COUNT(*), AVG(response_hours), "
            "SUM(CASE WHEN responded_within_hour THEN 1 ELSE 0 END) FROM rec_lead "
            "WHERE response_hours IS NOT NULL"
        )
        assert 30 <= average <= 50  # seed 000: 42 hours on average
        assert 0.30 <= within_hour / answered <= 0.45  # seed 000: 37 % within an hour
        plan = one("SELECT campaign_count, unallocated_budget FROM rec_market_plan")
        assert plan[0] >= 4 and Decimal(str(plan[1])) > 0
        people = one(
            "SELECT COUNT(*), COUNT(target_user) FROM rec_revenue_target WHERE level = 'person'"
        )
        assert people[0] == people[1] == 16  # 4 people × 4 quarters, each with its person
        assert one("SELECT COUNT(*) FROM rec_visit_plan WHERE status = 'planned'")[0] > 0
