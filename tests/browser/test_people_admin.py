"""Users, departments, roles and API tokens in a real browser: an administrator drags a
department into another one (a move under its own sub-department is refused with the
reason), ticks cells of a role's permission grid and hides a field in its sub-grid, and each
page fits the screen. Screenshots of every page at desktop and phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from trellis.runtime import people_admin
from trellis.runtime.database import begin_write

PAGES = {
    "admin-users": "/admin/users",
    "admin-user-form": "/admin/users/rep_east",
    "admin-user-new": "/admin/users/new",
    "admin-departments": "/admin/departments",
    "admin-roles": "/admin/roles",
    "admin-role-grid": "/admin/roles/sales_rep",
    "admin-tokens": "/admin/tokens",
}


def drag(page: Page, source, target) -> None:
    """Drag ``source`` onto ``target`` with the mouse in small steps, as a hand does
    (SortableJS starts a drag only after the pointer has really moved)."""
    start, end = source.bounding_box(), target.bounding_box()
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 5, y + 10, steps=5)
    page.mouse.move(end["x"] + 30, end["y"] + end["height"] / 2, steps=25)
    page.mouse.move(end["x"] + 32, end["y"] + end["height"] / 2, steps=5)
    page.mouse.up()


def _parents(site) -> dict[str, str | None]:
    with site.runtime.engine.connect() as conn:
        return {d["api_name"]: d["parent"] for d in people_admin.departments(conn)}


def _children(page: Page, department: str):
    return page.locator(f"li[data-department={department}] > ul.dept-list")


def _handle(page: Page, department: str):
    return page.locator(f"li[data-department={department}] > .dept-row .dept-handle")


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_every_people_page_fits_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    for name, url in PAGES.items():
        page.goto(url)
        assert page.locator("[data-testid=admin-tab-users]").count() == 1
        assert ui.fits_width(page), f"{url} is wider than the {width} screen"
        ui.shoot(page, name)


def test_dragging_a_department_moves_it_and_a_loop_is_put_back(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/departments")
    drag(desk, _handle(desk, "sales_north"), _children(desk, "tech"))
    moved = _children(desk, "tech").locator("li[data-department=sales_north]")
    moved.wait_for()
    desk.locator("li.dept.moving").wait_for(state="detached")
    assert _parents(site)["sales_north"] == "tech"
    ui.shoot(desk, "admin-departments-moved")

    desk.reload()
    assert _children(desk, "tech").locator("li[data-department=sales_north]").count() == 1

    # A department cannot even be dropped inside itself: the drag leaves the tree as it was…
    drag(desk, _handle(desk, "sales"), _children(desk, "sales_east"))
    assert _children(desk, "hq").locator(":scope > li[data-department=sales]").count() == 1
    assert _parents(site)["sales"] == "hq"
    # … and the move form (the way without dragging) is refused with the reason.
    sales = desk.locator("li[data-department=sales] > .dept-row")
    sales.locator("summary").click()
    sales.locator("form.dept-move select[name=parent]").select_option("sales_east")
    sales.locator("form.dept-move button[type=submit]").click()
    desk.wait_for_load_state()
    problem = desk.locator("li[data-department=sales] > .dept-row .field-error")
    assert "下级部门" in problem.inner_text()
    assert _parents(site)["sales"] == "hq"
    ui.shoot(desk, "admin-departments-refused")

    # Put the demo organisation back for the other tests of this module.
    with begin_write(site.runtime.engine) as conn:
        people_admin.move_department(conn, "sales_north", "sales")


def _order(site, parent: str) -> list[str]:
    with site.runtime.engine.connect() as conn:
        return [d["api_name"] for d in people_admin.indented(conn) if d["parent"] == parent]


def test_dragging_a_department_above_its_sibling_keeps_that_order(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/departments")
    shown = _children(desk, "sales").locator(":scope > li.dept")
    assert shown.evaluate_all("items => items.map(i => i.dataset.department)") == [
        "sales_east",
        "sales_north",
    ]
    # The tree drags with SortableJS's fallback: a copy follows the pointer on <body>.
    north = desk.locator("li[data-department=sales_north]:not(.sortable-fallback)")
    east = desk.locator("li[data-department=sales_east]:not(.sortable-fallback)")
    ui.drag_above(desk, north, east, grip=_handle(desk, "sales_north"))
    for _ in range(50):  # the move is posted when the drag ends
        if _order(site, "sales") == ["sales_north", "sales_east"]:
            break
        desk.wait_for_timeout(200)
    assert _order(site, "sales") == ["sales_north", "sales_east"]
    desk.reload()
    assert shown.evaluate_all("items => items.map(i => i.dataset.department)") == [
        "sales_north",
        "sales_east",
    ]
    ui.shoot(desk, "admin-departments-reordered")
    with begin_write(site.runtime.engine) as conn:  # the demo order back for the other tests
        people_admin.move_department(conn, "sales_east", "sales", 0)


def test_ticking_cells_of_the_permission_grid_saves_the_role(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/roles/marketing")
    lead = desk.locator("tbody[data-object=lead]")
    delete = lead.locator("input[name='right.lead.delete']")
    was = delete.is_checked()
    delete.click()
    lead.locator("select[name='scope.lead.read_scope']").select_option("department_tree")
    lead.locator("[data-testid=fields-lead] summary").click()
    hidden = lead.locator("input[name='field.lead.mobile'][value=hidden]")
    hidden.wait_for()
    hidden.check()
    desk.locator("#unsaved").wait_for()
    ui.shoot(desk, "admin-role-grid-edited")
    desk.locator("[data-testid=save-role]").click()
    desk.wait_for_load_state()
    assert "权限已保存" in desk.locator("p.flash").inner_text()
    role = site.runtime.metadata.definition("role", "marketing")["objects"]["lead"]
    assert role["delete"] is (not was)
    assert role["read_scope"] == "department_tree"
    assert role["fields"]["mobile"] == "hidden"
    assert desk.locator("input[name='right.lead.delete']").is_checked() is (not was)


def test_a_column_header_ticks_the_whole_column(desk, ui, site):
    ui.sign_in(desk, "admin")
    desk.goto("/admin/roles/service")
    desk.locator("button.column-toggle[data-column=read]").click()
    boxes = desk.locator("input[type=checkbox][data-right=read]")
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    desk.locator("[data-testid=grid-message]").wait_for(state="hidden")
    desk.locator("[data-testid=save-role]").click()
    desk.wait_for_load_state()
    objects = site.runtime.metadata.definition("role", "service")["objects"]
    assert objects["lead"]["read"] is True and objects["quote"]["read"] is True
