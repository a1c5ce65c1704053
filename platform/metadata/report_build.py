"""Check reports and dashboards (docs/reports.md); freeze them into ``ReportDef``, ``DashboardDef``.

The checks catch, when a definition is saved, what would make a report fail or
mislead every time it runs: fields exist on the source or the looked-up
object and are stored (a report is one aggregate query, so it reads columns),
sums and averages are of numbers, time buckets cut dates, groups are fields
with few distinct values, filters compile in the expression language and to
SQL, a ratio names measures of the same report, a target lines up with every
group, and a dashboard's widgets name reports that exist. Every problem names
its component and JSON pointer; ``build`` calls ``build_reports`` once the
objects are compiled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError, ExprType, compile_expression, to_sql
from trellis.metadata.components import Component
from trellis.metadata.definitions import FieldDef, Label, ObjectDef
from trellis.metadata.problems import Problem
from trellis.metadata.report_definitions import (
    DashboardDef,
    GroupDef,
    HavingDef,
    MeasureDef,
    PositionDef,
    ReportDef,
    SortDef,
    TargetDef,
    WidgetDef,
)

NUMERIC = frozenset({"integer", "decimal", "currency", "percent"})
TEMPORAL = frozenset({"date", "datetime"})
#: Types whose values repeat enough to group by; long text, multi-picklists and
#: money would give one group per record.
GROUPABLE = frozenset(
    {
        "text",
        "email",
        "phone",
        "url",
        "credit_code",
        "auto_number",
        "picklist",
        "boolean",
        "lookup",
        "user",
        "integer",
        "date",
        "datetime",
    }
)
MAX_PLAIN_GROUPS = 2


def value_kind(f: FieldDef) -> str:
    """The type a field's values have: a formula's or roll-up's return type, else its own."""
    if f.type in ("formula", "rollup"):
        return f.options.get("return_type", "decimal")
    return f.type


def resolve_path(
    objects: Mapping[str, ObjectDef], obj: ObjectDef, path: str
) -> tuple[FieldDef | None, str]:
    """The field a path ends at, or None and the reason it cannot be read."""
    head, dot, tail = path.partition(".")
    first = obj.by_name.get(head)
    if first is None or first.archived:
        return None, f"{head!r} is not a field of {obj.api_name}"
    if not dot:
        return (first, "") if first.stored else (None, _not_stored(first))
    if first.type != "lookup":
        return None, f"{head!r} is a {first.type} field, not a lookup, so {path!r} cannot be read"
    target = objects.get(first.options.get("target"))
    f = target.by_name.get(tail) if target else None
    if f is None or f.archived:
        return None, f"{tail!r} is not a field of {first.options.get('target')} (via {head!r})"
    return (f, "") if f.stored and first.stored else (None, _not_stored(f))


def _not_stored(f: FieldDef) -> str:
    return (
        f"{f.path} is computed when a record is read, so a report cannot aggregate it; "
        'make it a stored formula ("stored": true)'
    )


def report_names(objects: Mapping[str, ObjectDef], object_name: str) -> dict[str, ExprType]:
    """Names a report's filters may use: stored fields, and stored fields through a lookup."""
    obj = objects[object_name]
    names: dict[str, ExprType] = {}
    for f in obj.live_fields:
        if not f.stored:
            continue
        names[f.api_name] = f.field_type.value_type(f)
        target = objects.get(f.options.get("target")) if f.type == "lookup" else None
        for g in target.live_fields if target else ():
            if g.stored:
                names[f"{f.api_name}.{g.api_name}"] = g.field_type.value_type(g)
    return names


def compile_condition(
    names: Mapping[str, ExprType], source: str, *, now: dt.datetime | None = None
) -> Any:
    """Compile a report condition and check that it has an SQL form; ExpressionError if not."""
    expr = compile_expression(source, dict(names), expected=ExprType.BOOLEAN, max_length=2000)
    to_sql(expr, lambda name: sa.column(name), now=now or dt.datetime.now(dt.UTC))
    return expr


@dataclass
class _Scope:
    """One report being checked: where problems go and what its filters may name."""

    key: str
    objects: Mapping[str, ObjectDef]
    obj: ObjectDef
    problems: list[Problem]
    paths: set[str] = field(default_factory=set)
    _names: dict[str, dict[str, ExprType]] = field(default_factory=dict)

    def problem(self, place: str, message: str) -> None:
        self.problems.append(Problem(self.key, place, message))

    def names(self, object_name: str) -> dict[str, ExprType]:
        if object_name not in self._names:
            self._names[object_name] = report_names(self.objects, object_name)
        return self._names[object_name]

    def field(self, place: str, path: str, obj: ObjectDef | None = None) -> FieldDef | None:
        f, why = resolve_path(self.objects, obj or self.obj, path)
        if f is None:
            self.problem(place, why)
        elif obj is None:
            self.paths.add(path)
        return f

    def condition(self, place: str, source: str | None, object_name: str | None = None) -> Any:
        if source is None:
            return None
        try:
            expr = compile_condition(self.names(object_name or self.obj.api_name), source)
        except ExpressionError as exc:
            self.problem(place, exc.message)
            return None
        if object_name is None:
            self.paths.update(expr.dependencies)
        return expr


