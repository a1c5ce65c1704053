"""The objects and fields designer in a real browser: an administrator creates a custom
object (the API name proposed from the English label as they type), gives it five fields of
different types — text, currency, date, a picklist whose values they drag into order, and a
lookup — then opens the object's business page and creates a record. Screenshots at desktop
and phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page


def drag(page: Page, source, target) -> None:
    """Press on ``source``, move in small steps to just above ``target`` and let go, as a
    hand does (SortableJS starts a drag only after the pointer has really moved)."""
    start, end = source.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 2, y - 6, steps=5)
    page.wait_for_timeout(100)
    # SortableJS ignores the pointer over rows still animating a swap: pause between stages.
    page.mouse.move(end["x"] + 20, end["y"] + end["height"] / 2, steps=20)
    page.wait_for_timeout(300)
    page.mouse.move(end["x"] + 20, end["y"] + 3, steps=10)
    page.wait_for_timeout(300)
    page.mouse.move(end["x"] + 20, end["y"] + 1, steps=5)
    page.wait_for_timeout(200)
    page.mouse.up()


def new_field(page: Page, type_name: str, zh: str, en: str) -> None:
    page.click("[data-testid=new-field]")
    page.click(f"[data-testid=field-types] [data-type={type_name}]")
    page.fill("input[name=label_zh]", zh)
    page.fill("input[name=label_en]", en)


def save_field(page: Page, api_name: str) -> None:
    page.click("[data-testid=save-field]")
    page.wait_for_selector(f"[data-testid=fields] tr[data-field={api_name}]")


def add_picklist(page: Page) -> None:
    new_field(page, "picklist", "优先级", "Priority")
    rows = page.locator("[data-sortable-values] tr.value-row")
    for i, (name, zh, en) in enumerate([("low", "低", "Low"), ("high", "高", "High")]):
        rows.nth(i).locator("input[name=value_api_name]").fill(name)
        rows.nth(i).locator("input[name=value_zh]").fill(zh)
        rows.nth(i).locator("input[name=value_en]").fill(en)
    page.click("[data-testid=add-value]")
    third = rows.nth(2)
    third.locator("input[name=value_api_name]").fill("urgent")
    third.locator("input[name=value_zh]").fill("紧急")
    third.locator("input[name=value_en]").fill("Urgent")
    third.locator("input[name=value_color]").fill("#d32f2f")
    page.wait_for_function("window.Sortable !== undefined")
    drag(page, rows.nth(2).locator(".drag-handle"), rows.nth(0))  # the added row, to the top
    order = [rows.nth(i).locator("input[name=value_api_name]").input_value() for i in range(3)]
    assert order == ["urgent", "low", "high"], order
    save_field(page, "priority")


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_the_designer_pages_fit_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    page.goto("/admin/objects")
    assert page.locator("[data-testid=objects] tr[data-object=lead]").count() == 1
    assert ui.fits_width(page), f"the objects list is wider than the {width} screen"
    ui.shoot(page, "admin-objects")
    page.goto("/admin/objects/opportunity/fields/stage")
    page.wait_for_selector("[data-testid=picklist-values]")
    assert ui.fits_width(page), f"the picklist editor is wider than the {width} screen"
    ui.shoot(page, "admin-field-picklist")
    for url, shot in [
        ("/admin/objects/new", "admin-object-new-form"),
        ("/admin/objects/lead/fields/new/rollup", "admin-field-new-rollup"),
    ]:
        page.goto(url)
        assert ui.fits_width(page), f"{url} is wider than the {width} screen"
        ui.shoot(page, shot)
    page.goto("/admin/objects/opportunity/fields/weighted_amount")  # a formula a pack locked
    page.wait_for_selector("[data-testid=field-lock]")
    assert page.locator("[data-testid=formula-editor]").count() == 1
    assert ui.fits_width(page), f"the formula field page is wider than the {width} screen"
    ui.shoot(page, "admin-field-locked-formula")


def test_an_admin_builds_an_object_with_five_fields_and_uses_it(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/objects")
    desk.click("[data-testid=new-object]")
    desk.fill("input[name=label_zh]", "展会")
    desk.fill("input[name=label_en]", "Trade fair")
    desk.wait_for_selector("[data-testid=api-name-ok]")
    assert desk.input_value("[data-testid=api-name]") == "trade_fair"
    desk.fill("[data-testid=api-name]", "select")
    desk.wait_for_selector("[data-testid=api-name-problem]")
    assert "reserved word" in desk.inner_text("#api-name-problem")
    desk.fill("[data-testid=api-name]", "trade_fair")
    desk.wait_for_selector("[data-testid=api-name-ok]")
    desk.fill("input[name=plural_en]", "Trade fairs")
    ui.shoot(desk, "admin-object-new")
    desk.click("[data-testid=create-object]")
    desk.wait_for_url("**/admin/objects/trade_fair")

    new_field(desk, "text", "城市", "City")
    assert desk.input_value("[data-testid=field-api-name]") == "city"
    desk.wait_for_selector("[data-testid=field-api-name-ok]")  # the proposed name is free
    desk.fill("input[name=length]", "60")
    save_field(desk, "city")
    new_field(desk, "currency", "展位费", "Booth fee")
    desk.fill("input[name=scale]", "2")
    desk.fill("input[name=currency]", "CNY")
    save_field(desk, "booth_fee")
    new_field(desk, "date", "开幕日", "Opening day")
    save_field(desk, "opening_day")
    add_picklist(desk)
    new_field(desk, "lookup", "主办客户", "Organiser")
    desk.select_option("select[name=target]", "account")
    desk.select_option("select[name=on_delete]", "set_null")
    ui.shoot(desk, "admin-field-lookup")
    save_field(desk, "organiser")
    ui.shoot(desk, "admin-object-fields")

    values = site.runtime.metadata.definition("field", "trade_fair.priority")["values"]
    assert [v["api_name"] for v in values] == ["urgent", "low", "high"]
    assert values[0]["color"] == "#d32f2f"

    desk.click("text=打开业务页面")
    desk.wait_for_url("**/o/trade_fair")
    desk.goto("/o/trade_fair/new")
    desk.fill("input[name=name]", "广交会")
    desk.fill("input[name=city]", "广州")
    desk.fill("input[name=booth_fee]", "12000")
    desk.fill("input[name=opening_day]", "2026-10-15")
    desk.select_option("select[name=priority]", "urgent")
    ui.shoot(desk, "object-designer-new-record")
    desk.click("form.record-form button.primary")
    desk.wait_for_url("**/o/trade_fair/*")
    assert "广交会" in desk.inner_text("main") and "广州" in desk.inner_text("main")


def test_a_label_typed_before_the_scripts_load_is_still_checked(desk, ui):
    """On a slow connection an admin types the labels while the page's scripts are still on
    their way. The API name must still be proposed and checked once they arrive."""
    ui.sign_in(desk, "admin")
    held = []
    desk.route("**/admin/static/objects.js", lambda route: held.append(route))  # hold it back
    desk.goto("/admin/objects/new", wait_until="commit")
    # Not "Trade fair": the five-field test may have made that object in this browser site.
    desk.fill("input[name=label_zh]", "书展")
    desk.fill("input[name=label_en]", "Book fair")
    desk.wait_for_timeout(400)  # longer than the 300 ms the check waits for typing to stop
    assert desk.locator("[data-testid=api-name-ok]").count() == 0
    assert held, "the page did not ask for objects.js"
    held[0].continue_()
    desk.wait_for_selector("[data-testid=api-name-ok]")
    assert desk.input_value("[data-testid=api-name]") == "book_fair"

    held.clear()
    desk.goto("/admin/objects/account/fields/new/text", wait_until="commit")
    desk.fill("input[name=label_zh]", "展会区域")
    desk.fill("input[name=label_en]", "Fair region")
    held[0].continue_()
    desk.wait_for_selector("[data-testid=field-api-name-ok]")
    assert desk.input_value("[data-testid=field-api-name]") == "fair_region"
