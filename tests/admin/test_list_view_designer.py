"""The list view designer at /admin/list-views (issue 6, section 1), on SQLite and PostgreSQL.

An administrator sets a lead view's columns in an order, its filter (an expression and the
list builder's conditions), its sort and the roles that see it; the list page /o/lead shows
exactly that. A view the metadata API refuses (a column that is not a field, a filter that
does not compile) shows each problem at its control and changes nothing; a stale or
hand-made form is refused; nobody but an administrator finds the designer.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

KEY = "lead.new_leads"
URL = f"/admin/list-views/{KEY}"


def _html(response) -> str:
    return unescape(response.get_data(as_text=True))


def _seen(page) -> str:
    return re.search(r'name="seen" value="([^"]*)"', page.get_data(as_text=True)).group(1)


def _send(admin, columns, url=URL, seen=None, **form):
    if seen is None:
        seen = _seen(admin.get(url))
    data = {"seen": seen, "label_zh": "展会线索", "label_en": "Exhibition leads", **form}
    data["columns"] = columns
    return admin.post(url, data)


def _headers(pages, view: str) -> list[str]:
    html = _html(pages.get(f"/o/lead?view={quote(view)}"))
    head = re.search(r"<thead>(.*?)</thead>", html, re.S).group(1)
    return [
        re.sub(r"<[^>]+>|[▲▼]", "", th).strip()
        for th in re.findall(r'<th scope="col">(.*?)</th>', head, re.S)
    ]


def _leads(crm):
    crm.lead(
        company_name="展会甲公司", contact_name="张三", mobile="13800000001", source="exhibition"
    )
    crm.lead(
        company_name="官网乙公司", contact_name="李四", mobile="13800000002", source="online_ads"
    )


def test_only_administrators_find_the_list_view_designer(pages, crm):
    assert pages.get("/admin/list-views").status_code == 404
    pages.sign_in("rep_east")
    assert pages.get("/admin/list-views").status_code == 404
    assert pages.get(URL).status_code == 404
    assert pages.post(URL, {"columns": ["mobile"]}).status_code == 404
    assert pages.runtime.metadata.definition("list_view", KEY)["columns"][0] == "lead_number"


def test_the_views_page_lists_each_objects_views(admin, crm):
    html = _html(admin.get("/admin/list-views"))
    assert 'data-view="lead.new_leads"' in html and "status == 'new'" in html
    assert 'data-testid="admin-tab-list_views"' in html
    designer = _html(admin.get(URL))
    assert 'data-testid="column-company_name"' in designer
    assert 'data-testid="formula-editor"' in designer  # the shared formula editor for the filter
    sort = re.search(r'name="sort0">(.*?)</select>', designer, re.S).group(1)
    assert '<option value="created_at" selected>' in sort  # the view's "-created_at" is kept
    assert re.search(r'<option value="desc"\s+selected>', designer)


def test_column_order_filter_and_sort_show_on_the_list(admin, crm):
    _leads(crm)
    saved = _send(
        admin,
        ["mobile", "company_name", "source"],
        filter="status == 'new'",
        f0="source",
        op0="eq",
        v0="exhibition",
        sort0="company_name",
        dir0="desc",
    )
    assert saved.status_code == 303, _html(saved)[:2000]
    assert "列表视图已保存" in _html(admin.get(saved.headers["Location"]))
    stored = admin.runtime.metadata.definition("list_view", KEY)
    assert stored["columns"] == ["mobile", "company_name", "source"]
    assert stored["filter"] == "(status == 'new') and (source == 'exhibition')"
    assert stored["sort"] == "-company_name"
    rep = type(admin)(admin.app)
    rep.sign_in("rep_east")
    assert _headers(rep, "new_leads") == ["手机", "公司名称", "线索来源"]
    listed = _html(rep.get("/o/lead?view=new_leads"))
    assert "展会甲公司" in listed and "官网乙公司" not in listed


def test_a_refused_view_shows_each_problem_at_its_control_and_changes_nothing(admin, crm):
    stored = admin.runtime.metadata.definition("list_view", KEY)
    bad_column = _send(admin, ["company_name", "no_such_field"])
    assert bad_column.status_code == 422
    html = _html(bad_column)
    row = re.search(r'data-testid="column-no_such_field">(.*?)</li>', html, re.S).group(1)
    assert 'data-problem="/columns/1"' in row and "no_such_field" in row

    bad_filter = _send(admin, ["company_name"], filter="amount >>> 3")
    assert bad_filter.status_code == 422
    assert 'data-problem="/filter"' in bad_filter.get_data(as_text=True)
    assert "amount >>> 3" in _html(bad_filter)  # the expression as typed, to fix

    bad_row = _send(admin, ["company_name"], f0="score", op0="gt", v0="lots")
    assert bad_row.status_code == 422
    assert 'data-problem="/builder"' in bad_row.get_data(as_text=True)

    no_columns = _send(admin, [])
    assert no_columns.status_code == 422 and 'data-problem="/columns"' in no_columns.get_data(
        as_text=True
    )
    assert admin.runtime.metadata.definition("list_view", KEY) == stored


def test_a_view_for_one_role_is_listed_for_that_role_only(admin, crm):
    saved = _send(admin, ["company_name", "status"], roles="sales_manager")
    assert saved.status_code == 303, _html(saved)[:2000]
    rep = type(admin)(admin.app)
    rep.sign_in("rep_east")
    assert 'value="new_leads"' not in rep.get("/o/lead").get_data(as_text=True)
    manager = type(admin)(admin.app)
    manager.sign_in("manager")
    assert 'value="new_leads"' in manager.get("/o/lead").get_data(as_text=True)
    assert _headers(manager, "new_leads") == ["公司名称", "线索状态"]


def test_a_new_view_is_made_and_a_stale_or_hand_made_form_refused(admin, crm):
    opened = admin.get("/admin/list-views/new?object=lead")
    assert opened.status_code == 200
    made = _send(
        admin,
        ["company_name", "mobile"],
        url="/admin/list-views/new?object=lead",
        seen=_seen(opened),
        api_name="my_mobiles",
    )
    assert made.status_code == 303, _html(made)[:2000]
    assert made.headers["Location"].endswith("/admin/list-views/lead.my_mobiles")
    assert "展会线索" in _html(admin.get("/o/lead"))
    again = _send(
        admin,
        ["mobile"],
        url="/admin/list-views/new?object=lead",
        seen=_seen(opened),
        api_name="my_mobiles",
    )
    assert again.status_code == 409

    seen = _seen(admin.get(URL))
    stored = admin.runtime.metadata.definition("list_view", KEY)
    changed = {**stored, "columns": ["company_name"]}
    admin.runtime.metadata.define("someone_else", "list_view", changed)
    stale = _send(admin, ["mobile"], seen=seen)
    assert stale.status_code == 409
    assert admin.runtime.metadata.definition("list_view", KEY) == changed
    seen = _seen(admin.get(URL))
    hostile = _send(admin, ["mobile"], seen=seen, roles="no_such_role", sort0="<b>")
    assert hostile.status_code == 422
    assert "<b>" not in hostile.get_data(as_text=True).split('data-testid="sort"')[1][:4000]
    assert admin.runtime.metadata.definition("list_view", KEY) == changed
    assert admin.get("/admin/list-views/lead.nothing").status_code == 404
