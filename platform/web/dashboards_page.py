"""Dashboard pages: the dashboards, and one dashboard's charts, tables and KPI cards on its
grid (one column on phones).

The dashboard runs through ``trellis.reports.run_dashboard`` exactly as
``GET /api/v1/dashboards/<name>/run`` does, so every widget has the viewer's data scope;
a widget whose report the viewer may not run says so and the rest still shows.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import gettext as _

from trellis.reports import WidgetResult, list_dashboards, run_dashboard
from trellis.web import pages
from trellis.web.metadata_view import definitions
from trellis.web.report_views import DRAWN, chart_spec, kpi_card, table_widget
from trellis.web.sessions import page_context, runtime


@pages.get("/dashboards")
def dashboards_index():
    return render_template("dashboards.html", dashboards=list_dashboards(runtime(), page_context()))


@pages.get("/dashboards/<name>")
def dashboard_page(name: str):
    dashboard = run_dashboard(runtime(), page_context(), name)
    chosen = _chosen_measures(name)
    widgets = sorted(dashboard.widgets, key=lambda w: (w.position["y"], w.position["x"]))
    return render_template(
        "dashboard.html",
        dashboard=dashboard,
        widgets=[widget_view(w, chosen.get(w.api_name, ())) for w in widgets],
    )


def _chosen_measures(name: str) -> dict[str, tuple[str, ...]]:
    """The measures each widget shows, as the dashboard's definition names them."""
    definition = definitions().dashboards.get(name)
    return {w.api_name: tuple(w.measures) for w in definition.widgets} if definition else {}


def widget_view(widget: WidgetResult, measures: tuple[str, ...]) -> dict[str, Any]:
    """What the template shows for one widget: a KPI card, a table or a chart spec."""
    view: dict[str, Any] = {
        "api_name": widget.api_name,
        "title": widget.title,
        "chart": widget.chart,
        "position": widget.position,
        "report": widget.report.key if widget.report else None,
        "error": _("You may not see this report.") if widget.error else None,
    }
    result = widget.report
    if result is None:
        return view
    known = {m.api_name for m in result.measures}
    measures = tuple(m for m in measures if m in known)  # a definition changed meanwhile
    if widget.chart == "kpi":
        view["kpi"] = kpi_card(result, measures)
    elif widget.chart == "table":
        view["table"] = table_widget(result, measures)
    elif widget.chart in DRAWN:
        view["spec"] = chart_spec(result, widget.chart, measures)
    return view
