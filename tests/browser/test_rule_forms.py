"""The pool, assignment rule, duplicate rule, report and dashboard forms in a real browser.

Each form fits a desktop and a phone screen (screenshots of each); an admin adds an entry to
an assignment rule and moves it up, previews a report, and drags a dashboard tile to the front
with the mouse, then finds the new order on the live dashboard page.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

FORMS = [
    ("/admin/pools/lead.east_leads", "pool-form", "admin-pool-form"),
    ("/admin/assignment-rules/lead.by_region", "assignment-form", "admin-assignment-form"),
    ("/admin/duplicate-rules/lead.same_company_contact", "duplicate-form", "admin-duplicate-form"),
    ("/admin/reports/lead.sales_funnel", "report-form", "admin-report-form"),
    ("/admin/dashboards/sales", "dashboard-form", "admin-dashboard-form"),
    ("/admin/pools", "pool-list", "admin-pools"),
]


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_each_form_fits_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    for url, testid, shot in FORMS:
        page.goto(url)
        page.wait_for_selector(f"[data-testid={testid}]")
        assert ui.fits_width(page), f"{url} is wider than the {width} screen"
        ui.shoot(page, shot)


def test_an_assignment_entry_is_added_and_moved_up(desk, ui):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/assignment-rules/lead.by_region")
    entries = desk.locator("#entries > li")
    assert entries.count() == 3
    desk.click("[data-testid=add-entry]")
    assert entries.count() == 4
    new = entries.nth(3)
    assert new.locator("textarea").first.get_attribute("name") == "entries-3-when"
    # A round-robin entry hides the load filter; choosing "least loaded" shows it.
    assert not new.locator("[data-shown-for=load]").is_visible()
    new.locator("select[name$=-method]").select_option("load")
    assert new.locator("[data-shown-for=load]").is_visible()
    new.locator("textarea[name=entries-3-when]").fill("priority == 'high'")
    new.locator("[data-move=up]").click()
    moved = entries.nth(2)
    assert moved.locator("textarea").first.get_attribute("name") == "entries-2-when"
    assert moved.locator("textarea").first.input_value() == "priority == 'high'"
    ui.shoot(desk, "admin-assignment-entry-added")


def test_a_report_preview_shows_the_result_table(desk, ui):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/reports/lead.funnel_by_channel")
    desk.click("[data-testid=run-preview]")
    desk.wait_for_selector("[data-testid=preview] [data-testid=report-table]")
    assert desk.locator("[data-testid=preview] [data-testid=report-totals]").inner_text().strip()
    ui.shoot(desk, "admin-report-preview")


def test_a_dashboard_tile_dragged_to_the_front_leads_the_live_dashboard(new_page, ui, site):
    site.runtime.metadata.define(
        "admin",
        "dashboard",
        {
            "api_name": "drag_board",
            "label": {"zh-CN": "拖动看板", "en": "Drag board"},
            "columns": 12,
            "widgets": [
                {
                    "api_name": "funnel",
                    "report": "lead.sales_funnel",
                    "chart": "funnel",
                    "position": {"x": 0, "y": 0, "w": 6, "h": 4},
                },
                {
                    "api_name": "pipeline",
                    "report": "opportunity.pipeline_by_stage",
                    "chart": "bar",
                    "position": {"x": 6, "y": 0, "w": 6, "h": 4},
                },
                {
                    "api_name": "win_rate",
                    "report": "lead.sales_funnel",
                    "chart": "kpi",
                    "measures": ["win_rate"],
                    "position": {"x": 0, "y": 4, "w": 3, "h": 2},
                },
            ],
        },
    )
    # A tall window, so that the tile dragged and the place it goes are both on screen.
    desk = new_page({"width": 1280, "height": 2400})
    ui.sign_in(desk, "admin")
    desk.goto("/admin/dashboards/drag_board")
    tiles = desk.locator("#tiles > li")
    names = (
        "Array.from(document.querySelectorAll('#tiles input[name$=-api_name]')).map(i => i.value)"
    )
    assert desk.evaluate(names) == ["funnel", "pipeline", "win_rate"]
    ui.drag_above(desk, tiles.nth(2).locator(".drag-handle"), tiles.nth(0))
    expect(tiles.nth(0).locator("input[name$=-api_name]")).to_have_value("win_rate")
    assert desk.evaluate(names) == ["win_rate", "funnel", "pipeline"]
    first = desk.locator("#tiles > li").nth(0)
    assert first.locator("input[name$=-api_name]").get_attribute("name") == "tiles-0-api_name"
    ui.shoot(desk, "admin-dashboard-dragged")
    desk.click("[data-testid=save]")
    desk.wait_for_url("**/admin/dashboards/drag_board")
    desk.click("[data-testid=live-dashboard]")
    desk.wait_for_url("**/dashboards/drag_board")
    order = desk.evaluate(
        "Array.from(document.querySelectorAll('[data-testid^=widget-]')).map(e => e.dataset.testid)"
    )
    assert order[:3] == ["widget-win_rate", "widget-funnel", "widget-pipeline"]
    ui.shoot(desk, "admin-dashboard-live")
