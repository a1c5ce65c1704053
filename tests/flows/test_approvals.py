"""Approval flows end to end through the service: the seed flows, modes, 退回, 加签, 转交,
代理, recall, the record lock and pinned versions, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from trellis.flows.tables import approval_task_table, notification_table
from trellis.metadata.packs import locate
from trellis.runtime.errors import Conflict, Forbidden, Invalid, NotFound

SEED = json.loads((locate("crm_standard") / "approval_flows" / "quote_discount.json").read_text())


def node(id_, type_, **more):
    return {"id": id_, "type": type_, **more}


def approval(id_, approvers, next_="end", **more):
    return node(id_, "approval", approvers=approvers, next=next_, **more)


def flow(api_name, nodes, start=None, **more):
    return {
        "api_name": api_name,
        "object": "quote",
        "label": {"zh-CN": api_name, "en": api_name},
        "active": True,
        "priority": 500,
        "start": start or nodes[0]["id"],
        "nodes": [*nodes, node("end", "end")],
        **more,
    }


MANAGER = [{"type": "manager"}]
TECH = [{"type": "user", "users": ["tech_lead"]}]
FINANCE = [{"type": "role", "role": "finance"}]

#: Seed 001: amount over 50000 → sales manager → tech lead → finance (each in turn).
THREE_LEVELS = flow(
    "three_levels",
    [
        node(
            "route",
            "condition",
            branches=[{"when": "quoted_amount > 50000", "next": "manager"}, {"next": "end"}],
        ),
        approval("manager", MANAGER, "tech", editable_fields=["remarks"]),
        approval("tech", TECH, "finance"),
        approval("finance", FINANCE),
    ],
)


class Approvals:
    """The approval service with the users of the demo organisation."""

    def __init__(self, crm):
        self.crm = crm
        self.rt = crm.rt
        self.service = crm.rt.flows.approvals

    def define(self, definition):
        try:
            self.rt.metadata.define("admin", "approval_flow", definition)
        except Invalid as exc:
            raise AssertionError(exc.details) from exc

    def quote(self, who="rep_east", list_amount=100000, quoted_amount=60000, **values):
        data = {
            "quote_name": f"报价{self.crm.serial()}",
            "list_amount": list_amount,
            "quoted_amount": quoted_amount,
            **values,
        }
        return self.crm.records.create(self.crm.ctx(who), "quote", data).record

    def submit(self, record, who="rep_east", **kwargs):
        return self.service.submit(self.crm.ctx(who), "quote", record["id"], **kwargs)

    def task(self, instance, username, status="pending"):
        """The id of ``username``'s task in ``instance`` with ``status``."""
        uid = self.crm.user_id(username)
        t = approval_task_table
        with self.rt.engine.connect() as conn:
            found = conn.execute(
                sa.select(t.c.id).where(
                    t.c.instance_id == instance["id"],
                    t.c.assignee_id == uid,
                    t.c.status == status,
                )
            ).all()
        assert len(found) == 1, (username, status, self.tasks(instance))
        return found[0].id

    def tasks(self, instance):
        """``[(node, username, sequence, status)]`` of the instance, in order."""
        fresh = self.service.instance(self.crm.ctx("admin"), instance["id"])
        return [
            (t["node"], t["assignee"]["username"], t["sequence"], t["status"])
            for t in fresh["tasks"]
        ]

    def approve(self, instance, who, **kwargs):
        return self.service.approve(self.crm.ctx(who), self.task(instance, who), **kwargs)

    def reject(self, instance, who, **kwargs):
        return self.service.reject(self.crm.ctx(who), self.task(instance, who), **kwargs)

    def status(self, record):
        return self.crm.raw("quote", record["id"])["approval_status"]

    def notifications(self, username):
        uid = self.crm.user_id(username)
        n = notification_table
        with self.rt.engine.connect() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    sa.select(n).where(n.c.user_id == uid).order_by(n.c.id)
                ).mappings()
            ]


@pytest.fixture
def ap(crm):
    return Approvals(crm)


# -- the seed flow: quote discount -------------------------------------------------------


