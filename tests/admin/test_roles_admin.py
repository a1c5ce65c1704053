"""Roles and permissions in the admin area (issue 6, section 1), on SQLite and PostgreSQL.

The permission grid of a role is posted as a browser sends it (every ticked box, chosen
scope and field-security choice of the page): removing read on leads makes the lead list
404 for the role's users, hiding a field takes it off their record page, an invalid value
comes back marked at its cell with nothing saved, and a role a pack locked stays read-only.
"""

from __future__ import annotations

import json
from html import unescape
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    """The values a browser would send for the page's permission grid form."""

    def __init__(self, *, whole_page: bool = True):
        super().__init__()
        self.values: list[tuple[str, str]] = []
        self._in_form = not whole_page  # a fragment is read as it stands
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "role-form":
            self._in_form = True
        if not self._in_form or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.append((a["name"], a.get("value", "on")))
            else:
                self.values.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values.append((self._textarea, ""))

    def handle_data(self, data):
        if self._textarea:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _grid(admin, role: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(admin.get(f"/admin/roles/{role}").get_data(as_text=True))
    return dict(reader.values)


def _field_grid(admin, role: str, object_name: str) -> dict[str, str]:
    """The field-security sub-grid of one object (loaded when the admin opens it)."""
    reader = _FormReader(whole_page=False)
    reader.feed(admin.get(f"/admin/roles/{role}/fields/{object_name}").get_data(as_text=True))
    return dict(reader.values)


def _save(admin, role: str, form: dict[str, str]):
    return admin.post(f"/admin/roles/{role}", form)


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_nobody_but_admins_finds_the_roles_pages(pages):
    pages.sign_in("manager")
    assert pages.get("/admin/roles").status_code == 404
    assert pages.get("/admin/roles/sales_rep").status_code == 404
    assert pages.post("/admin/roles/sales_rep", {"label_zh": "x"}).status_code == 404


def test_the_roles_list_and_the_grid_show_what_the_pack_grants(admin):
    listing = _text(admin.get("/admin/roles"))
    assert "销售代表" in listing and "crm_standard@1.0.0" in listing
    assert 'data-testid="admin-tab-roles"' in listing
    form = _grid(admin, "sales_rep")
    assert form["right.lead.read"] == "1" and "right.account.delete" not in form
    assert form["scope.lead.read_scope"] == "own" and form["scope.campaign.read_scope"] == "all"
    assert not any(k.startswith("field.") for k in form)  # sub-grids load when opened
    fields = _field_grid(admin, "sales_rep", "lead")
    assert fields["field.lead.score"] == "read_only"
    assert fields["field.lead.company_name"] == "editable"
    page = admin.get("/admin/roles/sales_rep").get_data(as_text=True)
    for column in ("create", "read", "edit", "delete", "view_all", "modify_all"):
        assert f'data-column="{column}"' in page


def test_saving_an_unchanged_grid_changes_nothing(admin):
    before = admin.runtime.metadata.definition("role", "sales_rep")
    saved = _save(admin, "sales_rep", _grid(admin, "sales_rep"))
    assert saved.status_code == 302
    assert "的权限已保存" not in _text(admin.get(saved.headers["Location"]))
    assert admin.runtime.metadata.definition("role", "sales_rep") == before


def test_removing_read_on_an_object_makes_its_pages_404_for_the_role(admin, crm, app):
    rep = type(admin)(app)
    rep.sign_in("rep_east")
    assert rep.get("/o/lead").status_code == 200
    form = _grid(admin, "sales_rep")
    for right in ("read", "create", "edit", "delete"):
        form.pop(f"right.lead.{right}", None)
    assert _save(admin, "sales_rep", form).status_code == 302
    assert (
        admin.runtime.metadata.definition("role", "sales_rep")["objects"]["lead"]["read"] is False
    )
    assert rep.get("/o/lead").status_code == 404
    assert rep.get("/o/account").status_code == 200  # the other rows are untouched
    assert admin.get("/o/lead").status_code == 200


def test_field_security_hides_a_field_on_the_record_page(admin, crm, app):
    lead = crm.lead("rep_east", title="采购总监")
    rep = type(admin)(app)
    rep.sign_in("rep_east")
    assert "采购总监" in _text(rep.get(f"/o/lead/{lead['id']}"))
    form = {**_grid(admin, "sales_rep"), **_field_grid(admin, "sales_rep", "lead")}
    form["field.lead.title"] = "hidden"
    form["field.account.credit_code"] = "read_only"
    assert _save(admin, "sales_rep", form).status_code == 302
    fields = admin.runtime.metadata.definition("role", "sales_rep")["objects"]["lead"]["fields"]
    assert fields["title"] == "hidden" and fields["score"] == "read_only"
    page = _text(rep.get(f"/o/lead/{lead['id']}"))
    assert "采购总监" not in page and "职务" not in page
    assert 'data-testid="fields-lead"' in admin.get("/admin/roles/sales_rep").get_data(as_text=True)


def test_an_invalid_value_is_marked_at_its_cell_and_nothing_is_saved(admin):
    before = admin.runtime.metadata.definition("role", "sales_rep")
    form = _grid(admin, "sales_rep")
    form["scope.lead.read_scope"] = "everything"
    form.pop("right.contact.read")
    refused = _save(admin, "sales_rep", form)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    cell = html.index('data-pointer="/objects/lead/read_scope"')
    assert "has-problem" in html[cell - 60 : cell]
    assert "everything" in html[cell : cell + 2000]  # the message sits in that cell
    # The admin's other edits are still on the page, unticked as they left them.
    assert _unticked(html, "right.contact.read")
    assert admin.runtime.metadata.definition("role", "sales_rep") == before


def _unticked(html: str, name: str) -> bool:
    start = html.index(f'name="{name}"')
    return "checked" not in html[start : html.index(">", start)]


def test_the_live_check_answers_with_problems_by_cell(admin):
    form = _grid(admin, "sales_rep")
    form["field.lead.score"] = "secret"
    answer = admin.post("/admin/roles/sales_rep/check", form)
    assert answer.status_code == 422
    assert list(answer.get_json()["cells"]) == ["/objects/lead/fields/score"]
    form["field.lead.score"] = "hidden"
    assert admin.post("/admin/roles/sales_rep/check", form).get_json()["ok"] is True
    lead = admin.runtime.metadata.definition("role", "sales_rep")["objects"]["lead"]
    assert lead["fields"]["score"] == "read_only"  # a check saves nothing


def test_a_new_role_copies_rights_and_its_label_is_shown_literally(admin):
    admin.get("/admin/roles")
    created = admin.post(
        "/admin/roles",
        {
            "label_zh": "<script>alert(1)</script>",
            "label_en": "Sales assistant'; DROP TABLE trellis_user;--",
            "copy_from": "sales_rep",
        },
    )
    assert created.status_code == 302
    name = created.headers["Location"].rsplit("/", 1)[1]
    role = admin.runtime.metadata.definition("role", name)
    assert role["label"]["zh-CN"] == "<script>alert(1)</script>"
    assert role["objects"]["lead"]["read"] is True
    html = admin.get("/admin/roles").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert admin.get(f"/admin/roles/{name}").status_code == 200


def test_a_role_a_pack_locked_is_read_only_with_the_reason(admin, tmp_path):
    pack = tmp_path / "locked_roles"
    (pack / "roles").mkdir(parents=True)
    (pack / "pack.json").write_text(
        json.dumps(
            {
                "name": "locked_roles",
                "version": "1.0.0",
                "label": {"zh-CN": "锁定角色", "en": "Locked roles"},
                "dependencies": {"crm_standard": "^1"},
                "locked": ["role:auditor"],
            }
        ),
        "utf-8",
    )
    auditor = {
        "api_name": "auditor",
        "label": {"zh-CN": "审计", "en": "Auditor"},
        "objects": {"lead": {"read": True, "read_scope": "all"}},
    }
    (pack / "roles" / "auditor.json").write_text(json.dumps(auditor), "utf-8")
    admin.runtime.metadata.install_pack(pack, "admin")
    page = _text(admin.get("/admin/roles/auditor"))
    assert 'data-testid="locked"' in page and "locked by pack locked_roles" in page
    assert 'data-testid="save-role"' not in page
    refused = admin.post("/admin/roles/auditor", {"label_zh": "改", "label_en": "Changed"})
    assert refused.status_code == 403
    assert admin.runtime.metadata.definition("role", "auditor")["label"]["zh-CN"] == "审计"
