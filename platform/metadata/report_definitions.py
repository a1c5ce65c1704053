"""Frozen report and dashboard definitions (docs/reports.md).

``report_build`` checks the JSON and builds these; ``trellis.reports`` runs
them. A report is keyed ``"object.api_name"`` (``"opportunity.pipeline_by_stage"``),
a dashboard by its api_name alone.

Paths name a field of the source object (``stage``) or, through one lookup, a
field of the record it points to (``account.region``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trellis.metadata.definitions import Label

BUCKETS = ("day", "week", "month", "quarter", "year")
#: Measures computed in the database; ``ratio`` and ``conversion`` are computed from them.
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
CHARTS = ("funnel", "bar", "line", "pie", "gauge", "table", "kpi")


@dataclass(frozen=True, slots=True)
class GroupDef:
    """One grouping: a field (own or through a lookup), optionally cut into time buckets."""

    api_name: str
    path: str
    label: Label
    #: the field type at the end of the path (``picklist``, ``lookup``, ``date`` …)
    type: str
    bucket: str | None = None

    @property
    def lookup(self) -> str | None:
        """The lookup a related path goes through (``account`` for ``account.region``)."""
        return self.path.split(".", 1)[0] if "." in self.path else None


@dataclass(frozen=True, slots=True)
class HavingDef:
    """Only records that at least one record of ``object_name`` points at through ``via``
    (matching ``filter``): a lead having an opportunity, an account having a won deal."""

    object_name: str
    via: str
    filter: Any = None  # CompiledExpression on object_name


@dataclass(frozen=True, slots=True)
class MeasureDef:
    """One figure per group.

    ``filter`` (a compiled condition) narrows which records an aggregate counts;
    ``conversion`` counts ``to`` among the records matching ``from_`` and divides.
    ``format`` is how a value is shown: ``number``, ``money`` or ``percent``.
    """

    api_name: str
    label: Label
    function: str
    format: str
    path: str | None = None
    filter: Any = None  # CompiledExpression
    numerator: str | None = None
    denominator: str | None = None
    from_: Any = None  # CompiledExpression
    to: Any = None  # CompiledExpression
    having: HavingDef | None = None

    @property
    def derived(self) -> bool:
        """True for measures computed from others after the query (ratio)."""
        return self.function == "ratio"


@dataclass(frozen=True, slots=True)
class TargetDef:
    """What one measure is compared with: a fixed number, or an aggregate of another object.

    ``match`` maps each of the report's groups to the target object's field that
    holds the same value (``{"department": "department"}``); a bucketed group's
    field is a date cut into the same buckets.
    """

    measure: str
    label: Label
    value: Decimal | None = None
    object_name: str | None = None
    function: str = "sum"
    path: str | None = None
    filter: Any = None
    match: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SortDef:
    by: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ReportDef:
    api_name: str
    object_name: str
    label: Label
    measures: tuple[MeasureDef, ...]
    groups: tuple[GroupDef, ...] = ()
    filter: Any = None  # CompiledExpression
    target: TargetDef | None = None
    sort: tuple[SortDef, ...] = ()
    limit: int | None = None
    chart: str = "table"
    description: Label | None = None
    active: bool = True
    #: every path the report reads (groups, measures, filters): field security checks them
    paths: frozenset[str] = frozenset()
    provenance: str = "custom"

    @property
    def key(self) -> str:
        return f"{self.object_name}.{self.api_name}"

    def measure(self, name: str) -> MeasureDef | None:
        return next((m for m in self.measures if m.api_name == name), None)


@dataclass(frozen=True, slots=True)
class PositionDef:
    x: int = 0
    y: int = 0
    w: int = 6
    h: int = 4


@dataclass(frozen=True, slots=True)
class WidgetDef:
    api_name: str
    report: str  # "object.api_name"
    chart: str
    title: Label
    position: PositionDef
    #: the report's measures this widget shows (all of them when the definition names none)
    measures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DashboardDef:
    api_name: str
    label: Label
    widgets: tuple[WidgetDef, ...]
    description: Label | None = None
    columns: int = 12
    provenance: str = "custom"