def test_a_deep_discount_needs_the_manager_then_the_vp(ap):
    quote = ap.quote(quoted_amount=60000)  # 60% of list
    instance = ap.submit(quote, comment="大客户，争取年底签约")
    assert instance["status"] == "pending"
    assert instance["flow"] == "quote.discount"
    assert [n["id"] for n in instance["current_nodes"]] == ["manager_then_vp"]
    snapshot = instance["snapshot"]
    assert (snapshot["quote_name"], snapshot["quoted_amount"]) == (
        quote["quote_name"],
        quote["quoted_amount"],
    )
    assert instance["history"][0]["action"] == "submit"
    assert instance["history"][0]["comment"] == "大客户，争取年底签约"
    assert ap.status(quote) == "pending"

    after_manager = ap.approve(instance, "manager", comment="同意")
    assert after_manager["status"] == "pending"
    assert [n["id"] for n in after_manager["current_nodes"]] == ["vp"]
    finished = ap.approve(instance, "vp")
    assert finished["status"] == "approved"
    assert finished["path"] == ["route", "manager_then_vp", "vp", "cc_finance", "end"]
    assert ap.status(quote) == "approved"
    assert ap.crm.raw("quote", quote["id"])["approved_at"] is not None
    assert [e["action"] for e in finished["history"]] == [
        "submit",
        "approve",
        "approve",
        "notify",
        "approved",
    ]
    assert finished["history"][1]["actor"]["username"] == "manager"
    assert finished["history"][1]["comment"] == "同意"
    # 抄送: finance hears about it, with the quote's values in the message.
    cc = ap.notifications("finance")
    assert len(cc) == 1 and quote["quote_name"] in cc[0]["body"]


def test_a_small_discount_needs_the_manager_only(ap):
    quote = ap.quote(quoted_amount=80000)
    instance = ap.submit(quote)
    assert [n["id"] for n in instance["current_nodes"]] == ["manager"]
    finished = ap.approve(instance, "manager")
    assert finished["status"] == "approved"
    assert "vp" not in finished["path"]


def test_a_rejection_ends_the_approval_and_runs_on_rejected(ap):
    quote = ap.quote()
    instance = ap.submit(quote)
    done = ap.reject(instance, "manager", comment="折扣太大")
    assert done["status"] == "rejected"
    assert done["current_nodes"] == []
    assert ap.status(quote) == "rejected"
    assert any(
        "驳回" in n["title"] or "rejected" in n["title"] for n in ap.notifications("rep_east")
    )
    with pytest.raises(Conflict, match="already rejected"):
        ap.service.approve(ap.crm.ctx("manager"), done["tasks"][0]["id"])
    # A finished approval frees the record: it can be submitted again.
    again = ap.submit(quote)
    assert again["status"] == "pending" and again["id"] != instance["id"]


def test_flow_notifications_reach_the_submitter_and_their_manager(ap):
    ap.define(
        flow(
            "tell_submitter",
            [approval("tech", TECH)],
            on_approved=[
                {
                    "type": "notify",
                    "recipients": [{"type": "submitter"}, {"type": "manager"}],
                    "title": {"zh-CN": "技术确认通过", "en": "Technical check passed"},
                    "message": {"zh-CN": "{quote_name} 已通过", "en": "{quote_name} passed"},
                }
            ],
        )
    )
    instance = ap.submit(ap.quote(), flow="tell_submitter")
    ap.approve(instance, "tech_lead")
    for who in ("rep_east", "manager"):
        assert [n["title"] for n in ap.notifications(who)].count("技术确认通过") == 1, who
    assert "技术确认通过" not in [n["title"] for n in ap.notifications("tech_lead")]


# -- sequences, conditions, parallel branches, modes ---------------------------------------


