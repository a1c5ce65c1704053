"""The approval chain designer at /admin/approvals (issue 6, section 1), on SQLite and
PostgreSQL.

The admin builds the seed's chain (a quote above 50,000 goes to the sales manager, then the
technical lead, then finance, 会签 on the last node), checks and saves it, and a rep's quote
routes through those nodes in order. A broken chain is refused with each problem at the
node it concerns and the running flow stays as it was; an approval already running keeps
the version it started on after the chain is edited. Only administrators find the designer.
"""

from __future__ import annotations

import copy
import json
import re
from html import unescape

FLOW = "quote.big_quote"


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def seed_chain(**changes) -> dict:
    """The seed's chain as the designer's script sends it."""
    flow = {
        "api_name": "big_quote",
        "object": "quote",
        "label": {"zh-CN": "大额报价三级审批", "en": "Large quote, three levels"},
        "active": True,
        "priority": 50,
        "entry_criteria": "quoted_amount > 50000",
        "start": "sales_manager",
        "nodes": [
            _approval("sales_manager", "销售经理", [{"type": "manager"}], "tech_lead"),
            _approval(
                "tech_lead", "技术负责人", [{"type": "role", "role": "tech_lead"}], "finance"
            ),
            _approval("finance", "财务经理", [{"type": "role", "role": "finance"}], "end", "all"),
            {"id": "end", "type": "end"},
        ],
        "on_submit": [{"type": "update_fields", "values": {"approval_status": "'pending'"}}],
        "on_approved": [{"type": "update_fields", "values": {"approval_status": "'approved'"}}],
        "on_rejected": [{"type": "update_fields", "values": {"approval_status": "'rejected'"}}],
    }
    flow.update(changes)
    return flow


def _role(name: str) -> dict:
    return {"type": "role", "role": name}


def _approval(node_id, name, approvers, next_id, mode="any") -> dict:
    return {
        "id": node_id,
        "type": "approval",
        "label": {"zh-CN": name, "en": node_id},
        "approvers": approvers,
        "mode": mode,
        "if_no_approver": "admin",
        "next": next_id,
    }


def _post(admin, url: str, flow: dict, new: bool = False):
    data = {"definition": json.dumps(flow, ensure_ascii=False), "new": "1" if new else "0"}
    return admin.post(url, data)


def _save(admin, flow: dict, new: bool = False):
    admin.get("/admin/approvals")
    return _post(admin, "/admin/approvals/save", flow, new)


def _quote(crm, amount=60000, who="rep_east") -> dict:
    data = {"quote_name": f"报价{amount}", "list_amount": 100000, "quoted_amount": amount}
    return crm.records.create(crm.ctx(who), "quote", data).record


def _pending_task(crm, who: str, instance_id: int) -> dict:
    (task,) = [
        t for t in crm.rt.flows.approvals.tasks(crm.ctx(who)) if t["approval"]["id"] == instance_id
    ]
    return task


def _approve(crm, who: str, instance: dict) -> dict:
    task = _pending_task(crm, who, instance["id"])
    return crm.rt.flows.approvals.approve(crm.ctx(who), task["id"], comment="同意")


def _card(html: str, node_id: str) -> str:
    """The HTML of one node's card (up to the next card)."""
    start = html.index(f'data-testid="node-{node_id}"')
    following = html.find('data-testid="node-', start + 1)
    return html[start : following if following > 0 else len(html)]


def test_only_administrators_find_the_designer(pages, crm):
    assert pages.get("/admin/approvals").status_code == 404
    pages.sign_in("rep_east")
    assert pages.get("/admin/approvals").status_code == 404
    assert pages.get("/admin/approvals/quote.large_amount").status_code == 404
    assert pages.get("/admin/approvals/new?object=quote").status_code == 404


def test_the_list_shows_each_flow_by_object_with_version_and_state(admin, crm):
    page = admin.get("/admin/approvals")
    assert page.status_code == 200
    html = _text(page)
    assert 'data-testid="admin-tab-approvals"' in html
    assert re.search(r'data-testid="admin-tab-approvals"\s+aria-current="page"', html)
    row = html[html.index('data-flow="quote.large_amount"') :].split("</tr>")[0]
    assert "大额报价审批" in row and "large_amount" in row
    version = re.search(r'data-testid="flow-version">(\d+)<', row)
    assert version and int(version.group(1)) >= 1
    assert "已启用" in row and 'data-testid="flow-running">0<' in row
    assert 'data-flow="contract.review"' in html and "合同评审" in html


def test_the_designer_draws_a_crm_flow_as_a_chain_with_its_branches(admin, crm):
    html = _text(admin.get("/admin/approvals/quote.discount"))
    chain = html[html.index('data-testid="chain"') :]
    order = [m for m in re.findall(r'data-node-id="([a-z_0-9]+)"', chain)]
    assert order[:5] == ["route", "manager_then_vp", "vp", "manager", "cc_finance"]
    assert "discount_rate < 0.7" in _card(chain, "route")
    assert "抄送财务" in _card(chain, "cc_finance")
    assert 'data-end-id="end"' in chain
    assert 'data-testid="flow-version"' in html and "运行中的审批保留其开始时的版本" in html


