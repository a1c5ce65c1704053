"""The layout and list view designers in a real browser.

The administrator empties the lead layout, adds a section and drags four fields into it
with the mouse (SortableJS), saves, and a sales rep's record page shows those fields in
the two columns they were dropped into. The preview shows the unsaved layout at 1024 and
375 pixels (on the phone the two columns fold into one, as on a real phone). Screenshots of
both designers at desktop and phone width.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

PLACED = ["company_name", "contact_name", "mobile", "title"]


def drag(page, source, target) -> None:
    """Press on ``source``, move in small steps to the bottom of the list ``target`` (its
    drop area after the last field) and let go, as a hand does: SortableJS starts a drag
    only after the pointer has really moved."""
    target.scroll_into_view_if_needed()
    # The palette scrolls on its own beside the sections: bring the field into its view
    # without moving the page (the sections must stay on screen to drop on).
    source.evaluate(
        "e => { const p = e.closest('.ld-palette'); if (p) p.scrollTop = e.offsetTop - 60; }"
    )
    start, end = source.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 10, y, steps=5)
    to_x, to_y = end["x"] + end["width"] / 2, end["y"] + end["height"] - 8
    page.mouse.move(to_x, to_y - 10, steps=20)
    page.mouse.move(to_x, to_y, steps=5)
    page.mouse.up()


def _a_lead(site) -> int:
    rt = site.runtime
    ctx = rt.context_for("rep_east")
    made = rt.records.create(
        ctx,
        "lead",
        {
            "company_name": "拖拽布局公司",
            "contact_name": "赵六",
            "mobile": "13700137000",
            "title": "采购总监",
        },
    )
    return made.record["id"]


def _fresh_section(desk):
    """Delete every section (their fields go back to the palette) and add an empty one."""
    sections = desk.locator("[data-sections] > [data-section]")
    while sections.count():
        sections.first.locator("[data-remove-section]").click()
    desk.click("[data-testid=add-section]")
    section = sections.first
    section.locator('[data-prop="label_zh"]').fill("拖入的字段")
    section.locator('[data-prop="label_en"]').fill("Dragged fields")
    return section.locator("[data-fields]")


def test_fields_dragged_into_two_columns_show_on_the_record_page(desk, new_page, ui, site):
    lead = _a_lead(site)
    ui.sign_in(desk, "admin")
    desk.goto("/admin/layouts")
    desk.click("[data-layout='lead.standard'] a")
    expect(desk.locator("form.layout-designer.draggable")).to_be_visible()  # SortableJS is on
    drop = _fresh_section(desk)
    for name in PLACED:
        drag(desk, desk.locator(f"[data-palette] [data-field={name}] .ld-name"), drop)
        expect(drop.locator(f"[data-field={name}]")).to_be_visible()
    placed = drop.locator("[data-field]").evaluate_all("items => items.map(i => i.dataset.field)")
    assert placed == PLACED
    drop.locator("[data-field=title] [data-prop=required]").check()

    frame = desk.frame_locator("iframe[name=layout-preview]")
    expect(frame.locator("h2", has_text="拖入的字段")).to_be_visible(timeout=15_000)
    fields = frame.locator("dl.fields [data-field]")
    expect(fields).to_have_count(4, timeout=15_000)
    ui.shoot(desk, "admin-layout-designer")

    desk.click("[data-testid=preview-phone]")
    expect(desk.locator("iframe[name=layout-preview]")).to_have_js_property("offsetWidth", 375)
    boxes = [frame.locator(f"[data-field={n}]").bounding_box() for n in PLACED[:2]]
    assert abs(boxes[0]["x"] - boxes[1]["x"]) < 2, "on a phone the columns fold into one"
    ui.shoot(desk, "admin-layout-preview-phone")
    desk.click("[data-testid=preview-desk]")
    expect(desk.locator("iframe[name=layout-preview]")).to_have_js_property("offsetWidth", 1024)
    boxes = [frame.locator(f"[data-field={n}]").bounding_box() for n in PLACED[:2]]
    assert boxes[1]["x"] > boxes[0]["x"] + 100 and abs(boxes[0]["y"] - boxes[1]["y"]) < 2

    desk.click("[data-testid=save-layout]")
    expect(desk.locator(".flash, [role=status]").first).to_be_visible()
    layout = site.runtime.metadata.definition("layout", "lead.standard")
    assert [len(layout["sections"]), layout["sections"][0]["columns"]] == [1, 2]

    rep = new_page()
    ui.sign_in(rep, "rep_east")
    rep.goto(f"/o/lead/{lead}")
    shown = rep.locator("dl.fields.cols-2 [data-field]")
    expect(shown).to_have_count(4)
    assert shown.evaluate_all("items => items.map(i => i.dataset.field)") == PLACED
    where = {n: rep.locator(f"dl.fields [data-field={n}]").bounding_box() for n in PLACED}
    left, right = where["company_name"], where["contact_name"]
    assert right["x"] > left["x"] + 100 and abs(left["y"] - right["y"]) < 2  # side by side
    assert abs(where["mobile"]["x"] - left["x"]) < 2 and where["mobile"]["y"] > left["y"]
    assert abs(where["title"]["x"] - right["x"]) < 2
    ui.shoot(rep, "admin-layout-record-page")


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_both_designers_fit_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    page.goto("/admin/layouts/lead.standard")
    expect(page.locator("form.layout-designer.draggable")).to_be_visible()
    expect(
        page.frame_locator("iframe[name=layout-preview]").locator("dl.fields").first
    ).to_be_visible()
    assert ui.fits_width(page), f"the layout designer is wider than the {width} screen"
    ui.shoot(page, "admin-layout-designer-page")
    page.goto("/admin/layouts")
    assert ui.fits_width(page)
    ui.shoot(page, "admin-layouts")
    page.goto("/admin/list-views/lead.new_leads")
    expect(page.locator("form.list-view-designer.draggable")).to_be_visible()
    assert ui.fits_width(page), f"the list view designer is wider than the {width} screen"
    ui.shoot(page, "admin-list-view-designer")


def test_list_view_columns_dragged_into_order_show_on_the_list(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/list-views/lead.all_leads")
    expect(desk.locator("form.list-view-designer.draggable")).to_be_visible()
    chosen = desk.locator("[data-columns]")
    drag(desk, desk.locator("[data-available] [data-column=title] .lv-name"), chosen)
    expect(chosen.locator("[data-column=title]")).to_be_visible()
    columns = chosen.locator("[data-column]").evaluate_all(
        "rows => rows.map(r => r.dataset.column)"
    )
    assert columns[-1] == "title"
    desk.click("[data-testid=save-view]")
    expect(desk.locator("[data-testid=open-list]")).to_be_visible()
    assert site.runtime.metadata.definition("list_view", "lead.all_leads")["columns"] == columns
    desk.click("[data-testid=open-list]")
    expect(desk.locator("thead th").last).to_contain_text("职务")
    ui.shoot(desk, "admin-list-view-result")


def test_a_section_dragged_by_its_handle_moves_up_in_the_preview(desk, ui):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/layouts/opportunity.standard")  # lead.standard: changed above
    expect(desk.locator("form.layout-designer.draggable")).to_be_visible()
    sections = desk.locator("[data-sections] > [data-section]")
    names = sections.locator('[data-prop="label_zh"]')
    first, second = names.nth(0).input_value(), names.nth(1).input_value()
    handle = sections.nth(1).locator(".ld-section-handle")
    target = sections.nth(0).locator(".ld-section-head")
    handle.scroll_into_view_if_needed()
    start, end = handle.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    desk.mouse.move(x, y)
    desk.mouse.down()
    desk.mouse.move(x, y - 10, steps=5)
    desk.mouse.move(x, end["y"] + 4, steps=20)
    desk.mouse.move(x, end["y"] + 2, steps=5)
    desk.mouse.up()
    expect(names.nth(0)).to_have_value(second)
    expect(names.nth(1)).to_have_value(first)
    headings = desk.frame_locator("iframe[name=layout-preview]").locator("section.card h2")
    expect(headings.first).to_have_text(second, timeout=15_000)
