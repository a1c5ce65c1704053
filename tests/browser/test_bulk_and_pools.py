"""Bulk actions and pools in a real browser: select all still ticks every row after htmx
replaces the list's table, a change of owner goes through, and the pools pages render and
claim at desktop and phone width without JavaScript errors or CSP violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


def _boxes(page):
    return page.locator('#list-table input[name="ids"][form="bulk-form"]')


def test_select_all_works_after_htmx_replaces_the_table_and_the_owner_changes(desk, ui, site):
    ui.sign_in(desk, "rep_east")
    rt = site.runtime
    ctx = rt.context_for("rep_east")
    for name in ("批量甲公司", "批量乙公司"):
        rt.records.create(ctx, "lead", {"company_name": name, "mobile": "13812345678"})
    desk.goto("/o/lead")
    desk.check("[data-pick-all]")
    assert _boxes(desk).count() > 0
    assert all(box.is_checked() for box in _boxes(desk).all())

    desk.fill(".list-controls input[name=q]", "批量")
    desk.click(".list-controls button[type=submit]")
    expect(desk.locator("#list-table tbody tr")).to_have_count(2)
    assert "q=" in desk.url  # htmx replaced the table and pushed the address
    assert not any(box.is_checked() for box in _boxes(desk).all())  # a fresh table
    desk.check("[data-pick-all]")
    assert _boxes(desk).count() == 2 and all(b.is_checked() for b in _boxes(desk).all())

    desk.select_option("[data-testid=bulk-owner]", label="华北销售代表 (rep_north)")
    desk.click("[data-testid=bulk-transfer]")
    assert desk.locator("[data-testid=bulk-done]").inner_text() == "2 条已完成"
    ui.shoot(desk, "bulk-done")
    desk.click("[data-testid=bulk-back]")
    desk.wait_for_selector("#list-table")
    assert "批量甲公司" not in desk.locator("#list-table").inner_text()  # not theirs anymore


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_the_pools_pages_render_and_a_claim_goes_through(request, ui, site, width):
    page = request.getfixturevalue(width)
    rt = site.runtime
    owner = rt.context_for("rep_north")
    name = f"公海浏览器公司{width}"
    lead = rt.records.create(
        owner, "lead", {"company_name": name, "mobile": "13812345678", "region": "east"}
    ).record
    rt.flows.pools.move(owner, "lead", lead["id"], pool="east_leads")

    ui.sign_in(page, "rep_east")
    page.goto("/o/lead")
    assert ui.fits_width(page), "the list with its bulk bar is wider than the screen"
    ui.shoot(page, "lead-list-bulk")
    page.goto("/pools")
    assert ui.fits_width(page)
    ui.shoot(page, "pools")
    page.click('[data-pool="lead.east_leads"] a')
    page.wait_for_selector("[data-testid=pool-entries]")
    assert ui.fits_width(page)
    ui.shoot(page, "pool")
    page.click(f'tr[data-record="{lead["id"]}"] [data-testid=claim]')
    page.wait_for_selector(".flash")
    assert name in page.locator(".flash").inner_text()
    assert page.locator(f'tr[data-record="{lead["id"]}"]').count() == 0
