"""Reports and dashboards (docs/reports.md): list them, read a definition, run them.

``GET /reports`` lists the reports the caller can run (labels in their
language); ``GET /reports/{object}.{name}`` is one report, summarised and as defined;
``GET|POST /reports/{object}.{name}/run`` runs it with the caller's data scope,
optionally narrowed by ``filter`` (query parameter, or ``{"filter": …}`` in a
POST body). ``GET /dashboards`` and ``GET /dashboards/{name}/run`` do the same
for dashboards, each widget with chart-ready data. Definitions are written
with ``PUT /definitions/report/{object}.{name}`` and
``PUT /definitions/dashboard/{name}``.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.reports import list_dashboards, list_reports, run_dashboard, run_report
from trellis.reports.dashboards import describe_report
from trellis.reports.run import find_report
from trellis.runtime.api import api
from trellis.runtime.api.requests import context, json_body, runtime
from trellis.runtime.errors import BadRequest


@api.get("/reports")
def reports_list():
    return jsonify({"reports": list_reports(runtime(), context())})


@api.get("/reports/<key>")
def report_definition(key: str):
    ctx = context()
    with runtime().records.session(ctx, write=False) as (_conn, compiled):
        report = find_report(compiled, key)
        runtime().records.authorize(
            compiled, ctx, runtime().records.object(compiled, report.object_name), "read"
        )
        described = describe_report(report, ctx.locale)
    # The JSON as defined (labels in every language), for designers and the pages.
    described["definition"] = runtime().metadata.definition("report", key)
    return jsonify({"report": described})


@api.route("/reports/<key>/run", methods=["GET", "POST"])
def report_run(key: str):
    extra = request.args.get("filter") or None
    if request.method == "POST" and request.content_length:
        body = json_body()
        unknown = set(body) - {"filter"}
        if unknown:
            raise BadRequest(f'unknown key(s) {", ".join(sorted(unknown))}; send {{"filter"}}')
        extra = body.get("filter") or extra
    if extra is not None and not isinstance(extra, str):
        raise BadRequest("filter is an expression, as text", [{"field": "filter", "message": ""}])
    return jsonify({"result": run_report(runtime(), context(), key, extra).as_json()})


@api.get("/dashboards")
def dashboards_list():
    return jsonify({"dashboards": list_dashboards(runtime(), context())})


@api.get("/dashboards/<name>/run")
def dashboard_run(name: str):
    return jsonify({"dashboard": run_dashboard(runtime(), context(), name).as_json()})