def test_three_levels_in_turn_for_a_large_amount(ap):
    ap.define(THREE_LEVELS)
    big = ap.submit(ap.quote(list_amount=90000, quoted_amount=80000), flow="three_levels")
    assert [n["id"] for n in big["current_nodes"]] == ["manager"]
    with pytest.raises((Forbidden, NotFound)):
        ap.service.approve(ap.crm.ctx("tech_lead"), big["tasks"][0]["id"])
    assert [n["id"] for n in ap.approve(big, "manager")["current_nodes"]] == ["tech"]
    assert [n["id"] for n in ap.approve(big, "tech_lead")["current_nodes"]] == ["finance"]
    assert ap.approve(big, "finance")["status"] == "approved"

    small = ap.submit(ap.quote(list_amount=40000, quoted_amount=30000), flow="three_levels")
    assert small["status"] == "approved"  # the condition sends it straight to the end
    assert small["path"] == ["route", "end"]


def test_a_manager_chain_is_one_level_after_the_other(ap):
    ap.define(flow("chain", [approval("chain", [{"type": "manager_chain", "levels": 2}])]))
    instance = ap.submit(ap.quote(), flow="chain")
    assert ap.tasks(instance) == [
        ("chain", "manager", 1, "pending"),
        ("chain", "vp", 2, "waiting"),
    ]
    with pytest.raises(Conflict, match="not open yet"):
        ap.service.approve(ap.crm.ctx("vp"), ap.task(instance, "vp", "waiting"))
    assert ap.approve(instance, "manager")["status"] == "pending"
    assert ap.tasks(instance)[1] == ("chain", "vp", 2, "pending")
    assert ap.approve(instance, "vp")["status"] == "approved"


def test_parallel_branches_meet_at_the_join(ap):
    ap.define(
        flow(
            "parallel",
            [
                node("split", "parallel", branches=["tech", "finance"], join="meet"),
                approval("tech", TECH, "meet"),
                approval("finance", FINANCE, "meet"),
                node("meet", "join", next="vp"),
                approval("vp", [{"type": "role", "role": "sales_vp"}]),
            ],
        )
    )
    instance = ap.submit(ap.quote(), flow="parallel")
    assert sorted(n["id"] for n in instance["current_nodes"]) == ["finance", "tech"]
    after_finance = ap.approve(instance, "finance")
    assert [n["id"] for n in after_finance["current_nodes"]] == ["tech"]
    after_tech = ap.approve(instance, "tech_lead")
    assert [n["id"] for n in after_tech["current_nodes"]] == ["vp"]
    assert after_tech["path"].count("meet") == 2
    assert ap.approve(instance, "vp")["status"] == "approved"


def test_a_rejection_on_one_branch_rejects_the_whole_approval(ap):
    ap.define(
        flow(
            "parallel",
            [
                node("split", "parallel", branches=["tech", "finance"], join="meet"),
                approval("tech", TECH, "meet"),
                approval("finance", FINANCE, "meet"),
                node("meet", "join", next="end"),
            ],
        )
    )
    instance = ap.submit(ap.quote(), flow="parallel")
    done = ap.reject(instance, "tech_lead")
    assert done["status"] == "rejected"
    assert {t["status"] for t in done["tasks"]} == {"rejected", "cancelled"}


SALES_MANAGERS = [{"type": "role", "role": "sales_manager"}]


def test_all_mode_needs_everyone(ap):
    ap.define(flow("countersign", [approval("all", SALES_MANAGERS, mode="all")]))
    instance = ap.submit(ap.quote(), flow="countersign")
    assert ap.approve(instance, "manager")["status"] == "pending"
    assert ap.approve(instance, "manager_north")["status"] == "approved"

    second = ap.submit(ap.quote(), flow="countersign")
    ap.approve(second, "manager_north")
    assert ap.reject(second, "manager")["status"] == "rejected"


def test_any_mode_the_first_decision_decides(ap):
    ap.define(flow("either_one", [approval("any", SALES_MANAGERS, mode="any")]))
    instance = ap.submit(ap.quote(), flow="either_one")
    done = ap.approve(instance, "manager_north")
    assert done["status"] == "approved"
    with pytest.raises(Conflict, match="already approved"):
        ap.service.reject(ap.crm.ctx("manager"), ap.task(instance, "manager", "cancelled"))
    assert [t["status"] for t in done["tasks"]] == ["cancelled", "approved"]


