"""The layout designer at /admin/layouts (issue 6, section 1), on SQLite and PostgreSQL.

An administrator arranges a lead layout in two columns and sales reps see exactly that on
the record page; a field the layout makes required is refused empty on the form; a layout
the metadata API refuses (an unknown field, a field placed twice) shows each problem at
its field and changes nothing; a stale or hand-made form is refused plainly; a new layout
for one role reaches that role only; the preview shows the unsaved layout. Nobody but an
administrator finds the designer.
"""

from __future__ import annotations

import json
import re
from html import unescape

KEY = "lead.standard"
URL = f"/admin/layouts/{KEY}"


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _seen(page) -> str:
    return re.search(r'name="seen" value="([^"]*)"', page.get_data(as_text=True)).group(1)


def _section(label: str, fields: list, columns: int = 2) -> dict:
    return {"label": {"zh-CN": label, "en": label}, "columns": columns, "fields": fields}


def _send(admin, sections: list, url: str = URL, seen: str | None = None, **form):
    if seen is None:
        seen = _seen(admin.get(url if "new" not in url else url.replace("/new", "/new", 1)))
    data = {
        "seen": seen,
        "label_zh": "线索布局",
        "label_en": "Lead layout",
        "layout": json.dumps({"sections": sections, "related_lists": []}),
        **form,
    }
    return admin.post(url, data)


def _record_fields(pages, record_id: int) -> list[list[str]]:
    """The record page's sections as lists of field names, in the page's order."""
    html = pages.get(f"/o/lead/{record_id}").get_data(as_text=True)
    sections = re.findall(r'<dl class="fields cols-(\d)">(.*?)</dl>', html, re.S)
    return [[cols, *re.findall(r'data-field="([a-z_]+)"', body)] for cols, body in sections]


def _lead(crm, **values) -> int:
    base = {"company_name": "布局测试公司", "contact_name": "王五", "mobile": "13800138000"}
    return crm.lead(**{**base, **values})["id"]


def test_only_administrators_find_the_layout_designer(pages, crm):
    assert pages.get("/admin/layouts").status_code == 404
    pages.sign_in("rep_east")
    assert pages.get("/admin/layouts").status_code == 404
    assert pages.get(URL).status_code == 404
    assert pages.post(URL, {"layout": "{}"}).status_code == 404
    assert pages.post(f"{URL}/preview", {"layout": "{}"}).status_code == 404
    before = pages.runtime.metadata.definition("layout", KEY)
    assert pages.runtime.metadata.definition("layout", KEY) == before


def test_the_layouts_page_lists_each_object_with_its_assignments(admin, crm):
    page = admin.get("/admin/layouts")
    assert page.status_code == 200
    html = _html(page)
    assert 'data-layout="lead.standard"' in html
    assert 'data-layout="contract.dealer"' in html and "dealer" in html
    assert 'data-testid="admin-tab-layouts"' in html
    designer = _html(admin.get(URL))
    assert 'data-testid="palette"' in designer and 'data-testid="section-0"' in designer
    assert 'data-testid="item-company_name"' in designer
    assert "Sortable.min.js" in designer and "layout_designer.js" in designer


def test_a_two_column_layout_shows_on_the_record_page_in_that_order(admin, pages, crm):
    lead = _lead(crm, title="采购经理")
    saved = _send(
        admin,
        [
            _section("联系", ["contact_name", "company_name", "mobile", "title"]),
            _section("来源", ["source"], columns=1),
        ],
    )
    assert saved.status_code == 303, _html(saved)[:2000]
    assert "布局已保存" in _html(admin.get(saved.headers["Location"]))
    rep = type(pages)(pages.app)
    rep.sign_in("rep_east")
    assert _record_fields(rep, lead) == [
        ["2", "contact_name", "company_name", "mobile", "title"],
        ["1", "source"],
    ]
    stored = admin.runtime.metadata.definition("layout", KEY)
    assert [s["fields"] for s in stored["sections"]][0][0] == "contact_name"
    assert "related_lists" not in stored  # the form sent none: the page shows none


