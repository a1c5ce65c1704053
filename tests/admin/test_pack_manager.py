"""The pack manager at /admin/packs (issue 6, section 1), on SQLite and PostgreSQL.

An administrator sees the installed packs, installs one from an uploaded archive, upgrades
crm_standard with a dry run first and settles the conflict with their own change, uninstalls,
and downloads their customizations as a pack. Everyone else finds no admin area at all.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from html import unescape

COMPANY = "field:lead.company_name"


def _text(response) -> str:
    return unescape(response.get_data(as_text=True))


def _upload(path) -> dict:
    return {"archive": (io.BytesIO(path.read_bytes()), path.name)}


def _confirm_fields(dry_run) -> dict:
    """The confirm form's hidden fields: the held archive's token, the version seen."""
    html = dry_run.get_data(as_text=True)
    return {
        name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
        for name in ("token", "seen_version")
    }


def _crm_upgrade_archive(crm_copy, zip_folder, tmp_path, company_zh: str):
    """crm_standard 1.0.1 whose lead.company_name has the Chinese label ``company_zh``."""
    new = crm_copy("1.0.1")
    lead = json.loads((new / "objects" / "lead.json").read_text("utf-8"))
    field = next(f for f in lead["fields"] if f["api_name"] == "company_name")
    field["label"]["zh-CN"] = company_zh
    (new / "objects" / "lead.json").write_text(json.dumps(lead, ensure_ascii=False), "utf-8")
    return zip_folder(new, tmp_path / "crm_standard-1.0.1.zip")


def _pack_names(pages) -> list[str]:
    return [p["name"] for p in pages.runtime.metadata.packs()]


def test_only_administrators_find_the_admin_area(pages):
    assert pages.get("/admin/packs").status_code == 404  # not signed in
    pages.sign_in("rep_east")
    assert pages.get("/admin/packs").status_code == 404
    assert pages.get("/admin/").status_code == 404
    assert 'data-testid="admin-link"' not in pages.get("/").get_data(as_text=True)


def test_the_admin_sees_crm_standard_with_its_version_and_the_header_link(admin):
    home = admin.get("/").get_data(as_text=True)
    assert 'data-testid="admin-link"' in home and 'href="/admin/packs"' in home
    page = admin.get("/admin/packs")
    assert page.status_code == 200
    html = _text(page)
    assert "crm_standard" in html and "1.0.0" in html
    assert "标准CRM" in html and "Standard CRM" in html and "Trellis" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_installing_an_uploaded_pack_creates_its_object(admin, small_pack):
    admin.get("/admin/packs")
    response = admin.post(
        "/admin/packs/install", _upload(small_pack()), content_type="multipart/form-data"
    )
    assert response.status_code == 302
    listing = _text(admin.get("/admin/packs"))
    assert "site_visits" in listing and "Acme" in listing
    assert admin.get("/o/site_visit").status_code == 200
    assert admin.runtime.metadata.definition("object", "site_visit")["label"]["en"] == "Site visit"


def test_an_archive_reaching_outside_the_pack_is_refused_and_nothing_is_installed(
    admin, small_pack, zip_folder, tmp_path
):
    small_pack()
    evil = zip_folder(
        tmp_path / "src" / "site_visits", tmp_path / "evil.zip", extra={"../evil.json": "{}"}
    )
    admin.get("/admin/packs")
    response = admin.post("/admin/packs/install", _upload(evil), content_type="multipart/form-data")
    assert response.status_code == 422
    html = _text(response)
    assert "../evil.json points outside the pack folder" in html
    assert _pack_names(admin) == ["crm_standard"]


def test_a_pack_that_fails_validation_lists_each_problem_with_its_place(
    admin, small_pack, zip_folder, tmp_path
):
    small_pack()
    folder = tmp_path / "src" / "site_visits"
    obj = json.loads((folder / "objects" / "site_visit.json").read_text("utf-8"))
    obj["fields"][0]["type"] = "no_such_type"
    (folder / "objects" / "site_visit.json").write_text(json.dumps(obj), "utf-8")
    archive = zip_folder(folder, tmp_path / "broken.zip")
    admin.get("/admin/packs")
    response = admin.post(
        "/admin/packs/install", _upload(archive), content_type="multipart/form-data"
    )
    assert response.status_code == 422
    html = _text(response)
    assert 'data-testid="problems"' in html and "site_visit" in html and "no_such_type" in html
    assert _pack_names(admin) == ["crm_standard"]


def test_upgrade_dry_run_confirm_then_settle_the_conflict(admin, crm_copy, zip_folder, tmp_path):
    rt = admin.runtime
    installed_label = rt.metadata.definition("field", "lead.company_name")["label"]["zh-CN"]
    rt.metadata.patch("admin", COMPANY, {"label": {"zh-CN": "客户公司", "en": "Company"}})
    archive = _crm_upgrade_archive(crm_copy, zip_folder, tmp_path, "公司全称")

    admin.get("/admin/packs")
    dry = admin.post(
        "/admin/packs/crm_standard/upgrade", _upload(archive), content_type="multipart/form-data"
    )
    assert dry.status_code == 200
    report = _text(dry)
    assert "1.0.0" in report and "1.0.1" in report
    assert COMPANY in report and "label/zh-CN" in report
    assert "公司全称" in report and "客户公司" in report and installed_label in report
    assert rt.metadata.installed_packs()["crm_standard"] == "1.0.0"  # a dry run changes nothing

    confirmed = admin.post("/admin/packs/crm_standard/upgrade/confirm", _confirm_fields(dry))
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/admin/packs/conflicts"
    assert rt.metadata.installed_packs()["crm_standard"] == "1.0.1"
    assert rt.metadata.definition("field", "lead.company_name")["label"]["zh-CN"] == "客户公司"

    conflicts = _text(admin.get("/admin/packs/conflicts"))
    assert "公司全称" in conflicts and "客户公司" in conflicts
    settled = admin.post(
        "/admin/packs/conflicts/resolve", {"key": COMPANY, "place": "label/zh-CN", "keep": "vendor"}
    )
    assert settled.status_code == 302
    assert rt.metadata.definition("field", "lead.company_name")["label"] == {
        "zh-CN": "公司全称",
        "en": "Company",
    }
    assert 'data-testid="no-conflicts"' in admin.get("/admin/packs/conflicts").get_data(
        as_text=True
    )


def test_a_change_after_the_dry_run_shows_the_dry_run_again_before_upgrading(
    admin, crm_copy, zip_folder, tmp_path
):
    archive = _crm_upgrade_archive(crm_copy, zip_folder, tmp_path, "公司全称")
    admin.get("/admin/packs")
    dry = admin.post(
        "/admin/packs/crm_standard/upgrade", _upload(archive), content_type="multipart/form-data"
    )
    assert "label/zh-CN" not in _text(dry)  # no conflict yet
    # Someone else changes the same label meanwhile: now the upgrade would conflict.
    admin.runtime.metadata.patch("admin", COMPANY, {"label": {"zh-CN": "客户公司", "en": "Co."}})
    again = admin.post("/admin/packs/crm_standard/upgrade/confirm", _confirm_fields(dry))
    assert again.status_code == 409
    html = _text(again)
    assert 'data-testid="changed-meanwhile"' in html and "label/zh-CN" in html
    assert admin.runtime.metadata.installed_packs()["crm_standard"] == "1.0.0"
    done = admin.post("/admin/packs/crm_standard/upgrade/confirm", _confirm_fields(again))
    assert done.status_code == 302
    assert admin.runtime.metadata.installed_packs()["crm_standard"] == "1.0.1"


def test_the_confirm_step_needs_the_archive_this_session_uploaded(admin):
    admin.get("/admin/packs")
    response = admin.post("/admin/packs/crm_standard/upgrade/confirm", {"token": "../../etc"})
    assert response.status_code == 422
    assert admin.runtime.metadata.installed_packs()["crm_standard"] == "1.0.0"


def test_uninstall_is_refused_while_a_pack_depends_on_it_then_confirmed(admin, small_pack):
    admin.get("/admin/packs")
    admin.post("/admin/packs/install", _upload(small_pack()), content_type="multipart/form-data")

    refused = admin.get("/admin/packs/crm_standard/uninstall")
    assert refused.status_code == 409
    assert "site_visits depend(s) on crm_standard" in _text(refused)

    preview = admin.get("/admin/packs/site_visits/uninstall")
    assert preview.status_code == 200 and "object:site_visit" in _text(preview)
    assert "site_visits" in _pack_names(admin)  # the preview is a dry run
    done = admin.post("/admin/packs/site_visits/uninstall", {})
    assert done.status_code == 302
    assert _pack_names(admin) == ["crm_standard"]
    listing = _text(admin.get("/admin/packs"))
    assert "site_visits 已卸载" in listing and 'data-pack="site_visits"' not in listing


def test_export_downloads_the_customizations_as_a_pack(admin):
    admin.runtime.metadata.patch("admin", COMPANY, {"label": {"zh-CN": "客户公司", "en": "Co."}})
    admin.get("/admin/packs")
    response = admin.post("/admin/packs/export", {"name": "acme_crm", "version": "1.2.0"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("acme_crm/pack.json"))
    assert manifest["version"] == "1.2.0" and "crm_standard" in manifest["dependencies"]
    texts = "".join(archive.read(n).decode("utf-8") for n in archive.namelist())
    assert "客户公司" in texts


def test_export_without_customizations_says_so(admin):
    admin.get("/admin/packs")
    response = admin.post("/admin/packs/export", {"name": "acme_crm"})
    assert response.status_code == 422
    assert "there are no customizations to export" in _text(response)


def test_a_form_without_its_csrf_token_is_refused(admin, small_pack):
    response = admin.client.post(
        "/admin/packs/install",
        data=_upload(small_pack()),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert _pack_names(admin) == ["crm_standard"]


def test_markup_in_a_pack_label_shows_literally(admin, small_pack):
    label = {"zh-CN": "<b>粗体</b>", "en": "<script>alert(1)</script>"}
    admin.get("/admin/packs")
    admin.post(
        "/admin/packs/install", _upload(small_pack(label)), content_type="multipart/form-data"
    )
    html = admin.get("/admin/packs").get_data(as_text=True)
    assert "&lt;b&gt;粗体&lt;/b&gt;" in html and "<b>粗体" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


def test_the_pack_manager_speaks_chinese_and_english(admin):
    admin.get("/admin/packs")
    admin.post("/language", {"locale": "zh-CN", "next": "/admin/packs"})
    chinese = _text(admin.get("/admin/packs"))
    assert "已安装的包" in chinese and "升级冲突" in chinese and ">管理<" in chinese
    admin.post("/language", {"locale": "en", "next": "/admin/packs"})
    english = _text(admin.get("/admin/packs"))
    assert "Installed packs" in english and "Upgrade conflicts" in english
