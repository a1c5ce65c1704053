"""Fixtures for the pack tests: the runtime tests' ``runtime``, ``crm`` and ``demo_records``
(a fresh database with crm_standard and the demo org, on SQLite and PostgreSQL), and
``pack_copy`` for tests that write new versions of a shipped pack.

``tests/conftest.py`` loads ``tests/runtime/conftest.py`` by path under the module name
below; its fixtures are re-exported here so tests in this folder can use them.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trellis.metadata.packs import locate

_runtime = sys.modules["trellis_tests_runtime_conftest"]  # loaded by tests/conftest.py
Crm = _runtime.Crm
PASSWORD = _runtime.PASSWORD
runtime = _runtime.runtime
crm = _runtime.crm
demo_records = _runtime.demo_records


class PackCopy:
    """A writable copy of a shipped pack: read and rewrite its JSON files in place."""

    def __init__(self, folder: Path):
        self.folder = folder

    def read(self, rel: str) -> Any:
        return json.loads((self.folder / rel).read_text("utf-8"))

    def write(self, rel: str, data: Any) -> None:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")

    def edit(self, rel: str, change: Callable[[Any], None]) -> None:
        data = self.read(rel)
        change(data)
        self.write(rel, data)

    def set_version(self, version: str) -> None:
        self.edit("pack.json", lambda m: m.update(version=version))


@pytest.fixture
def pack_copy(tmp_path: Path) -> Callable[[str, str], PackCopy]:
    """``pack_copy("crm_standard", "v1_1")``: a copy of a shipped pack under tmp_path."""

    def make(name: str, folder: str) -> PackCopy:
        target = tmp_path / folder / name
        shutil.copytree(locate(name), target)
        return PackCopy(target)

    return make


@pytest.fixture
def second_database_url(database_url: str, request: pytest.FixtureRequest, tmp_path: Path):
    """Another new, empty database of the same kind as ``database_url``."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name, url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(name)
