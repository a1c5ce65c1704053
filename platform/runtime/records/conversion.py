"""Conversions (转化): one source record becomes linked target records in one step.

The standard CRM converts a lead into an account (or links an existing one),
a contact and, if wanted, an opportunity; the lead remembers each through a
lookup (``converted_account`` ...), which is what funnel reports count. The
definition says what maps to what (docs/conversions.md); this module runs it:

    lock the source → refuse if converted, stale or not allowed → evaluate
    the mappings → create (or link) each target in order through the records
    service → mark the source → refuse unconfirmed duplicates

all in one transaction, so validation, permissions, duplicate rules,
history, roll-ups and automations apply as for any write, and a failure
anywhere leaves nothing behind. ``preview`` computes the proposed values and
the duplicates the target's rules find, without writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from trellis.metadata.conversion_build import SOURCE
from trellis.metadata.definitions import ConversionDef, ConversionTargetDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.errors import Conflict, Invalid, NotFound, StaleVersion, TrellisError
from trellis.runtime.records import duplicates
from trellis.runtime.records.conversion_values import (
    Choices,
    as_json,
    evaluate,
    parse_choices,
    source_env,
)
from trellis.runtime.records.service import RecordsService


class AlreadyConverted(Conflict):
    """The source was converted before; ``converted`` holds the records it links."""

    code = "already_converted"


class DuplicatesFound(Conflict):
    """Targets match existing records under a warning rule and the caller has not confirmed."""

    code = "duplicates_found"


@dataclass
class ConversionResult:
    """What a conversion made: the marked source and each target's record (None: skipped)."""

    source: dict[str, Any]
    records: dict[str, dict[str, Any] | None]
    linked_existing: list[str] = field(default_factory=list)
    duplicates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source": self.source,
            "records": self.records,
            "linked_existing": self.linked_existing,
        }
        if self.duplicates:
            body["warnings"] = {"duplicates": self.duplicates}
        return body


