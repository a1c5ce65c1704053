"""The crm_standard quote discount approval through the pages: a rep submits from the record
page, the manager decides from the inbox, the panel shows the path, the history and exactly
the actions each person may take."""

from __future__ import annotations

import re

import pytest


def text(response) -> str:
    return response.get_data(as_text=True)


def _quote(crm, name="年度框架报价", quoted=60000, who="rep_east") -> dict:
    data = {"quote_name": name, "list_amount": 100000, "quoted_amount": quoted}
    return crm.records.create(crm.ctx(who), "quote", data).record


def _browser(pages, username: str):
    """Another browser (its own cookies) signed in as ``username``."""
    other = type(pages)(pages.app)
    other.sign_in(username)
    return other


def _submit(rep, quote, comment="请审批"):
    url = f"/o/quote/{quote['id']}"
    page = text(rep.get(url))
    assert 'data-testid="approval-submit-form"' in page
    response = rep.post(f"{url}/approvals", {"comment": comment, "next": url})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(url)
    return text(rep.get(url))


def _task_ids(browser) -> list[int]:
    return [int(i) for i in re.findall(r'data-task="(\d+)"', text(browser.get("/approvals")))]


@pytest.fixture
def rep(signed_in):
    return signed_in


@pytest.fixture
def manager(pages):
    return _browser(pages, "manager")


def test_rep_submits_manager_approves_from_the_inbox_and_the_panel_shows_it(rep, manager, crm):
    quote = _quote(crm)
    page = _submit(rep, quote)
    assert "已提交审批" in page
    assert 'data-testid="approval-status">审批中<' in page
    assert "华东销售经理" in re.search(
        r'data-testid="approval-waiting-for">(.*?)</div>', page, re.S
    ).group(1)
    assert "请审批" in page  # the submit comment in the history
    assert 'data-testid="approval-task-form"' not in page  # the rep cannot approve
    assert 'data-testid="approval-recall-form"' in page  # but may recall

    inbox = text(manager.get("/approvals"))
    assert f'href="/o/quote/{quote["id"]}">年度框架报价</a>' in inbox
    assert "报价折扣审批" in inbox and "销售经理审批" in inbox
    assert 'data-testid="approvals-count">1<' in inbox
    (task_id,) = _task_ids(manager)
    row = manager.post(
        f"/approvals/tasks/{task_id}",
        {"action": "approve", "comment": "同意", "next": "/approvals"},
        headers={"HX-Request": "true"},
    )
    assert row.status_code == 200
    body = text(row)
    assert "<html" not in body and f'id="task-{task_id}"' in body
    assert "已批准" in body and "同意" in body
    assert _task_ids(manager) == []  # nothing waits for the manager any more
    assert "年度框架报价" in text(manager.get("/approvals?tab=done"))

    record = text(rep.get(f"/o/quote/{quote['id']}"))
    history = re.search(r'data-testid="approval-history">(.*?)</ol>', record, re.S).group(1)
    assert "华东销售经理" in history and "同意" in history and "请审批" in history
    assert "副总裁审批" in record  # the path goes on to the vice-president
    assert 'data-testid="approval-status">审批中<' in record
    assert "年度框架报价" in text(rep.get("/approvals?tab=submitted"))

    vp = _browser(manager, "vp")
    (vp_task,) = _task_ids(vp)
    done = vp.post(f"/approvals/tasks/{vp_task}", {"action": "approve", "next": "/approvals"})
    assert done.status_code == 303
    record = text(rep.get(f"/o/quote/{quote['id']}"))
    assert 'data-testid="approval-status">已通过<' in record
    assert crm.raw("quote", quote["id"])["approval_status"] == "approved"


def test_the_rep_cannot_approve_and_a_forged_post_is_refused(rep, manager, crm, pages):
    quote = _quote(crm)
    _submit(rep, quote)
    (task_id,) = _task_ids(manager)

    forged = rep.post(f"/approvals/tasks/{task_id}", {"action": "approve"})
    assert forged.status_code == 403
    stranger = _browser(pages, "rep_north")
    assert stranger.post(f"/approvals/tasks/{task_id}", {"action": "approve"}).status_code == 404
    assert stranger.get(f"/o/quote/{quote['id']}").status_code == 404
    assert crm.raw("quote", quote["id"])["approval_status"] == "pending"


