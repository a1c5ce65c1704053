"""Fixtures for the report tests: the runtime tests' ``runtime``/``crm`` and the API tests' ``api``.

Both conftest files are loaded by path (``--import-mode=importlib`` puts no test folder on
``sys.path``) and their fixtures re-exported here, so every test runs on SQLite and then
PostgreSQL with ``crm_standard`` and the demo organisation.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_runtime = sys.modules["trellis_tests_runtime_conftest"]  # loaded by tests/conftest.py


def _load_api_conftest():
    name = "trellis_tests_api_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parent.parent / "api" / "conftest.py"
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_api = _load_api_conftest()

runtime = _runtime.runtime
crm = _runtime.crm
demo_records = _runtime.demo_records
app = _api.app
client = _api.client
api = _api.api
