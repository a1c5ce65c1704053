"""Run a report as the admin's form describes it, before it is saved.

The draft is checked and built by the metadata API with ``dry_run=True`` (nothing is
stored), then run by the report engine's ``ReportRun`` with the admin's data scope and shown
with the pages' result table (``trellis.web.report_views``): the same query path as
``/reports/<key>``, so the preview shows what the report page will.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.rules_common import Problems
from trellis.reports.run import ReportRun
from trellis.runtime.errors import Forbidden, Invalid, TrellisError
from trellis.web.metadata_view import definitions
from trellis.web.report_views import ResultTable, result_table
from trellis.web.sessions import page_context, runtime


@dataclass
class Preview:
    """The preview's table, or why there is none."""

    table: ResultTable | None = None
    report: Any = None  # the ReportDef that ran
    error: str | None = None
    problems: Problems = None  # type: ignore[assignment]
    notes: tuple[str, ...] = ()
    truncated: bool = False

    def __post_init__(self):
        if self.problems is None:
            self.problems = Problems()


def preview_of(key: str, definition: dict[str, Any], *, current: str | None = None) -> Preview:
    """``current``: run the saved report with that key instead (it is locked, so the form
    cannot change it)."""
    if current:
        return _run(definitions().reports[current])
    try:
        checked = runtime().metadata.define(actor(), "report", definition, dry_run=True)
    except (Invalid, Forbidden) as exc:
        return Preview(problems=Problems.of(key, exc))
    built = checked.definitions if checked.definitions is not None else definitions()
    return _run(built.reports[key.split(":", 1)[1]])


def _run(report) -> Preview:
    ctx = page_context()
    records = runtime().records
    try:
        with records.session(ctx, write=False) as (conn, compiled):
            result = ReportRun(records, conn, compiled, ctx, report).run()
    except TrellisError as exc:  # a field hidden from the admin, a filter without SQL form
        return Preview(report=report, error=exc.message)
    derived = frozenset(m.api_name for m in report.measures if m.derived)
    return Preview(
        table=result_table(result, derived),
        report=report,
        notes=tuple(result.notes),
        truncated=result.truncated,
    )