def test_the_seed_chain_is_saved_and_a_quote_routes_through_its_nodes_in_order(admin, crm):
    second = crm.add_user("finance_two", department="finance", manager="admin", roles=["finance"])
    assert second
    new = _text(admin.get("/admin/approvals/new?object=quote"))
    assert 'data-object="quote"' in new and 'name="new" value="1"' in new
    check = _post(admin, "/admin/approvals/check", seed_chain(), new=True)
    assert 'data-testid="check-ok"' in _text(check)
    assert FLOW not in _flows(crm)  # the check saved nothing

    saved = _save(admin, seed_chain(), new=True)
    assert saved.status_code == 302 and saved.headers["Location"].endswith(f"/approvals/{FLOW}")
    page = _text(admin.get(saved.headers["Location"]))
    assert "已保存为版本" in page and 'data-node-id="tech_lead"' in page
    stored = crm.rt.metadata.definition("approval_flow", FLOW)
    assert [n["id"] for n in stored["nodes"]] == ["sales_manager", "tech_lead", "finance", "end"]
    assert stored["nodes"][2]["mode"] == "all"

    quote = _quote(crm, 60000)
    instance = crm.rt.flows.approvals.submit(crm.ctx("rep_east"), "quote", quote["id"])
    assert instance["flow"] == FLOW
    assert [n["id"] for n in instance["current_nodes"]] == ["sales_manager"]
    assert _approve(crm, "manager", instance)["current_nodes"][0]["id"] == "tech_lead"
    after_tech = _approve(crm, "tech_lead", instance)
    assert [n["id"] for n in after_tech["current_nodes"]] == ["finance"]
    assert _approve(crm, "finance", instance)["status"] == "pending"  # 会签: both must approve
    done = _approve(crm, "finance_two", instance)
    assert done["status"] == "approved"
    assert done["path"] == ["sales_manager", "tech_lead", "finance", "end"]
    record = crm.records.get(crm.ctx("rep_east"), "quote", quote["id"])
    assert record["approval_status"] == "approved"


def _flows(crm) -> set[str]:
    with crm.rt.engine.connect() as conn:
        return set(crm.rt.cache.get(conn).definitions.approval_flows)


def test_a_broken_chain_is_refused_with_each_problem_at_its_node(admin, crm):
    _save(admin, seed_chain(), new=True)
    good = crm.rt.metadata.definition("approval_flow", FLOW)

    broken = seed_chain()
    del broken["nodes"][1]["approvers"]  # the technical lead's node has nobody to approve
    check = _text(_post(admin, "/admin/approvals/check", broken))
    assert 'data-testid="check-failed"' in check
    item = re.search(r'<li data-node="tech_lead" data-message="([^"]+)"', check)
    assert item and item.group(1) == "审批人：还没有选择。"

    refused = _save(admin, broken)
    assert refused.status_code == 422
    html = _text(refused)
    assert "审批人：还没有选择。" in _card(html, "tech_lead").split("</ul>")[0]
    assert "还没有选择" not in _card(html, "sales_manager").split("</ul>")[0]

    nobody = seed_chain()
    nobody["nodes"][2]["approvers"] = [{"type": "user", "users": []}]
    check = _text(_post(admin, "/admin/approvals/check", nobody))
    assert '<li data-node="finance" data-message="用户名：还没有选择。"' in check

    otherwise_first = seed_chain(start="route")
    otherwise_first["nodes"].insert(
        0,
        {"id": "route", "type": "condition", "branches": [{"next": "tech_lead"}, {"next": "end"}]},
    )
    check = _text(_post(admin, "/admin/approvals/check", otherwise_first))
    assert re.search(r'<li data-node="route" data-branch="0" data-message="只有最后一个分支', check)

    bad_condition = seed_chain(start="route")
    bad_condition["nodes"].insert(
        0,
        {
            "id": "route",
            "type": "condition",
            "branches": [
                {"when": "quoted_amount > 'many'", "next": "sales_manager"},
                {"next": "end"},
            ],
        },
    )
    check = _text(_post(admin, "/admin/approvals/check", bad_condition))
    branch = re.search(r'<li data-node="route" data-branch="0" data-message="([^"]+)"', check)
    assert branch and "cannot be compared" in branch.group(1)
    refused = _save(admin, bad_condition)
    assert refused.status_code == 422
    assert "cannot be compared" in _card(_text(refused), "route")

    assert crm.rt.metadata.definition("approval_flow", FLOW) == good  # the live flow is unchanged
    quote = _quote(crm)
    instance = crm.rt.flows.approvals.submit(crm.ctx("rep_east"), "quote", quote["id"])
    assert [n["id"] for n in instance["current_nodes"]] == ["sales_manager"]


