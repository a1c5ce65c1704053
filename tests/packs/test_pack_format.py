"""The pack format without a database: validate, extensions, translations, archives."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from trellis.metadata.pack_archive import ArchiveRefused, opened
from trellis.metadata.pack_validate import validate
from trellis.metadata.packs import read


def _messages(problems) -> str:
    return "\n".join(f"{p.component}{p.place}: {p.message}" for p in problems)


def test_the_shipped_packs_validate(pack_copy):
    # Copies, so that validate finds crm_standard beside industrial as an author's checkout would.
    pack_copy("crm_standard", "checkout")
    industrial = pack_copy("industrial", "checkout")
    layer, problems = validate(industrial.folder)
    assert problems == [], _messages(problems)
    assert layer.name == "industrial"


def test_a_missing_or_incompatible_dependency_is_named(pack_copy):
    crm = pack_copy("crm_standard", "old")
    crm.set_version("0.9.0")
    industrial = pack_copy("industrial", "old")
    _, problems = validate(industrial.folder)
    assert "needs crm_standard ^1, but 0.9.0 is installed" in _messages(problems)
    industrial.edit("pack.json", lambda m: m.update(dependencies={"no_such_pack": "^1"}))
    _, problems = validate(industrial.folder)
    assert "needs pack 'no_such_pack' (^1); install it first" in _messages(problems)
    industrial.edit("pack.json", lambda m: m.update(dependencies={"crm_standard": "one"}))
    _, problems = validate(industrial.folder)
    assert "'one' is not a version range" in _messages(problems)


def test_extending_nothing_and_redefining_without_extends_are_refused(pack_copy):
    pack_copy("crm_standard", "authoring")
    pack = pack_copy("industrial", "authoring")
    pack.write(
        "layouts/ghost.json",
        {"api_name": "ghost", "object": "lead", "extends": True, "label": {"zh-CN": "幽灵"}},
    )
    pack.write(
        "roles/sales_rep.json",
        {"api_name": "sales_rep", "label": {"zh-CN": "销售", "en": "Rep"}, "objects": {}},
    )
    _, problems = validate(pack.folder)
    text = _messages(problems)
    assert "extends layout:lead.ghost, which none of the packs it depends on defines" in text
    assert (
        'role:sales_rep is already defined by a pack this one depends on; write "extends"' in text
    )


def test_an_extension_changes_one_language_of_a_label_and_adds_a_picklist_value(pack_copy):
    from trellis.metadata import Layers, build

    crm = pack_copy("crm_standard", "ext")
    pack = pack_copy("industrial", "ext")
    pack.write(
        "objects/zz_lead_extension.json",
        {
            "api_name": "lead",
            "extends": True,
            "fields": [
                {"api_name": "company_name", "label": {"zh-CN": "客户单位"}},
                {
                    "api_name": "region",
                    "values": [{"api_name": "hainan", "label": {"zh-CN": "海南", "en": "Hainan"}}],
                },
            ],
        },
    )
    layers = Layers().with_pack(read(crm.folder)).with_pack(read(pack.folder))
    lead = build(layers.effective()).objects["lead"]
    assert lead.by_name["company_name"].label.zh == "客户单位"
    assert lead.by_name["company_name"].label.en == "Company"
    regions = [v["api_name"] for v in lead.by_name["region"].options["values"]]
    assert regions[0] == "east" and regions[-1] == "hainan"


def test_translations_set_label_texts_and_unknown_keys_are_problems(pack_copy):
    pack = pack_copy("crm_standard", "i18n")
    pack.write(
        "translations/ja.json",
        {"field:lead.status": {"label": "ステータス", "values.new": "新規"}, "object:nope": {}},
    )
    with pytest.raises(Exception) as refused:
        read(pack.folder)
    assert "this pack defines no component 'object:nope'" in str(refused.value)
    pack.write(
        "translations/ja.json", {"field:lead.status": {"label": "ステータス", "values.new": "新規"}}
    )
    status = read(pack.folder).components["field:lead.status"].definition
    assert status["label"]["ja"] == "ステータス"
    assert next(v for v in status["values"] if v["api_name"] == "new")["label"]["ja"] == "新規"


# -- archives ------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes], *, link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0xA1FF << 16  # a symbolic link
            archive.writestr(info, "/etc/passwd")
    return path


def test_an_archive_of_a_pack_opens_into_its_folder(tmp_path):
    manifest = b'{"name": "tiny", "version": "1.0.0", "label": {"zh-CN": "t", "en": "t"}}'
    archive = _zip(tmp_path / "tiny.zip", {"tiny/pack.json": manifest})
    with opened(archive) as folder:
        assert read(folder).name == "tiny"
    assert not folder.exists()  # unpacked into a temporary folder, removed afterwards


@pytest.mark.parametrize(
    ("members", "link", "message"),
    [
        ({"../evil.json": b"{}"}, None, "points outside the pack folder"),
        ({"/etc/evil.json": b"{}"}, None, "points outside the pack folder"),
        ({"pack.json": b"{}"}, "pack/link", "is a link or special file"),
        ({"pack.json": b"0" * 2_000_000}, None, "compression ratio"),
        ({"readme.txt": b"hi"}, None, "holds no pack.json"),
    ],
)
def test_unsafe_archives_are_refused_before_anything_is_written(tmp_path, members, link, message):
    archive = _zip(tmp_path / "bad.zip", members, link=link)
    with pytest.raises(ArchiveRefused, match=message):
        with opened(archive):
            pass
    assert not (tmp_path / "evil.json").exists()


def test_a_tar_with_a_link_is_refused(tmp_path):
    path = tmp_path / "bad.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        data = b'{"name": "x"}'
        info = tarfile.TarInfo("pack/pack.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("pack/secret")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/shadow"
        archive.addfile(link)
    with pytest.raises(ArchiveRefused, match="pack/secret is a link"):
        with opened(path):
            pass
