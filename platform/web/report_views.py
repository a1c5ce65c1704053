"""Report results as the pages show them: drill-down links to list pages, result tables,
KPI cards and the chart specs ``static/charts.js`` hands to Apache ECharts.

Everything here starts from what ``trellis.reports`` computed (values, display texts,
drill-down filters, ``chart_data``); the pages only add what a browser needs: the list
page URL of each segment (``/o/<object>?view=&filter=<drill-down filter>``, ``view=``
so that no list view narrows it further) and each value's text for labels and tooltips.
Labels stay data: templates escape them and charts.js sets them as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import url_for
from flask_babel import gettext as _

from trellis.reports import DrillDown, ReportResult, ReportRow, chart_data
from trellis.reports.run import display

#: Charts drawn by ECharts; ``table`` and ``kpi`` are plain HTML.
DRAWN = ("funnel", "bar", "line", "pie", "gauge")
FRACTION = Decimal("0.0001")


def drill_href(drill: DrillDown | dict[str, Any] | None) -> str | None:
    """The list page of the records behind a segment; None when the engine could not name
    them exactly (too many records to list one by one)."""
    if drill is None:
        return None
    if isinstance(drill, dict):
        drill = DrillDown(drill["object"], drill["filter"], drill["exact"])
    if not drill.exact:
        return None
    args = {"view": ""}
    if drill.filter:
        args["filter"] = drill.filter
    return f"{url_for('pages.list_page', object_name=drill.object)}?{urlencode(args)}"


# -- tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCell:
    text: str
    href: str | None = None
    number: bool = False


@dataclass
class ResultTable:
    """A report result as a table: group columns, measure columns, target and attainment."""

    headers: list[TableCell]
    rows: list[list[TableCell]] = field(default_factory=list)
    totals: list[TableCell] = field(default_factory=list)


def result_table(result: ReportResult, derived: frozenset[str]) -> ResultTable:
    """``derived``: the measures computed from others (ratios), which name no records."""
    has_target = result.target_measure is not None
    headers = [TableCell(g.label) for g in result.groups]
    headers += [TableCell(m.label, number=True) for m in result.measures]
    if has_target:
        headers += [TableCell(result.target_label or _("Target"), number=True)]
        headers += [TableCell(_("Attainment"), number=True)]
    table = ResultTable(headers)
    for row in result.rows:
        groups = [TableCell(g.label) for g in row.groups.values()]
        if groups:  # the first group names the whole row's records
            groups[0] = TableCell(groups[0].text, drill_href(row.drill_down))
        table.rows.append(groups + _figures(result, row, derived, has_target))
    blanks = [TableCell("") for _ in result.groups[1:]]
    first = TableCell(_("Total"), drill_href(result.totals.drill_down))
    table.totals = [first, *blanks] if result.groups else []
    table.totals += _figures(result, result.totals, derived, has_target)
    return table


def _figures(result, row: ReportRow, derived, has_target: bool) -> list[TableCell]:
    cells = []
    for m in result.measures:
        drill = row.measure_drill_downs.get(m.api_name, row.drill_down)
        href = None if m.api_name in derived else drill_href(drill)
        cells.append(TableCell(row.display.get(m.api_name, ""), href, number=True))
    if has_target:
        cells.append(TableCell(row.display.get("target", "–"), number=True))
        cells.append(TableCell(row.display.get("attainment", "–"), number=True))
    return cells


# -- KPI cards and table widgets --------------------------------------------------------


def kpi_card(result: ReportResult, measures: tuple[str, ...] = ()) -> dict[str, Any]:
    """One measure over all the report's records, with its target when it has one."""
    kpi = chart_data(result, "kpi", measures)["kpi"]
    name = measures[0] if measures else result.measures[0].api_name
    totals = result.totals
    compared = result.target_measure == name and totals.target is not None
    return {
        "label": kpi["label"],
        "display": kpi["display"],
        "href": drill_href(kpi["drill_down"]),
        "target": totals.display.get("target") if compared else None,
        "attainment": totals.display.get("attainment") if compared else None,
    }


def table_widget(result: ReportResult, measures: tuple[str, ...] = ()) -> dict[str, Any]:
    data = chart_data(result, "table", measures)["table"]
    return {
        "headers": [c["label"] for c in data["columns"]],
        "numbers": [c["api_name"] not in _group_names(result) for c in data["columns"]],
        "rows": [{"cells": r["cells"], "href": drill_href(r["drill_down"])} for r in data["rows"]],
    }


def _group_names(result: ReportResult) -> set[str]:
    return {g.api_name for g in result.groups}


# -- charts -------------------------------------------------------------------------------


def chart_spec(result: ReportResult, chart: str, measures: tuple[str, ...] = ()) -> dict:
    """What charts.js draws: the engine's ECharts option, each data item with its text
    (``26.7%``, ``1,250,000.00``) and the list page of its records (``href``); funnel
    stages also carry their share of the first stage (the conversion from the top)."""
    option = chart_data(result, chart, measures)["option"]
    shown = [result.measure(n) for n in measures] if measures else list(result.measures)
    by_label = {m.label: m.format for m in shown}
    for i, series in enumerate(option["series"]):
        fmt = _series_format(result, chart, shown, i)
        series["format"] = fmt  # charts.js gives percentages an axis of their own
        for item in series["data"]:
            item_format = fmt
            if chart in ("funnel", "pie") and not result.groups:  # one measure per item
                item_format = by_label.get(item.get("name"), fmt)
            _finish_item(item, item_format)
    spec: dict[str, Any] = {"chart": chart, "option": option}
    if chart == "funnel" and not result.groups:  # stages: leads → … → wins
        _shares(option["series"][0]["data"])
    if chart == "gauge":
        spec["gauge"] = _gauge_texts(result, shown[0].api_name)
    return spec


def _gauge_texts(result: ReportResult, measure: str) -> dict[str, str | None]:
    """The gauge's caption: the figure, and against its target how much is attained."""
    totals = result.totals
    compared = result.target_measure == measure and totals.target is not None
    return {
        "value": totals.display.get(measure, ""),
        "target": totals.display.get("target") if compared else None,
        "attainment": totals.display.get("attainment") if compared else None,
    }


def _series_format(result: ReportResult, chart: str, shown: list, index: int) -> str:
    if chart in ("bar", "line") and len(result.groups) < 2:
        if index < len(shown):  # one series per measure, then the target's
            return shown[index].format
        return result.measure(result.target_measure).format
    return shown[0].format


def _finish_item(item: dict[str, Any], fmt: str) -> None:
    item["text"] = value_text(item.get("value"), fmt)
    drill = item.pop("drill_down", None)
    if drill is not None:
        item["href"] = drill_href(drill)


def value_text(value, fmt: str) -> str:
    """A chart number as people read it (chart percentages are in percent: 26.67)."""
    if value is None:
        return display(None, fmt)
    if fmt == "percent":
        return display(Decimal(str(value)) / 100, "percent")
    if isinstance(value, int):
        return display(value, fmt)
    return display(Decimal(str(value)), fmt if fmt == "money" else "number")


def _shares(items: list[dict[str, Any]]) -> None:
    first = items[0].get("value") if items else None
    for item in items:
        value = item.get("value")
        if first and value is not None:
            share = (Decimal(str(value)) / Decimal(str(first))).quantize(FRACTION)
            item["share"] = display(share, "percent")