def build_reports(
    effective: Mapping[str, Component],
    objects: Mapping[str, ObjectDef],
    problems: list[Problem],
    *,
    known: frozenset[str] = frozenset(),
    provenance: Callable[[str], str] = lambda key: "custom",
) -> tuple[Mapping[str, ReportDef], Mapping[str, DashboardDef]]:
    """Check and freeze every report and dashboard; problems are appended to ``problems``."""
    reports: dict[str, ReportDef] = {}
    for comp in sorted(effective.values(), key=lambda c: c.key):
        if comp.kind != "report":
            continue
        obj = objects.get(comp.definition["object"])
        if obj is None or obj.archived:
            known = ", ".join(sorted(objects)) or "none yet"
            problems.append(
                Problem(
                    comp.key,
                    "/object",
                    f"there is no object {comp.definition['object']!r} to report on; "
                    f"known objects: {known}",
                )
            )
            continue
        scope = _Scope(comp.key, objects, obj, problems)
        report = _report(scope, comp.definition, provenance(comp.key))
        reports[comp.key.split(":", 1)[1]] = report
    # A dashboard may name a report whose own definition is broken: that is
    # reported once, as the report, not again as missing.
    known_reports = {k.split(":", 1)[1] for k in known | set(effective) if k.startswith("report:")}
    dashboards = {
        comp.definition["api_name"]: _dashboard(comp, reports, known_reports, problems, provenance)
        for comp in sorted(effective.values(), key=lambda c: c.key)
        if comp.kind == "dashboard"
    }
    return MappingProxyType(reports), MappingProxyType(dashboards)


def _report(scope: _Scope, raw: dict[str, Any], provenance: str) -> ReportDef:
    groups = _groups(scope, raw.get("group_by", []))
    measures = _measures(scope, raw["measures"])
    names = [g.api_name for g in groups] + [m.api_name for m in measures]
    for name in sorted({n for n in names if names.count(n) > 1}):
        scope.problem(
            "/measures", f"{name!r} names two groups or measures; give each its own api_name"
        )
    report_filter = scope.condition("/filter", raw.get("filter"))
    target = _target(scope, raw["target"], groups, measures) if "target" in raw else None
    sort = tuple(_sort(scope, i, s, set(names)) for i, s in enumerate(raw.get("sort", [])))
    return ReportDef(
        api_name=raw["api_name"],
        object_name=raw["object"],
        label=Label.from_json(raw["label"]),
        measures=measures,
        groups=groups,
        filter=report_filter,
        target=target,
        sort=sort,
        limit=raw.get("limit"),
        chart=raw.get("chart", "bar" if groups else "kpi"),
        description=Label.from_json(raw["description"]) if "description" in raw else None,
        active=raw.get("active", True),
        paths=frozenset(scope.paths),
        provenance=provenance,
    )


def _groups(scope: _Scope, raw_groups: list[dict[str, Any]]) -> tuple[GroupDef, ...]:
    groups = []
    plain = [g for g in raw_groups if "bucket" not in g]
    if len(plain) > MAX_PLAIN_GROUPS:
        scope.problem(
            "/group_by",
            f"a report groups by at most {MAX_PLAIN_GROUPS} fields plus one time bucket",
        )
    if len(raw_groups) - len(plain) > 1:
        scope.problem("/group_by", "a report has at most one time bucket")
    for i, raw in enumerate(raw_groups):
        place = f"/group_by/{i}"
        f = scope.field(f"{place}/field", raw["field"])
        if f is None:
            continue
        kind = value_kind(f)
        bucket = raw.get("bucket")
        if bucket and kind not in TEMPORAL:
            scope.problem(
                f"{place}/bucket",
                f"{raw['field']!r} is a {kind} field; time buckets cut date or date-time fields",
            )
        elif kind not in GROUPABLE:
            scope.problem(
                f"{place}/field",
                f"{raw['field']!r} is a {kind} field, which has a different value on almost "
                "every record; group by a picklist, lookup, user, text, whole number, "
                "checkbox or date",
            )
        default = raw["field"].replace(".", "_") + (f"_{bucket}" if bucket else "")
        groups.append(
            GroupDef(
                api_name=raw.get("api_name", default),
                path=raw["field"],
                label=Label.from_json(raw["label"]) if "label" in raw else f.label,
                type=kind,
                bucket=bucket,
            )
        )
    return tuple(groups)


