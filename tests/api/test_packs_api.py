"""``/api/v1/packs``: administrators install, upgrade, uninstall and export packs over HTTP."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

from trellis.metadata.packs import locate


def _archive(folder: Path) -> io.BytesIO:
    """The pack as a zip, without its demo data (an upgrade does not read it), which keeps
    the upload small."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "sample_data" not in path.parts:
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    buffer.seek(0)
    return buffer


def _crm_version(tmp_path: Path, version: str, change=None) -> Path:
    folder = tmp_path / version / "crm_standard"
    shutil.copytree(locate("crm_standard"), folder)
    manifest = json.loads((folder / "pack.json").read_text("utf-8"))
    manifest["version"] = version
    (folder / "pack.json").write_text(json.dumps(manifest), "utf-8")
    if change:
        lead = json.loads((folder / "objects/lead.json").read_text("utf-8"))
        change(lead)
        (folder / "objects/lead.json").write_text(json.dumps(lead, ensure_ascii=False), "utf-8")
    return folder


def _upload(folder: Path) -> dict:
    return {"archive": (_archive(folder), f"{folder.name}.zip")}


def test_only_admins_reach_packs(api):
    assert api.get("/packs", as_="rep_east").status_code == 403
    listing = api.get("/packs", as_="admin").get_json()
    assert [p["name"] for p in listing["packs"]] == ["crm_standard"]
    assert "industrial" in listing["shipped"]


def test_install_a_shipped_pack_by_name_and_never_a_server_path(api):
    refused = api.post("/packs", json={"name": "/etc"}, as_="admin")
    assert refused.status_code == 422
    dry = api.post("/packs?dry_run=true", json={"name": "industrial"}, as_="admin").get_json()
    assert dry["applied"] is False and dry["ddl"]
    done = api.post("/packs", json={"name": "industrial"}, as_="admin").get_json()
    assert done["applied"] is True
    assert [p["name"] for p in api.get("/packs", as_="admin").get_json()["packs"]] == [
        "crm_standard",
        "industrial",
    ]


def test_upgrade_from_an_uploaded_archive_with_a_dry_run_then_resolve_the_conflict(api, tmp_path):
    label = {"label": {"zh-CN": "客户公司", "en": "Company"}}
    api.runtime.metadata.patch("admin", "field:lead.company_name", label)

    def change(lead):
        for f in lead["fields"]:
            if f["api_name"] == "company_name":
                f["label"]["zh-CN"] = "公司全称"

    new = _crm_version(tmp_path, "1.2.0", change)
    dry = api.post(
        "/packs/crm_standard/upgrade?dry_run=true", data=_upload(new), as_="admin"
    ).get_json()
    assert dry["applied"] is False and [c["place"] for c in dry["conflicts"]] == ["label/zh-CN"]
    assert api.get("/packs/conflicts", as_="admin").get_json()["conflicts"] == []

    done = api.post("/packs/crm_standard/upgrade", data=_upload(new), as_="admin").get_json()
    assert done["to_version"] == "1.2.0" and done["applied"] is True
    open_ = api.get("/packs/conflicts", as_="admin").get_json()["conflicts"]
    assert [(c["admin"], c["vendor"]) for c in open_] == [("客户公司", "公司全称")]

    resolved = api.post(
        "/packs/conflicts/resolve",
        json={"key": "field:lead.company_name", "place": "label/zh-CN", "keep": "vendor"},
        as_="admin",
    )
    assert resolved.status_code == 200
    assert (
        api.runtime.metadata.definition("field", "lead.company_name")["label"]["zh-CN"]
        == "公司全称"
    )


def test_an_upload_that_is_not_an_archive_or_is_unsafe_is_refused(api, tmp_path):
    text = api.post(
        "/packs/crm_standard/upgrade",
        data={"archive": (io.BytesIO(b"hello"), "pack.txt")},
        as_="admin",
    )
    assert text.status_code == 422 and ".zip or .tar.gz" in text.get_json()["error"]["message"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.json", "{}")
    buffer.seek(0)
    unsafe = api.post(
        "/packs/crm_standard/upgrade", data={"archive": (buffer, "x.zip")}, as_="admin"
    )
    assert unsafe.status_code == 422
    assert "points outside the pack folder" in unsafe.get_json()["error"]["message"]


def test_uninstall_refuses_while_another_pack_depends_on_it(api):
    api.post("/packs", json={"name": "industrial"}, as_="admin")
    refused = api.delete("/packs/crm_standard", as_="admin")
    assert refused.status_code == 409
    assert "industrial" in refused.get_json()["error"]["message"]
    dry = api.delete("/packs/industrial?dry_run=true", as_="admin").get_json()
    assert "object:sample_request" in dry["removed"]
    assert len(api.get("/packs", as_="admin").get_json()["packs"]) == 2
    assert api.delete("/packs/industrial", as_="admin").get_json()["applied"] is True


def test_export_returns_an_archive_that_validates(api):
    api.runtime.metadata.patch("admin", "field:lead.industry", {"required": True})
    response = api.post("/packs/export", json={"name": "acme_custom"}, as_="admin")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "acme_custom/pack.json" in archive.namelist()
        lead = json.loads(archive.read("acme_custom/objects/lead.json"))
    assert lead["extends"] is True
    assert lead["fields"] == [{"api_name": "industry", "required": {"$replace": True}}]
    checked = api.post(
        "/packs/validate",
        data={"archive": (io.BytesIO(response.data), "acme_custom.zip")},
        as_="admin",
    ).get_json()
    assert checked == {"valid": True, "problems": []}
