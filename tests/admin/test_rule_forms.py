"""Forms for pools, assignment rules and duplicate rules in the admin area (issue 6, §1), on
SQLite and PostgreSQL.

An administrator creates and edits each through its form and sees it act on the business
pages: a pool's daily limit on /pools and at the claim, an assignment rule giving a new lead
its owner, a duplicate rule warning on the lead form. Invalid input is refused at its control
with nothing written; a pack-locked definition is read only; anyone else finds no such page.
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from trellis.metadata import store
from trellis.metadata.store import pack_table


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _browser(pages, username: str):
    other = type(pages)(pages.app)
    other.sign_in(username)
    return other


def _error(html: str, control: str) -> list[str]:
    return re.findall(rf'data-testid="error-{control}">(.*?)</p>', html)


def _version(pages) -> int:
    with pages.runtime.engine.connect() as conn:
        return store.current_version(conn)


WEST_POOL = {
    "label_zh": "华西线索公海",
    "label_en": "West leads",
    "api_name": "west_leads",
    "object": "lead",
    "active": "on",
    "members-roles": ["sales_rep"],
    "condition": "region == 'west'",
    "claims_per_day": "1",
    "max_held": "30",
}


# -- pools -----------------------------------------------------------------------------------


def test_the_pools_list_names_each_pools_owner(admin):
    html = _text(admin.get("/admin/pools"))
    row = re.search(r'<tr data-key="lead.east_leads">(.*?)</tr>', html, re.S).group(1)
    assert "华东线索公海" in row and "crm_standard@" in row
    assert 'data-testid="admin-tab-pools"' in html
    form = _text(admin.get("/admin/pools/lead.east_leads"))
    assert re.search(r'<option value="sales_rep" selected>', form)
    assert 'name="claims_per_day"' in form and 'value="20"' in form
    assert "三天未跟进回收公海" in form  # the recycle automation feeding the pool


def test_a_new_pool_shows_its_daily_limit_to_members_and_enforces_it(admin, crm):
    saved = admin.post("/admin/pools/save", WEST_POOL)
    assert saved.status_code == 302, _text(saved)[:2000]
    assert saved.headers["Location"].endswith("/admin/pools/lead.west_leads")
    stored = admin.runtime.metadata.definition("pool", "lead.west_leads")
    assert stored["members"] == [{"type": "role", "role": "sales_rep"}]
    assert stored["claims_per_day"] == 1 and stored["max_held"] == 30

    rep = _browser(admin, "rep_north")
    html = _text(rep.get("/pools"))
    row = re.search(r'<tr data-pool="lead.west_leads">(.*?)</tr>', html, re.S).group(1)
    assert "华西线索公海" in row and "0 / 1" in row
    leads = [crm.lead("rep_east", company_name=f"西部{i}", region="west") for i in (1, 2)]
    for lead in leads:
        crm.rt.flows.pools.move(crm.ctx("rep_east"), "lead", lead["id"], pool="west_leads")
    assert rep.post(f"/pools/lead/west_leads/{leads[0]['id']}/claim").status_code == 303
    assert rep.post(f"/pools/lead/west_leads/{leads[1]['id']}/claim").status_code == 422

    edited = admin.post(
        "/admin/pools/save", {**WEST_POOL, "key": "lead.west_leads", "claims_per_day": "5"}
    )
    assert edited.status_code == 302
    row = re.search(r'<tr data-pool="lead.west_leads">(.*?)</tr>', _text(rep.get("/pools")), re.S)
    assert "1 / 5" in row.group(1)
    assert rep.post(f"/pools/lead/west_leads/{leads[1]['id']}/claim").status_code == 303


def test_an_invalid_pool_is_refused_at_its_controls_and_nothing_is_written(admin):
    before = _version(admin)
    bad = {**WEST_POOL, "claims_per_day": "0"}
    bad.pop("members-roles")
    refused = admin.post("/admin/pools/save", bad)
    assert refused.status_code == 422
    html = _text(refused)
    assert 'data-testid="refused"' in html
    assert _error(html, "claims_per_day") and _error(html, "members")
    assert 'value="华西线索公海"' in html  # what the admin typed stays in the form
    refused = admin.post("/admin/pools/save", {**WEST_POOL, "condition": "regio == 'west'"})
    assert refused.status_code == 422
    assert "regio" in " ".join(_error(_text(refused), "condition"))
    assert _version(admin) == before
    assert "lead.west_leads" not in _text(admin.get("/admin/pools"))


def test_a_pack_locked_pool_is_read_only_with_the_reason(admin, crm):
    with admin.runtime.engine.begin() as conn:
        manifest = (
            conn.execute(pack_table.select().where(pack_table.c.name == "crm_standard"))
            .one()
            .manifest
        )
        conn.execute(
            pack_table.update()
            .where(pack_table.c.name == "crm_standard")
            .values(manifest={**manifest, "locked": ["pool:lead.east_leads"]})
        )
    html = _text(admin.get("/admin/pools"))
    row = re.search(r'<tr data-key="lead.east_leads">(.*?)</tr>', html, re.S).group(1)
    assert 'data-testid="locked"' in row and "locked by pack crm_standard" in row
    form = _text(admin.get("/admin/pools/lead.east_leads"))
    assert '<fieldset class="plain" disabled>' in form and 'data-testid="save"' not in form
    refused = admin.post("/admin/pools/save", {**WEST_POOL, "key": "lead.east_leads"})
    assert refused.status_code == 403 and "locked by pack crm_standard" in _text(refused)


@pytest.mark.parametrize(
    "url",
    ["/admin/pools", "/admin/pools/new", "/admin/pools/lead.east_leads"],
)
def test_non_admins_find_no_rule_forms(pages, url):
    pages.sign_in("manager")
    assert pages.get(url).status_code == 404
    assert pages.post("/admin/pools/save", WEST_POOL).status_code == 404


# -- assignment rules --------------------------------------------------------------------------

NORTH_RULE = {
    "label_zh": "北方线索给北区",
    "label_en": "North leads to the north",
    "api_name": "north_first",
    "object": "lead",
    "active": "on",
    "on_create": "on",
    "order": "1",
    "entries-0-when": "region == 'north'",
    "entries-0-method": "round_robin",
    "entries-0-users": ["rep_north"],
    "entries-1-method": "load",
    "entries-1-roles": ["sales_manager"],
    "entries-1-load_filter": "status == 'new'",
}


def test_an_assignment_rule_gives_a_new_lead_its_owner(admin, crm):
    listed = _text(admin.get("/admin/assignment-rules"))
    assert 'data-key="lead.by_region"' in listed and "按区域分配线索" in listed
    form = _text(admin.get("/admin/assignment-rules/lead.by_region"))
    assert form.count('data-testid="entry"') == 3 + 1  # three entries and the new-entry template
    assert "data-sortable" in form and "region == 'east'" in form

    saved = admin.post("/admin/assignment-rules/save", NORTH_RULE)
    assert saved.status_code == 302, _text(saved)[:3000]
    stored = admin.runtime.metadata.definition("assignment_rule", "lead.north_first")
    assert stored["entries"][0] == {
        "when": "region == 'north'",
        "method": "round_robin",
        "users": [{"type": "user", "users": ["rep_north"]}],
    }
    assert stored["entries"][1]["users"] == [{"type": "role", "role": "sales_manager"}]
    lead = crm.lead("rep_east", company_name="北方新线索", region="north")
    assert crm.raw("lead", lead["id"])["owner"] == crm.user_id("rep_north")

    # Dragging the catch-all entry first: the rule now gives every lead to a manager.
    reordered = {
        k.replace("entries-0-", "entries-x-")
        .replace("entries-1-", "entries-0-")
        .replace("entries-x-", "entries-1-"): v
        for k, v in NORTH_RULE.items()
    }
    reordered["key"] = "lead.north_first"
    refused = admin.post("/admin/assignment-rules/save", reordered)
    assert refused.status_code == 422  # after an entry without a condition, none is used
    assert "never used" in " ".join(_error(_text(refused), "entries-1"))
    reordered.pop("entries-0-load_filter")
    reordered["entries-0-when"] = "priority == 'high'"
    assert admin.post("/admin/assignment-rules/save", reordered).status_code == 302
    stored = admin.runtime.metadata.definition("assignment_rule", "lead.north_first")
    assert [e["method"] for e in stored["entries"]] == ["load", "round_robin"]
    lead = crm.lead("rep_east", company_name="高优先级", region="north", priority="high")
    assert crm.raw("lead", lead["id"])["owner"] != crm.user_id("rep_north")


def test_an_assignment_rule_without_people_is_refused_at_the_entry(admin):
    before = _version(admin)
    bad = {k: v for k, v in NORTH_RULE.items() if k != "entries-0-users"}
    bad["entries-0-when"] = "regoin == 'north'"
    refused = admin.post("/admin/assignment-rules/save", bad)
    assert refused.status_code == 422
    html = _text(refused)
    assert _error(html, "entries-0")
    assert _version(admin) == before
    assert admin.get("/admin/assignment-rules/lead.north_first").status_code == 404


# -- duplicate rules ---------------------------------------------------------------------------

SAME_MOBILE = {
    "object": "lead",
    "label_zh": "手机号重复",
    "label_en": "Same mobile",
    "api_name": "same_mobile",
    "fields": ["mobile"],
    "action": "warn",
    "active": "on",
}


def test_a_new_duplicate_rule_warns_on_the_lead_form(admin, crm):
    listed = _text(admin.get("/admin/duplicate-rules"))
    row = re.search(r'<tr data-key="lead.same_company_contact">(.*?)</tr>', listed, re.S).group(1)
    assert "crm_standard@" in row and "公司与联系人重复" in row
    chooser = _text(admin.get("/admin/duplicate-rules/new?object=lead"))
    assert '<option value="mobile">' in chooser  # the lead's fields to pick from

    saved = admin.post("/admin/duplicate-rules/save", SAME_MOBILE)
    assert saved.status_code == 302, _text(saved)[:3000]
    rules = admin.runtime.metadata.definition("object", "lead")["duplicate_rules"]
    assert [r["api_name"] for r in rules] == ["same_company_contact", "same_mobile"]
    row = re.search(
        r'<tr data-key="lead.same_mobile">(.*?)</tr>',
        _text(admin.get("/admin/duplicate-rules")),
        re.S,
    ).group(1)
    assert "Custom" in row or "自定义" in row

    first = crm.lead("rep_east", company_name="甲公司", mobile="13911112222")
    rep = _browser(admin, "rep_east")
    warned = rep.post("/o/lead/new", {"company_name": "乙公司", "mobile": "139 1111 2222"})
    assert warned.status_code == 409
    page = _text(warned)
    assert 'data-testid="duplicate-warning"' in page and f'href="/o/lead/{first["id"]}"' in page

    # Block instead of warn: the lead is refused outright.
    blocked = admin.post(
        "/admin/duplicate-rules/save", {**SAME_MOBILE, "key": "lead.same_mobile", "action": "block"}
    )
    assert blocked.status_code == 302
    refused = rep.post(
        "/o/lead/new",
        {"company_name": "丙公司", "mobile": "13911112222", "confirm_duplicates": "1"},
    )
    assert refused.status_code >= 400 and crm.count("lead") == 1


def test_an_invalid_duplicate_rule_is_refused_at_its_control(admin):
    before = _version(admin)
    refused = admin.post("/admin/duplicate-rules/save", {**SAME_MOBILE, "fields": []})
    assert refused.status_code == 422
    assert _error(_text(refused), "fields")
    taken = admin.post(
        "/admin/duplicate-rules/save", {**SAME_MOBILE, "api_name": "same_company_contact"}
    )
    assert taken.status_code == 422 and _error(_text(taken), "api_name")
    assert _version(admin) == before
    rules = admin.runtime.metadata.definition("object", "lead")["duplicate_rules"]
    assert [r["api_name"] for r in rules] == ["same_company_contact"]