def test_ratio_mode_m_of_n_and_rejected_once_unreachable(ap):
    people = [{"type": "user", "users": ["manager", "manager_north", "vp"]}]
    ap.define(flow("two_of_three", [approval("board", people, mode="ratio", min_approvals=2)]))
    approved = ap.submit(ap.quote(), flow="two_of_three")
    ap.reject(approved, "vp")
    assert ap.approve(approved, "manager")["status"] == "pending"
    assert ap.approve(approved, "manager_north")["status"] == "approved"

    rejected = ap.submit(ap.quote(), flow="two_of_three")
    assert ap.reject(rejected, "vp")["status"] == "pending"  # 2 of the other 2 still possible
    assert ap.reject(rejected, "manager")["status"] == "rejected"  # 2 can no longer be reached

    ap.define(flow("half", [approval("board", people, mode="ratio", ratio=0.5)]))
    half = ap.submit(ap.quote(), flow="half")
    assert ap.approve(half, "vp")["status"] == "pending"  # ceil(0.5 × 3) = 2
    assert ap.approve(half, "manager")["status"] == "approved"


def test_nobody_to_approve_skip_admin_or_reject(ap):
    nobody = [{"type": "role", "role": "tech_lead"}]
    ap.crm.add_user("intern", department="sales_east", manager=None, roles=["sales_rep"])
    ap.define(flow("skip", [approval("a", MANAGER, if_no_approver="skip")]))
    ap.define(flow("admin", [approval("a", MANAGER, if_no_approver="admin")]))
    ap.define(flow("reject", [approval("a", MANAGER, if_no_approver="reject")]))
    del nobody
    assert ap.submit(ap.quote("intern"), "intern", flow="skip")["status"] == "approved"
    to_admin = ap.submit(ap.quote("intern"), "intern", flow="admin")
    assert ap.tasks(to_admin) == [("a", "admin", 1, "pending")]
    with pytest.raises(Invalid, match="nobody can approve"):
        ap.submit(ap.quote("intern"), "intern", flow="reject")


# -- submit rules --------------------------------------------------------------------------


def test_a_record_has_one_pending_approval_and_needs_a_matching_flow(ap):
    quote = ap.quote()
    ap.submit(quote)
    with pytest.raises(Conflict, match="already waiting for approval"):
        ap.submit(quote)
    with pytest.raises(Invalid, match="no active approval flow 'nope'"):
        ap.submit(ap.quote(), flow="nope")
    ap.define(flow("picky", [approval("a", MANAGER)], entry_criteria="quoted_amount > 1000000"))
    with pytest.raises(Invalid, match="entry criteria"):
        ap.submit(ap.quote(), flow="picky")
    with pytest.raises(NotFound):  # rep_north cannot read rep_east's quote
        ap.submit(ap.quote(), "rep_north")


def test_entry_criteria_and_priority_choose_the_flow(ap):
    ap.define(
        flow(
            "big",
            [approval("a", [{"type": "role", "role": "sales_vp"}])],
            priority=1,
            entry_criteria="quoted_amount > 70000",
        )
    )
    assert ap.submit(ap.quote(quoted_amount=80000))["flow"] == "quote.big"
    assert ap.submit(ap.quote(quoted_amount=60000))["flow"] == "quote.discount"


# -- acting: recall, transfer, 加签, 代理, 退回 ------------------------------------------------


def test_the_submitter_recalls_a_pending_approval(ap):
    quote = ap.quote()
    instance = ap.submit(quote)
    with pytest.raises(Forbidden, match="only the submitter"):
        ap.service.recall(ap.crm.ctx("manager"), instance["id"])
    recalled = ap.service.recall(ap.crm.ctx("rep_east"), instance["id"], comment="写错了")
    assert recalled["status"] == "recalled"
    assert recalled["history"][-2]["comment"] == "写错了"
    assert ap.status(quote) == "draft"
    with pytest.raises(Conflict, match="already recalled"):
        ap.service.approve(ap.crm.ctx("manager"), recalled["tasks"][0]["id"])
    with pytest.raises(Conflict, match="only a pending approval"):
        ap.service.recall(ap.crm.ctx("rep_east"), instance["id"])