def test_a_field_the_layout_requires_is_refused_empty_on_the_form(admin, crm):
    lead = _lead(crm)
    fields = ["company_name", "contact_name", "mobile", {"field": "title", "required": True}]
    assert _send(admin, [_section("联系", fields)]).status_code == 303
    rep = type(admin)(admin.app)
    rep.sign_in("rep_east")
    form = rep.get(f"/o/lead/{lead}/edit")
    assert 'name="title"' in form.get_data(as_text=True)
    refused = rep.post(
        f"/o/lead/{lead}/edit",
        {
            "company_name": "改过的公司",
            "contact_name": "王五",
            "mobile": "13800138000",
            "title": "",
        },
    )
    assert refused.status_code == 422
    assert 'data-testid="error-title"' in refused.get_data(as_text=True)
    assert crm.raw("lead", lead)["company_name"] == "布局测试公司"  # nothing was saved
    new = rep.post("/o/lead/new", {"company_name": "新公司", "mobile": "13900139000"})
    assert new.status_code == 422 and 'data-testid="error-title"' in new.get_data(as_text=True)
    done = rep.post(
        f"/o/lead/{lead}/edit",
        {
            "company_name": "改过的公司",
            "contact_name": "王五",
            "mobile": "13800138000",
            "title": "经理",
        },
    )
    assert done.status_code == 302
    assert crm.raw("lead", lead)["title"] == "经理"


def test_an_unknown_or_repeated_field_is_shown_at_its_place_and_nothing_changes(admin, crm):
    lead = _lead(crm)
    before = _record_fields(admin, lead)
    stored = admin.runtime.metadata.definition("layout", KEY)
    refused = _send(admin, [_section("联系", ["company_name", "bogus_field", "mobile"])])
    assert refused.status_code == 422
    html = _html(refused)
    place = re.search(r'data-testid="item-bogus_field">(.*?)</li>', html, re.S).group(1)
    assert 'data-problem="/sections/0/fields/1"' in place and "bogus_field" in place
    assert admin.runtime.metadata.definition("layout", KEY) == stored
    assert _record_fields(admin, lead) == before

    twice = _send(admin, [_section("A", ["company_name", "mobile"]), _section("B", ["mobile"])])
    assert twice.status_code == 422
    html = _html(twice)
    assert 'data-problem="/sections/1/fields/0"' in html
    assert "'mobile'" in html
    assert admin.runtime.metadata.definition("layout", KEY) == stored

    nameless = _send(admin, [{"label": {"zh-CN": "", "en": ""}, "columns": 2, "fields": []}])
    assert nameless.status_code == 422
    assert 'data-problem="/sections/0"' in nameless.get_data(as_text=True)
    assert _record_fields(admin, lead) == before


def test_a_stale_or_hand_made_form_is_refused(admin, crm):
    seen = _seen(admin.get(URL))
    stored = admin.runtime.metadata.definition("layout", KEY)
    changed = {**stored, "sections": stored["sections"][:1]}
    admin.runtime.metadata.define("someone_else", "layout", changed)
    stale = _send(admin, [_section("联系", ["company_name"])], seen=seen)
    assert stale.status_code == 409
    assert "在您打开之后" in _html(stale) or "after you opened it" in _html(stale)
    assert admin.runtime.metadata.definition("layout", KEY) == changed

    seen = _seen(admin.get(URL))
    for layout, status in (
        ("not json", 400),
        ("[1, 2]", 400),
        (json.dumps({"sections": "everything"}), 422),
        (json.dumps({"sections": [{"label": "x", "fields": [{"field": 5}]}]}), 422),
        (json.dumps({"sections": [_section("x", ["mobile"])], "buttons": ["rm_rf"]}), 422),
        (
            json.dumps(
                {
                    "sections": [_section("x", ["mobile"])],
                    "related_lists": [{"object": "contact", "via": "owner"}],
                }
            ),
            422,
        ),
    ):
        answer = admin.post(URL, {"seen": seen, "label_zh": "x", "label_en": "x", "layout": layout})
        assert answer.status_code == status, (layout, _html(answer)[:1500])
    assert admin.runtime.metadata.definition("layout", KEY) == changed
    assert admin.get("/admin/layouts/nothing.here").status_code == 404
    assert admin.get("/admin/layouts/new?object=nothing").status_code == 404


