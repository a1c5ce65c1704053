"""Pack contract tests: declarative checks a pack carries in its ``tests/`` folder.

A case says: given these records, this write is refused with these messages (or
saved), this approval reaches these people node by node and ends so, this
automation fires at this time and leaves these values and notifications.
``run_pack_tests(pack)`` installs the pack on a throwaway database and runs every
case through the records service and the flow engine; ``trellis pack test PATH``
prints the report. The format is in ``docs/pack-tests.md`` and the JSON Schema
``platform/metadata/schemas/pack_test.json``.
"""

from trellis.packtests.cases import CaseDef, read_cases
from trellis.packtests.report import CaseResult, PackTestReport
from trellis.packtests.runner import run_pack_tests

__all__ = ["CaseDef", "CaseResult", "PackTestReport", "read_cases", "run_pack_tests"]
