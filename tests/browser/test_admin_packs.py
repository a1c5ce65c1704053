"""The pack manager in a real browser: an administrator's label change survives an upgrade
of crm_standard, the conflict is settled on the conflicts page, the customizations download
as a pack. Screenshots of each step at desktop width, the list also at phone width."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from trellis.metadata.packs import locate

COMPANY = "field:lead.company_name"


def _crm_archive(tmp_path, version: str, company_zh: str):
    folder = tmp_path / "crm_standard"
    shutil.copytree(locate("crm_standard"), folder)
    manifest = json.loads((folder / "pack.json").read_text("utf-8"))
    (folder / "pack.json").write_text(json.dumps({**manifest, "version": version}), "utf-8")
    lead = json.loads((folder / "objects" / "lead.json").read_text("utf-8"))
    next(f for f in lead["fields"] if f["api_name"] == "company_name")["label"]["zh-CN"] = (
        company_zh
    )
    (folder / "objects" / "lead.json").write_text(json.dumps(lead, ensure_ascii=False), "utf-8")
    target = tmp_path / f"crm_standard-{version}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"crm_standard/{path.relative_to(folder)}")
    return target


@pytest.mark.parametrize("width", ["desk", "phone"])
def test_the_pack_list_fits_the_screen(request, ui, width):
    page = request.getfixturevalue(width)
    ui.sign_in(page, "admin")
    page.goto("/")
    page.click("[data-testid=admin-link]")
    page.wait_for_url("**/admin/packs")
    assert page.locator("[data-pack=crm_standard] [data-testid=pack-version]").inner_text()
    assert ui.fits_width(page), f"the pack list is wider than the {width} screen"
    ui.shoot(page, "admin-packs")


def _edit_company_label(page, zh: str) -> None:
    """Change lead.company_name's Chinese label in the objects designer, as an admin does."""
    page.goto("/admin/objects/lead/fields/company_name")
    form = page.locator("[data-testid=field-form]")
    form.locator("input[name=label_zh]").fill(zh)
    form.locator("[data-testid=save-field]").click()
    page.wait_for_load_state()


def test_upgrade_with_a_conflict_settled_in_the_pack_manager(desk, ui, site, tmp_path):
    archive = _crm_archive(tmp_path, "1.0.1", "公司全称")
    ui.sign_in(desk, "admin")
    _edit_company_label(desk, "客户公司")
    assert site.runtime.metadata.definition("field", "lead.company_name")["label"]["zh-CN"] == (
        "客户公司"
    )
    desk.goto("/admin/packs")
    row = desk.locator("[data-pack=crm_standard]")
    row.locator("input[type=file]").set_input_files(str(archive))
    row.locator("button[type=submit]").click()
    desk.wait_for_selector("[data-testid=confirm-upgrade]")
    conflicts = desk.locator("[data-testid=conflicts]")
    assert "公司全称" in conflicts.inner_text() and "客户公司" in conflicts.inner_text()
    ui.shoot(desk, "admin-upgrade-dry-run")

    desk.click("[data-testid=confirm-upgrade] button.primary")
    desk.wait_for_url("**/admin/packs/conflicts")
    ui.shoot(desk, "admin-conflicts")
    desk.click("form.choice button[value=vendor]")
    desk.wait_for_selector("[data-testid=no-conflicts]")
    assert site.runtime.metadata.definition("field", "lead.company_name")["label"]["zh-CN"] == (
        "公司全称"
    )
    assert site.runtime.metadata.installed_packs()["crm_standard"] == "1.0.1"

    # Taking the new version's label left nothing of the admin's own: customize once more.
    site.runtime.metadata.patch("admin", "field:lead.industry", {"required": True})
    desk.goto("/admin/packs")
    form = desk.locator("[data-testid=export-form]")
    form.locator("input[name=name]").fill("acme_crm")
    with desk.expect_download() as download:
        form.locator("button[type=submit]").click()
    saved = tmp_path / "acme_crm.zip"
    download.value.save_as(saved)
    names = zipfile.ZipFile(saved).namelist()
    assert "acme_crm/pack.json" in names and "acme_crm/objects/lead.json" in names


def test_the_history_shows_a_label_change_and_reverts_it(desk, ui, site):
    before = site.runtime.metadata.definition("field", "lead.company_name")["label"]["zh-CN"]
    ui.sign_in(desk, "admin")
    _edit_company_label(desk, "往来单位")
    desk.goto("/admin/history")
    newest = desk.locator("[data-testid=history] li.history-change").first
    assert "field:lead.company_name" in newest.inner_text() and "admin" in newest.inner_text()
    newest.locator("summary").click()
    assert "往来单位" in newest.locator("table").inner_text()
    ui.shoot(desk, "admin-history")
    newest.locator("a[data-testid^=revert-]").click()
    desk.wait_for_selector("[data-testid=confirm-revert]")
    ui.shoot(desk, "admin-history-revert")
    desk.click("[data-testid=confirm-revert]")
    desk.wait_for_url("**/admin/history")
    assert "已撤销版本" in desk.inner_text("main")
    desk.goto("/o/lead/new")
    assert before in desk.inner_text("main") and "往来单位" not in desk.inner_text("main")