def test_a_double_approve_says_it_was_already_done(rep, manager, crm):
    quote = _quote(crm, quoted=80000)  # 80%: the manager alone decides
    _submit(rep, quote)
    (task_id,) = _task_ids(manager)
    form = {"action": "approve", "comment": "同意", "next": f"/o/quote/{quote['id']}"}
    first = manager.post(f"/approvals/tasks/{task_id}", form)
    assert first.status_code == 303
    assert "已批准" in text(manager.get(first.headers["Location"]))

    again = manager.post(f"/approvals/tasks/{task_id}", form)
    assert again.status_code == 303
    page = text(manager.get(again.headers["Location"]))
    assert "已经处理过" in page
    hx = manager.post(f"/approvals/tasks/{task_id}", form, headers={"HX-Request": "true"})
    assert hx.status_code == 200 and "已经处理过" in text(hx)
    assert 'data-testid="approval-status">已通过<' in page


def test_the_submitter_recalls_and_may_submit_again(rep, manager, crm):
    quote = _quote(crm, quoted=80000)
    page = _submit(rep, quote)
    instance = re.search(r'action="/approvals/(\d+)/recall"', page).group(1)
    assert manager.post(f"/approvals/{instance}/recall", {}).status_code == 403
    url = f"/o/quote/{quote['id']}"
    response = rep.post(f"/approvals/{instance}/recall", {"comment": "改价", "next": url})
    assert response.status_code == 303
    page = text(rep.get(url))
    assert 'data-testid="approval-status">已撤回<' in page and "改价" in page
    assert 'data-testid="approval-submit-form"' in page  # it can go again
    assert _task_ids(manager) == []
    again = rep.post(f"/approvals/{instance}/recall", {"next": url})
    assert "已经处理过" in text(rep.get(again.headers["Location"]))


def test_a_second_submission_is_refused_plainly(rep, crm):
    quote = _quote(crm)
    _submit(rep, quote)
    url = f"/o/quote/{quote['id']}"
    response = rep.post(f"{url}/approvals", {"flow": "discount", "next": url})
    assert response.status_code == 303
    assert "已在审批中" in text(rep.get(url))


def test_reject_and_transfer_from_the_panel(rep, manager, crm):
    quote = _quote(crm, quoted=80000)
    _submit(rep, quote)
    (task_id,) = _task_ids(manager)
    url = f"/o/quote/{quote['id']}"
    page = text(manager.get(url))
    assert 'data-testid="approval-task-form"' in page
    north = re.search(r'<option value="(\d+)">华北销售经理', page).group(1)
    moved = manager.post(
        f"/approvals/tasks/{task_id}", {"action": "transfer", "user": north, "next": url}
    )
    assert moved.status_code == 303
    assert "已转交" in text(manager.get(url))
    north_browser = _browser(manager, "manager_north")
    (north_task,) = _task_ids(north_browser)
    north_browser.post(
        f"/approvals/tasks/{north_task}", {"action": "reject", "comment": "价格太低"}
    )
    page = text(rep.get(url))
    assert 'data-testid="approval-status">已驳回<' in page and "价格太低" in page
    assert crm.raw("quote", quote["id"])["approval_status"] == "rejected"


def test_names_with_markup_show_literally_in_the_inbox(rep, manager, crm):
    quote = _quote(crm, name="<script>alert(1)</script>{{7*7}}")
    _submit(rep, quote)
    inbox = text(manager.get("/approvals"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in inbox
    # 49 would mean {{7*7}} was evaluated; the random CSRF tokens may contain "49" themselves.
    without_tokens = re.sub(r'name="csrf_token" value="[^"]*"', "", inbox)
    assert "<script>alert(1)" not in inbox and "49" not in without_tokens
    mine = text(rep.get("/approvals?tab=submitted"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mine


def test_the_inbox_works_in_english_and_without_tasks(rep):
    page = text(rep.get("/approvals"))
    assert 'data-testid="approvals-empty"' in page
    assert 'href="/approvals"' in page and 'href="/notifications"' in page  # header counters
    assert rep.get("/approvals?tab=submitted").status_code == 200
    assert rep.get("/approvals?tab=nonsense").status_code == 200