def test_transfer_hands_the_task_on(ap):
    instance = ap.submit(ap.quote(quoted_amount=80000))
    task = ap.task(instance, "manager")
    moved = ap.service.transfer(
        ap.crm.ctx("manager"), task, ap.crm.user_id("manager_north"), comment="出差，请代批"
    )
    assert [(t["assignee"]["username"], t["status"]) for t in moved["tasks"]] == [
        ("manager", "transferred"),
        ("manager_north", "pending"),
    ]
    assert moved["tasks"][1]["original_assignee"]["username"] == "manager"
    with pytest.raises(Conflict, match="transferred"):
        ap.service.approve(ap.crm.ctx("manager"), task)
    assert ap.approve(instance, "manager_north")["status"] == "approved"


def test_add_an_approver_before_oneself(ap):
    instance = ap.submit(ap.quote(quoted_amount=80000))
    task = ap.task(instance, "manager")
    added = ap.service.add_approver(
        ap.crm.ctx("manager"), task, ap.crm.user_id("tech_lead"), position="before"
    )
    assert ap.tasks(added)[:2] == [
        ("manager", "manager", 1, "waiting"),
        ("manager", "tech_lead", 1, "pending"),
    ]
    with pytest.raises(Conflict, match="not open yet"):
        ap.service.approve(ap.crm.ctx("manager"), task)
    assert ap.approve(instance, "tech_lead")["status"] == "pending"
    assert ap.approve(instance, "manager")["status"] == "approved"


def test_add_an_approver_after_oneself(ap):
    instance = ap.submit(ap.quote(quoted_amount=80000))
    task = ap.task(instance, "manager")
    ap.service.add_approver(
        ap.crm.ctx("manager"), task, ap.crm.user_id("finance"), position="after"
    )
    assert ap.tasks(instance)[1] == ("manager", "finance", 1, "waiting")
    after_manager = ap.approve(instance, "manager")
    assert after_manager["status"] == "pending"
    assert ap.tasks(instance)[1] == ("manager", "finance", 1, "pending")
    assert ap.approve(instance, "finance")["status"] == "approved"

    rejected = ap.submit(ap.quote(quoted_amount=80000))
    ap.service.add_approver(
        ap.crm.ctx("manager"),
        ap.task(rejected, "manager"),
        ap.crm.user_id("finance"),
        position="after",
    )
    ap.approve(rejected, "manager")
    assert ap.reject(rejected, "finance")["status"] == "rejected"


def test_a_delegate_gets_new_tasks_and_acts(ap):
    # Delegation dates are the delegator's calendar days (Asia/Shanghai), not the machine's.
    today = ap.crm.ctx("manager").local_now.date()
    ap.service.delegate(
        ap.crm.ctx("manager"), ap.crm.user_id("manager_north"), today, today + dt.timedelta(3)
    )
    instance = ap.submit(ap.quote(quoted_amount=80000))
    (task,) = instance["tasks"]
    assert task["assignee"]["username"] == "manager_north"
    assert task["original_assignee"]["username"] == "manager"
    pending = ap.service.tasks(ap.crm.ctx("manager_north"))
    assert [t["id"] for t in pending] == [task["id"]]
    assert pending[0]["approval"]["record_name"] == instance["snapshot"]["quote_name"]
    assert ap.approve(instance, "manager_north")["status"] == "approved"
    with pytest.raises(Invalid, match="before starts_on"):
        ap.service.delegate(ap.crm.ctx("vp"), 1, today, today - dt.timedelta(1))


def test_a_delegate_may_act_on_tasks_made_before_the_delegation(ap):
    instance = ap.submit(ap.quote(quoted_amount=80000))
    today = ap.crm.ctx("manager").local_now.date()
    ap.service.delegate(ap.crm.ctx("manager"), ap.crm.user_id("vp"), today, today)
    task = ap.task(instance, "manager")
    assert ap.service.approve(ap.crm.ctx("vp"), task)["status"] == "approved"