def test_labels_are_shown_as_text_never_as_markup(admin, crm):
    lead = _lead(crm)
    sent = _send(admin, [_section("<script>alert(1)</script>", ["company_name"])])
    assert sent.status_code == 303
    raw = admin.get(f"/o/lead/{lead}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw and "&lt;script&gt;" in raw
    designer = admin.get(URL).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in designer


def test_a_new_layout_for_one_role_reaches_that_role_only(admin, crm):
    lead = _lead(crm, title="总监")
    opened = admin.get("/admin/layouts/new?object=lead&role=sales_rep")
    assert opened.status_code == 200
    html = _html(opened)
    assert 'data-testid="item-company_name"' in html  # starts from the layout reps see now
    assert 'value="sales_rep" checked' in html
    created = _send(
        admin,
        [_section("销售视角", ["title", "company_name"])],
        url="/admin/layouts/new?object=lead",
        seen=_seen(opened),
        api_name="for_reps",
        roles="sales_rep",
    )
    assert created.status_code == 303, _html(created)[:2000]
    assert created.headers["Location"].endswith("/admin/layouts/lead.for_reps")
    rep = type(admin)(admin.app)
    rep.sign_in("rep_east")
    assert _record_fields(rep, lead) == [["2", "title", "company_name"]]
    manager = type(admin)(admin.app)
    manager.sign_in("manager")
    assert _record_fields(manager, lead)[0][1] != "title"  # the standard layout still

    again = _send(
        admin,
        [_section("再来", ["mobile"])],
        url="/admin/layouts/new?object=lead",
        seen=_seen(opened),
        api_name="for_reps",
    )
    assert again.status_code == 409
    same = _send(
        admin,
        [_section("同一角色", ["mobile"])],
        url="/admin/layouts/new?object=lead",
        seen=_seen(opened),
        api_name="reps_again",
        roles="sales_rep",
    )
    assert same.status_code == 422
    assert 'data-problem="/roles"' in same.get_data(as_text=True)
    assert "for_reps" in _html(same)


def test_the_preview_shows_the_unsaved_layout_and_saves_nothing(admin, crm):
    _lead(crm, title="预览职位")
    stored = admin.runtime.metadata.definition("layout", KEY)
    seen = _seen(admin.get(URL))
    layout = json.dumps({"sections": [_section("预览区", ["title", "company_name"], 1)]})
    shown = admin.post(
        f"{URL}/preview", {"seen": seen, "label_zh": "x", "label_en": "x", "layout": layout}
    )
    assert shown.status_code == 200
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    html = _html(shown)
    assert "预览区" in html and "预览职位" in html
    assert html.index('data-field="title"') < html.index('data-field="company_name"')
    assert 'class="fields cols-1"' in html
    assert admin.runtime.metadata.definition("layout", KEY) == stored

    bad = json.dumps({"sections": [_section("预览区", ["no_such_field"])]})
    refused = admin.post(f"{URL}/preview", {"label_zh": "x", "label_en": "x", "layout": bad})
    assert refused.status_code == 200 and 'data-testid="preview-problems"' in refused.get_data(
        as_text=True
    )
    assert "frame-ancestors 'none'" in admin.get(URL).headers["Content-Security-Policy"]


def test_buttons_on_the_layout_choose_the_record_pages_automation_buttons(admin, crm):
    for name, zh in (("call_back", "回访"), ("escalate", "升级")):
        admin.runtime.metadata.define(
            "admin",
            "automation",
            {
                "api_name": name,
                "object": "lead",
                "label": {"zh-CN": zh, "en": name},
                "trigger": {"type": "manual"},
                "actions": [{"type": "update_fields", "values": {"priority": "'high'"}}],
            },
        )
    lead = _lead(crm)
    sections = [_section("联系", ["company_name", "mobile"])]
    seen = _seen(admin.get(URL))
    layout = {"sections": sections, "buttons": ["escalate"]}
    saved = admin.post(
        URL, {"seen": seen, "label_zh": "x", "label_en": "x", "layout": json.dumps(layout)}
    )
    assert saved.status_code == 303, _html(saved)[:2000]
    page = _html(admin.get(f"/o/lead/{lead}"))
    assert "升级" in page and "回访" not in page
    assert admin.runtime.metadata.definition("layout", KEY)["buttons"] == ["escalate"]
