"""Dashboards in the admin area: the list, and a form per dashboard (docs/reports.md).

A dashboard arranges reports as tiles: a chart (funnel, bar, line, pie, gauge, table) or a
KPI card, with a title, the measures it shows, and a width and height on a grid of
``columns``. The admin drags the tiles into order (``static/rules.js``); the form lays them
out left to right, row by row, in that order, which is the order the dashboard page shows.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.report_forms import chart_choices
from trellis.admin_ui.rules_common import (
    Owner,
    Problems,
    first,
    number,
    owner,
    owners,
    posted_label,
    proposed_name,
    rows,
    save,
    text,
)
from trellis.admin_ui.sections import section
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section("dashboards", _l("Dashboards"), "admin.dashboards", order=51, prefixes=("admin.dashboard",))

CONTROLS = ("api_name", "label", "description", "columns", "widgets")
TILE_CONTROLS = ("api_name", "report", "chart", "title", "measures", "position")
WIDTHS = (2, 3, 4, 6, 8, 9, 12)
HEIGHTS = (2, 3, 4, 5, 6)


@admin.get("/dashboards")
def dashboards():
    found = sorted(definitions().dashboards.values(), key=lambda d: d.api_name)
    by_key = owners(f"dashboard:{d.api_name}" for d in found)
    items = [
        {
            "key": d.api_name,
            "name": d.api_name,
            "label": label(d.label),
            "active": True,
            "owner": by_key[f"dashboard:{d.api_name}"],
            "summary": _("%(n)s tiles", n=len(d.widgets)),
        }
        for d in found
    ]
    return render_template(
        "admin/rules_list.html",
        heading=_("Dashboards"),
        kind="dashboard",
        items=items,
        new_url=url_for("admin.dashboard_new"),
        edit_endpoint="admin.dashboard_edit",
        summary_heading=_("Tiles"),
        no_object=True,
    )


@admin.get("/dashboards/new")
def dashboard_new():
    return _form({"columns": 12, "widgets": []}, None, Problems())


@admin.get("/dashboards/<key>")
def dashboard_edit(key: str):
    return _form(_stored(key), key, Problems())


def _stored(key: str) -> dict[str, Any]:
    stored = runtime().metadata.definition("dashboard", key)  # NotFound (404) if none
    widgets = sorted(stored["widgets"], key=lambda w: _place(w.get("position")))
    return {**stored, "widgets": widgets}


def _place(position: dict[str, int] | None) -> tuple[int, int]:
    return (position["y"], position["x"]) if position else (10**6, 0)


@admin.post("/dashboards/save")
def dashboard_save():
    key = text("key") or None
    definition = posted_dashboard(_stored(key) if key else None)
    problems = save("dashboard", f"dashboard:{definition.get('api_name', '')}", definition)
    if problems:
        return _form(definition, key, problems, status=problems.status)
    flash(_("The dashboard %(name)s is saved.", name=definition["api_name"]))
    return redirect(url_for("admin.dashboard_edit", key=definition["api_name"]))


def posted_dashboard(stored: dict[str, Any] | None) -> dict[str, Any]:
    given = posted_label()
    if stored:
        name = stored["api_name"]
    else:
        taken = set(definitions().dashboards)
        name = proposed_name(text("api_name"), given.get("en", ""), taken)
    out: dict[str, Any] = {"api_name": name, "label": given}
    description = posted_label("description")
    if description:
        out["description"] = description
    out["columns"] = number(text("columns")) if text("columns") else 12
    tiles = [_tile(row) for row in rows("tiles")]
    columns = out["columns"] if isinstance(out["columns"], int) else 12
    out["widgets"] = laid_out(tiles, columns)
    return out


def _tile(row: dict[str, list[str]]) -> dict[str, Any]:
    report = first(row, "report")
    tile: dict[str, Any] = {
        "api_name": first(row, "api_name"),
        "report": report,
        "chart": first(row, "chart"),
    }
    title = {"zh-CN": first(row, "title_zh"), "en": first(row, "title_en")}
    title = {k: v for k, v in title.items() if v}
    if title:
        tile["title"] = title
    # The measure picker lists every report's measures as "report:measure"; only the chosen
    # report's count (the others were hidden when the report changed).
    measures = [m.split(":", 1)[1] for m in row.get("measures", []) if m.startswith(f"{report}:")]
    if measures:
        tile["measures"] = measures
    tile["position"] = {"w": number(first(row, "w") or "4"), "h": number(first(row, "h") or "3")}
    return tile


def laid_out(tiles: list[dict[str, Any]], columns: int) -> list[dict[str, Any]]:
    """Positions for the tiles in their order: left to right, a new row when one is full."""
    x = y = row_height = 0
    for tile in tiles:
        w, h = tile["position"]["w"], tile["position"]["h"]
        if not (isinstance(w, int) and isinstance(h, int)):
            continue  # the schema refuses it at this tile's width or height
        w = max(1, min(w, columns))
        if x + w > columns:
            x, y, row_height = 0, y + row_height, 0
        tile["position"] = {"x": x, "y": y, "w": w, "h": h}
        x += w
        row_height = max(row_height, h)
    return tiles


def _form(dashboard: dict[str, Any], key: str | None, problems: Problems, status: int = 200):
    reports = sorted(definitions().reports.values(), key=lambda r: r.key)
    page = render_template(
        "admin/dashboard_form.html",
        dashboard=dashboard,
        key=key,
        owner=owner(f"dashboard:{key}") if key else Owner("custom"),
        problems=problems,
        unplaced=problems.rest("", CONTROLS),
        rest_of=problems.rest,
        tile_controls=TILE_CONTROLS,
        row_numbers=[str(i) for i in range(30)],
        reports=[(r.key, f"{label(r.label)} ({r.key})") for r in reports],
        measures=[(r.key, [(m.api_name, label(m.label)) for m in r.measures]) for r in reports],
        charts=chart_choices(),
        widths=WIDTHS,
        heights=HEIGHTS,
    )
    return page, status