def test_reject_back_to_an_earlier_node(ap):
    ap.define(THREE_LEVELS)
    instance = ap.submit(ap.quote(quoted_amount=80000), flow="three_levels")
    ap.approve(instance, "manager")
    ap.approve(instance, "tech_lead")
    with pytest.raises(Invalid, match="not an approval node this approval already passed"):
        ap.reject(instance, "finance", to_node="route")
    back = ap.reject(instance, "finance", to_node="manager", comment="请经理重新确认价格")
    assert back["status"] == "pending"
    assert [n["id"] for n in back["current_nodes"]] == ["manager"]
    assert [t["visit"] for t in back["tasks"] if t["node"] == "manager"] == [1, 2]
    assert any(e["action"] == "return" for e in back["history"])
    ap.approve(instance, "manager")
    ap.approve(instance, "tech_lead")
    assert ap.approve(instance, "finance")["status"] == "approved"


# -- correctness -----------------------------------------------------------------------------


def test_a_task_acts_once(ap):
    instance = ap.submit(ap.quote())
    task = ap.task(instance, "manager")
    ap.service.approve(ap.crm.ctx("manager"), task)
    with pytest.raises(Conflict, match="already approved"):
        ap.service.approve(ap.crm.ctx("manager"), task)
    with pytest.raises(Conflict, match="already approved"):
        ap.service.reject(ap.crm.ctx("manager"), task)


def test_only_the_current_approver_acts(ap):
    instance = ap.submit(ap.quote())
    task = ap.task(instance, "manager")
    with pytest.raises(NotFound):
        ap.service.approve(ap.crm.ctx("rep_north"), task)
    with pytest.raises(Forbidden, match="assigned to 华东销售经理"):
        ap.service.approve(ap.crm.ctx("rep_east"), task)  # the submitter is no approver
    with pytest.raises(NotFound):
        ap.service.approve(ap.crm.ctx("manager"), 999999)


# -- the record lock -----------------------------------------------------------------------


def test_a_pending_record_is_locked_except_for_approvers_fields_and_admins(ap):
    quote = ap.quote()
    ap.submit(quote)
    records, ctx = ap.crm.records, ap.crm.ctx
    with pytest.raises(Conflict, match="waiting for approval .* by 华东销售经理") as locked:
        records.update(ctx("rep_east"), "quote", quote["id"], {"remarks": "改一下"})
    assert locked.value.code == "record_locked"
    # The approver may change the fields their node lists, nothing else.
    records.update(ctx("manager"), "quote", quote["id"], {"remarks": "经理备注"})
    with pytest.raises(Conflict, match="may change only quoted_amount, remarks, valid_until"):
        records.update(ctx("manager"), "quote", quote["id"], {"list_amount": 200000})
    records.update(ctx("admin"), "quote", quote["id"], {"list_amount": 200000})
    # Owner changes (pools, assignment) go through the same lock.
    with pytest.raises(Conflict):
        records.transfer(ctx("manager"), "quote", quote["id"], ap.crm.user_id("rep_north"))


def test_a_pending_record_cannot_be_deleted(ap):
    opportunity_flow = flow("deal", [approval("manager", MANAGER)])
    opportunity_flow["object"] = "opportunity"
    ap.define(opportunity_flow)
    account = ap.crm.account("rep_east")
    deal = ap.crm.opportunity("rep_east", account["id"], stage="proposal")
    ap.service.submit(ap.crm.ctx("rep_east"), "opportunity", deal["id"])
    with pytest.raises(Conflict, match="cannot be deleted until the approval ends"):
        ap.crm.records.delete(ap.crm.ctx("manager"), "opportunity", deal["id"])
    ap.crm.records.delete(ap.crm.ctx("admin"), "opportunity", deal["id"])
    # The approval of a deleted record ends, and its tasks leave the approvers' lists.
    assert ap.service.tasks(ap.crm.ctx("manager")) == []


def test_the_lock_ends_with_the_approval(ap):
    quote = ap.quote(quoted_amount=80000)
    instance = ap.submit(quote)
    ap.approve(instance, "manager")
    ap.crm.records.update(ap.crm.ctx("rep_east"), "quote", quote["id"], {"remarks": "已批准"})


# -- versions, reading ---------------------------------------------------------------------


