"""The approval chain designer in a real browser: the admin builds the seed's chain (a quote
above 50,000 → sales manager → technical lead → finance manager, 会签 on the last node) by
adding cards and dragging one into place, sees a broken node flagged at the node while
editing, saves the flow active; a rep submits a quote of 60,000 from its page and the sales
manager finds it in the approvals inbox. Screenshots of the designer at desktop and phone
width."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

FLOW = "quote.large_three_levels"


#: The check runs on the server after each change; a busy machine may take a while.
CHECK_WAIT = 30_000


def checked(page: Page, outcome: str) -> None:
    """Wait for the designer's check to answer ``ok`` or ``failed``."""
    expect(page.locator(f"[data-testid=check-{outcome}]")).to_be_visible(timeout=CHECK_WAIT)


def card(page: Page, node_id: str):
    return page.locator(f".step[data-node-id={node_id}] > .node-card")


def chain_order(page: Page) -> list[str]:
    return page.locator(".chain-root > .chain > .step").evaluate_all(
        "steps => steps.map(s => s.dataset.nodeId)"
    )


def add_approval(page: Page, name: str, role: str) -> str:
    """A new approval card at the end of the chain, named, approved by everyone with ``role``."""
    before = set(chain_order(page))
    page.locator(".chain-root > .add-step [data-add=approval]").click()
    (node_id,) = set(chain_order(page)) - before
    new = card(page, node_id)
    new.locator("[data-k='label.zh-CN']").fill(name)
    new.locator("[data-k='label.en']").fill(name)
    person = new.locator("[data-k=approvers] .person").first
    person.locator("[data-p=type]").select_option("role")
    person.locator("[data-p=role]").select_option(role)
    return node_id


