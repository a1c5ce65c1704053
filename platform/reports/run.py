"""Running a report: rights checked, one aggregate query, figures finished, rows labelled.

The steps of ``ReportRun.run``: ``authorize`` (read right on the object, and
no field the report reads is hidden from the viewer: such a report is refused
with 403 naming the field, rather than showing figures the viewer may not
see), ``query`` (GROUP BY in the database, the viewer's data scope in WHERE),
``finish`` (ratios and conversions divided, the target joined in), ``label``,
``order`` and ``drill`` (one records-list filter per row).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trellis.expressions import ExpressionError
from trellis.metadata.report_build import compile_condition, report_names
from trellis.metadata.report_definitions import MeasureDef, ReportDef
from trellis.reports import drill
from trellis.reports.buckets import as_date, bucket_end, bucket_key
from trellis.reports.labels import GroupLabels
from trellis.reports.query import (
    MAX_GROUPS,
    Moment,
    aggregate_select,
    condition,
    group_column,
    having_condition,
    target_select,
    where,
)
from trellis.reports.results import Column, ReportResult, ReportRow
from trellis.reports.sources import Sources
from trellis.runtime.errors import BadRequest, Forbidden, NotFound

#: Rows beyond this many get no drill-down queries (their drill-down says exact: false).
DRILL_ROWS = 200
FRACTION = Decimal("0.0001")
CENTS = Decimal("0.01")


def find_report(compiled, key: str) -> ReportDef:
    report = compiled.definitions.reports.get(key)
    if report is None or not report.active:
        raise NotFound(f"there is no report {key[:80]!r}; GET /api/v1/reports lists them")
    return report


def hidden_path(compiled, access_for, report: ReportDef, object_name: str, paths) -> str | None:
    """The first path the viewer may not see (own field, lookup or looked-up field)."""
    own = access_for(object_name)
    for path in sorted(paths):
        head, dot, tail = path.partition(".")
        if head in own.hidden:
            return f"{object_name}.{head}"
        if dot:
            target = compiled.objects[object_name].definition.by_name[head].options["target"]
            if tail in access_for(target).hidden:
                return f"{target}.{tail}"
    return None


class ReportRun:
    def __init__(self, records, conn, compiled, ctx, report: ReportDef):
        self.records = records
        self.conn = conn
        self.compiled = compiled
        self.ctx = ctx
        self.report = report
        self.moment = Moment(ctx.local_now, ctx.zone, conn.dialect.name)
        self.sources = Sources(compiled, report.object_name)
        self.notes: list[str] = []

    def access(self, object_name: str):
        return self.records.access(self.compiled, self.ctx, object_name)

    # -- steps ----------------------------------------------------------------

    def authorize(self):
        rt = self.records.object(self.compiled, self.report.object_name)
        access = self.records.authorize(self.compiled, self.ctx, rt, "read")
        hidden = hidden_path(
            self.compiled, self.access, self.report, self.report.object_name, self.report.paths
        )
        if hidden:
            raise Forbidden(
                f"report {self.report.key} reads {hidden}, which your role hides from you; "
                "ask an administrator for a report without it",
                [{"field": hidden, "message": "hidden by field security"}],
            )
        return access

    def extra_condition(self, source: str | None, access):
        if not source:
            return None
        names = report_names(self.compiled.definitions.objects, self.report.object_name)
        visible = {
            n: t
            for n, t in names.items()
            if not hidden_path(
                self.compiled, self.access, self.report, self.report.object_name, [n]
            )
        }
        try:
            return compile_condition(visible, source, now=self.moment.now)
        except ExpressionError as exc:
            detail = {"field": "filter", "message": exc.message}
            if exc.position is not None:
                detail["position"] = exc.position
            raise BadRequest(f"the filter is not valid: {exc.message}", [detail]) from None

    def run(self, extra_filter: str | None = None) -> ReportResult:
        access = self.authorize()
        extra = self.extra_condition(extra_filter, access)
        scope = access.read_condition(self.sources.table)
        scope_list = [scope] if scope is not None else []
        conditions = where(self.sources, self.report, scope, extra, self.moment)
        report = self.report
        raw_rows = []
        if report.groups:
            raw_rows = self.conn.execute(
                aggregate_select(self.sources, report, conditions, self.moment, grouped=True)
            ).all()
        truncated = len(raw_rows) > MAX_GROUPS
        raw_rows = raw_rows[:MAX_GROUPS]
        raw_total = self.conn.execute(
            aggregate_select(self.sources, report, conditions, self.moment, grouped=False)
        ).one()
        labels = [
            GroupLabels(self.conn, self.sources, g, {r[i] for r in raw_rows}, self.ctx.locale)
            for i, g in enumerate(report.groups)
        ]
        base = self._filter_parts(extra)
        rows = [self._row(r, labels) for r in raw_rows]
        totals = self._values_row(raw_total, offset=0, groups={})
        self._targets(rows, totals)
        rows = self._order(rows, labels)
        if report.limit:
            rows = rows[: report.limit]
        for n, row in enumerate(rows):
            self._drill(row, base, scope_list, enabled=n < DRILL_ROWS)
        self._drill(totals, base, scope_list, enabled=True)
        return ReportResult(
            key=report.key,
            label=report.label.get(self.ctx.locale),
            object=report.object_name,
            chart=report.chart,
            groups=[
                Column(g.api_name, g.label.get(self.ctx.locale), g.type) for g in report.groups
            ],
            measures=[
                Column(m.api_name, m.label.get(self.ctx.locale), m.format) for m in report.measures
            ],
            rows=rows,
            totals=totals,
            target_measure=report.target.measure if report.target else None,
            target_label=report.target.label.get(self.ctx.locale) if report.target else None,
            truncated=truncated,
            notes=self.notes,
        )

    # -- rows -------------------------------------------------------------------

    def _row(self, raw, labels: list[GroupLabels]) -> ReportRow:
        groups: dict[str, Any] = {}
        keys: dict[str, tuple] = {}
        for i, (g, lab) in enumerate(zip(self.report.groups, labels, strict=True)):
            value = raw[i]
            if g.bucket and value is not None:
                start = as_date(value)
                groups[g.api_name] = _group_value(bucket_key(start, g.bucket), lab.label(1, start))
                keys[g.api_name] = (value, (start, bucket_end(start, g.bucket), g.type))
            else:
                groups[g.api_name] = _group_value(value, lab.label(value))
                keys[g.api_name] = (value, None)
        row = self._values_row(raw, offset=len(self.report.groups), groups=groups)
        row.raw_keys = keys
        return row

    def _values_row(self, raw, *, offset: int, groups: dict) -> ReportRow:
        values: dict[str, Any] = {}
        mapping = raw._mapping
        for i, m in enumerate(self.report.measures):
            if m.function == "conversion":
                start, reached = mapping[f"m{i}_from"], mapping[f"m{i}_to"]
                values[m.api_name] = _divide(reached, start, FRACTION)
            elif not m.derived:
                values[m.api_name] = _normal(mapping[f"m{i}"], m.format)
        for m in self.report.measures:
            if m.derived:
                step = FRACTION if m.format == "percent" else CENTS
                values[m.api_name] = _divide(values[m.numerator], values[m.denominator], step)
        row = ReportRow(groups=groups, values=values, display={}, drill_down=None)
        row.display = {
            m.api_name: display(values[m.api_name], m.format) for m in self.report.measures
        }
        return row

    # -- targets ------------------------------------------------------------------

    def _targets(self, rows: list[ReportRow], totals: ReportRow) -> None:
        target = self.report.target
        if target is None:
            return
        if target.value is not None:
            per_row = {id(r): target.value for r in rows}
            total = target.value
        else:
            per_row, total = self._object_targets(rows)
        measure = self.report.measure(target.measure)
        for row in [*rows, totals]:
            row.target = total if row is totals else per_row.get(id(row))
            row.attainment = _divide(row.values.get(target.measure), row.target, FRACTION)
            if row.target is not None:
                row.display["target"] = display(row.target, measure.format)
                row.display["attainment"] = display(row.attainment, "percent")

    def _object_targets(self, rows: list[ReportRow]):
        target = self.report.target
        access = self.access(target.object_name)
        hidden = hidden_path(
            self.compiled, self.access, self.report, target.object_name, [target.path or "id"]
        )
        if not access.read or hidden:
            self.notes.append(f"targets come from {target.object_name}, which you cannot read")
            return {}, None
        sources = Sources(self.compiled, target.object_name)
        scope = access.read_condition(sources.table)
        groups = {g.api_name: g for g in self.report.groups}
        found = {}
        query = target_select(sources, target, groups, scope, self.moment, grouped=True)
        for raw in self.conn.execute(query):
            key = tuple(
                bucket_key(as_date(raw[i]), groups[name].bucket)
                if groups[name].bucket and raw[i] is not None
                else raw[i]
                for i, (name, _) in enumerate(target.match)
            )
            found[key] = _normal(raw[-1], "money")
        total_query = target_select(sources, target, groups, scope, self.moment, grouped=False)
        total = _normal(self.conn.execute(total_query).scalar(), "money")
        per_row = {
            id(row): found.get(tuple(row.groups[name].value for name, _ in target.match))
            for row in rows
        }
        return per_row, total

    # -- order and drill-down ---------------------------------------------------------

    def _order(self, rows: list[ReportRow], labels: list[GroupLabels]) -> list[ReportRow]:
        by_group = {g.api_name: lab for g, lab in zip(self.report.groups, labels, strict=True)}
        sort = self.report.sort or ()
        for s in reversed(sort):
            if s.by in by_group:
                rows.sort(
                    key=lambda r, s=s: by_group[s.by].order(r.raw_keys[s.by][0]),
                    reverse=s.descending,
                )
            else:
                present = [r for r in rows if _sort_value(r, s.by) is not None]
                blank = [r for r in rows if _sort_value(r, s.by) is None]
                present.sort(key=lambda r, s=s: _sort_value(r, s.by), reverse=s.descending)
                rows = present + blank
        if not sort:
            for name in reversed(list(by_group)):
                rows.sort(key=lambda r, name=name: by_group[name].order(r.raw_keys[name][0]))
        return rows

    def _filter_parts(self, extra) -> list[drill.Part]:
        parts = []
        for expr in (self.report.filter, extra):
            if expr is not None:
                parts.append(
                    drill.expression_part(condition(self.sources, expr, self.moment), expr)
                )
        return parts

    def _drill(self, row: ReportRow, base: list, scope: list, *, enabled: bool) -> None:
        name = self.report.object_name
        if not enabled:
            row.drill_down = drill.DrillDown(name, None, exact=False)
            return
        parts = list(base)
        for g in self.report.groups if row.raw_keys else ():  # the totals row has none
            value, bucket_range = row.raw_keys[g.api_name]
            column = group_column(self.sources, g, self.moment)
            parts.append(drill.group_part(column, g.path, value, bucket_range))
        row.drill_down = drill.drill_down(self.conn, self.sources, scope, parts)
        for m in self.report.measures:
            extra = self._measure_parts(m)
            if extra:
                row.measure_drill_downs[m.api_name] = drill.drill_down(
                    self.conn, self.sources, scope, parts + extra
                )

    def _measure_parts(self, m: MeasureDef) -> list[drill.Part]:
        exprs = [m.filter] if m.function != "conversion" else [m.from_, m.to]
        parts = [
            drill.expression_part(condition(self.sources, e, self.moment), e)
            for e in exprs
            if e is not None
        ]
        if m.having is not None:  # records pointed at by others: named by their ids
            parts.append(drill.Part(having_condition(self.sources, m.having, self.moment), None))
        return parts


def _group_value(value, label):
    from trellis.reports.results import GroupValue

    return GroupValue(value, label)


def _sort_value(row: ReportRow, name: str):
    if name == "target":
        return row.target
    return row.values.get(name)


def _normal(value, fmt: str):
    """Database numbers as int (whole) or Decimal; money to cents."""
    if value is None or isinstance(value, bool):
        return None if value is None else int(value)
    if isinstance(value, int) or hasattr(value, "isoformat"):
        return value
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if fmt == "money":
        return number.quantize(CENTS)
    if number == number.to_integral_value():
        return int(number)
    return number.quantize(FRACTION)


def _divide(top, bottom, step: Decimal):
    if top is None or not bottom:
        return None
    return (Decimal(top) / Decimal(bottom)).quantize(step)


def display(value, fmt: str) -> str:
    """A value as people read it: 26.7%, 1,234,500.00, 1,200."""
    if value is None:
        return "–"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if fmt == "percent":
        return f"{Decimal(value) * 100:.1f}%"
    if fmt == "money":
        return f"{Decimal(value):,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"


def run_report(runtime, ctx, key: str, extra_filter: str | None = None) -> ReportResult:
    with runtime.records.session(ctx, write=False) as (conn, compiled):
        report = find_report(compiled, key)
        return ReportRun(runtime.records, conn, compiled, ctx, report).run(extra_filter)
