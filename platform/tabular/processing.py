"""Turning rows of cell text into records, through the records service.

One chunk at a time: names in lookup columns and match keys are looked up
for the whole chunk, then every row is written in a savepoint of its own
with the real ``RecordsService.create`` or ``update``. A row the service
refuses rolls back to its savepoint and becomes a failed row with the
service's own messages; the other rows go on. A preview runs exactly this
in a transaction that is rolled back, so it reports the errors the import
will report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from trellis.metadata import FieldDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.errors import Conflict, TrellisError
from trellis.runtime.permissions import Access
from trellis.tabular import limits
from trellis.tabular.mapping import ColumnMapping, check_still_valid, importable_fields
from trellis.tabular.matching import Matcher
from trellis.tabular.options import ImportOptions, check_options
from trellis.tabular.references import NameResolver, UnresolvedName

#: What happened to a row; a preview says what would happen, in the same words.
ACTIONS = ("created", "updated", "skipped", "failed")

_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(.*)$")


@dataclass(frozen=True)
class RowError:
    """One problem of a failed row: the column as the file names it, its cell, the reason."""

    row: int
    header: str | None
    field: str | None
    value: str | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.header,
            "field": self.field,
            "value": self.value,
            "message": self.reason,
        }


@dataclass
class RowOutcome:
    row: int
    action: str
    values: dict[str, str]
    record_id: int | None = None
    errors: list[RowError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "action": self.action, "values": self.values}
        if self.record_id is not None:
            out["record_id"] = self.record_id
        if self.errors:
            out["errors"] = [e.as_json() for e in self.errors]
        return out


@dataclass(frozen=True)
class ImportPlan:
    """What goes where, checked against the metadata and rights of the moment it runs."""

    rt: ObjectRuntime
    access: Access
    #: (0-based cell index, header, field) for every mapped column
    columns: tuple[tuple[int, str, FieldDef], ...]
    options: ImportOptions

    @classmethod
    def build(
        cls, rt: ObjectRuntime, access: Access, mapping: list[ColumnMapping], options
    ) -> ImportPlan:
        fields = importable_fields(rt, access)
        check_still_valid(mapping, fields)
        columns = tuple(
            (c.column - 1, c.header, fields[c.field]) for c in mapping if c.field is not None
        )
        return cls(rt, access, columns, check_options(options, rt, access))

    def header_of(self, field_name: str | None) -> str | None:
        for _, header, f in self.columns:
            if f.api_name == field_name:
                return header
        return None


class ChunkWriter:
    """Writes the rows of one chunk inside ``ctx.conn`` (the chunk's transaction)."""

    def __init__(self, records, compiled: CompiledMetadata, ctx, plan: ImportPlan):
        self.records = records
        self.compiled = compiled
        self.ctx = ctx
        self.conn: sa.Connection = ctx.conn
        self.plan = plan
        self.name = plan.rt.definition.api_name

    def write(self, rows: list[tuple[int, list[str]]]) -> list[RowOutcome]:
        texts = [(number, self._texts(cells)) for number, cells in rows]
        resolver = self._resolver(texts)
        drafts = [self._draft(number, values, resolver) for number, values in texts]
        matcher = Matcher(self.conn, self.plan.rt, self.plan.access, self.plan.options)
        keys = [matcher.key(data) if not o.errors else None for o, data in drafts]
        matcher.load(keys)
        return [
            self._write_row(outcome, data, key, matcher)
            for (outcome, data), key in zip(drafts, keys, strict=True)
        ]

    # -- cells to values -----------------------------------------------------------------

    def _texts(self, cells: list[str]) -> dict[str, str]:
        """{field: cell text} of the row's non-empty mapped cells; empty cells write nothing."""
        out = {}
        for index, _, f in self.plan.columns:
            text = cells[index] if index < len(cells) else ""
            if text != "":
                out[f.api_name] = text
        return out

    def _resolver(self, texts) -> NameResolver:
        resolver = NameResolver(self.conn, self.compiled, self.ctx)
        for _, _, f in self.plan.columns:
            if f.type in ("lookup", "user"):
                resolver.load(f, (values.get(f.api_name) for _, values in texts))
        return resolver

    def _draft(self, number: int, texts: dict[str, str], resolver: NameResolver):
        outcome = RowOutcome(number, "failed", texts)
        data: dict[str, Any] = {}
        for name, text in texts.items():
            f = self.plan.rt.definition.by_name[name]
            if f.type in ("lookup", "user"):
                try:
                    data[name] = resolver.resolve(f, text)
                except UnresolvedName as exc:
                    outcome.errors.append(self._error(number, name, text, str(exc)))
            else:
                data[name] = _prepared(f, text)
        return outcome, data

    # -- writing -------------------------------------------------------------------------

    def _write_row(self, outcome: RowOutcome, data, key, matcher: Matcher) -> RowOutcome:
        if outcome.errors:
            return outcome
        mode = self.plan.options.duplicates
        matches = matcher.matches(key) if mode != "create" else []
        if matches and mode == "skip":
            outcome.action, outcome.record_id = "skipped", matches[0]
            return outcome
        if len(matches) > 1:
            outcome.errors.append(
                self._error(
                    outcome.row,
                    None,
                    None,
                    f"matches {len(matches)} existing records (ids "
                    f"{', '.join(map(str, matches[:5]))}); update needs exactly one match",
                )
            )
            return outcome
        try:
            with self.conn.begin_nested():
                if matches:
                    result = self.records.update(self.ctx, self.name, matches[0], data)
                    outcome.action = "updated"
                else:
                    result = self.records.create(self.ctx, self.name, data)
                    outcome.action = "created"
                    matcher.created(key, result.record["id"])
                outcome.record_id = result.record["id"]
        except TrellisError as exc:
            outcome.action = "failed"
            outcome.errors.extend(self._refusal(outcome, exc))
        except sa.exc.DBAPIError as exc:  # a unique index or a column limit the checks missed
            outcome.action = "failed"
            reason = f"the database refused the row ({type(exc.orig).__name__})"
            outcome.errors.append(self._error(outcome.row, None, None, reason))
        return outcome

    def _refusal(self, outcome: RowOutcome, exc: TrellisError) -> list[RowError]:
        errors = []
        for detail in exc.details[: limits.MAX_ERRORS_PER_ROW]:
            name = detail.get("field")
            reason = exc.message if isinstance(exc, Conflict) else detail.get("message")
            errors.append(
                self._error(outcome.row, name, outcome.values.get(name), reason or exc.message)
            )
        return errors or [self._error(outcome.row, None, None, exc.message)]

    def _error(self, row: int, name: str | None, value: str | None, reason: str) -> RowError:
        return RowError(row, self.plan.header_of(name), name, value, str(reason))


def _prepared(f: FieldDef, text: str) -> str:
    """Cell text the field types read: ``¥1,200`` for money, ``30%``, ``2026/3/9``."""
    kind = f.options.get("return_type", f.type) if f.type in ("formula", "rollup") else f.type
    if kind == "currency":
        return text.lstrip("¥￥").strip()
    if kind == "percent":
        return text.removesuffix("%").strip()
    if kind in ("date", "datetime"):
        m = _DATE.match(text)
        if m:
            year, month, day, rest = m.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}{rest}"
    return text
