"""Users and departments in the admin area (issue 6, section 1), on SQLite and PostgreSQL.

An administrator creates a user who then signs in and sees only their own records,
edits and deactivates users (a deactivated user is refused at sign-in, their records stay),
resets a password, and restructures the department tree (a loop is refused). Hostile input
is shown literally or refused plainly; nobody else finds these pages.
"""

from __future__ import annotations

from html import unescape

from trellis.runtime import people_admin

NEW_USER = {
    "username": "rep_south",
    "display_name": "华南销售代表",
    "email": "south@example.com",
    "phone": "13912345678",
    "department": "sales_east",
    "manager": "manager",
    "roles": ["sales_rep"],
    "time_zone": "Asia/Shanghai",
    "locale": "zh-CN",
    "password": "south-secret-1",
}


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _user(pages, username: str) -> dict:
    with pages.runtime.engine.connect() as conn:
        return people_admin.user_detail(conn, username)


def _parents(pages) -> dict[str, str | None]:
    with pages.runtime.engine.connect() as conn:
        return {d["api_name"]: d["parent"] for d in people_admin.departments(conn)}


def test_nobody_but_admins_finds_the_people_pages(pages):
    pages.sign_in("manager")
    for url in ("/admin/users", "/admin/users/new", "/admin/users/rep_east", "/admin/departments"):
        assert pages.get(url).status_code == 404, url
    assert pages.post("/admin/users/rep_east/active", {"active": "0"}).status_code == 404
    assert _user(pages, "rep_east")["is_active"]


def test_the_user_list_searches_and_filters(admin):
    page = _text(admin.get("/admin/users"))
    assert "rep_east" in page and "华东销售代表" in page and "销售代表" in page
    assert 'data-testid="admin-tab-users"' in page
    found = _text(admin.get("/admin/users?q=north"))
    assert "rep_north" in found and "rep_east" not in found
    east = _text(admin.get("/admin/users?department=sales_east&role=sales_rep&active=1"))
    assert 'data-user="rep_east"' in east and 'data-user="manager"' not in east


def test_a_created_user_signs_in_and_sees_only_their_own_leads(admin, crm, app):
    crm.lead("rep_east", company_name="华东的线索公司")
    admin.get("/admin/users/new")
    created = admin.post("/admin/users/new", NEW_USER)
    assert created.status_code == 302, _text(created)[:2000]
    assert created.headers["Location"].endswith("/admin/users/rep_south")
    user = _user(admin, "rep_south")
    assert user["phone"] == "+8613912345678" and user["roles"] == ["sales_rep"]
    listing = _text(admin.get("/admin/users?q=rep_south"))
    assert "华南销售代表" in listing and "华东销售经理" in listing  # the manager's name

    south = type(admin)(app)  # a second browser
    south.sign_in("rep_south", "south-secret-1")
    south.post("/o/lead/new", {"company_name": "华南的线索公司", "mobile": "13812345670"})
    leads = _text(south.get("/o/lead"))
    assert "华南的线索公司" in leads and "华东的线索公司" not in leads
    assert south.get("/admin/users").status_code == 404


def test_the_same_form_sent_twice_makes_one_user_and_says_the_name_is_taken(admin):
    admin.get("/admin/users/new")
    assert admin.post("/admin/users/new", NEW_USER).status_code == 302
    admin.get("/admin/users/new")
    again = admin.post("/admin/users/new", NEW_USER)
    assert again.status_code == 409
    assert "用户名已被占用" in _text(again)
    with admin.runtime.engine.connect() as conn:
        assert len(people_admin.list_users(conn, search="rep_south")) == 1


def test_bad_input_is_shown_at_each_field_and_nothing_is_created(admin):
    admin.get("/admin/users/new")
    bad = {
        **NEW_USER,
        "username": "<script>alert(1)</script>",
        "email": "not-an-email",
        "phone": "12345",
        "password": "short",
        "display_name": "",
    }
    refused = admin.post("/admin/users/new", bad)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html  # echoed, escaped
    for field in ("username", "email", "phone", "password", "display_name"):
        assert f'data-testid="error-{field}"' in html, field
    assert "这不是有效的电话号码" in _text(refused)
    assert 'value="not-an-email"' in html  # the admin's input is kept
    with admin.runtime.engine.connect() as conn:
        assert people_admin.list_users(conn, search="script") == []


def test_a_sql_ish_display_name_is_stored_and_shown_literally(admin):
    name = "Robert'); DROP TABLE trellis_user;--"
    admin.get("/admin/users/rep_east")
    saved = admin.post(
        "/admin/users/rep_east",
        {**NEW_USER, "display_name": name, "roles": ["sales_rep"]},
    )
    assert saved.status_code == 302
    assert _user(admin, "rep_east")["display_name"] == name
    assert name in _text(admin.get("/admin/users"))
    assert admin.get("/admin/users/rep_south").status_code == 404


