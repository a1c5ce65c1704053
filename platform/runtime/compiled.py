"""Compiled metadata: everything the runtime derives from one metadata version.

Built once per version and shared by every request of the process: the
SQLAlchemy tables, the marshmallow fields that coerce input, the order formulas are computed
in, and indexes of which roll-ups and cross-object formulas a change feeds.
``MetadataCache`` rebuilds it when another process (or this one) has
changed definitions: one ``max(version)`` query per request tells.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import marshmallow
import networkx as nx
import sqlalchemy as sa

from trellis import metadata
from trellis.fieldtypes import FIELD_TYPES
from trellis.metadata import Definitions, FieldDef, ObjectDef
from trellis.metadata import store as metadata_store
from trellis.runtime.tables import build_table


@dataclass(frozen=True)
class ObjectRuntime:
    """What the records service needs about one object."""

    definition: ObjectDef
    table: sa.Table
    #: a marshmallow field per writable field: coercion with per-field error messages
    inputs: dict[str, marshmallow.fields.Field]
    #: stored formula fields in dependency order
    stored_formulas: tuple[FieldDef, ...]
    #: formulas computed when a record is read
    read_formulas: tuple[FieldDef, ...]
    #: lookup field -> target fields that formulas here read through it
    lookup_paths: dict[str, tuple[str, ...]]
    #: roll-ups on other objects that summarise this object: (parent object, roll-up field)
    feeds_rollups: tuple[tuple[str, FieldDef], ...]
    #: formulas on other objects reading this object's fields through a lookup:
    #: (child object, lookup field on the child, fields of ours it reads)
    feeds_formulas: tuple[tuple[str, str, frozenset[str]], ...]
    #: lookups elsewhere that point here: (child object, lookup field)
    referenced_by: tuple[tuple[str, FieldDef], ...]
    #: fields whose values must be unique
    unique_fields: tuple[FieldDef, ...] = ()
    #: picklist fields with their values by api_name, for the per-record checks
    picklists: tuple[tuple[FieldDef, dict[str, dict]], ...] = ()
    #: (field, JSON converter or None when the stored value is already JSON) for output
    outputs: tuple[tuple[str, Any], ...] = ()
    #: a new record before input: every field blank, count and sum roll-ups at 0
    blank_record: dict[str, Any] = field(default_factory=dict)
    #: writable fields with a default value or default formula
    defaulted: tuple[FieldDef, ...] = ()
    #: names whose values are datetimes (made aware for expressions)
    datetime_names: frozenset[str] = frozenset()
    #: whether validation rules read a formula computed on read
    rules_read_formulas: bool = False
    #: per duplicate rule, a statement finding one other record with the same match key
    duplicate_probes: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompiledMetadata:
    definitions: Definitions
    objects: dict[str, ObjectRuntime] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return self.definitions.version

    def object(self, name: str) -> ObjectRuntime:
        return self.objects[name]


def compile_definitions(defs: Definitions) -> CompiledMetadata:
    meta = sa.MetaData()
    graph = metadata.dependency_graph(defs.objects)
    order = {node: i for i, node in enumerate(nx.topological_sort(graph))}
    compiled = CompiledMetadata(defs)
    for obj in defs.objects.values():
        compiled.objects[obj.api_name] = _object_runtime(defs, obj, meta, order)
    return compiled


def _object_runtime(defs: Definitions, obj: ObjectDef, meta, order) -> ObjectRuntime:
    inputs = {f.api_name: f.field_type.marshmallow_field(f) for f in obj.live_fields if f.writable}
    formulas = sorted(
        (f for f in obj.live_fields if f.type == "formula" and f.formula is not None),
        key=lambda f: order.get(f.path, 0),
    )
    paths: dict[str, set[str]] = {}
    # Formulas, defaults and validation rules may all read through a lookup (contract.account).
    expressions = [e for f in obj.live_fields for e in (f.formula, f.default_formula)]
    expressions += [rule.error_condition for rule in obj.validation_rules]
    for expr in expressions:
        for dep in getattr(expr, "dependencies", ()):
            if "." in dep:
                lookup, target_field = dep.split(".", 1)
                paths.setdefault(lookup, set()).add(target_field)
    table = build_table(obj, meta)
    return ObjectRuntime(
        definition=obj,
        table=table,
        duplicate_probes=_duplicate_probes(obj, table),
        inputs=inputs,
        stored_formulas=tuple(f for f in formulas if f.stored),
        read_formulas=tuple(f for f in formulas if not f.stored),
        lookup_paths={k: tuple(sorted(v)) for k, v in paths.items()},
        feeds_rollups=tuple(
            (o.api_name, f)
            for o in defs.objects.values()
            for f in o.live_fields
            if f.type == "rollup" and f.options["object"] == obj.api_name
        ),
        feeds_formulas=_feeds_formulas(defs, obj),
        outputs=tuple((f.api_name, json_converter(f)) for f in obj.live_fields),
        blank_record=_blank_record(obj),
        defaulted=tuple(
            f
            for f in obj.live_fields
            if f.writable and (f.default_value is not None or f.default_formula is not None)
        ),
        datetime_names=_datetime_names(defs, obj),
        rules_read_formulas=any(
            dep in {f.api_name for f in formulas if not f.stored}
            for rule in obj.validation_rules
            if rule.error_condition is not None
            for dep in rule.error_condition.dependencies
        ),
        unique_fields=tuple(f for f in obj.live_fields if f.unique and not f.system),
        picklists=tuple(
            (f, {v["api_name"]: v for v in f.options["values"]})
            for f in obj.live_fields
            if f.type == "picklist"
        ),
        referenced_by=tuple(
            (o.api_name, f)
            for o in defs.objects.values()
            for f in o.live_fields
            if f.type == "lookup" and f.options["target"] == obj.api_name
        ),
    )


def _duplicate_probes(obj: ObjectDef, table: sa.Table) -> dict[str, Any]:
    return {
        rule.api_name: sa.select(table.c.id)
        .where(table.c[rule.column] == sa.bindparam("key"), table.c.id != sa.bindparam("exclude"))
        .limit(1)
        for rule in obj.duplicate_rules
    }


def _blank_record(obj: ObjectDef) -> dict[str, Any]:
    blank: dict[str, Any] = dict.fromkeys(obj.by_name)
    for f in obj.live_fields:
        if f.type == "rollup" and f.options["function"] in ("count", "sum"):
            # No children yet: 0, what the roll-up refresh writes once the last child goes.
            blank[f.api_name] = f.field_type.result_type(f).parse(0, f)
    return blank


def _datetime_names(defs: Definitions, obj: ObjectDef) -> frozenset[str]:
    names = {f.api_name for f in obj.live_fields if _kind(f) == "datetime"}
    for f in obj.live_fields:
        target = defs.objects.get(f.options.get("target")) if f.type == "lookup" else None
        if target is not None:
            names |= {
                f"{f.api_name}.{g.api_name}" for g in target.live_fields if _kind(g) == "datetime"
            }
    return frozenset(names)


def _kind(f: FieldDef) -> str:
    return f.options.get("return_type", f.type) if f.type in ("formula", "rollup") else f.type


def _feeds_formulas(defs: Definitions, obj: ObjectDef):
    out = []
    for other in defs.objects.values():
        for lookup in other.live_fields:
            if lookup.type != "lookup" or lookup.options["target"] != obj.api_name:
                continue
            read = frozenset(
                dep.split(".", 1)[1]
                for f in other.live_fields
                if f.type == "formula" and f.formula
                for dep in f.formula.dependencies
                if dep.startswith(f"{lookup.api_name}.")
            )
            if read:
                out.append((other.api_name, lookup.api_name, read))
    return tuple(out)


#: Marks datetime fields: shown in the reader's time zone, so converted per request.
DATETIME = object()
_PLAIN = {
    "text",
    "long_text",
    "integer",
    "boolean",
    "picklist",
    "email",
    "phone",
    "url",
    "lookup",
    "user",
    "auto_number",
    "credit_code",
}


def json_converter(f: FieldDef) -> Any:
    """How a stored value of ``f`` becomes JSON: None (as is), DATETIME, or a function."""
    kind = _kind(f)
    if kind in _PLAIN:
        return None
    if kind == "datetime":
        return DATETIME
    return FIELD_TYPES[kind].to_json


_MEMO = "trellis.compiled_for_transaction"


class MetadataCache:
    """The compiled metadata of one database, rebuilt when its version moves."""

    def __init__(self):
        self._lock = threading.Lock()
        self._compiled: CompiledMetadata | None = None

    def get(self, conn: sa.Connection) -> CompiledMetadata:
        # One version query per transaction: a write and the flow engine's
        # subscribers inside it share what the first call found.
        transaction = conn.get_transaction()
        memo = conn.info.get(_MEMO)
        if transaction is not None and memo is not None and memo[0] is transaction:
            return memo[1]
        compiled = self._get(conn)
        if transaction is not None:
            conn.info[_MEMO] = (transaction, compiled)
        return compiled

    def _get(self, conn: sa.Connection) -> CompiledMetadata:
        version = metadata_store.current_version(conn)
        compiled = self._compiled
        if compiled is not None and compiled.version == version:
            return compiled
        with self._lock:
            if self._compiled is None or self._compiled.version != version:
                layers = metadata_store.load(conn)
                defs = metadata.build(
                    layers.effective(), version=version, provenance=layers.provenance
                )
                self._compiled = compile_definitions(defs)
            return self._compiled

    def use(self, conn: sa.Connection, compiled: CompiledMetadata) -> None:
        """Use ``compiled`` for the rest of ``conn``'s transaction (metadata changed in it,
        not yet committed: e.g. a pack install that loads its sample data in the same
        transaction)."""
        conn.info[_MEMO] = (conn.get_transaction(), compiled)

    def prime(self, compiled: CompiledMetadata) -> None:
        """Use metadata just built by this process (saves a rebuild after a change)."""
        with self._lock:
            self._compiled = compiled
