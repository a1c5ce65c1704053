"""Converting a lead from its record page: account + contact + opportunity in one step, with
the duplicate warning first, linking an existing account, and plain refusals."""

from __future__ import annotations

import re


def text(response) -> str:
    return response.get_data(as_text=True)


def _lead(crm, who="rep_east", **values) -> dict:
    data = {
        "company_name": "杭州密封材料有限公司",
        "contact_name": "陈工",
        "mobile": "13966660001",
        "region": "east",
        "industry": "chemical",
        "product_line": "sealants",
        "estimated_amount": "88000",
        **values,
    }
    return crm.lead(who, **data)


def _counts(crm) -> tuple[int, int, int]:
    return crm.count("account"), crm.count("contact"), crm.count("opportunity")


def _version(page: str) -> str:
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def test_a_rep_converts_a_lead_into_exactly_one_account_contact_and_opportunity(signed_in, crm):
    lead = _lead(crm)
    record = text(signed_in.get(f"/o/lead/{lead['id']}"))
    assert f'href="/o/lead/{lead["id"]}/convert"' in record

    page = text(signed_in.get(f"/o/lead/{lead['id']}/convert"))
    assert page.count("杭州密封材料有限公司") >= 2  # the account and the opportunity names
    assert "陈工" in page and 'name="make_opportunity"' in page
    assert 'data-testid="convert-duplicates"' not in page
    before = _counts(crm)

    response = signed_in.post(
        f"/o/lead/{lead['id']}/convert", {"version": _version(page), "make_opportunity": "on"}
    )
    assert response.status_code == 303, text(response)[:2000]
    assert re.search(r"/o/opportunity/\d+$", response.headers["Location"])
    assert _counts(crm) == tuple(n + 1 for n in before)
    opportunity = text(signed_in.get(response.headers["Location"]))
    assert "已转化" in opportunity
    stored = crm.raw("lead", lead["id"])
    assert stored["status"] == "converted" and stored["converted_opportunity"] is not None

    record = text(signed_in.get(f"/o/lead/{lead['id']}"))
    assert 'data-testid="convert-button"' not in record
    assert f'href="/o/account/{stored["converted_account"]}"' in record

    again = signed_in.post(f"/o/lead/{lead['id']}/convert", {"version": _version(page)})
    assert again.status_code == 409
    assert "不能重复转化" in text(again)
    assert signed_in.get(f"/o/lead/{lead['id']}/convert").status_code == 409
    assert _counts(crm) == tuple(n + 1 for n in before)


def test_a_duplicate_account_is_shown_first_then_linked_or_confirmed(signed_in, crm):
    existing = crm.account("rep_east", account_name="杭州密封材料有限公司")
    lead = _lead(crm)
    before = _counts(crm)

    page = text(signed_in.get(f"/o/lead/{lead['id']}/convert"))
    warning = re.search(r'data-testid="convert-duplicates">(.*?)</div>', page, re.S).group(1)
    assert f'href="/o/account/{existing["id"]}"' in warning
    assert "不能新建" in warning  # the standard pack blocks a second account of one name
    assert f'name="existing_account" value="{existing["id"]}"' in page

    # Sent anyway: refused by the blocking rule, nothing made.
    refused = signed_in.post(
        f"/o/lead/{lead['id']}/convert", {"version": _version(page), "confirm_duplicates": "1"}
    )
    assert refused.status_code == 409
    assert 'data-testid="convert-message"' in text(refused)
    assert _counts(crm) == before

    linked = signed_in.post(
        f"/o/lead/{lead['id']}/convert",
        {"version": _version(page), "existing_account": str(existing["id"])},
    )
    assert linked.status_code == 303
    assert re.search(rf"/o/account/{existing['id']}$", linked.headers["Location"])
    accounts, contacts, opportunities = _counts(crm)
    assert (accounts, contacts, opportunities) == (before[0], before[1] + 1, before[2])
    assert crm.raw("lead", lead["id"])["converted_account"] == existing["id"]


def test_a_warned_duplicate_contact_needs_convert_anyway(signed_in, crm):
    account = crm.account("rep_east", account_name="已有客户")
    known = crm.contact("rep_east", account["id"], contact_name="陈工", mobile="13966660001")
    lead = _lead(crm)
    before = _counts(crm)
    page = text(signed_in.get(f"/o/lead/{lead['id']}/convert"))
    warning = re.search(r'data-testid="convert-duplicates">(.*?)</div>', page, re.S).group(1)
    assert f'href="/o/contact/{known["id"]}"' in warning
    assert 'data-testid="convert-anyway"' in page and 'data-testid="convert-submit"' not in page

    unconfirmed = signed_in.post(
        f"/o/lead/{lead['id']}/convert", {"version": _version(page), "make_opportunity": "on"}
    )
    assert unconfirmed.status_code == 409
    assert "仍然转化" in text(unconfirmed)
    assert _counts(crm) == before
    response = signed_in.post(
        f"/o/lead/{lead['id']}/convert",
        {"version": _version(page), "confirm_duplicates": "1", "make_opportunity": "on"},
    )
    assert response.status_code == 303
    assert _counts(crm) == tuple(n + 1 for n in before)


def test_another_reps_lead_is_not_found(signed_in, crm):
    theirs = _lead(crm, who="rep_north", company_name="北方重工集团")
    before = _counts(crm)
    for response in (
        signed_in.get(f"/o/lead/{theirs['id']}/convert"),
        signed_in.post(f"/o/lead/{theirs['id']}/convert", {"make_opportunity": "on"}),
    ):
        assert response.status_code == 404
        assert "北方重工集团" not in text(response)
    assert _counts(crm) == before


def test_refusals_are_plain(signed_in, crm):
    unqualified = _lead(crm, status="unqualified", unqualified_reason="no_budget")
    page = signed_in.get(f"/o/lead/{unqualified['id']}/convert")
    assert page.status_code == 422
    assert "无效线索不能转化" in text(page)

    lead = _lead(crm, company_name="过期版本公司")
    form = text(signed_in.get(f"/o/lead/{lead['id']}/convert"))
    crm.records.update(crm.ctx("rep_east"), "lead", lead["id"], {"mobile": "13966660009"})
    stale = signed_in.post(f"/o/lead/{lead['id']}/convert", {"version": _version(form)})
    assert stale.status_code == 412
    assert "有人修改了" in text(stale)
    assert crm.raw("lead", lead["id"])["status"] != "converted"

    nameless = _lead(crm, company_name="无联系人公司", contact_name=None)
    before = _counts(crm)
    failed = signed_in.post(f"/o/lead/{nameless['id']}/convert", {"make_opportunity": "on"})
    assert failed.status_code == 422
    assert 'data-testid="convert-message"' in text(failed)
    assert _counts(crm) == before


def test_names_with_markup_show_literally(signed_in, crm):
    lead = _lead(crm, company_name="<script>alert(1)</script>{{7*7}}")
    page = text(signed_in.get(f"/o/lead/{lead['id']}/convert"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in page
    assert "<script>alert(1)" not in page