class Conversions:
    """Runs conversion definitions through the records service (the one write path)."""

    def __init__(self, records: RecordsService):
        self.records = records

    # -- preview ------------------------------------------------------------

    def preview(self, ctx, key: str, source_id: Any) -> dict[str, Any]:
        """Proposed values per target and the duplicates found, for the conversion page."""
        with self.records.session(ctx, write=False) as (conn, compiled):
            conversion = _conversion(compiled, key)
            rt = self.records.object(compiled, conversion.object_name)
            access = self.records.authorize(compiled, ctx, rt, "read")
            source = dict(self.records._fetch(conn, rt, access.read_condition(rt.table), source_id))
            _refuse_converted(conversion, rt, source)
            env = source_env(conn, compiled, ctx, conversion, rt, source, access.hidden)
            _check_condition(conversion, env, ctx)
            edit = access.edit_condition(rt.table)
            return {
                "conversion": key,
                "label": conversion.label.get(ctx.locale),
                "source": {
                    "object": rt.definition.api_name,
                    "id": source["id"],
                    "version": source["version"],
                    "can_convert": access.edit
                    and (edit is None or _matches(conn, rt, edit, source)),
                },
                "targets": [
                    self._proposal(conn, compiled, ctx, conversion, t, env, source)
                    for t in conversion.targets
                ],
            }

    def _proposal(self, conn, compiled, ctx, conversion, target, env, source) -> dict[str, Any]:
        trt = compiled.object(target.object_name)
        values = _mapped(conversion, target, env, ctx)
        probe = {**values, **_links(target, source, {})}
        duplicates.set_keys(trt, probe)
        found = duplicates.find(
            conn, trt, self.records.access(compiled, ctx, trt.definition.api_name), probe
        )
        return {
            "api_name": target.api_name,
            "object": target.object_name,
            "label": target.label.get(ctx.locale),
            "optional": target.optional,
            "choose_existing": target.choose_existing,
            "values": as_json(values, ctx.zone),
            "links": dict(target.links),
            "missing": _missing(trt, target, values),
            "duplicates": [d.as_json() for d in found],
        }

    # -- convert ------------------------------------------------------------

    def convert(
        self,
        ctx,
        key: str,
        source_id: Any,
        choices: Any = None,
        *,
        expected_version: int | None = None,
    ) -> ConversionResult:
        """Convert one source record; every target and the source's marks, or nothing.

        ``choices`` (JSON, see ``parse_choices``) overrides values per target,
        names an existing record for a target that allows it, skips optional
        targets, confirms duplicate warnings and may carry the source's
        ``version`` (as ``expected_version`` does).

        Raises:
            NotFound: no such conversion, or a source the caller cannot see (404).
            Forbidden: the caller may not edit the source (403).
            AlreadyConverted: the source was converted already (409, with the links).
            StaleVersion: the source changed since the caller read it (412).
            DuplicatesFound: warnings the caller has not confirmed (409, with the matches).
            Conflict: a blocking duplicate rule matched (409).
            Invalid: bad choices, a condition that does not hold, a target or the
                source breaking its rules (422; ``details`` name the target).
        """
        with self.records.session(ctx) as (conn, compiled):
            inner = ctx.on(conn)
            conversion = _conversion(compiled, key)
            wanted = parse_choices(conversion, choices)
            rt = self.records.object(compiled, conversion.object_name)
            access = self.records.authorize(compiled, ctx, rt, "edit")
            # Locks the source (PostgreSQL) so that of two conversions racing, the
            # second waits and then finds it converted; SQLite writers queue anyway.
            source = dict(self.records._fetch_for_edit(conn, rt, access, source_id))
            _refuse_converted(conversion, rt, source)
            _check_version(
                rt, source, wanted.version if expected_version is None else expected_version
            )
            env = source_env(conn, compiled, inner, conversion, rt, source, access.hidden)
            _check_condition(conversion, env, ctx)
            result = ConversionResult(source={}, records={})
            for target in conversion.targets:
                result.records[target.api_name] = self._make(
                    inner, conversion, target, wanted, env, source, result
                )
            self._mark_source(inner, conversion, env, source, result)
            _refuse_unconfirmed(result, wanted)
            # Read back: roll-ups and automations changed them after they were written.
            result.source = self.records.get(inner, conversion.object_name, source["id"])
            result.records = {
                name: record
                and self.records.get(inner, conversion.target(name).object_name, record["id"])
                for name, record in result.records.items()
            }
            return result

    def _make(self, ctx, conversion, target, wanted: Choices, env, source, result):
        choice = wanted.targets.get(target.api_name)
        if choice is not None and choice.skip:
            return None
        with _about(target.api_name, target.label.get(ctx.locale)):
            if choice is not None and choice.existing_id is not None:
                result.linked_existing.append(target.api_name)
                return _existing(self.records, ctx, target, choice.existing_id)
            values = {
                **_mapped(conversion, target, env, ctx),
                **(choice.values if choice else {}),
                **_links(target, source, result.records),
            }
            made = self.records.create(
                ctx, target.object_name, values, owner=source.get("owner") or ctx.user_id
            )
        if made.warnings:
            result.duplicates[target.api_name] = made.warnings
        return made.record

    def _mark_source(self, ctx, conversion: ConversionDef, env, source, result) -> None:
        """The source's own changes (status, time) and its link to every record made."""
        values = {
            name: evaluate(expr, env, ctx, f"{_where(conversion)}/source_values/{name}")
            for name, expr in conversion.source_values.items()
        }
        for target in conversion.targets:
            record = result.records[target.api_name]
            if record is not None:
                values[target.link_field] = record["id"]
        with _about(SOURCE, conversion.object_name):
            self.records.update(ctx, conversion.object_name, source["id"], values)


# -- steps -------------------------------------------------------------------------


def _conversion(compiled: CompiledMetadata, key: str) -> ConversionDef:
    conversion = compiled.definitions.conversions.get(key)
    if conversion is None or not conversion.active:
        known = ", ".join(
            k for k, c in sorted(compiled.definitions.conversions.items()) if c.active
        )
        raise NotFound(
            f"there is no conversion {str(key)[:80]!r}; conversions: {known or 'none defined'}"
        )
    return conversion


def _refuse_converted(conversion: ConversionDef, rt: ObjectRuntime, source: dict) -> None:
    links = {
        t.api_name: {"object": t.object_name, "id": source[t.link_field]}
        for t in conversion.targets
        if source.get(t.link_field) is not None
    }
    if links:
        made = ", ".join(f"{v['object']} {v['id']}" for v in links.values())
        raise AlreadyConverted(
            f"this {rt.definition.api_name} was converted already (to {made}); "
            "open those records instead",
            [
                {"field": t.link_field, "message": f"links {t.object_name} {source[t.link_field]}"}
                for t in conversion.targets
                if t.api_name in links
            ],
            converted=links,
        )


