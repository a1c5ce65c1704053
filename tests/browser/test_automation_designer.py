"""The formula editor and the automation designer in a real browser (issue 6, section 1).

The formula editor checks as the admin types: a misspelt field is named with a close name
and marked at its line and column, a field chosen from the picker lands at the cursor and the
value for the sample record shows. The automation designer: an admin builds an automation with
two actions, drags the second above the first, test-runs it against a lead (nothing changes)
and saves it in the dragged order. Screenshots at desktop and phone width.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect


def card_types(page: Page) -> list[str]:
    return page.locator("#automation-actions > li[data-slot]").evaluate_all(
        "cards => cards.map(c => c.dataset.type)"
    )


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


def test_an_automation_is_built_reordered_by_drag_test_run_and_saved(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/automations?object=lead")
    desk.click("[data-testid=new-automation] button[type=submit]")
    desk.wait_for_url("**/admin/automations/new?object=lead")
    desk.fill("[data-testid=label-zh]", "高分线索提醒")
    desk.fill("[data-testid=label-en]", "High score alert")
    desk.select_option("[data-testid=trigger-type]", "updated")
    expect(desk.locator("[data-for='time']")).to_be_hidden()
    condition = desk.locator("[data-testid=condition] [data-testid=formula-text]")
    condition.fill("BLANKVALUE(score, 0) >= 0")

    first = desk.locator("li[data-slot='0']")
    first.locator("select[name='a0-v0-field']").select_option("title")
    first.locator("textarea[name='a0-v0-formula']").fill("'VIP'")
    desk.select_option("[data-testid=new-action-type]", "notify")
    desk.click("[data-testid=add-action]")
    second = desk.locator("li[data-slot='1']")
    second.wait_for()
    second.locator("textarea[name='a1-message_zh']").fill("{company_name} 分数很高")
    second.locator("textarea[name='a1-message_en']").fill("{company_name} scores high")
    assert card_types(desk) == ["update_fields", "notify"]

    ui.drag_above(desk, second.locator(".drag-handle"), first)
    expect(desk.locator("#automation-actions > li[data-slot]").first).to_have_attribute(
        "data-type", "notify"
    )
    ui.shoot(desk, "admin-automation-designer")

    lead_id = int(desk.locator("[data-testid=test-record]").input_value())
    before = site.runtime.records.get(site.runtime.context_for("admin"), "lead", lead_id)
    desk.click("[data-testid=test-run-button]")
    run = desk.locator("[data-testid=test-run]")
    run.wait_for()
    assert run.locator("[data-testid=test-run-verdict]").get_attribute("data-runs") == "true"
    assert "分数很高" in run.inner_text() and "VIP" in run.inner_text()
    actions = run.locator("[data-testid=explain-action]")
    assert [actions.nth(i).get_attribute("data-type") for i in range(2)] == [
        "notify",
        "update_fields",
    ]
    after = site.runtime.records.get(site.runtime.context_for("admin"), "lead", lead_id)
    assert after["version"] == before["version"] and after.get("title") == before.get("title")
    assert card_types(desk) == ["notify", "update_fields"]  # the form comes back as it was
    ui.shoot(desk, "admin-automation-test-run")

    desk.click("[data-testid=save-automation]")
    desk.wait_for_url("**/admin/automations/lead.*")
    key = desk.url.rsplit("/", 1)[1]
    saved = site.runtime.metadata.definition("automation", key)
    assert [a["type"] for a in saved["actions"]] == ["notify", "update_fields"]
    assert saved["trigger"]["type"] == "updated"


def test_the_designer_fits_a_phone(phone, ui):
    ui.sign_in(phone, "admin")
    phone.goto("/admin/automations/account.dormant")
    phone.locator("[data-testid=action-card]").first.wait_for()
    assert ui.fits_width(phone), "the automation designer is wider than the phone screen"
    ui.shoot(phone, "admin-automation-designer")
    phone.goto("/admin/automations")
    assert ui.fits_width(phone), "the automation list is wider than the phone screen"
    ui.shoot(phone, "admin-automations")