def test_editing_changes_department_manager_and_roles(admin):
    page = _text(admin.get("/admin/users/rep_north"))
    assert "<summary>系统管理员</summary>" in page  # the header still names who is signed in
    assert 'value="华北销售代表"' in page
    values = {**NEW_USER, "department": "sales_east", "manager": "manager"}
    values["roles"] = ["sales_rep", "marketing"]
    assert admin.post("/admin/users/rep_north", values).status_code == 302
    user = _user(admin, "rep_north")
    assert (user["department"], user["manager"]) == ("sales_east", "manager")
    assert user["roles"] == ["marketing", "sales_rep"]
    loop = admin.post("/admin/users/vp", {**values, "manager": "rep_east", "roles": ["sales_vp"]})
    assert loop.status_code == 422 and 'data-testid="error-manager"' in loop.get_data(as_text=True)


def test_a_deactivated_user_cannot_sign_in_and_keeps_their_records(admin, crm, app):
    lead = crm.lead("rep_east", company_name="停用前的线索")
    admin.get("/admin/users/rep_east")
    assert admin.post("/admin/users/rep_east/active", {"active": "0"}).status_code == 302
    assert "已停用" in _text(admin.get("/admin/users/rep_east"))

    rep = type(admin)(app)
    rep.get("/sign-in")
    refused = rep.post("/sign-in", {"username": "rep_east", "password": rep.PASSWORD})
    assert refused.status_code == 401
    assert crm.raw("lead", lead["id"])["owner"] == crm.user_id("rep_east")
    admin.post("/admin/users/rep_east/active", {"active": "1"})
    rep.sign_in("rep_east")
    assert "停用前的线索" in _text(rep.get("/o/lead"))


def test_a_signed_in_user_is_signed_out_when_deactivated(admin, app):
    rep = type(admin)(app)
    rep.sign_in("rep_east")
    admin.get("/admin/users/rep_east")
    admin.post("/admin/users/rep_east/active", {"active": "0"})
    assert rep.get("/o/lead").status_code == 302  # back to sign-in


def test_the_admin_cannot_deactivate_themselves(admin):
    admin.get("/admin/users/admin")
    refused = admin.post("/admin/users/admin/active", {"active": "0"})
    assert refused.status_code == 422
    assert "不能停用自己" in _text(refused)
    assert _user(admin, "admin")["is_active"]


def test_a_reset_password_works_and_a_short_one_is_refused(admin, app):
    admin.get("/admin/users/rep_east")
    short = admin.post("/admin/users/rep_east/password", {"password": "abc"})
    assert short.status_code == 422 and 'data-testid="error-password"' in short.get_data(
        as_text=True
    )
    assert (
        admin.post("/admin/users/rep_east/password", {"password": "fresh-pass-9"}).status_code
        == 302
    )

    rep = type(admin)(app)
    rep.sign_in("rep_east", "fresh-pass-9")


def test_the_department_tree_shows_and_a_move_persists(admin):
    page = _text(admin.get("/admin/departments"))
    assert 'data-testid="department-tree"' in page and "华东销售部" in page
    moved = admin.post(
        "/admin/departments/sales_east/move",
        {"parent": "hq"},
        headers={"Accept": "application/json"},
    )
    assert moved.status_code == 200 and moved.get_json() == {"moved": "sales_east", "parent": "hq"}
    assert _parents(admin)["sales_east"] == "hq"
    # The form fallback (no JavaScript) moves it back.
    assert admin.post("/admin/departments/sales_east/move", {"parent": "sales"}).status_code == 302
    assert _parents(admin)["sales_east"] == "sales"


def test_moving_a_department_under_its_own_descendant_is_refused(admin):
    admin.get("/admin/departments")
    refused = admin.post(
        "/admin/departments/sales/move",
        {"parent": "sales_east"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422
    assert "不能移到它自己或它的下级部门之下" in refused.get_json()["message"]
    assert _parents(admin)["sales"] == "hq"
    form = admin.post("/admin/departments/sales/move", {"parent": "sales_east"})
    assert form.status_code == 422 and "不能移到它自己或它的下级部门之下" in _text(form)


def test_adding_renaming_and_setting_a_head(admin):
    admin.get("/admin/departments")
    added = admin.post(
        "/admin/departments",
        {"label_zh": "华南销售部", "label_en": "Sales South", "parent": "sales"},
    )
    assert added.status_code == 302
    assert _parents(admin)["sales_south"] == "sales"
    taken = admin.post(
        "/admin/departments",
        {"label_zh": "销售", "label_en": "Sales", "api_name": "sales", "parent": ""},
    )
    assert taken.status_code == 409 and "已有使用此 API 名称的部门" in _text(taken)
    admin.post(
        "/admin/departments/sales_south",
        {"label_zh": "华南大区", "label_en": "South region", "head": "rep_north"},
    )
    with admin.runtime.engine.connect() as conn:
        south = next(d for d in people_admin.departments(conn) if d["api_name"] == "sales_south")
    assert (south["label_zh"], south["head"]) == ("华南大区", "rep_north")
    empty = admin.post("/admin/departments/sales_south", {"label_zh": "", "label_en": "x"})
    assert empty.status_code == 422 and "此项必填" in _text(empty)
