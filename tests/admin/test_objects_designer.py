"""The objects and fields designer at /admin/objects (issue 6, section 1), on SQLite and
PostgreSQL.

An administrator lists the objects, creates one (the API name checked as they type, a bad
one refused at the field with nothing written), adds fields of each kind with the options
of their type, reorders picklist values, sees where a field is used before archiving it,
archives and restores it; components a pack locked are read-only with the reason.
"""

from __future__ import annotations

import re
from html import unescape

from trellis.metadata import store

LABEL = {"label_zh": "现场考察", "label_en": "Site trip"}


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _object(admin, api_name="site_trip", **extra) -> None:
    admin.get("/admin/objects/new")
    form = {**LABEL, "plural_zh": "", "plural_en": "Site trips", "api_name": api_name}
    response = admin.post("/admin/objects/new", {**form, "name_field": "1", **extra})
    assert response.status_code == 302, _text(response)[:2000]


def _field(admin, type_name: str, form: dict, obj: str = "site_trip"):
    url = f"/admin/objects/{obj}/fields/new/{type_name}"
    admin.get(url)
    return admin.post(url, form)


def _definition(admin, key: str) -> dict:
    return admin.runtime.metadata.definition("field", key)


def _version(admin) -> int:
    """The stored metadata version: every saved change makes a new one."""
    with admin.runtime.engine.connect() as conn:
        return store.current_version(conn)


