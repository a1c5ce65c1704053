"""The formula editor and the automation designer in a real browser (issue 6, section 1).

The formula editor checks as the admin types: a misspelt field is named with a close name
and marked at its line and column, a field chosen from the picker lands at the cursor and the
value for the sample record shows. Screenshots at desktop and phone width.
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_the_formula_editor_checks_as_you_type(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    page.goto("/admin/formulas?object=lead")
    area = page.locator("[data-testid=formula-text]")
    area.fill("")
    area.type("compnay_name == 'x'", delay=10)
    error = page.locator("[data-testid=formula-error]")
    error.wait_for()
    assert "compnay_name" in error.inner_text() and "company_name" in error.inner_text()
    assert area.get_attribute("aria-invalid") == "true"
    assert page.locator(".formula-excerpt mark").inner_text() == "compnay_name"
    assert ui.fits_width(page), f"the formula editor is wider than the {width} screen"
    ui.shoot(page, "admin-formula-error")

    area.fill("")
    area.type("LEN(", delay=10)
    page.select_option("[data-testid=formula-field-picker]", "company_name")
    area.type(") > 2", delay=10)
    page.locator("[data-testid=formula-type][data-type=boolean]").wait_for()
    assert area.input_value() == "LEN(company_name) > 2"
    assert area.get_attribute("aria-invalid") is None
    assert page.locator("[data-testid=formula-preview]").inner_text()
    ui.shoot(page, "admin-formula-ok")
