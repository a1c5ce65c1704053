"""A report as one aggregate query: GROUP BY in the database, the viewer's scope in WHERE.

Nothing here fetches records: the database returns one row per group (at most
``MAX_GROUPS``), with every measure the database can compute. Ratios are
divided afterwards from those figures (``trellis.reports.run``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from trellis.expressions import to_sql
from trellis.metadata.report_build import value_kind
from trellis.metadata.report_definitions import GroupDef, MeasureDef, ReportDef, TargetDef
from trellis.reports.buckets import bucket_start
from trellis.reports.sources import Sources

#: More groups than a chart or a table can show; beyond it the result says ``truncated``.
MAX_GROUPS = 1000


@dataclass(frozen=True)
class Moment:
    """When and where a report runs: the viewer's time zone and the database dialect."""

    now: dt.datetime  # aware, in the viewer's zone (TODAY() is their day)
    zone: ZoneInfo
    dialect: str


def condition(sources: Sources, expr, moment: Moment) -> sa.ColumnElement:
    return to_sql(expr, sources.column, now=moment.now)


def group_column(sources: Sources, group: GroupDef, moment: Moment) -> sa.ColumnElement:
    column = sources.column(group.path)
    if group.bucket is None:
        return column
    return bucket_start(column, group.bucket, group.type, moment.dialect, moment.zone, moment.now)


def measure_columns(
    sources: Sources, measure: MeasureDef, index: int, moment: Moment
) -> list[sa.ColumnElement]:
    """The SQL aggregates of one measure (two for a conversion: its from and to counts)."""
    if measure.derived:
        return []
    if measure.function == "conversion":
        start = condition(sources, measure.from_, moment) if measure.from_ is not None else None
        reached = condition(sources, measure.to, moment)
        both = sa.and_(start, reached) if start is not None else reached
        base = sa.func.count(sa.case((start, 1))) if start is not None else sa.func.count()
        return [
            base.label(f"m{index}_from"),
            sa.func.count(sa.case((both, 1))).label(f"m{index}_to"),
        ]
    only = measure_condition(sources, measure, moment)
    return [_aggregate(sources, measure.function, measure.path, only).label(f"m{index}")]


def measure_condition(sources: Sources, measure: MeasureDef, moment: Moment):
    """Which records an aggregate measure counts: its filter and its ``having``, or None (all)."""
    parts = []
    if measure.filter is not None:
        parts.append(condition(sources, measure.filter, moment))
    if measure.having is not None:
        parts.append(having_condition(sources, measure.having, moment))
    return sa.and_(*parts) if parts else None


def having_condition(sources: Sources, having, moment: Moment) -> sa.ColumnElement:
    """EXISTS a record of the other object pointing at this one (and matching its filter)."""
    child = Sources(sources.compiled, having.object_name, alias=f"has_{having.object_name}")
    links = [child.table.c[having.via] == sources.table.c.id]
    if having.filter is not None:
        links.append(condition(child, having.filter, moment))
    return sa.select(1).select_from(child.from_clause()).where(*links).exists()


def _aggregate(sources: Sources, function: str, path: str | None, only) -> sa.ColumnElement:
    if path is None:  # count of records
        return sa.func.count(sa.case((only, 1))) if only is not None else sa.func.count()
    column = sources.column(path)
    value = sa.case((only, column)) if only is not None else column
    if function == "count_distinct":
        return sa.func.count(sa.distinct(value))
    return getattr(sa.func, function)(value)


def where(sources: Sources, report: ReportDef, scope, extra, moment: Moment) -> list:
    conditions = [scope] if scope is not None else []
    if report.filter is not None:
        conditions.append(condition(sources, report.filter, moment))
    if extra is not None:
        conditions.append(condition(sources, extra, moment))
    return conditions


def aggregate_select(
    sources: Sources, report: ReportDef, conditions: list, moment: Moment, *, grouped: bool
) -> sa.Select:
    """One row per group (or one row of totals when ``grouped`` is False)."""
    groups = (
        [group_column(sources, g, moment).label(f"g{i}") for i, g in enumerate(report.groups)]
        if grouped
        else []
    )
    measures = [
        col for i, m in enumerate(report.measures) for col in measure_columns(sources, m, i, moment)
    ]
    query = sa.select(*groups, *measures).select_from(sources.from_clause()).where(*conditions)
    if groups:
        query = query.group_by(*groups).order_by(*groups).limit(MAX_GROUPS + 1)
    return query


def target_select(
    sources: Sources,
    target: TargetDef,
    groups: dict[str, GroupDef],
    scope,
    moment: Moment,
    *,
    grouped: bool,
) -> sa.Select:
    """The target object's figure per matched group (or in total)."""
    keys = []
    if grouped:
        for i, (name, path) in enumerate(target.match):
            group = groups[name]
            if group.bucket:
                kind = value_kind(sources.field(path))
                column = bucket_start(
                    sources.column(path),
                    group.bucket,
                    kind,
                    moment.dialect,
                    moment.zone,
                    moment.now,
                )
            else:
                column = sources.column(path)
            keys.append(column.label(f"t{i}"))
    value = _aggregate(sources, target.function, target.path, None).label("target")
    conditions = [scope] if scope is not None else []
    if target.filter is not None:
        conditions.append(condition(sources, target.filter, moment))
    query = sa.select(*keys, value).select_from(sources.from_clause()).where(*conditions)
    return query.group_by(*keys).limit(MAX_GROUPS + 1) if keys else query
