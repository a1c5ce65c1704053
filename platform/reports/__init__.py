"""Reports and dashboards: report definitions run as aggregate SQL with the viewer's data scope.

Definitions (``report:<object>.<name>``, ``dashboard:<name>``) are metadata like
any other component (docs/reports.md): checked and frozen by
``trellis.metadata.report_build``, shipped in a pack's ``reports/`` and
``dashboards/`` folders. This package runs them. The Python API::

    from trellis.reports import run_report, run_dashboard, list_reports, list_dashboards

    result = run_report(runtime, ctx, "opportunity.pipeline_by_stage",
                        extra_filter="amount >= 100000")     # -> ReportResult
    result.rows[0].groups["stage"]      # GroupValue(value='proposal', label='方案制定')
    result.rows[0].values["amount"]     # Decimal('1250000.00'); counts are int
    result.rows[0].display["amount"]    # '1,250,000.00'  (ratios: '26.7%')
    result.rows[0].drill_down           # DrillDown(object='opportunity', filter=
                                        #   "(stage not in ['won', 'lost']) and stage == 'proposal'"
    result.totals                       # a ReportRow over every record of the report
    result.as_json()                    # what GET /api/v1/reports/<key>/run answers

    dash = run_dashboard(runtime, ctx, "sales")              # -> DashboardResult
    dash.widgets[0].chart_data          # {"option": {...ECharts series/xAxis/legend...}}
    list_reports(runtime, ctx)          # [{"key", "label", "object", "measures", ...}]
    list_dashboards(runtime, ctx)       # [{"name", "label", "widgets", "run"}]

``ctx`` is the viewer's ``Context``: their data scope and field security apply,
labels follow ``ctx.locale`` and date-time buckets ``ctx.zone``. Errors are the
runtime's: ``NotFound`` (no such report), ``Forbidden`` (no read right, or the
report reads a field hidden from the viewer), ``BadRequest`` (a bad extra filter,
with its position).
"""

from trellis.reports.charts import chart_data
from trellis.reports.dashboards import list_dashboards, list_reports, run_dashboard
from trellis.reports.results import (
    DashboardResult,
    DrillDown,
    GroupValue,
    ReportResult,
    ReportRow,
    WidgetResult,
)
from trellis.reports.run import run_report

__all__ = [
    "DashboardResult",
    "DrillDown",
    "GroupValue",
    "ReportResult",
    "ReportRow",
    "WidgetResult",
    "chart_data",
    "list_dashboards",
    "list_reports",
    "run_dashboard",
    "run_report",
]
