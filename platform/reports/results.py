"""What running a report or a dashboard returns, and its JSON form.

In Python, measure values are ``int`` (counts) or ``Decimal`` (sums, averages,
ratios; a ratio or conversion is a fraction, 0.2667 for 26.67 %). In JSON
(``as_json``) money measures are strings (``"1234500.00"``, exact, like money
fields everywhere in the API) and every other value is a number; ``display``
holds each value formatted for people (``"26.7%"``, ``"1,234,500.00"``), and
chart data (``trellis.reports.charts``) is always plain numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class GroupValue:
    """One group's value in a row: ``value`` is what the drill-down filters on
    (a picklist api_name, a record id, a bucket name such as ``2026-Q1``), ``label``
    what a person reads."""

    value: Any
    label: str

    def as_json(self) -> dict[str, Any]:
        value = self.value.isoformat() if isinstance(self.value, dt.date) else self.value
        return {"value": value, "label": self.label}


@dataclass(frozen=True)
class DrillDown:
    """The records behind a segment, as the records list API lists them.

    ``filter`` is an expression for ``GET /api/v1/objects/<object>/records?filter=…``
    (None with ``exact`` True: every record the viewer can read); ``exact`` is False
    (and ``filter`` None) when the records are too many to name one by one and the
    segment cannot be written with the object's own fields.
    """

    object: str
    filter: str | None
    exact: bool = True

    @property
    def url(self) -> str | None:
        if not self.exact:
            return None
        if self.filter is None:
            return f"/api/v1/objects/{self.object}/records"
        return f"/api/v1/objects/{self.object}/records?filter={quote(self.filter, safe='')}"

    def as_json(self) -> dict[str, Any]:
        return {"object": self.object, "filter": self.filter, "exact": self.exact, "url": self.url}


@dataclass
class ReportRow:
    groups: dict[str, GroupValue]
    values: dict[str, int | Decimal | None]
    display: dict[str, str]
    drill_down: DrillDown
    #: drill-downs of measures that count only some records (a filter, a conversion's stage)
    measure_drill_downs: dict[str, DrillDown] = field(default_factory=dict)
    target: Decimal | None = None
    attainment: Decimal | None = None
    #: the database's own group values (and a bucket's date range), for drill-down
    raw_keys: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def label(self) -> str:
        return " / ".join(g.label for g in self.groups.values())

    def as_json(self, money: set[str]) -> dict[str, Any]:
        return {
            "groups": {k: g.as_json() for k, g in self.groups.items()},
            "label": self.label,
            "values": {k: json_number(v, k in money) for k, v in self.values.items()},
            "display": self.display,
            "target": json_number(self.target, True),
            "attainment": json_number(self.attainment, False),
            "drill_down": self.drill_down.as_json(),
            "measure_drill_downs": {k: d.as_json() for k, d in self.measure_drill_downs.items()},
        }


@dataclass(frozen=True)
class Column:
    """A group or a measure as a table header: api_name, label, and for measures the format."""

    api_name: str
    label: str
    format: str = "text"

    def as_json(self) -> dict[str, Any]:
        return {"api_name": self.api_name, "label": self.label, "format": self.format}


@dataclass
class ReportResult:
    key: str
    label: str
    object: str
    chart: str
    groups: list[Column]
    measures: list[Column]
    rows: list[ReportRow]
    totals: ReportRow
    target_measure: str | None = None
    target_label: str | None = None
    #: True when there were more groups than a report returns (``MAX_GROUPS``)
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def measure(self, name: str) -> Column:
        return next(m for m in self.measures if m.api_name == name)

    def as_json(self) -> dict[str, Any]:
        money = {m.api_name for m in self.measures if m.format == "money"}
        return {
            "key": self.key,
            "label": self.label,
            "object": self.object,
            "chart": self.chart,
            "groups": [g.as_json() for g in self.groups],
            "measures": [m.as_json() for m in self.measures],
            "rows": [r.as_json(money) for r in self.rows],
            "totals": self.totals.as_json(money),
            "target": {"measure": self.target_measure, "label": self.target_label}
            if self.target_measure
            else None,
            "truncated": self.truncated,
            "notes": self.notes,
        }


@dataclass
class WidgetResult:
    api_name: str
    title: str
    chart: str
    position: dict[str, int]
    report: ReportResult | None
    chart_data: dict[str, Any] | None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "api_name": self.api_name,
            "title": self.title,
            "chart": self.chart,
            "position": self.position,
            "report": self.report.as_json() if self.report else None,
            "chart_data": self.chart_data,
            "error": self.error,
        }


@dataclass
class DashboardResult:
    name: str
    label: str
    columns: int
    widgets: list[WidgetResult]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "columns": self.columns,
            "widgets": [w.as_json() for w in self.widgets],
        }


def json_number(value: Any, money: bool) -> int | float | str | None:
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, dt.date):  # min/max of a date field
        return value.isoformat()
    if money:
        return str(value)
    return float(value)