def test_the_objects_list_shows_labels_api_names_owners_and_field_counts(admin):
    page = admin.get("/admin/objects")
    assert page.status_code == 200
    html = _text(page)
    assert 'data-object="lead"' in html and "线索" in html and "crm_standard" in html
    row = re.search(r'<tr data-object="lead">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r"<td[^>]*>\d+</td>", row)
    assert 'aria-current="page"' in html and "/admin/objects/new" in html


def test_only_administrators_reach_the_designer(pages):
    pages.sign_in("rep_east")
    for url in ("/admin/objects", "/admin/objects/lead", "/admin/objects/lead/fields/status"):
        assert pages.get(url).status_code == 404
    pages.get("/o/lead")
    response = pages.post("/admin/objects/new", {**LABEL, "api_name": "sneaky"})
    assert response.status_code == 404
    assert "sneaky" not in pages.runtime.metadata.installed_packs()


def test_creating_an_object_proposes_and_checks_its_api_name(admin):
    admin.get("/admin/objects/new")
    proposed = _text(admin.post("/admin/objects/name-check", {**LABEL, "api_name": ""}))
    assert 'value="site_trip"' in proposed and 'data-testid="api-name-ok"' in proposed
    taken = {**LABEL, "api_name": "lead", "api_name_edited": "1"}
    html = _text(admin.post("/admin/objects/name-check", taken))
    assert (
        'data-testid="api-name-problem"' in html and "API 名称已被" in html
    )  # taken (either catalog's wording)
    reserved = _text(admin.post("/admin/objects/name-check", {**taken, "api_name": "select"}))
    assert "reserved word" in reserved
    _object(admin)
    page = _text(admin.get("/admin/objects/site_trip"))
    assert "现场考察" in page and 'data-field="name"' in page
    assert admin.runtime.metadata.definition("object", "site_trip")["plural_label"] == {
        "zh-CN": "现场考察",
        "en": "Site trips",
    }
    assert admin.get("/o/site_trip").status_code == 200


def test_a_malicious_api_name_is_refused_at_the_field_and_nothing_is_written(admin):
    before = _version(admin)
    admin.get("/admin/objects/new")
    bad = {**LABEL, "plural_en": "Trips", "api_name": "x; drop table rec_lead", "name_field": "1"}
    response = admin.post("/admin/objects/new", bad)
    assert response.status_code == 422
    html = _text(response)
    block = re.search(r'id="api-name-block".*?</div>\s*<p class="help">', html, re.S).group(0)
    assert "must start with a lowercase letter" in block
    assert 'value="x; drop table rec_lead"' in html  # the form keeps what was typed
    assert _version(admin) == before
    assert admin.get("/o/lead").status_code == 200
    assert "x; drop table rec_lead" not in _text(admin.get("/admin/objects"))


def test_each_kind_of_field_is_added_with_its_options(admin):
    _object(admin)
    base = {"label_zh": "金额", "label_en": "Amount"}
    assert (
        _field(
            admin,
            "currency",
            {
                **base,
                "api_name": "budget",
                "precision": "14",
                "scale": "2",
                "currency": "CNY",
                "required": "1",
                "track_history": "1",  # ticked on a new field's form
            },
        ).status_code
        == 302
    )
    assert _definition(admin, "site_trip.budget") == {
        "api_name": "budget",
        "type": "currency",
        "label": {"zh-CN": "金额", "en": "Amount"},
        "precision": 14,
        "scale": 2,
        "currency": "CNY",
        "required": True,
    }
    text = {"label_zh": "地点", "label_en": "Place", "api_name": "place", "length": "120"}
    assert _field(admin, "text", text).status_code == 302
    assert _definition(admin, "site_trip.place")["length"] == 120
    day = {"label_zh": "日期", "label_en": "Visit day", "api_name": "visit_day"}
    assert _field(admin, "date", day).status_code == 302
    lookup = {
        "label_zh": "客户",
        "label_en": "Account",
        "api_name": "account",
        "target": "account",
        "on_delete": "set_null",
    }
    assert _field(admin, "lookup", lookup).status_code == 302
    assert _definition(admin, "site_trip.account")["on_delete"] == "set_null"
    number = {
        "label_zh": "编号",
        "label_en": "Number",
        "api_name": "trip_number",
        "pattern": "ST-{YYYY}-{0000}",
    }
    assert _field(admin, "auto_number", number).status_code == 302
    formula = {
        "label_zh": "预算万元",
        "label_en": "Budget (10k)",
        "api_name": "budget_wan",
        "formula": "budget / 10000",
        "return_type": "decimal",
        "stored": "1",
    }
    assert _field(admin, "formula", formula).status_code == 302
    assert _definition(admin, "site_trip.budget_wan")["formula"] == "budget / 10000"
    rollup = {
        "label_zh": "考察次数",
        "label_en": "Site trips",
        "api_name": "site_trip_count",
        "object": "site_trip",
        "via": "account",
        "function": "count",
        "return_type": "integer",
    }
    assert _field(admin, "rollup", rollup, obj="account").status_code == 302
    page = _text(admin.get("/admin/objects/site_trip"))
    for name in ("budget", "place", "visit_day", "account", "trip_number", "budget_wan"):
        assert f'data-field="{name}"' in page
    new = _text(admin.get("/o/site_trip/new"))
    assert 'name="budget"' in new and 'name="visit_day"' in new


def test_a_refused_field_shows_each_problem_at_its_control_and_saves_nothing(admin):
    _object(admin)
    before = _version(admin)
    bad = {"label_zh": "金额", "label_en": "Amount", "api_name": "budget", "precision": "80"}
    response = _field(admin, "currency", bad)
    assert response.status_code == 422
    html = _text(response)
    control = re.search(r'data-control="precision".*?</div>', html, re.S).group(0)
    assert "at most 38" in control and 'data-testid="problem-precision"' in control
    formula = {
        "label_zh": "坏",
        "label_en": "Broken",
        "api_name": "broken",
        "formula": "nope + 1",
        "return_type": "decimal",
    }
    html = _text(_field(admin, "formula", formula))
    at_formula = re.search(r'data-testid="problem-formula">(.*?)</p>', html, re.S).group(1)
    assert "Unknown name `nope`" in at_formula
    assert 'data-testid="formula-editor"' in html  # the shared formula editor, with its check
    pattern = {"label_zh": "号", "label_en": "No", "api_name": "trip_no", "pattern": "ST-{YYYY}"}
    html = _text(_field(admin, "auto_number", pattern))
    assert "exactly one counter" in html
    assert _version(admin) == before
    assert 'data-field="budget"' not in _text(admin.get("/admin/objects/site_trip"))


def test_picklist_values_are_saved_in_the_order_of_the_rows_with_colours_and_inactive_flags(admin):
    _object(admin)
    rows = {
        "value_api_name": ["hot", "warm", ""],
        "value_zh": ["热", "温", "冷"],
        "value_en": ["Hot", "Warm", "Cold"],
        "value_color": ["#d32f2f", "", ""],
        "value_active": ["1", "1", "0"],
        "value_valid_for": ["", "", ""],
    }
    form = {"label_zh": "热度", "label_en": "Heat", "api_name": "heat", **rows}
    assert _field(admin, "picklist", form).status_code == 302
    values = _definition(admin, "site_trip.heat")["values"]
    assert [v["api_name"] for v in values] == ["hot", "warm", "cold"]
    assert values[0]["color"] == "#d32f2f" and values[2]["active"] is False
    # the admin drags Cold to the top: the rows arrive in the new order
    edit = {
        "label_zh": "热度",
        "label_en": "Heat",
        "value_api_name": ["cold", "hot", "warm"],
        "value_zh": ["冷", "热", "温"],
        "value_en": ["Cold", "Hot", "Warm"],
        "value_color": ["", "#d32f2f", ""],
        "value_active": ["0", "1", "1"],
        "value_valid_for": ["", "", ""],
    }
    admin.get("/admin/objects/site_trip/fields/heat")
    assert admin.post("/admin/objects/site_trip/fields/heat", edit).status_code == 302
    values = _definition(admin, "site_trip.heat")["values"]
    assert [v["api_name"] for v in values] == ["cold", "hot", "warm"]
    page = _text(admin.get("/admin/objects/site_trip/fields/heat"))
    assert page.index('value="cold"') < page.index('value="hot"') < page.index('value="warm"')


def test_a_dependent_picklist_names_its_controlling_field_and_mapping(admin):
    _object(admin)
    heat = {
        "label_zh": "热度",
        "label_en": "Heat",
        "api_name": "heat",
        "value_api_name": ["hot", "cold"],
        "value_zh": ["热", "冷"],
        "value_en": ["Hot", "Cold"],
        "value_color": ["", ""],
        "value_active": ["1", "1"],
        "value_valid_for": ["", ""],
    }
    assert _field(admin, "picklist", heat).status_code == 302
    follow = {
        "label_zh": "跟进",
        "label_en": "Follow-up",
        "api_name": "follow_up_kind",
        "controlling_field": "heat",
        "value_api_name": ["call", "email"],
        "value_zh": ["电话", "邮件"],
        "value_en": ["Call", "Email"],
        "value_color": ["", ""],
        "value_active": ["1", "1"],
        "value_valid_for": ["hot", "hot, cold"],
    }
    assert _field(admin, "picklist", follow).status_code == 302
    definition = _definition(admin, "site_trip.follow_up_kind")
    assert definition["controlling_field"] == "heat"
    assert [v["valid_for"] for v in definition["values"]] == [["hot"], ["hot", "cold"]]
    usage = _text(admin.get("/admin/objects/site_trip/fields/heat"))
    assert "site_trip.follow_up_kind" in usage and "controlling_field" in usage
    hint = _text(admin.get("/admin/objects/site_trip/fields/follow_up_kind"))
    listed = re.search(r'data-testid="controlling-values".*?</details>', hint, re.S).group(0)
    assert "heat" in listed and "hot, cold" in listed


def test_auto_number_preview_shows_the_next_value(admin):
    _object(admin)
    preview = _text(
        admin.get("/admin/objects/site_trip/auto-number-preview?pattern=ST-{0000}&field=trip_no")
    )
    assert "ST-0001" in preview
    refused = _text(admin.get("/admin/objects/site_trip/auto-number-preview?pattern=ST-{YYYY}"))
    assert "只能有一个计数器" in refused  # exactly one counter


def test_editing_a_label_patches_the_field_and_a_pack_field_stays_the_packs(admin):
    page = _text(admin.get("/admin/objects/lead/fields/company_name"))
    assert 'data-testid="field-usages"' in page and "layout" in page.lower()
    form = {"label_zh": "公司全称", "label_en": "Company name", "length": ""}
    definition = _definition(admin, "lead.company_name")
    if "length" in definition:
        form["length"] = str(definition["length"])
    if definition.get("required"):
        form["required"] = "1"
    if definition.get("unique"):
        form["unique"] = "1"
    if definition.get("indexed"):
        form["indexed"] = "1"
    if definition.get("track_history", True):
        form["track_history"] = "1"
    response = admin.post("/admin/objects/lead/fields/company_name", form)
    assert response.status_code == 302, _text(response)[:1500]
    changed = _definition(admin, "lead.company_name")
    assert changed["label"]["zh-CN"] == "公司全称"
    assert {k: v for k, v in changed.items() if k != "label"} == {
        k: v for k, v in definition.items() if k != "label"
    }
    assert "公司全称" in _text(admin.get("/o/lead/new"))


def test_archiving_shows_the_usages_then_hides_the_field_and_restore_brings_it_back(admin):
    _object(admin)
    note = {"label_zh": "备注", "label_en": "Note", "api_name": "note", "length": "200"}
    assert _field(admin, "text", note).status_code == 302
    formula = {
        "label_zh": "备注长度",
        "label_en": "Note length",
        "api_name": "note_length",
        "formula": "LEN(note)",
        "return_type": "integer",
    }
    assert _field(admin, "formula", formula).status_code == 302
    confirm = _text(admin.get("/admin/objects/site_trip/fields/note/archive"))
    assert "site_trip.note_length" in confirm and 'data-testid="confirm-archive"' in confirm
    refused = admin.post("/admin/objects/site_trip/fields/note/archive")
    assert refused.status_code == 422
    assert "note" in _text(refused) and 'data-testid="archive-refused"' in _text(refused)
    assert not _definition(admin, "site_trip.note").get("archived")
    # take the formula away first (archive it), then the note goes
    assert admin.post("/admin/objects/site_trip/fields/note_length/archive").status_code == 302
    assert admin.post("/admin/objects/site_trip/fields/note/archive").status_code == 302
    assert _definition(admin, "site_trip.note")["archived"] is True
    assert 'name="note"' not in _text(admin.get("/o/site_trip/new"))
    assert 'data-testid="archived-note"' in _text(admin.get("/admin/objects/site_trip"))
    assert admin.post("/admin/objects/site_trip/fields/note/restore").status_code == 302
    assert "archived" not in _definition(admin, "site_trip.note")
    assert 'name="note"' in _text(admin.get("/o/site_trip/new"))


def test_a_field_a_pack_locked_is_read_only_with_the_reason(admin):
    page = admin.get("/admin/objects/opportunity/fields/weighted_amount")
    html = _text(page)
    assert 'data-testid="field-lock"' in html and "locked by pack crm_standard" in html
    assert '<fieldset class="plain" disabled>' in html and 'data-testid="save-field"' not in html
    before = _definition(admin, "opportunity.weighted_amount")
    form = {
        "label_zh": "改",
        "label_en": "Changed",
        "formula": before["formula"],
        "return_type": before["return_type"],
    }
    response = admin.post("/admin/objects/opportunity/fields/weighted_amount", form)
    assert response.status_code == 403
    assert "locked" in _text(response)
    assert _definition(admin, "opportunity.weighted_amount") == before
    assert 'title="field:opportunity.weighted_amount is locked' in _text(
        admin.get("/admin/objects/opportunity")
    )


def test_an_objects_settings_are_patched_and_show_on_its_business_pages(admin):
    _object(admin)
    page = _text(admin.get("/admin/objects/site_trip/settings"))
    assert 'data-testid="object-settings"' in page and 'value="name" selected' in page
    form = {
        "label_zh": "出差考察",
        "label_en": "Site trip",
        "plural_label_zh": "出差考察",
        "plural_label_en": "Site trips",
        "name_field": "name",
        "description": "客户现场考察记录",
    }
    assert admin.post("/admin/objects/site_trip/settings", form).status_code == 302
    definition = admin.runtime.metadata.definition("object", "site_trip")
    assert definition["label"]["zh-CN"] == "出差考察"
    assert definition["description"] == "客户现场考察记录"
    assert "出差考察" in _text(admin.get("/o/site_trip"))
    refused = admin.post("/admin/objects/site_trip/settings", {**form, "label_zh": ""})
    assert refused.status_code == 422
    at_label = re.search(r'data-control="label".*?</fieldset>', _text(refused), re.S).group(0)
    assert 'data-testid="problem-label"' in at_label
    assert admin.runtime.metadata.definition("object", "site_trip")["label"]["zh-CN"] == "出差考察"


def test_a_default_formula_is_saved_with_the_field(admin):
    _object(admin)
    city = {
        "label_zh": "城市",
        "label_en": "City",
        "api_name": "city",
        "default_formula": "'上海'",
        "track_history": "1",
    }
    assert _field(admin, "text", city).status_code == 302
    assert _definition(admin, "site_trip.city")["default_formula"] == "'上海'"
    page = _text(admin.get("/admin/objects/site_trip/fields/city"))
    editor = re.search(r'data-control="default_formula".*?</textarea>', page, re.S).group(0)
    assert "'上海'</textarea>" in editor


#: The least each field type's form needs (roll-ups are added to account above).
MINIMAL = {
    "picklist": {"value_api_name": ["a1"], "value_zh": ["甲"], "value_en": ["A"]},
    "multi_picklist": {"value_api_name": ["b1"], "value_zh": ["乙"], "value_en": ["B"]},
    "lookup": {"target": "account"},
    "auto_number": {"pattern": "N-{000}"},
    "formula": {"formula": "1 + 1", "return_type": "integer"},
}


def test_every_field_type_the_platform_has_can_be_added(admin):
    _object(admin)
    types = re.findall(
        r'data-type="([a-z_]+)"', _text(admin.get("/admin/objects/site_trip/fields/new"))
    )
    assert {"text", "currency", "picklist", "lookup", "formula", "rollup", "boolean"} <= set(types)
    for type_name in types:
        if type_name == "rollup":
            continue
        api_name = f"f_{type_name}"
        form = {"label_zh": type_name, "label_en": type_name, "api_name": api_name}
        response = _field(admin, type_name, {**form, **MINIMAL.get(type_name, {})})
        assert response.status_code == 302, (type_name, _text(response)[-3000:])
        assert _definition(admin, f"site_trip.{api_name}")["type"] == type_name
    new = _text(admin.get("/o/site_trip/new"))
    for name in ("f_text", "f_boolean", "f_multi_picklist", "f_datetime", "f_percent", "f_user"):
        assert f'name="{name}"' in new, name


def test_clearing_a_control_removes_its_property(admin):
    _object(admin)
    place = {
        "label_zh": "地点",
        "label_en": "Place",
        "api_name": "place",
        "length": "80",
        "help_zh": "城市和场馆",
        "help_en": "City and venue",
        "track_history": "1",
    }
    assert _field(admin, "text", place).status_code == 302
    assert _definition(admin, "site_trip.place")["help"]["en"] == "City and venue"
    admin.get("/admin/objects/site_trip/fields/place")
    edit = {"label_zh": "地点", "label_en": "Place", "length": "", "track_history": "1"}
    assert admin.post("/admin/objects/site_trip/fields/place", edit).status_code == 302
    definition = _definition(admin, "site_trip.place")
    assert "help" not in definition and "length" not in definition


def test_a_new_fields_api_name_is_checked_as_it_is_typed(admin):
    _object(admin)
    admin.get("/admin/objects/site_trip/fields/new/text")
    check = "/admin/objects/site_trip/fields/name-check"
    assert 'data-testid="field-api-name-ok"' in _text(admin.post(check, {"api_name": "city"}))
    assert "API 名称已被" in _text(admin.post(check, {"api_name": "name"}))  # taken
    assert "system field" in _text(admin.post(check, {"api_name": "owner"}))
    assert "must start with a lowercase letter" in _text(admin.post(check, {"api_name": "1; x"}))
    assert 'data-field="city"' not in _text(admin.get("/admin/objects/site_trip"))
