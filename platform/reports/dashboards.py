"""Dashboards: every widget's report run for the viewer, with chart-ready data.

A widget whose report the viewer may not run (no read right, a hidden field)
shows its error instead; the rest of the dashboard still runs.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from trellis.reports.charts import chart_data
from trellis.reports.results import DashboardResult, WidgetResult
from trellis.reports.run import ReportRun, find_report, hidden_path
from trellis.runtime.errors import BadRequest, Forbidden, NotFound


def find_dashboard(compiled, name: str):
    dashboard = compiled.definitions.dashboards.get(name)
    if dashboard is None:
        raise NotFound(f"there is no dashboard {name[:80]!r}; GET /api/v1/dashboards lists them")
    return dashboard


def run_dashboard(runtime, ctx, name: str) -> DashboardResult:
    with runtime.records.session(ctx, write=False) as (conn, compiled):
        dashboard = find_dashboard(compiled, name)
        widgets = []
        for w in dashboard.widgets:
            title = w.title.get(ctx.locale)
            position = asdict(w.position)
            try:
                report = find_report(compiled, w.report)
                result = ReportRun(runtime.records, conn, compiled, ctx, report).run()
            except (Forbidden, NotFound, BadRequest) as exc:
                widgets.append(
                    WidgetResult(w.api_name, title, w.chart, position, None, None, exc.message)
                )
                continue
            data = chart_data(result, w.chart, w.measures)
            widgets.append(WidgetResult(w.api_name, title, w.chart, position, result, data))
        return DashboardResult(name, dashboard.label.get(ctx.locale), dashboard.columns, widgets)


def can_run(records, compiled, ctx, report) -> bool:
    """Whether the viewer may run a report: it is active, they read its object, nothing hidden."""
    rt = compiled.objects.get(report.object_name)
    if not report.active or rt is None or rt.definition.archived:
        return False
    access = records.access(compiled, ctx, report.object_name)
    if not access.read:
        return False
    lookup = lambda name: records.access(compiled, ctx, name)  # noqa: E731
    return hidden_path(compiled, lookup, report, report.object_name, report.paths) is None


def list_reports(runtime, ctx) -> list[dict[str, Any]]:
    """The reports the viewer can run, labels in their language, by object then name."""
    with runtime.records.session(ctx, write=False) as (_conn, compiled):
        return [
            describe_report(report, ctx.locale)
            for _key, report in sorted(compiled.definitions.reports.items())
            if can_run(runtime.records, compiled, ctx, report)
        ]


def describe_report(report, locale: str) -> dict[str, Any]:
    return {
        "key": report.key,
        "object": report.object_name,
        "label": report.label.get(locale),
        "description": report.description.get(locale) if report.description else None,
        "chart": report.chart,
        "groups": [
            {
                "api_name": g.api_name,
                "label": g.label.get(locale),
                "field": g.path,
                "bucket": g.bucket,
            }
            for g in report.groups
        ],
        "measures": [
            {
                "api_name": m.api_name,
                "label": m.label.get(locale),
                "function": m.function,
                "format": m.format,
            }
            for m in report.measures
        ],
        "target": report.target.measure if report.target else None,
        "run": f"/api/v1/reports/{report.key}/run",
    }


def list_dashboards(runtime, ctx) -> list[dict[str, Any]]:
    with runtime.records.session(ctx, write=False) as (_conn, compiled):
        return [
            {
                "name": d.api_name,
                "label": d.label.get(ctx.locale),
                "description": d.description.get(ctx.locale) if d.description else None,
                "widgets": len(d.widgets),
                "run": f"/api/v1/dashboards/{d.api_name}/run",
            }
            for _name, d in sorted(compiled.definitions.dashboards.items())
        ]
