"""Chart-ready data: a report result as the data part of an Apache ECharts option.

``chart_data(result, chart, measures)`` returns a dict a page hands to ECharts
after adding its own styling: ``{"option": {...}}`` with ``series`` (and
``xAxis``/``legend`` for bar and line), or ``{"kpi": {...}}`` for a KPI card and
``{"table": {...}}`` for a table. Values are plain numbers (percent measures
in percent: 26.7 for 26.7 %); every data item carries the ``drill_down`` of its
segment, which ECharts passes back untouched in a click event's ``params.data``.
Labels are data: a page must set them as text, never as HTML.
"""

from __future__ import annotations

from typing import Any

from trellis.reports.results import ReportResult, ReportRow


def number(value, fmt: str) -> float | int | None:
    if value is None:
        return None
    if fmt == "percent":
        return round(float(value) * 100, 2)
    return value if isinstance(value, int) else float(value)


def _measures(result: ReportResult, names: tuple[str, ...]) -> list:
    return [result.measure(n) for n in names] if names else list(result.measures)


def _item(row: ReportRow, measure, **extra) -> dict[str, Any]:
    drill = row.measure_drill_downs.get(measure.api_name, row.drill_down)
    return {
        **extra,
        "value": number(row.values.get(measure.api_name), measure.format),
        "drill_down": drill.as_json(),
    }


def chart_data(result: ReportResult, chart: str, names: tuple[str, ...] = ()) -> dict[str, Any]:
    measures = _measures(result, names)
    if chart == "kpi":
        return {"kpi": _kpi(result, measures[0])}
    if chart == "table":
        return {"table": _table(result, measures)}
    if chart == "gauge":
        return {"option": _gauge(result, measures[0])}
    if chart in ("funnel", "pie"):
        return {"option": _slices(result, chart, measures)}
    return {"option": _axes(result, chart, measures)}


def _kpi(result: ReportResult, measure) -> dict[str, Any]:
    totals = result.totals
    return {
        "label": measure.label,
        "value": number(totals.values.get(measure.api_name), measure.format),
        "display": totals.display.get(measure.api_name, ""),
        "format": measure.format,
        "target": float(totals.target) if totals.target is not None else None,
        "attainment": number(totals.attainment, "percent"),
        "drill_down": totals.measure_drill_downs.get(measure.api_name, totals.drill_down).as_json(),
    }


def _table(result: ReportResult, measures) -> dict[str, Any]:
    return {
        "columns": [g.as_json() for g in result.groups] + [m.as_json() for m in measures],
        "rows": [
            {
                "cells": [g.label for g in row.groups.values()]
                + [row.display.get(m.api_name, "") for m in measures],
                "drill_down": row.drill_down.as_json(),
            }
            for row in result.rows
        ],
    }


def _gauge(result: ReportResult, measure) -> dict[str, Any]:
    totals = result.totals
    value = number(totals.values.get(measure.api_name), measure.format)
    if measure.format == "percent":
        top = 100
    elif totals.target is not None and result.target_measure == measure.api_name:
        top = max(float(totals.target), float(value or 0))
    else:
        top = max(float(value or 0) * 1.25, 1)
    return {
        "series": [
            {
                "type": "gauge",
                "min": 0,
                "max": top,
                "data": [_item(totals, measure, name=measure.label)],
            }
        ]
    }


def _slices(result: ReportResult, chart: str, measures) -> dict[str, Any]:
    if not result.groups:  # a funnel of measures: leads → accounts → opportunities → wins
        shown = [m for m in measures if m.format != "percent"] or measures
        data = [_item(result.totals, m, name=m.label) for m in shown]
    else:
        data = [_item(row, measures[0], name=row.label) for row in result.rows]
    series: dict[str, Any] = {"type": chart, "data": data}
    if chart == "funnel":
        series["sort"] = "none"  # keep the stages in their order, not by size
    return {"legend": {"data": [d["name"] for d in data]}, "series": [series]}


def _axes(result: ReportResult, chart: str, measures) -> dict[str, Any]:
    if len(result.groups) >= 2:
        return _pivot(result, chart, measures[0])
    categories = [row.label for row in result.rows]
    series = [
        {"name": m.label, "type": chart, "data": [_item(row, m) for row in result.rows]}
        for m in measures
    ]
    if result.target_measure and any(r.target is not None for r in result.rows):
        series.append(
            {
                "name": result.target_label,
                "type": "line" if chart == "bar" else chart,
                "data": [
                    {"value": float(r.target) if r.target is not None else None}
                    for r in result.rows
                ],
            }
        )
    return {
        "legend": {"data": [s["name"] for s in series]},
        "xAxis": {"type": "category", "data": categories},
        "yAxis": {"type": "value"},
        "series": series,
    }


def _pivot(result: ReportResult, chart: str, measure) -> dict[str, Any]:
    """Two groups: the first along the axis, one series per value of the second."""
    first, second = result.groups[0].api_name, result.groups[1].api_name
    categories: list[str] = []
    names: list[str] = []
    cells: dict[tuple[str, str], ReportRow] = {}
    for row in result.rows:
        a, b = row.groups[first].label, row.groups[second].label
        if a not in categories:
            categories.append(a)
        if b not in names:
            names.append(b)
        cells[(a, b)] = row
    series = [
        {
            "name": name,
            "type": chart,
            "stack": measure.api_name if chart == "bar" else None,
            "data": [
                _item(cells[(a, name)], measure) if (a, name) in cells else {"value": None}
                for a in categories
            ],
        }
        for name in names
    ]
    return {
        "legend": {"data": names},
        "xAxis": {"type": "category", "data": categories},
        "yAxis": {"type": "value"},
        "series": series,
    }