def test_the_admin_builds_the_seed_chain_and_a_quote_reaches_the_manager(desk, new_page, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/approvals")
    desk.locator("[data-testid=new-flow] select[name=object]").select_option("quote")
    desk.locator("[data-testid=new-flow] button[type=submit]").click()
    desk.wait_for_selector("#approval-form.designer-ready")

    settings = desk.locator(".flow-settings")
    settings.locator("[data-f='label.zh-CN']").fill("大额报价三级审批")
    settings.locator("[data-f='label.en']").fill("Large three levels")
    assert settings.locator("[data-f=api_name]").input_value() == "large_three_levels"
    settings.locator("[data-f=priority]").fill("50")
    settings.locator("[data-f=entry_criteria] textarea").fill("quoted_amount > 50000")

    first = card(desk, "manager")
    first.locator("[data-k='label.zh-CN']").fill("销售经理审批")
    finance = add_approval(desk, "财务经理审批", "finance")
    card(desk, finance).locator("[data-k=mode]").select_option("all")  # 会签
    tech = add_approval(desk, "技术负责人审批", "tech_lead")
    assert chain_order(desk) == ["manager", finance, tech]

    # Drag the technical lead's card above finance's.
    ui.drag_above(desk, card(desk, tech).locator(".drag-handle"), card(desk, finance))
    expect(desk.locator(".chain-root > .chain > .step").nth(1)).to_have_attribute(
        "data-node-id", tech
    )
    assert chain_order(desk) == ["manager", tech, finance]

    # A node without approvers is flagged at that node as the admin edits.
    approvers = card(desk, tech).locator("[data-k=approvers]")
    approvers.locator(".remove-person").click()
    checked(desk, "failed")
    flagged = card(desk, tech).locator(":scope > [data-problems] li")
    expect(flagged).to_have_text("审批人：还没有选择。")
    expect(card(desk, finance).locator(":scope > [data-problems] li")).to_have_count(0)
    approvers.locator(":scope > .add-person").click()
    approvers.locator(".person [data-p=role]").select_option("tech_lead")
    checked(desk, "ok")
    expect(card(desk, tech).locator(":scope > [data-problems]")).to_be_hidden()
    ui.shoot(desk, "admin-approval-designer")

    desk.locator("[data-testid=save]").click()
    desk.wait_for_url(f"**/admin/approvals/{FLOW}")
    expect(desk.locator("[data-testid=flow-version]")).to_contain_text("已启用")
    stored = site.runtime.metadata.definition("approval_flow", FLOW)
    assert [n["id"] for n in stored["nodes"]] == ["manager", tech, finance, "end"]
    assert stored["nodes"][2]["mode"] == "all" and stored["active"] is True
    assert stored["nodes"][1]["approvers"] == [{"type": "role", "role": "tech_lead"}]

    rep = new_page()
    ui.sign_in(rep, "rep_east")
    quote = site.runtime.records.create(
        site.runtime.context_for("rep_east"),
        "quote",
        {"quote_name": "三级审批报价", "list_amount": 60000, "quoted_amount": 60000},
    ).record
    rep.goto(f"/o/quote/{quote['id']}")
    form = rep.locator("[data-testid=approval-submit-form]")
    flows = form.locator("select[name=flow]")
    if flows.count():
        flows.select_option("large_three_levels")
    form.locator("button[type=submit]").click()
    expect(rep.locator("[data-testid=approval-status]")).to_have_text("审批中")

    manager = new_page()
    ui.sign_in(manager, "manager")
    manager.goto("/approvals")
    row = manager.locator("[data-task]", has_text="三级审批报价")
    expect(row).to_be_visible()
    expect(row).to_contain_text("大额报价三级审批")
    expect(row).to_contain_text("销售经理审批")


CRM_FLOWS = [
    "quote.discount",
    "quote.large_amount",
    "contract.review",
    "contract.change",
    "account.registration",
    "opportunity.registration",
]


def test_the_cards_read_back_into_exactly_the_stored_flow(desk, ui, site):
    """Opening a crm_standard flow and saving it untouched would change nothing: the JSON the
    script builds from the cards (branches, parallel join, SLAs, actions) is the stored one."""
    ui.sign_in(desk, "admin")
    for name in CRM_FLOWS:
        desk.goto(f"/admin/approvals/{name}")
        desk.wait_for_selector("#approval-form.designer-ready")
        built = json.loads(desk.locator("#approval-definition").input_value())
        stored = site.runtime.metadata.definition("approval_flow", name)
        for mine, theirs in zip(built.get("nodes", []), stored["nodes"], strict=False):
            assert mine == theirs, name
        assert built == stored, name


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_a_flow_with_branches_fits_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    page.goto("/admin/approvals/quote.discount")
    page.wait_for_selector("#approval-form.designer-ready")
    expect(page.locator(".condition-card")).to_be_visible()
    assert ui.fits_width(page), f"the designer is wider than the {width} screen"
    ui.shoot(page, "admin-approval-branches")
    page.goto("/admin/approvals")
    assert ui.fits_width(page), f"the list of approval flows is wider than the {width} screen"
    ui.shoot(page, "admin-approvals")


def test_a_condition_branch_sends_large_contracts_through_an_extra_node(desk, ui, site):
    """A condition card added to a new contract flow: contracts of 1,000,000 or more get the
    vice-president's approval in the first branch; the other branch goes straight on."""
    ui.sign_in(desk, "admin")
    desk.goto("/admin/approvals/new?object=contract")
    desk.wait_for_selector("#approval-form.designer-ready")
    settings = desk.locator(".flow-settings")
    settings.locator("[data-f='label.zh-CN']").fill("大额合同审批")
    settings.locator("[data-f='label.en']").fill("Big contracts")
    settings.locator("[data-f=active]").uncheck()  # beside crm_standard's own, not instead

    desk.locator(".chain-root > .add-step [data-add=condition]").click()
    route = desk.locator(".step[data-kind=condition]")
    route_id = route.get_attribute("data-node-id")
    branches = route.locator(":scope > .branches > .branch")
    expect(branches).to_have_count(2)
    first = branches.nth(0)
    first.locator("textarea.formula-text").fill("amount >= 1000000")
    expect(first.locator("[data-testid=formula-type]")).to_be_visible(timeout=CHECK_WAIT)
    first.locator(":scope > .add-step [data-add=approval]").click()
    vp = first.locator(".step[data-kind=approval] > .node-card")
    vp.locator("[data-k='label.zh-CN']").fill("副总裁审批")
    vp.locator("[data-k='label.en']").fill("Vice-president")
    person = vp.locator("[data-k=approvers] .person").first
    person.locator("[data-p=type]").select_option("role")
    person.locator("[data-p=role]").select_option("sales_vp")
    vp.locator("summary", has_text="本节点的动作").click()
    on_approve = vp.locator(".event-actions[data-event=on_approve]")
    on_approve.locator(".add-set-field").click()
    on_approve.locator("[data-a=field]").select_option("remarks")
    on_approve.locator("[data-a=formula]").fill("'副总裁已批准'")
    checked(desk, "ok")

    # A CC card added at the end, moved up above the condition, then deleted again.
    desk.locator(".chain-root > .add-step [data-add=notify]").click()
    cc = desk.locator(".chain-root > .chain > .step[data-kind=notify]")
    cc_id = cc.get_attribute("data-node-id")
    assert chain_order(desk) == ["manager", route_id, cc_id]
    cc.locator(":scope > .node-card [data-move='-1']").click()
    assert chain_order(desk) == ["manager", cc_id, route_id]
    cc.locator(":scope > .node-card .delete-step").click()
    assert chain_order(desk) == ["manager", route_id]
    checked(desk, "ok")
    ui.shoot(desk, "admin-approval-condition")

    desk.locator("[data-testid=save]").click()
    desk.wait_for_url("**/admin/approvals/contract.big_contracts")
    stored = site.runtime.metadata.definition("approval_flow", "contract.big_contracts")
    ids = [n["id"] for n in stored["nodes"]]
    vp_id = ids[2]
    assert ids == ["manager", route_id, vp_id, "end"] and stored["active"] is False
    assert stored["nodes"][0]["next"] == route_id
    assert stored["nodes"][1]["branches"] == [
        {"when": "amount >= 1000000", "next": vp_id},
        {"next": "end"},
    ]
    assert stored["nodes"][2]["approvers"] == [{"type": "role", "role": "sales_vp"}]
    assert stored["nodes"][2]["on_approve"] == [
        {"type": "update_fields", "values": {"remarks": "'副总裁已批准'"}}
    ]


def test_a_parallel_card_has_finance_and_the_technical_lead_review_side_by_side(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/approvals/new?object=contract")
    desk.wait_for_selector("#approval-form.designer-ready")
    settings = desk.locator(".flow-settings")
    settings.locator("[data-f='label.zh-CN']").fill("平行评审")
    settings.locator("[data-f='label.en']").fill("Side by side review")
    settings.locator("[data-f=active]").uncheck()
    desk.locator(".chain-root > .add-step [data-add=parallel]").click()
    split = desk.locator(".step[data-kind=parallel]")
    checked(desk, "failed")  # two empty branches
    expect(split.locator(":scope > .node-card > [data-problems] li").first).to_be_visible()
    for i, role in enumerate(("finance", "tech_lead")):
        branch = split.locator(":scope > .branches > .branch").nth(i)
        branch.locator(":scope > .add-step [data-add=approval]").click()
        person = branch.locator(".step .person").first
        person.locator("[data-p=type]").select_option("role")
        person.locator("[data-p=role]").select_option(role)
    checked(desk, "ok")
    desk.locator("[data-testid=save]").click()
    desk.wait_for_url("**/admin/approvals/contract.side_by_side_review")
    nodes = site.runtime.metadata.definition("approval_flow", "contract.side_by_side_review")[
        "nodes"
    ]
    kinds = [n["type"] for n in nodes]
    assert kinds == ["approval", "parallel", "approval", "approval", "join", "end"]
    parallel, join = nodes[1], nodes[4]
    assert parallel["branches"] == [nodes[2]["id"], nodes[3]["id"]]
    assert parallel["join"] == join["id"] and join["next"] == "end"
    assert nodes[2]["next"] == nodes[3]["next"] == join["id"]
    assert [n["approvers"][0]["role"] for n in nodes[2:4]] == ["finance", "tech_lead"]
