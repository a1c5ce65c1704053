"""Reports in the admin area: the list, and a form per report (docs/reports.md).

A report aggregates one object's records: a filter, up to three groupings (a field, a time
bucket), measures (count … conversion; each may count only records a related object points
at, ``having``), a target, a sort and a limit, and its default chart. "Run preview" runs the
report as the form describes it, through the one report runner (``report_preview``), before
anything is saved.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.report_fields import match_text, posted_report
from trellis.admin_ui.report_preview import Preview, preview_of
from trellis.admin_ui.rules_common import (
    Owner,
    Problems,
    field_choices,
    object_choices,
    owner,
    owners,
    save,
    text,
)
from trellis.admin_ui.sections import section
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section("reports", _l("Reports"), "admin.reports", order=50, prefixes=("admin.report",))

CONTROLS = (
    "api_name",
    "object",
    "label",
    "description",
    "filter",
    "group_by",
    "measures",
    "target",
    "sort",
    "limit",
    "chart",
    "active",
)
GROUP_CONTROLS = ("field", "bucket", "api_name", "label")
MEASURE_CONTROLS = (
    "api_name",
    "label",
    "function",
    "field",
    "filter",
    "numerator",
    "denominator",
    "from",
    "to",
    "format",
    "having",
)


@admin.get("/reports")
def reports():
    found = sorted(definitions().reports.values(), key=lambda r: r.key)
    by_key = owners(f"report:{r.key}" for r in found)
    items = [
        {
            "key": r.key,
            "name": r.api_name,
            "object": r.object_name,
            "label": label(r.label),
            "active": r.active,
            "owner": by_key[f"report:{r.key}"],
            "summary": ", ".join(label(m.label) for m in r.measures),
        }
        for r in found
    ]
    return render_template(
        "admin/rules_list.html",
        heading=_("Reports"),
        kind="report",
        items=items,
        new_url=url_for("admin.report_new"),
        edit_endpoint="admin.report_edit",
        summary_heading=_("Measures"),
    )


@admin.get("/reports/new")
def report_new():
    blank = {
        "object": request.args.get("object", ""),
        "active": True,
        "chart": "table",
        "measures": [
            {
                "api_name": "records",
                "function": "count",
                "label": {"zh-CN": "记录数", "en": "Records"},
            }
        ],
    }
    return _form(blank, None, Problems())


@admin.get("/reports/<key>")
def report_edit(key: str):
    return _form(_stored(key), key, Problems())


def _stored(key: str) -> dict[str, Any]:
    """The report's effective definition (NotFound, 404, names it when there is none)."""
    return runtime().metadata.definition("report", key)


def _posted() -> tuple[str | None, dict[str, Any]]:
    key = text("key") or None
    stored = _stored(key) if key else None
    taken = {r.api_name for r in definitions().reports.values()}
    return key, posted_report(stored, taken)


def _component_key(definition: dict[str, Any]) -> str:
    return f"report:{definition.get('object', '')}.{definition.get('api_name', '')}"


@admin.post("/reports/save")
def report_save():
    key, definition = _posted()
    problems = save("report", _component_key(definition), definition)
    if problems:
        return _form(definition, key, problems, status=problems.status)
    flash(_("The report %(name)s is saved.", name=definition["api_name"]))
    saved = f"{definition['object']}.{definition['api_name']}"
    return redirect(url_for("admin.report_edit", key=saved))


@admin.post("/reports/preview")
def report_preview():
    """The report as the form describes it, run for the admin; nothing is saved."""
    key, definition = _posted()
    locked = bool(key) and owner(f"report:{key}").locked
    preview = preview_of(_component_key(definition), definition, current=key if locked else None)
    status = preview.problems.status if preview.problems else 200
    return _form(definition, key, preview.problems, status=status, preview=preview)


def _form(
    report: dict[str, Any],
    key: str | None,
    problems: Problems,
    status: int = 200,
    preview: Preview | None = None,
):
    object_name = report.get("object", "")
    page = render_template(
        "admin/report_form.html",
        report=report,
        key=key,
        owner=owner(f"report:{key}") if key else Owner("custom"),
        problems=problems,
        unplaced=problems.rest("", CONTROLS),
        rest_of=lambda prefix, controls: problems.rest(prefix, controls),
        group_controls=GROUP_CONTROLS,
        measure_controls=MEASURE_CONTROLS,
        objects=object_choices(),
        paths=field_choices(object_name, through_lookups=True) if object_name else [],
        target_fields=_number_fields(),
        related=_related(object_name),
        row_numbers=[str(i) for i in range(12)],
        match_text=match_text,
        preview=preview,
        **choices(),
    )
    return page, status


def _related(object_name: str) -> list[tuple[str, str]]:
    """Objects with a lookup to ``object_name`` (``opportunity.lead``): what ``having`` counts."""
    out = []
    for name, obj in definitions().objects.items():
        for f in obj.fields:
            if f.type == "lookup" and f.options.get("target") == object_name and not f.archived:
                out.append((f"{name}.{f.api_name}", f"{label(obj.label)} · {label(f.label)}"))
    return sorted(out)


def _number_fields() -> list[tuple[str, str]]:
    """Every object's number fields, for a target taken from another object."""
    numbers = ("integer", "decimal", "currency", "percent", "formula", "rollup")
    out = []
    for _name, obj in sorted(definitions().objects.items()):
        for f in obj.fields:
            if f.type in numbers and not f.archived:
                out.append((f.api_name, f"{label(obj.label)} · {label(f.label)} ({f.api_name})"))
    return out


def choices() -> dict[str, list[tuple[str, str]]]:
    """The report form's fixed choices, in the page language."""
    return {
        "bucket_choices": [
            ("day", _("Day")),
            ("week", _("Week")),
            ("month", _("Month")),
            ("quarter", _("Quarter")),
            ("year", _("Year")),
        ],
        "format_choices": [
            ("number", _("Number")),
            ("money", _("Money")),
            ("percent", _("Percent")),
        ],
        "function_choices": [
            ("count", _("Count")),
            ("count_distinct", _("Count distinct")),
            ("sum", _("Sum")),
            ("avg", _("Average")),
            ("min", _("Minimum")),
            ("max", _("Maximum")),
            ("ratio", _("Ratio of two measures")),
            ("conversion", _("Conversion rate")),
        ],
        "chart_choices": chart_choices(),
    }


def chart_choices() -> list[tuple[str, str]]:
    return [
        ("table", _("Table")),
        ("bar", _("Bar chart")),
        ("line", _("Line chart")),
        ("pie", _("Pie chart")),
        ("funnel", _("Funnel")),
        ("gauge", _("Gauge")),
        ("kpi", _("KPI card")),
    ]
