"""The main pages in a real browser, at desktop and phone width, with screenshots."""

from __future__ import annotations

import pytest

PAGES = [
    ("home", "/"),
    ("lead-list", "/o/lead"),
    ("lead-form", "/o/lead/new"),
    ("account-list", "/o/account"),
    ("opportunity-list", "/o/opportunity"),
    ("search", "/search?q=公司"),
]


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_main_pages_render_without_errors_and_fit_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "rep_east")
    account = page.evaluate("1")  # the browser is alive
    assert account == 1
    for name, url in PAGES:
        page.goto(url)
        assert page.locator("main h1").first.is_visible(), name
        assert ui.fits_width(page), f"{name} is wider than the {width} screen"
        ui.shoot(page, name)
    page.goto("/o/account")
    page.locator("table.records tbody a").first.click()
    page.wait_for_selector("[data-testid=record-title]")
    assert ui.fits_width(page)
    ui.shoot(page, "account-record")


def test_the_sign_in_page_switches_language(desk, ui):
    desk.goto("/sign-in")
    assert desk.locator("h1").inner_text() == "登录"
    desk.click("button[name=locale][value=en]")
    assert desk.locator("h1").inner_text() == "Sign in"
    ui.shoot(desk, "sign-in-en")


def test_a_rep_creates_a_lead_in_chinese_and_sees_the_duplicate_warning(desk, ui):
    ui.sign_in(desk, "rep_east")
    for attempt in range(2):
        desk.goto("/o/lead/new")
        desk.fill("#f-company_name", "杭州精工机械有限公司")
        desk.fill("#f-contact_name", "张伟")
        desk.fill("#f-mobile", "13912345678")
        desk.click("button.primary")
        if attempt == 0:
            desk.wait_for_selector("[data-testid=record-title]")
            assert desk.locator("[data-testid=record-title]").inner_text() == "杭州精工机械有限公司"
    warning = desk.locator("[data-testid=duplicate-warning]")
    warning.wait_for()
    assert "可能已存在重复记录" in warning.inner_text()
    assert warning.locator("a").first.inner_text() == "杭州精工机械有限公司"
    ui.shoot(desk, "lead-duplicate-warning")
