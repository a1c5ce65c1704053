"""Fixtures for the import and export tests: the API tests' app, client and ``crm``.

``tests/api/conftest.py`` is loaded here by path (``--import-mode=importlib`` puts no test
folder on ``sys.path``) and its fixtures re-exported, so every test gets the Flask app on a
fresh database (SQLite, then PostgreSQL) with ``crm_standard`` and the demo organisation.
Tests of the Python API use the app's own runtime (``imports``), so both doors share data.
"""

from __future__ import annotations

import codecs
import csv
import importlib.util
import io
import sys
from pathlib import Path

import pytest

from trellis.tabular import ImportService, imports_for


def _api_conftest():
    name = "trellis_tests_api_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parent.parent / "api" / "conftest.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_api = _api_conftest()
app = _api.app
client = _api.client
api = _api.api
crm = _api.crm


@pytest.fixture
def imports(app) -> ImportService:
    return imports_for(app.extensions["trellis"])


class Files:
    """Real files as users send them, written into the test's folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def csv(self, name: str, rows: list[list], encoding: str = "utf-8") -> Path:
        out = io.StringIO(newline="")
        csv.writer(out).writerows(rows)
        data = out.getvalue()
        raw = codecs.BOM_UTF8 + data.encode("utf-8") if encoding == "bom" else data.encode(encoding)
        path = self.folder / name
        path.write_bytes(raw)
        return path

    def xlsx(self, name: str, rows: list[list]) -> Path:
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        for row in rows:
            sheet.append(row)
        path = self.folder / name
        workbook.save(path)
        return path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)
