"""The inputs of a conversion (``conversion.py``): the user's choices and the source's values.

``parse_choices`` checks what the conversion page (or an API client) sends
and says exactly which part is wrong; ``source_env`` builds the names the
mapping formulas read from the stored source row, with fields the user may
not see left blank, so a conversion never copies what its user cannot read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError
from trellis.fieldtypes.temporal import aware
from trellis.metadata.definitions import ConversionDef, ConversionTargetDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.errors import Invalid
from trellis.runtime.records.computing import compute_formulas, evaluation_env, lookup_values

#: What a request may carry, and what it may say about one target.
KEYS = frozenset({"targets", "confirm_duplicates", "version"})
TARGET_KEYS = frozenset({"values", "existing_id", "skip"})


@dataclass(frozen=True)
class TargetChoice:
    """For one target: values typed over the proposed ones, an existing record, or skip."""

    values: Mapping[str, Any] = field(default_factory=dict)
    existing_id: int | None = None
    skip: bool = False


@dataclass(frozen=True)
class Choices:
    """What the user decided for one conversion."""

    targets: Mapping[str, TargetChoice] = field(default_factory=dict)
    confirm_duplicates: bool = False
    version: Any = None


def parse_choices(conversion: ConversionDef, raw: Any) -> Choices:
    """Check the request body; Invalid listing every problem with its JSON pointer."""
    if raw is None:
        return Choices()
    if not isinstance(raw, Mapping):
        raise Invalid("send the conversion choices as a JSON object")
    problems: list[dict[str, str]] = []
    for key in sorted(set(raw) - KEYS):
        problems.append(_problem(f"/{key}", f"unknown key; use {', '.join(sorted(KEYS))}"))
    confirm = raw.get("confirm_duplicates", False)
    if not isinstance(confirm, bool):
        problems.append(_problem("/confirm_duplicates", "must be true or false"))
    targets = raw.get("targets", {})
    if not isinstance(targets, Mapping):
        problems.append(_problem("/targets", "must be an object keyed by target api_name"))
        targets = {}
    chosen = {}
    for name, value in targets.items():
        target = conversion.target(name)
        if target is None:
            names = ", ".join(t.api_name for t in conversion.targets)
            problems.append(_problem(f"/targets/{name}", f"no such target; targets: {names}"))
            continue
        chosen[name] = _target_choice(target, value, f"/targets/{name}", problems)
    if problems:
        raise Invalid("the conversion choices are not valid", problems)
    return Choices(chosen, confirm is True, raw.get("version"))


def _target_choice(target: ConversionTargetDef, raw: Any, place: str, problems) -> TargetChoice:
    if not isinstance(raw, Mapping):
        problems.append(_problem(place, 'must be an object such as {"skip": true}'))
        return TargetChoice()
    for key in sorted(set(raw) - TARGET_KEYS):
        problems.append(
            _problem(f"{place}/{key}", f"unknown key; use {', '.join(sorted(TARGET_KEYS))}")
        )
    skip, existing, values = raw.get("skip", False), raw.get("existing_id"), raw.get("values", {})
    if not isinstance(skip, bool):
        problems.append(_problem(f"{place}/skip", "must be true or false"))
    elif skip and not target.optional:
        problems.append(_problem(f"{place}/skip", f"the {target.api_name} cannot be skipped"))
    if existing is not None:
        if not target.choose_existing:
            problems.append(
                _problem(f"{place}/existing_id", "this target always creates a new record")
            )
        elif isinstance(existing, bool) or not isinstance(existing, int | str):
            problems.append(_problem(f"{place}/existing_id", "must be a record id"))
        if skip is True or values:
            problems.append(
                _problem(place, "choose an existing record, or skip, or give values: only one")
            )
    if not isinstance(values, Mapping):
        problems.append(_problem(f"{place}/values", "must be an object of field values"))
        values = {}
    for name in sorted(set(values) & set(target.links)):
        problems.append(
            _problem(f"{place}/values/{name}", "this link is filled in by the conversion")
        )
    return TargetChoice(dict(values), existing, skip is True)


def _problem(pointer: str, message: str) -> dict[str, str]:
    return {"pointer": pointer, "message": message}


# -- the source's values ----------------------------------------------------------


def source_env(
    conn: sa.Connection,
    compiled: CompiledMetadata,
    ctx,
    conversion: ConversionDef,
    rt: ObjectRuntime,
    row: dict[str, Any],
    hidden: frozenset[str],
) -> dict[str, Any]:
    """The names the conversion's formulas read, for one stored source row."""
    values = dict(row)
    related = lookup_values(conn, compiled, rt, values) if rt.lookup_paths else {}
    related.update(_more_lookups(conn, compiled, rt, values, _paths(conversion), related))
    if rt.read_formulas:
        compute_formulas(rt, values, related, ctx, rt.read_formulas)
    env = evaluation_env(rt, values, related, ctx.zone)
    for name in env:
        if name.split(".", 1)[0] in hidden:
            env[name] = None
    return env


def _paths(conversion: ConversionDef) -> set[str]:
    """Every ``lookup.field`` the conversion's formulas read."""
    expressions = [conversion.condition, *conversion.source_values.values()]
    for target in conversion.targets:
        expressions += target.values.values()
    return {d for e in expressions if e is not None for d in e.dependencies if "." in d}


def _more_lookups(conn, compiled, rt: ObjectRuntime, values, paths, known) -> dict[str, Any]:
    wanted: dict[str, set[str]] = {}
    for path in paths - set(known):
        lookup, target_field = path.split(".", 1)
        wanted.setdefault(lookup, set()).add(target_field)
    found: dict[str, Any] = {}
    for lookup, fields in wanted.items():
        table = compiled.object(rt.definition.by_name[lookup].options["target"]).table
        row = None
        if values.get(lookup) is not None:
            columns = [table.c[f] for f in sorted(fields)]
            row = conn.execute(sa.select(*columns).where(table.c.id == values[lookup])).first()
        for f in fields:
            found[f"{lookup}.{f}"] = aware(getattr(row, f)) if row is not None else None
    return found


def evaluate(expression: Any, env: dict[str, Any], ctx, where: str) -> Any:
    """The formula's value; a failure names the definition and place it came from."""
    try:
        return expression.evaluate(env, now=ctx.local_now)
    except ExpressionError as exc:
        raise Invalid(
            f"{where}: the formula {expression.source!r} could not be computed: {exc.message}",
            [{"pointer": where, "message": exc.message}],
        ) from None


def as_json(values: Mapping[str, Any], zone: dt.tzinfo) -> dict[str, Any]:
    """Proposed values as JSON: money and numbers as text, times in the user's zone."""
    out = {}
    for name, value in values.items():
        if isinstance(value, dt.datetime):
            out[name] = aware(value).astimezone(zone).isoformat()
        elif isinstance(value, dt.date):
            out[name] = value.isoformat()
        elif isinstance(value, Decimal):
            out[name] = str(value)
        else:
            out[name] = value
    return out
