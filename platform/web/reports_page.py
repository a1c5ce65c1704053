"""Report pages: the reports a user may run, and one report with its figures, chart,
drill-down links and CSV download.

``GET /reports`` lists the reports the viewer can run (``trellis.reports.list_reports``,
as the API does), by source object. ``GET /reports/<object>.<name>`` runs one with the
viewer's data scope; ``filter`` narrows it with an expression (the language of list
filters), and ``bucket`` re-cuts its time bucket (day … year) when it has one.
``GET /reports/<key>/result.csv`` downloads the same result. A report on an object the
viewer cannot read answers 404, like a record outside their scope.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from flask import Response, render_template, request
from flask_babel import gettext as _

from trellis.metadata.report_definitions import BUCKETS, ReportDef
from trellis.reports import ReportResult, list_reports
from trellis.reports.run import ReportRun, find_report
from trellis.runtime.errors import BadRequest, NotFound
from trellis.tabular import csv_chunks
from trellis.tabular.export_values import Cell
from trellis.web import pages
from trellis.web.metadata_view import compiled
from trellis.web.report_views import DRAWN, chart_spec, kpi_card, result_table
from trellis.web.sessions import page_context, runtime

BLANK = Cell("text", "")


@pages.get("/reports")
def reports_index():
    reports = list_reports(runtime(), page_context())
    objects = compiled().objects
    order = {name: i for i, name in enumerate(objects)}
    groups: dict[str, list[dict]] = {}
    for report in reports:
        groups.setdefault(report["object"], []).append(report)
    folders = [
        (objects[name].definition.plural_label, sorted(items, key=lambda r: r["label"]))
        for name, items in sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]
    return render_template("reports.html", folders=folders)


@dataclasses.dataclass
class ReportPage:
    """One report as the request asks for it: the definition, and its result or the
    reason there is none (a filter that does not compile)."""

    report: ReportDef
    filter: str
    bucket: str | None
    result: ReportResult | None
    error: str | None = None

    @property
    def bucket_group(self):
        return time_bucket_group(self.report)

    @property
    def derived(self) -> frozenset[str]:
        return frozenset(m.api_name for m in self.report.measures if m.derived)


def time_bucket_group(report: ReportDef):
    return next((g for g in report.groups if g.bucket), None)


def rebucketed(report: ReportDef, bucket: str | None) -> ReportDef:
    """The report with its time bucket cut another way (month → quarter …). A target
    matched on that group is cut the same way by the engine."""
    group = time_bucket_group(report)
    if group is None or not bucket or bucket == group.bucket:
        return report
    if bucket not in BUCKETS:
        raise BadRequest(_("Choose a time bucket from the list."))
    groups = tuple(
        dataclasses.replace(g, bucket=bucket) if g is group else g for g in report.groups
    )
    return dataclasses.replace(report, groups=groups)


def run_for_page(key: str) -> ReportPage:
    """Run the report with the request's ``filter`` and ``bucket``, as the viewer."""
    ctx = page_context()
    records = runtime().records
    extra = request.args.get("filter", "").strip()
    with records.session(ctx, write=False) as (conn, metadata):
        report = find_report(metadata, key)
        rt = metadata.objects.get(report.object_name)
        if rt is None or rt.definition.archived:
            raise NotFound(f"there is no report {key[:80]!r}")
        if not records.access(metadata, ctx, report.object_name).read:
            raise NotFound(f"there is no report {key[:80]!r}")
        report = rebucketed(report, request.args.get("bucket"))
        group = time_bucket_group(report)
        bucket = group.bucket if group else None
        try:
            result = ReportRun(records, conn, metadata, ctx, report).run(extra or None)
        except BadRequest as exc:  # a filter that does not compile: say why, keep the box
            return ReportPage(report, extra, bucket, None, exc.message)
    return ReportPage(report, extra, bucket, result)


@pages.get("/reports/<key>")
def report_page(key: str):
    page = run_for_page(key)
    result = page.result
    chart = page.report.chart
    context = {
        "page": page,
        "report": page.report,
        "buckets": BUCKETS if page.bucket_group else (),
        "table": result_table(result, page.derived) if result else None,
        "spec": chart_spec(result, chart) if result and chart in DRAWN else None,
        "kpi": kpi_card(result) if result and chart == "kpi" else None,
    }
    # Like a list page, a filter that does not compile is shown on the page (200).
    return render_template("report.html", **context)


@pages.get("/reports/<key>/result.csv")
def report_csv(key: str):
    page = run_for_page(key)
    if page.result is None:
        raise BadRequest(page.error or "")
    headers, rows = csv_table(page.result)
    return Response(
        csv_chunks(headers, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{key}.csv"'},
    )


def csv_table(result: ReportResult) -> tuple[list[str], list[list[Cell]]]:
    """Headers and rows of the result for a spreadsheet: numbers stay numbers (percentages
    in percent, the header says so), and the totals come last."""
    measures = list(result.measures)
    headers = [g.label for g in result.groups]
    headers += [f"{m.label} (%)" if m.format == "percent" else m.label for m in measures]
    target = result.target_measure is not None
    if target:
        headers += [result.target_label or _("Target"), f"{_('Attainment')} (%)"]

    def figures(row) -> list[Cell]:
        cells = [_number(row.values.get(m.api_name), m.format) for m in measures]
        if target:
            cells += [_number(row.target, "money"), _number(row.attainment, "percent")]
        return cells

    rows = [
        [Cell("text", g.label) for g in row.groups.values()] + figures(row) for row in result.rows
    ]
    total = [Cell("text", _("Total"))] + [BLANK] * (len(result.groups) - 1)
    rows.append((total if result.groups else []) + figures(result.totals))
    return headers, rows


def _number(value, fmt: str) -> Cell:
    if value is None:
        return BLANK
    if hasattr(value, "isoformat"):  # min/max of a date field
        return Cell("date", value)
    if fmt == "percent":
        return Cell("number", (Decimal(value) * 100).quantize(Decimal("0.01")))
    return Cell("number", value)