def _measures(scope: _Scope, raw_measures: list[dict[str, Any]]) -> tuple[MeasureDef, ...]:
    names = {m["api_name"] for m in raw_measures}
    built = []
    for i, raw in enumerate(raw_measures):
        place = f"/measures/{i}"
        function = raw["function"]
        kind = _measure_field(scope, place, raw, function)
        if function == "ratio":
            _ratio_parts(scope, place, raw, names, {m["api_name"]: m for m in raw_measures})
        fmt = raw.get("format") or _default_format(function, kind)
        built.append(
            MeasureDef(
                api_name=raw["api_name"],
                label=Label.from_json(raw["label"]),
                function=function,
                format=fmt,
                path=raw.get("field"),
                filter=scope.condition(f"{place}/filter", raw.get("filter")),
                numerator=raw.get("numerator"),
                denominator=raw.get("denominator"),
                from_=scope.condition(f"{place}/from", raw.get("from")),
                to=scope.condition(f"{place}/to", raw.get("to")),
                having=_having(scope, f"{place}/having", raw["having"])
                if "having" in raw
                else None,
            )
        )
        if function == "conversion" and "to" not in raw:
            scope.problem(
                f"{place}/to",
                "a conversion needs 'to', the condition of the later stage "
                "(e.g. \"stage == 'won'\"); 'from' (the earlier stage) defaults to every record",
            )
    return tuple(built)


def _measure_field(scope: _Scope, place: str, raw: dict[str, Any], function: str) -> str | None:
    """Check the measured field; its value kind, or None."""
    path = raw.get("field")
    if function in ("ratio", "conversion"):
        if path:
            scope.problem(f"{place}/field", f"a {function} measure takes no field; remove it")
        return None
    if path is None:
        if function != "count":
            scope.problem(f"{place}/field", f"a {function} measure needs 'field'; add it")
        return None
    f = scope.field(f"{place}/field", path)
    if f is None:
        return None
    kind = value_kind(f)
    if function in ("sum", "avg") and kind not in NUMERIC:
        scope.problem(
            f"{place}/field",
            f"{function} needs a number field; {path!r} is a {kind} field "
            "(count it, or take its min or max)",
        )
    elif function in ("min", "max") and kind not in NUMERIC | TEMPORAL:
        scope.problem(
            f"{place}/field", f"{function} needs a number or date field; {path!r} is {kind}"
        )
    return kind


def _having(scope: _Scope, place: str, raw: dict[str, Any]) -> HavingDef | None:
    child = scope.objects.get(raw["object"])
    if child is None or child.archived:
        scope.problem(f"{place}/object", f"there is no object {raw['object']!r}")
        return None
    via = child.by_name.get(raw["via"])
    if via is None or via.type != "lookup" or via.options.get("target") != scope.obj.api_name:
        scope.problem(
            f"{place}/via",
            f"{raw['via']!r} must be a lookup field on {child.api_name} "
            f"that points to {scope.obj.api_name}",
        )
        return None
    where = scope.condition(f"{place}/filter", raw.get("filter"), child.api_name)
    return HavingDef(child.api_name, raw["via"], where)


def _ratio_parts(scope: _Scope, place: str, raw, names: set[str], by_name: dict) -> None:
    for part in ("numerator", "denominator"):
        name = raw.get(part)
        if name is None:
            scope.problem(f"{place}/{part}", f"a ratio needs '{part}', the name of a measure")
        elif name not in names or name == raw["api_name"]:
            scope.problem(
                f"{place}/{part}",
                f"{name!r} is not another measure of this report; "
                f"measures: {', '.join(sorted(names - {raw['api_name']}))}",
            )
        elif by_name[name]["function"] == "ratio":
            scope.problem(
                f"{place}/{part}",
                f"{name!r} is itself a ratio; divide the measures it is made of instead",
            )


def _default_format(function: str, kind: str | None) -> str:
    if function in ("ratio", "conversion"):
        return "percent" if function == "conversion" else "number"
    if kind == "currency" and function in ("sum", "avg", "min", "max"):
        return "money"
    return "number"