def test_a_running_approval_keeps_its_version_after_the_chain_is_edited(admin, crm):
    _save(admin, seed_chain(), new=True)
    first = crm.rt.flows.approvals.submit(crm.ctx("rep_east"), "quote", _quote(crm)["id"])
    old_version = first["metadata_version"]

    shorter = seed_chain()
    shorter["nodes"] = [copy.deepcopy(shorter["nodes"][0]), *shorter["nodes"][2:]]
    shorter["nodes"][0]["next"] = "finance"  # the technical lead is taken out
    assert _save(admin, shorter).status_code == 302

    page = _text(admin.get(f"/admin/approvals/{FLOW}"))
    running = re.search(r'data-testid="running-(\d+)">([^<]+)<', page)
    assert running and int(running.group(1)) <= old_version and "1" in running.group(2)
    current = re.search(r'data-testid="flow-version">\s*版本 (\d+)', page)
    assert current and int(current.group(1)) > int(running.group(1))

    assert _approve(crm, "manager", first)["current_nodes"][0]["id"] == "tech_lead"
    second = crm.rt.flows.approvals.submit(crm.ctx("rep_east"), "quote", _quote(crm, 70000)["id"])
    assert _approve(crm, "manager", second)["current_nodes"][0]["id"] == "finance"


def test_deactivating_a_flow_from_the_list_is_a_new_version(admin, crm):
    admin.get("/admin/approvals")
    response = admin.post("/admin/approvals/quote.large_amount/active", {"active": "0"})
    assert response.status_code == 302
    assert crm.rt.metadata.definition("approval_flow", "quote.large_amount")["active"] is False
    html = _text(admin.get("/admin/approvals"))
    row = html[html.index('data-flow="quote.large_amount"') :].split("</tr>")[0]
    assert "未启用" in row


def test_a_new_flow_may_not_take_the_name_of_an_existing_one(admin, crm):
    taken = seed_chain(api_name="large_amount")
    refused = _save(admin, taken, new=True)
    assert refused.status_code == 422
    assert "已存在" in _text(refused)
    assert crm.rt.metadata.definition("approval_flow", "quote.large_amount")["priority"] == 200


def test_a_graph_that_is_no_chain_is_edited_as_json(admin, crm):
    """Both branches of the first condition reach the same node from different places: the
    designer cannot draw it as a chain, so it offers the definition as JSON, which saves."""
    tangled = seed_chain(api_name="tangled", start="route", active=False)
    tangled["nodes"][:0] = [
        {
            "id": "route",
            "type": "condition",
            "branches": [
                {"when": "quoted_amount > 100000", "next": "finance"},
                {"next": "second"},
            ],
        },
        {
            "id": "second",
            "type": "condition",
            "branches": [{"when": "quoted_amount > 80000", "next": "finance"}, {"next": "end"}],
        },
    ]
    tangled["nodes"] = [
        n for n in tangled["nodes"] if n["id"] not in ("sales_manager", "tech_lead")
    ]
    crm.rt.metadata.define("admin", "approval_flow", tangled)
    html = _text(admin.get("/admin/approvals/quote.tangled"))
    assert "无法画成审批链" in html and 'data-testid="chain"' not in html
    textarea = re.search(r'<textarea name="definition"[^>]*>(.*?)</textarea>', html, re.S)
    assert textarea and "readonly" not in textarea.group(0).split(">")[0]
    assert json.loads(textarea.group(1)) == tangled

    tangled["label"] = {"zh-CN": "交错的流程", "en": "Tangled"}
    assert _post(admin, "/admin/approvals/save", tangled).status_code == 302
    assert crm.rt.metadata.definition("approval_flow", "quote.tangled")["label"]["zh-CN"] == (
        "交错的流程"
    )


def test_a_rep_cannot_check_or_save_a_flow(pages, crm):
    pages.sign_in("rep_east")
    assert _post(pages, "/admin/approvals/check", seed_chain()).status_code == 404
    assert _post(pages, "/admin/approvals/save", seed_chain(), new=True).status_code == 404
    assert FLOW not in _flows(crm)


def test_a_flow_its_pack_locked_is_shown_read_only_with_the_reason(admin, crm, crm_copy):
    folder = crm_copy("1.0.1")
    manifest = json.loads((folder / "pack.json").read_text("utf-8"))
    manifest["locked"] = [*manifest.get("locked", []), "approval_flow:quote.large_amount"]
    (folder / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    crm.rt.metadata.upgrade_pack(folder, "admin")

    html = _text(admin.get("/admin/approvals/quote.large_amount"))
    assert 'data-testid="locked"' in html and "locked by pack crm_standard" in html
    assert re.search(r'data-testid="save"\s+disabled', html)
    row = _text(admin.get("/admin/approvals")).split('data-flow="quote.large_amount"')[1]
    assert "已被所属包锁定" in row.split("</tr>")[0] and "停用" not in row.split("</tr>")[0]

    before = crm.rt.metadata.definition("approval_flow", "quote.large_amount")
    changed = copy.deepcopy(before)
    changed["priority"] = 10
    check = _text(_post(admin, "/admin/approvals/check", changed))
    assert 'data-testid="check-failed"' in check and "locked by pack" in check
    assert "<html" not in check
    refused = _post(admin, "/admin/approvals/save", changed)
    assert refused.status_code == 403 and "locked" in _text(refused)
    assert crm.rt.metadata.definition("approval_flow", "quote.large_amount") == before
