"""Fixtures for the admin UI tests: the page tests' app, ``pages`` client and ``crm``.

``tests/web/conftest.py`` is loaded by path (``--import-mode=importlib`` puts no test folder
on ``sys.path``), as it loads the API tests' conftest; its fixtures are re-exported here.
``admin`` is ``pages`` signed in as the demo administrator; ``pack_folder`` writes a small
pack, and ``zipped`` turns a folder into the archive an admin would upload.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trellis.metadata.packs import locate


def _web_conftest():
    name = "trellis_tests_web_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parent.parent / "web" / "conftest.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_web = _web_conftest()
app = _web.app
client = _web.client
api = _web.api
crm = _web.crm
pages = _web.pages
Pages = _web.Pages


@pytest.fixture
def admin(pages):
    """``pages`` signed in as ``admin`` (the system administrator of the demo org)."""
    pages.sign_in("admin")
    return pages


def zipped(folder: Path, target: Path, *, extra: dict[str, str] | None = None) -> Path:
    """``folder`` as a .zip with one top folder (``extra``: more members, name -> text)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
        for name, text in (extra or {}).items():
            archive.writestr(name, text)
    return target


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")


@pytest.fixture
def small_pack(tmp_path: Path) -> Callable[..., Path]:
    """``small_pack(label=...)``: a pack ``site_visits`` with one object, as a .zip."""

    def make(label: dict | None = None, name: str = "site_visits") -> Path:
        folder = tmp_path / "src" / name
        write_json(
            folder / "pack.json",
            {
                "name": name,
                "version": "1.0.0",
                "label": label or {"zh-CN": "现场考察", "en": "Site visits"},
                "publisher": "Acme",
                "dependencies": {"crm_standard": "^1"},
            },
        )
        write_json(
            folder / "objects" / "site_visit.json",
            {
                "api_name": "site_visit",
                "label": {"zh-CN": "现场考察", "en": "Site visit"},
                "plural_label": {"zh-CN": "现场考察", "en": "Site visits"},
                "fields": [
                    {
                        "api_name": "subject",
                        "type": "text",
                        "length": 100,
                        "label": {"zh-CN": "主题", "en": "Subject"},
                    }
                ],
            },
        )
        return zipped(folder, tmp_path / f"{name}.zip")

    return make


@pytest.fixture
def crm_copy(tmp_path: Path) -> Callable[[str], Path]:
    """``crm_copy("1.0.1")``: a writable copy of crm_standard with that version."""

    def make(version: str) -> Path:
        folder = tmp_path / f"crm_{version}" / "crm_standard"
        shutil.copytree(locate("crm_standard"), folder)
        manifest = json.loads((folder / "pack.json").read_text("utf-8"))
        write_json(folder / "pack.json", {**manifest, "version": version})
        return folder

    return make


@pytest.fixture
def zip_folder() -> Callable[..., Path]:
    """``zipped`` for test modules (they cannot import from a conftest)."""
    return zipped