def _check_version(rt: ObjectRuntime, source: dict, expected: Any) -> None:
    if expected is None:
        return
    try:
        expected = int(expected)
    except (TypeError, ValueError):
        raise Invalid(
            "version must be a whole number (the version you read)",
            [{"pointer": "/version", "message": "not a whole number"}],
        ) from None
    if source["version"] != expected:
        raise StaleVersion(
            f"this {rt.definition.api_name} is at version {source['version']}, not {expected}: "
            "someone changed it after you opened it; reload it and convert again",
            current_version=source["version"],
            updated_by=source["updated_by"],
        )


def _check_condition(conversion: ConversionDef, env: dict, ctx) -> None:
    if conversion.condition is None:
        return
    if evaluate(conversion.condition, env, ctx, f"{_where(conversion)}/condition") is True:
        return
    message = conversion.condition_message
    raise Invalid(
        message.get(ctx.locale)
        if message
        else f"this {conversion.object_name} cannot be converted: "
        f"{conversion.condition.source} does not hold",
        [{"pointer": "/condition", "message": conversion.condition.source}],
    )


def _mapped(conversion: ConversionDef, target: ConversionTargetDef, env: dict, ctx) -> dict:
    """The target's mapped values; blanks are left out so that field defaults apply."""
    out = {}
    index = conversion.targets.index(target)
    for name, expr in target.values.items():
        place = f"{_where(conversion)}/targets/{index}/values/{name}"
        value = evaluate(expr, env, ctx, place)
        if value is not None:
            out[name] = value
    return out


def _missing(trt: ObjectRuntime, target: ConversionTargetDef, values: dict) -> list[str]:
    """Required fields the proposal leaves blank: the user has to type them."""
    return [
        f.api_name
        for f in trt.definition.live_fields
        if f.required
        and f.writable
        and f.default_value is None
        and f.default_formula is None
        and f.api_name not in values
        and f.api_name not in target.links
    ]


def _links(target: ConversionTargetDef, source: dict, made: dict) -> dict[str, Any]:
    """Lookups to the source and to earlier targets (blank when that target was skipped)."""
    out = {}
    for name, ref in target.links.items():
        record = source if ref == SOURCE else made.get(ref)
        out[name] = record["id"] if record is not None else None
    return out


def _existing(records: RecordsService, ctx, target: ConversionTargetDef, record_id) -> dict:
    try:
        return records.get(ctx, target.object_name, record_id)
    except NotFound:
        raise Invalid(
            f"there is no {target.object_name} with id {str(record_id)[:20]} that you can see; "
            "choose one from the proposed records or create a new one",
            [
                {
                    "pointer": f"/targets/{target.api_name}/existing_id",
                    "message": "no such record that you can see",
                }
            ],
        ) from None


def _refuse_unconfirmed(result: ConversionResult, wanted: Choices) -> None:
    if not result.duplicates or wanted.confirm_duplicates:
        return
    raise DuplicatesFound(
        "some records to be created look like existing ones; link an existing record "
        'instead, or convert again with "confirm_duplicates": true',
        [
            {
                "target": name,
                "message": f"matches {sum(len(d['records']) + d['not_visible'] for d in found)} "
                f"existing record(s) (rule {', '.join(d['rule'] for d in found)})",
            }
            for name, found in result.duplicates.items()
        ],
        duplicates=result.duplicates,
    )


def _matches(conn, rt: ObjectRuntime, condition, source: dict) -> bool:
    query = sa.select(rt.table.c.id).where(rt.table.c.id == source["id"], condition)
    return conn.execute(query).first() is not None


def _where(conversion: ConversionDef) -> str:
    return f"conversion:{conversion.object_name}.{conversion.api_name}"


@contextmanager
def _about(target: str, label: str) -> Iterator[None]:
    """Re-raise an error of one target's write saying which target it was (for the page)."""
    try:
        yield
    except TrellisError as exc:
        if exc.extra.get("target"):
            raise
        details = [{**d, "target": target} for d in exc.details]
        raise type(exc)(f"{label}: {exc.message}", details, **exc.extra, target=target) from None
