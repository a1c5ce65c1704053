"""Fixtures for the flow engine's tests: the runtime tests' ``runtime`` and ``crm``.

``tests/runtime/conftest.py`` is loaded by ``tests/conftest.py`` (``--import-mode=importlib``
puts no test folder on ``sys.path``) and its fixtures are re-exported here, so a flow test gets a
``Runtime`` on SQLite and then PostgreSQL with ``crm_standard`` and the demo organisation.
"""

from __future__ import annotations

import sys

_runtime = sys.modules["trellis_tests_runtime_conftest"]  # loaded by tests/conftest.py
runtime = _runtime.runtime
crm = _runtime.crm
demo_records = _runtime.demo_records
Crm = _runtime.Crm
