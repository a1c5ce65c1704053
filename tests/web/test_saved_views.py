"""Saved views on a list page: a personal view keeps the list's filters for its user only;
an administrator may share a view, which becomes a list_view every reader sees."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

SOURCE_FILTER = {"f0": "source", "op0": "eq", "v0": "exhibition"}


def _leads(crm):
    crm.lead(company_name="展会来的公司", contact_name="张三", source="exhibition")
    crm.lead(company_name="官网来的公司", contact_name="李四", source="online_ads")


def _save(pages, name, args=SOURCE_FILTER, **form):
    query = "&".join(f"{k}={v}" for k, v in {**args, "view": "all_leads"}.items())
    return pages.post(f"/o/lead/views?{query}", {"name": name, **form})


def _picker_value(html: str, name: str) -> str:
    found = re.search(rf'<option value="([^"]+)"[^>]*>{re.escape(name)}</option>', html)
    assert found, f"the view picker has no {name}"
    return unescape(found.group(1))


def test_a_personal_view_reopens_the_list_with_its_filter(signed_in, crm):
    _leads(crm)
    saved = _save(signed_in, "我的展会线索")
    assert saved.status_code == 302
    shown = signed_in.get(saved.headers["Location"])
    html = shown.get_data(as_text=True)
    assert "视图“我的展会线索”已保存" in html
    assert "展会来的公司" in html and "官网来的公司" not in html

    listed = signed_in.get("/o/lead").get_data(as_text=True)
    assert "官网来的公司" in listed  # the plain list is unfiltered again
    picked = signed_in.get(f"/o/lead?view={_picker_value(listed, '我的展会线索')}")
    assert picked.status_code == 302
    args = parse_qs(urlsplit(picked.headers["Location"]).query)
    assert args["f0"] == ["source"] and args["v0"] == ["exhibition"]
    reopened = signed_in.get(picked.headers["Location"]).get_data(as_text=True)
    assert "展会来的公司" in reopened and "官网来的公司" not in reopened


def test_saving_the_same_name_again_replaces_the_view(signed_in, crm):
    _leads(crm)
    _save(signed_in, "来源")
    _save(signed_in, "来源", {"f0": "source", "op0": "eq", "v0": "online_ads"})
    listed = signed_in.get("/o/lead").get_data(as_text=True)
    assert listed.count(">来源</option>") == 1
    picked = signed_in.get(f"/o/lead?view={_picker_value(listed, '来源')}")
    reopened = signed_in.get(picked.headers["Location"]).get_data(as_text=True)
    assert "官网来的公司" in reopened and "展会来的公司" not in reopened


def test_another_user_neither_sees_opens_nor_deletes_a_personal_view(signed_in, pages, crm, app):
    _save(signed_in, "东区私人视图")
    mine = signed_in.get("/o/lead").get_data(as_text=True)
    picker = _picker_value(mine, "东区私人视图")
    view_id = picker.removeprefix("saved-")

    other = type(pages)(app)
    other.sign_in("rep_north")
    theirs = other.get("/o/lead").get_data(as_text=True)
    assert "东区私人视图" not in theirs
    opened = other.get(f"/o/lead?view={picker}")
    assert opened.status_code == 302 and "saved=" not in opened.headers["Location"]
    assert other.post(f"/o/lead/views/{view_id}/delete").status_code == 404
    assert "东区私人视图" in signed_in.get("/o/lead").get_data(as_text=True)


def test_the_owner_deletes_a_personal_view(signed_in, crm):
    _save(signed_in, "临时视图")
    picker = _picker_value(signed_in.get("/o/lead").get_data(as_text=True), "临时视图")
    deleted = signed_in.post(f"/o/lead/views/{picker.removeprefix('saved-')}/delete")
    assert deleted.status_code == 302
    html = signed_in.get(deleted.headers["Location"]).get_data(as_text=True)
    assert "视图已删除" in html and "临时视图" not in html


@pytest.mark.parametrize("name", ["", "   ", "长" * 81])
def test_a_view_needs_a_name_of_at_most_80_characters(signed_in, name):
    refused = signed_in.post("/o/lead/views?view=all_leads", {"name": name})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "请为视图命名" in text or "视图名称最多 80 个字符" in text


def test_only_an_administrator_shares_a_view_and_every_reader_then_sees_it(
    signed_in, pages, crm, app
):
    _leads(crm)
    refused = _save(signed_in, "全员展会线索", shared="1")
    assert refused.status_code == 403
    assert "只有管理员可以保存共享视图" in refused.get_data(as_text=True)

    admin = type(pages)(app)
    admin.sign_in("admin")
    assert "共享给所有人" in admin.get("/o/lead").get_data(as_text=True)
    shared = _save(admin, "全员展会线索", shared="1")
    assert shared.status_code == 302
    view_name = parse_qs(urlsplit(shared.headers["Location"]).query)["view"][0]
    rt = app.extensions["trellis"]
    with rt.engine.connect() as conn:
        views = rt.cache.get(conn).definitions.list_views.values()
    view = next(v for v in views if v.api_name == view_name)
    assert view_name == "view_quan_yuan_zhan_hui_xian_suo"
    assert view.object_name == "lead" and view.filter is not None

    reader = signed_in.get(f"/o/lead?view={view_name}").get_data(as_text=True)
    assert "<option" in reader and "全员展会线索" in reader
    assert "展会来的公司" in reader and "官网来的公司" not in reader


def test_view_names_show_literally(signed_in):
    _save(signed_in, "<script>alert(1)</script>{{7*7}}")
    html = signed_in.get("/o/lead").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in html
