"""Fixtures for the flow engine's tests: the runtime tests' ``runtime`` and ``crm``.

``tests/runtime/conftest.py`` is loaded by path (``--import-mode=importlib`` puts no
test folder on ``sys.path``) and its fixtures are re-exported here, so a flow test gets a
``Runtime`` on SQLite and then PostgreSQL with ``crm_standard`` and the demo organisation.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load_runtime_conftest():
    name = "trellis_tests_runtime_conftest"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent.parent / "runtime" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_runtime = _load_runtime_conftest()
runtime = _runtime.runtime
crm = _runtime.crm
demo_records = _runtime.demo_records
Crm = _runtime.Crm
