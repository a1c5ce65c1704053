"""Check effective definitions and build the frozen ``Definitions``.

Checks run in three passes so that one load reports every problem: the JSON
Schema of each component, the names, then the meaning (references exist,
formulas compile with the right types, no cycles among formulas and
roll-ups). Nothing is built while any problem remains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import networkx as nx

from trellis.metadata import references
from trellis.metadata.app_build import build_apps
from trellis.metadata.components import FLOW_KINDS, Component, assemble_objects
from trellis.metadata.conversion_build import build_conversions
from trellis.metadata.definitions import (
    Definitions,
    DuplicateRuleDef,
    FieldDef,
    Label,
    LayoutDef,
    ListViewDef,
    ObjectDef,
    ObjectPermissionDef,
    RecordTypeDef,
    RoleDef,
)
from trellis.metadata.flow_build import build_flows
from trellis.metadata.formulas import FormulaCompiler
from trellis.metadata.names import name_problem
from trellis.metadata.problems import DefinitionError, Problem
from trellis.metadata.report_build import build_reports
from trellis.metadata.schemas import COMMON_FIELD_KEYS, check_schema
from trellis.metadata.system_fields import system_fields

#: Well under PostgreSQL's 1,600 columns per table, leaving room for archived columns.
MAX_FIELDS_PER_OBJECT = 500
MAX_OBJECTS = 2000


def build(
    effective: Mapping[str, Component],
    *,
    version: int = 0,
    provenance: Callable[[str], str] = lambda key: "custom",
) -> Definitions:
    """Check every component and return frozen definitions, or raise DefinitionError."""
    problems = [
        p for comp in effective.values() for p in check_schema(comp.kind, comp.key, comp.definition)
    ]
    problems += list(_name_problems(effective))
    # Flows may name pools, rules and flows whose own definitions are broken:
    # those are reported once, as themselves, not again as missing.
    known = frozenset(effective)
    if problems:
        # Keep checking the rest so one run lists as much as it can; a broken
        # object stops here, since everything below it would only echo that.
        broken = {p.component for p in problems}
        if any(key.startswith("object:") for key in broken) or not broken <= set(effective):
            raise DefinitionError(problems)
        effective = {k: c for k, c in effective.items() if k not in broken}
    raw_objects = assemble_objects(effective.values())
    structure = list(_structure_problems(raw_objects, effective))
    if structure:
        raise DefinitionError(problems + structure)
    objects = {name: _object_def(raw, provenance) for name, raw in raw_objects.items()}
    compiler = FormulaCompiler(objects)
    objects = compiler.compile_all()
    problems += list(references.check(objects, effective))
    problems += list(_cycle_problems(dependency_graph(objects)))
    layouts, views, roles = _others(effective, compiler)
    flows = build_flows(effective, compiler, roles, known=known, provenance=provenance)
    conversions = build_conversions(effective, compiler, provenance=provenance)
    reports, dashboards = build_reports(
        effective, objects, compiler.problems, known=known, provenance=provenance
    )
    apps = build_apps(effective, objects, roles, problems)
    problems += compiler.problems
    if problems:
        raise DefinitionError(problems)
    return Definitions(
        version=version,
        objects=MappingProxyType(objects),
        layouts=MappingProxyType(layouts),
        list_views=MappingProxyType(views),
        roles=MappingProxyType(roles),
        approval_flows=flows.approval_flows,
        automations=flows.automations,
        pools=flows.pools,
        assignment_rules=flows.assignment_rules,
        conversions=conversions,
        reports=reports,
        dashboards=dashboards,
        apps=apps,
    )


def _name_problems(effective: Mapping[str, Component]):
    for comp in effective.values():
        name = comp.definition.get("api_name")
        what = comp.kind.replace("_", " ") + " name"
        problem = name_problem(name, what)
        if (
            comp.kind
            in (
                "layout",
                "list_view",
                "validation_rule",
                "role",
                "conversion",
                "report",
                "dashboard",
                "app",
                *FLOW_KINDS,
            )
            and problem
            and "system field" in problem
        ):
            problem = None  # these names never become columns
        if problem:
            yield Problem(comp.key, "/api_name", problem)
        expected = comp.key.split(":", 1)[1].rsplit(".", 1)[-1]
        if name != expected:
            yield Problem(
                comp.key,
                "/api_name",
                f"api_name {name!r} does not match the component "
                f"key {comp.key!r}; api_names cannot be renamed, create a new component",
            )


def _structure_problems(raw_objects: dict[str, dict], effective: Mapping[str, Component]):
    if len(raw_objects) > MAX_OBJECTS:
        yield Problem(
            "object:*", "", f"{len(raw_objects)} objects exceed the limit of {MAX_OBJECTS}"
        )
    for name, raw in raw_objects.items():
        if raw.get("__missing__"):
            yield Problem(
                f"object:{name}",
                "",
                f"fields or rules refer to object {name!r}, "
                "which does not exist; create the object first",
            )
            continue
        fields = raw.get("fields", [])
        if len(fields) > MAX_FIELDS_PER_OBJECT:
            yield Problem(
                f"object:{name}",
                "/fields",
                f"{len(fields)} fields exceed the limit of "
                f"{MAX_FIELDS_PER_OBJECT} per object; split the object in two",
            )
    for comp in effective.values():
        if (
            comp.kind in ("layout", "list_view")
            and comp.definition.get("object") not in raw_objects
        ):
            yield Problem(
                comp.key, "/object", f"object {comp.definition.get('object')!r} does not exist"
            )


def _object_def(raw: dict[str, Any], provenance: Callable[[str], str]) -> ObjectDef:
    name = raw["api_name"]
    fields = tuple(system_fields(name)) + tuple(
        _field_def(name, f, provenance(f"field:{name}.{f['api_name']}"))
        for f in raw.get("fields", [])
    )
    return ObjectDef(
        api_name=name,
        label=Label.from_json(raw["label"]),
        plural_label=Label.from_json(raw["plural_label"]),
        fields=fields,
        description=raw.get("description", ""),
        name_field=raw.get("name_field"),
        track_history=raw.get("track_history", False),
        searchable_fields=tuple(raw.get("searchable_fields", ())),
        record_types=tuple(
            RecordTypeDef(
                rt["api_name"],
                Label.from_json(rt["label"]),
                MappingProxyType({k: tuple(v) for k, v in rt.get("picklist_values", {}).items()}),
                rt.get("active", True),
            )
            for rt in raw.get("record_types", ())
        ),
        duplicate_rules=tuple(
            DuplicateRuleDef(
                d["api_name"],
                tuple(d["fields"]),
                d["action"],
                Label.from_json(d["label"]) if "label" in d else None,
                d.get("active", True),
            )
            for d in raw.get("duplicate_rules", ())
        ),
        validation_rules=tuple(raw.get("validation_rules", ())),  # compiled by FormulaCompiler
        archived=raw.get("archived", False),
        provenance=provenance(f"object:{name}"),
        by_name=MappingProxyType({f.api_name: f for f in fields}),
    )


def _field_def(object_name: str, raw: dict[str, Any], provenance: str) -> FieldDef:
    options = {k: v for k, v in raw.items() if k not in COMMON_FIELD_KEYS}
    return FieldDef(
        object_name=object_name,
        api_name=raw["api_name"],
        type=raw["type"],
        label=Label.from_json(raw["label"]),
        required=raw.get("required", False),
        unique=raw.get("unique", False),
        indexed=raw.get("indexed", False),
        track_history=raw.get("track_history", True),
        archived=raw.get("archived", False),
        default_value=raw.get("default_value"),
        default_formula=raw.get("default_formula"),
        options=MappingProxyType(options),
        help=Label.from_json(raw["help"]) if "help" in raw else None,
        description=raw.get("description", ""),
        provenance=provenance,
    )


def dependency_graph(objects: Mapping[str, ObjectDef]) -> nx.DiGraph:
    """Edges run from an input (``object.field``) to the formula or roll-up it feeds."""
    graph = nx.DiGraph()
    for obj in objects.values():
        for f in obj.live_fields:
            target = f.path
            if f.formula is not None:
                for dep in f.formula.dependencies:
                    graph.add_edges_from(
                        (src, target) for src in references.inputs(objects, obj, dep)
                    )
            if f.type == "rollup":
                child, via = f.options["object"], f.options["via"]
                graph.add_edge(f"{child}.{via}", target)
                if f.options.get("field"):
                    graph.add_edge(f"{child}.{f.options['field']}", target)
                if f.rollup_filter is not None:
                    graph.add_edges_from(
                        (f"{child}.{d}", target) for d in f.rollup_filter.dependencies
                    )
    return nx.freeze(graph)


def _cycle_problems(graph: nx.DiGraph):
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    path = " → ".join([edge[0] for edge in cycle] + [cycle[0][0]])
    yield Problem(
        f"field:{cycle[0][1]}",
        "",
        f"formulas and roll-ups form a cycle: {path}; break it by removing one of these references",
    )


def _others(effective: Mapping[str, Component], compiler: FormulaCompiler):
    layouts, views, roles = {}, {}, {}
    for comp in effective.values():
        d = comp.definition
        if comp.kind == "layout":
            layouts[comp.key.split(":", 1)[1]] = LayoutDef(
                d["api_name"], d["object"], Label.from_json(d["label"]), MappingProxyType(d)
            )
        elif comp.kind == "list_view":
            views[comp.key.split(":", 1)[1]] = ListViewDef(
                d["api_name"],
                d["object"],
                Label.from_json(d["label"]),
                tuple(d["columns"]),
                compiler.compile_filter(comp.key, d["object"], d.get("filter")),
                d.get("sort"),
                d.get("shared", True),
                tuple(d.get("roles", ())),
            )
        elif comp.kind == "role":
            roles[d["api_name"]] = RoleDef(
                d["api_name"],
                Label.from_json(d["label"]),
                d.get("is_admin", False),
                MappingProxyType(
                    {
                        o: ObjectPermissionDef(
                            **{**p, "fields": MappingProxyType(p.get("fields", {}))}
                        )
                        for o, p in d.get("objects", {}).items()
                    }
                ),
            )
    return layouts, views, roles