def test_a_running_approval_keeps_its_flow_version(ap, database_url):
    from trellis.runtime.platform_runtime import Runtime

    ap.define(flow("pinned", [approval("manager", MANAGER)]))
    instance = ap.submit(ap.quote(), flow="pinned")
    ap.define(
        flow(
            "pinned",
            [
                approval("manager", MANAGER, "vp"),
                approval("vp", [{"type": "role", "role": "sales_vp"}]),
            ],
        )
    )
    # Another process (no pinned flow built yet) rebuilds the old version from its JSON.
    other = Runtime(database_url)
    try:
        manager = other.context_for("manager")
        task = ap.task(instance, "manager")
        assert other.flows.approvals.approve(manager, task)["status"] == "approved"
    finally:
        other.dispose()
    newer = ap.submit(ap.quote(), flow="pinned")
    assert ap.approve(newer, "manager")["status"] == "pending"  # the new version has a vp


def test_who_may_read_an_instance(ap):
    quote = ap.quote()
    instance = ap.submit(quote)
    for who in ("rep_east", "manager", "vp", "admin"):
        assert ap.service.instance(ap.crm.ctx(who), instance["id"])["id"] == instance["id"]
    with pytest.raises(NotFound):
        ap.service.instance(ap.crm.ctx("rep_north"), instance["id"])
    pending = ap.service.tasks(ap.crm.ctx("manager"))
    assert [t["approval"]["id"] for t in pending] == [instance["id"]]
    ap.approve(instance, "manager")
    assert ap.service.tasks(ap.crm.ctx("manager")) == []
    assert len(ap.service.tasks(ap.crm.ctx("manager"), status="done")) == 1


# -- SLA -----------------------------------------------------------------------------------


def test_sla_remind_escalate_and_auto_approve(ap):
    sla_flow = flow(
        "sla",
        [
            approval(
                "manager",
                MANAGER,
                sla={
                    "remind_after_hours": 24,
                    "escalate_after_hours": 48,
                    "escalate_to": [{"type": "role", "role": "sales_vp"}],
                },
            )
        ],
    )
    ap.define(sla_flow)
    instance = ap.submit(ap.quote(), flow="sla")
    task = ap.task(instance, "manager")
    run_job = _job_runner(ap)
    run_job("approval_remind", task)
    assert any("催办" in n["title"] for n in ap.notifications("manager"))
    run_job("approval_escalate", task)
    assert ap.tasks(instance) == [
        ("manager", "manager", 1, "transferred"),
        ("manager", "vp", 1, "pending"),
    ]
    assert ap.approve(instance, "vp")["status"] == "approved"
    run_job("approval_remind", task)  # acted on: nothing happens
    assert sum("催办" in n["title"] for n in ap.notifications("manager")) == 1

    auto = copy.deepcopy(sla_flow)
    auto["api_name"] = "auto"
    auto["nodes"][0]["sla"] = {"auto_approve_after_hours": 8}
    ap.define(auto)
    second = ap.submit(ap.quote(), flow="auto")
    run_job("approval_auto_approve", ap.task(second, "manager"))
    done = ap.service.instance(ap.crm.ctx("admin"), second["id"])
    assert done["status"] == "approved"
    assert done["history"][-2]["action"] == "auto_approve"


def _job_runner(ap):
    flows = ap.rt.flows

    def run_job(kind, task_id):
        with ap.rt.engine.begin() as conn:
            ctx = flows.context(conn, None, dt.datetime.now(dt.UTC), f"job:{kind}")
            flows.handler(kind)(conn, ctx, {"task": task_id})

    return run_job


def test_opening_a_task_schedules_its_sla_jobs(ap):
    instance = ap.submit(ap.quote())  # the seed flow's first node reminds after 24 hours
    task = ap.task(instance, "manager")
    with ap.rt.engine.connect() as conn:
        keys = set(
            conn.execute(
                sa.text("SELECT unique_key FROM trellis_job WHERE status = 'pending'")
            ).scalars()
        )
    assert {f"approval_remind:{task}", f"approval_escalate:{task}"} <= keys
    ap.approve(instance, "manager")
    with ap.rt.engine.connect() as conn:
        keys = set(conn.execute(sa.text("SELECT unique_key FROM trellis_job")).scalars())
    assert f"approval_remind:{task}" not in keys