def _target(scope: _Scope, raw, groups, measures) -> TargetDef | None:
    if not any(m.api_name == raw["measure"] for m in measures):
        scope.problem(
            "/target/measure",
            f"{raw['measure']!r} is not a measure of this report; "
            f"measures: {', '.join(m.api_name for m in measures)}",
        )
    label = Label.from_json(raw.get("label", {"zh-CN": "目标", "en": "Target"}))
    if "value" in raw:
        extra = sorted({"object", "field", "filter", "match", "function"} & set(raw))
        if extra:
            scope.problem("/target", f"a fixed target takes no {', '.join(extra)}; remove them")
        return TargetDef(raw["measure"], label, value=Decimal(str(raw["value"])))
    obj = scope.objects.get(raw["object"])
    if obj is None or obj.archived:
        scope.problem(
            "/target/object", f"there is no object {raw['object']!r} to read targets from"
        )
        return None
    function = raw.get("function", "sum")
    path = raw.get("field")
    if function != "count" and path is None:
        scope.problem("/target/field", f"a {function} target needs 'field'; add it")
    elif path is not None:
        f = scope.field("/target/field", path, obj)
        if f is not None and value_kind(f) not in NUMERIC:
            scope.problem("/target/field", f"a target is a number; {path!r} is {value_kind(f)}")
    match = _target_match(scope, obj, raw.get("match", {}), groups)
    return TargetDef(
        raw["measure"],
        label,
        object_name=obj.api_name,
        function=function,
        path=path,
        filter=scope.condition("/target/filter", raw.get("filter"), obj.api_name),
        match=match,
    )


def _target_match(scope: _Scope, obj: ObjectDef, match: dict[str, str], groups) -> tuple:
    by_name = {g.api_name: g for g in groups}
    for name in sorted(set(match) - set(by_name)):
        scope.problem(
            f"/target/match/{name}",
            f"{name!r} is not a group of this report; groups: {', '.join(by_name) or 'none'}",
        )
    for name in sorted(set(by_name) - set(match)):
        scope.problem(
            "/target/match",
            f"group {name!r} has no matching field on {obj.api_name}; add "
            f'"{name}": "<field of {obj.api_name}>" so each row finds its target',
        )
    pairs = []
    for name, path in sorted(match.items()):
        group = by_name.get(name)
        f = scope.field(f"/target/match/{name}", path, obj)
        if group is None or f is None:
            continue
        kind = value_kind(f)
        if group.bucket and kind not in TEMPORAL:
            scope.problem(
                f"/target/match/{name}",
                f"{name!r} is cut into {group.bucket}s, so its target field must be a date; "
                f"{path!r} is {kind}",
            )
        elif not group.bucket and kind != group.type and {kind, group.type} - {"integer"}:
            scope.problem(
                f"/target/match/{name}",
                f"{path!r} is a {kind} field but group {name!r} holds {group.type} values",
            )
        pairs.append((name, path))
    return tuple(pairs)


def _sort(scope: _Scope, i: int, raw: dict[str, Any], names: set[str]) -> SortDef:
    if raw["by"] not in names and raw["by"] != "target":
        scope.problem(
            f"/sort/{i}/by",
            f"{raw['by']!r} is not a group or measure of this report; "
            f"sort by one of: {', '.join(sorted(names))}",
        )
    return SortDef(raw["by"], raw.get("direction", "asc") == "desc")


def _dashboard(comp, reports, known_reports, problems, provenance) -> DashboardDef:
    raw = comp.definition
    widgets = []
    names: set[str] = set()
    for i, w in enumerate(raw["widgets"]):
        place = f"/widgets/{i}"
        if w["api_name"] in names:
            problems.append(Problem(comp.key, f"{place}/api_name", "two widgets share this name"))
        names.add(w["api_name"])
        report = reports.get(w["report"])
        if w["report"] not in known_reports:
            known = ", ".join(sorted(known_reports)) or "none yet"
            problems.append(
                Problem(
                    comp.key,
                    f"{place}/report",
                    f"there is no report {w['report']!r}; reports: {known}",
                )
            )
        for j, m in enumerate(w.get("measures", [])):
            if report is not None and report.measure(m) is None:
                problems.append(
                    Problem(
                        comp.key,
                        f"{place}/measures/{j}",
                        f"{m!r} is not a measure of report {w['report']}; measures: "
                        f"{', '.join(x.api_name for x in report.measures)}",
                    )
                )
        title = w.get("title") or (report.label.as_json() if report else {"zh-CN": "?", "en": "?"})
        widgets.append(
            WidgetDef(
                api_name=w["api_name"],
                report=w["report"],
                chart=w["chart"],
                title=Label.from_json(title),
                position=PositionDef(**w.get("position", {"x": 0, "y": 6 * i, "w": 6, "h": 4})),
                measures=tuple(w.get("measures", ())),
            )
        )
    return DashboardDef(
        api_name=raw["api_name"],
        label=Label.from_json(raw["label"]),
        widgets=tuple(widgets),
        description=Label.from_json(raw["description"]) if "description" in raw else None,
        columns=raw.get("columns", 12),
        provenance=provenance(comp.key),
    )
