"""The shared formula editor (issue 6, section 1), on SQLite and PostgreSQL.

As an administrator types, the editor says what type the formula gives and what it gives
for a record they pick, or what is wrong, in plain words, at which line and column. It
refuses what the expression language refuses (names starting with _, attribute access,
huge powers), and a preview never writes. Everyone else finds no formula editor at all.
"""

from __future__ import annotations

import re
from html import unescape

CHECK = "/admin/formulas/check"


def _check(admin, formula: str, *, object_name="lead", expect="any", sample=None) -> str:
    admin.get("/admin/formulas")  # a page first: its CSRF token goes with the post
    data = {
        "formula": formula,
        "formula_object": object_name,
        "formula_expect": expect,
        "formula_source": "formula",
        "formula_sample_field": "sample",
    }
    if sample is not None:
        data["sample"] = str(sample)
    response = admin.post(CHECK, data)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return unescape(response.get_data(as_text=True))


def _plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_good_formula_gives_its_type_and_its_value_for_the_sample_record(admin, crm):
    lead = crm.lead("admin", company_name="华东精密", score=40)
    html = _check(admin, "score * 2 + 1", sample=lead["id"])
    assert 'data-formula-state="ok"' in html
    assert 'data-type="number"' in html
    text = _plain(html)
    assert "结果为数字" in text  # the page speaks the admin's language, zh-CN
    assert f"对 #{lead['id']} 华东精密 的结果： 81" in text

    text = _plain(_check(admin, "CONCAT(company_name, '!')", sample=lead["id"]))
    assert "结果为文本" in text and "'华东精密!'" in text

    # A lookup path reads the related record; a blank one is shown as a blank.
    text = _plain(_check(admin, "campaign.campaign_name", sample=lead["id"]))
    assert "的结果： 空值" in text


def test_a_syntax_error_names_its_line_and_column_and_marks_it(admin):
    html = _check(admin, "(score > 1 and\n  status = 'new')")
    assert 'data-formula-state="error"' in html
    text = _plain(html)
    assert "第 2 行第 10 列：" in text
    assert "invalid syntax" in text
    excerpt = re.search(r'<pre class="formula-excerpt".*?</pre>', html, re.S).group(0)
    assert "<mark>=</mark>" in excerpt  # the character the parser stopped at
    assert "^" in excerpt
    assert 'data-formula-goto="24"' in html  # where the cursor goes: 0-based, in the whole text


def test_text_where_a_condition_is_needed_is_said_in_plain_words(admin):
    text = _plain(_check(admin, "company_name", expect="boolean"))
    assert "The expression gives text, but true/false is needed here" in text
    assert "write a condition" in text
    text = _plain(_check(admin, "score", expect="date"))
    assert "gives a number, but a date or a date-time is needed here" in text


def test_an_unknown_field_is_named_with_a_close_name_suggested(admin):
    text = _plain(_check(admin, "compnay_name == 'x'"))
    assert "Unknown name `compnay_name`" in text
    assert "did you mean `company_name`?" in text
    assert "第 1 行第 1 列：" in text
    text = _plain(_check(admin, "SUMM(score)"))
    assert "Unknown function `SUMM`" in text


def test_injection_attempts_are_refused_as_the_language_refuses_them(admin, crm):
    lead = crm.lead("admin", score=3)
    before = crm.raw("lead", lead["id"])
    for formula, words in (
        ("__import__('os')", "Names starting with _ are not allowed"),
        ("__import__('os').system('echo hi')", "methods and other calls are not allowed"),
        ("().__class__.__bases__", "Attribute access is not allowed"),
        ("company_name.__class__", "Attribute access is not allowed"),
        ("import os", "a formula is one expression, not a statement"),
        ("10 ** 10000", "The exponent 10000 is too large"),
    ):
        html = _check(admin, formula, sample=lead["id"])
        assert 'data-formula-state="error"' in html, formula
        assert words in _plain(html), formula
    # A power the checker cannot see as constant is stopped when computed for the sample.
    text = _plain(_check(admin, "score ** 1000", sample=lead["id"]))
    assert "无法计算" in text and "The exponent 1000 is too large" in text
    assert crm.raw("lead", lead["id"]) == before


def test_the_try_out_page_renders_the_editor_with_pickers_and_a_first_check(admin, crm):
    lead = crm.lead(company_name="示例公司")
    page = admin.get("/admin/formulas?object=lead&formula=score+%3E+10&expect=boolean")
    assert page.status_code == 200
    html = unescape(page.get_data(as_text=True))
    assert 'data-testid="admin-tab-formulas"' in html and 'aria-current="page"' in html
    assert 'value="company_name"' in html  # the field picker
    assert 'value="campaign.campaign_name"' in html  # … with lookup paths
    assert "ROUND(number, digits)" in html  # the function picker
    assert f'value="{lead["id"]}">#{lead["id"]} 示例公司' in html  # a sample record
    assert 'data-type="boolean"' in html  # the first check, drawn with the page
    assert "formula_editor.js" in html and "<script>" not in html


def test_an_unknown_object_or_expectation_is_refused(admin):
    admin.get("/admin/formulas")
    assert admin.get("/admin/formulas?object=nope").status_code == 404
    data = {"formula": "1", "formula_object": "nope", "formula_expect": "any"}
    assert admin.post(CHECK, data).status_code == 404
    data = {"formula": "1", "formula_object": "lead", "formula_expect": "nonsense"}
    assert admin.post(CHECK, data).status_code == 400


def test_people_who_are_not_administrators_find_no_formula_editor(pages):
    pages.sign_in("rep_east")
    assert pages.get("/admin/formulas").status_code == 404
    data = {"formula": "1", "formula_object": "lead", "formula_expect": "any"}
    assert pages.post(CHECK, data).status_code == 404
