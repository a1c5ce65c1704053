"""RecordsService: create, update, delete, get and query records.

Every write is one transaction and a list of named steps (coerce,
apply_defaults, compute_formulas, validate, check_duplicates, authorize,
write, record_history, update_rollups, emit_events); a failure in any step
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from trellis.runtime.compiled import CompiledMetadata, MetadataCache, ObjectRuntime
from trellis.runtime.database import WRITE
from trellis.runtime.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound, StaleVersion
from trellis.runtime.events import EventBus, RecordEvent
from trellis.runtime.ids import parse_id
from trellis.runtime.permissions import Access, access_for, full_access
from trellis.runtime.records import duplicates, history, propagation, rules
from trellis.runtime.records.coercion import coerce
from trellis.runtime.records.computing import (
    apply_defaults,
    compute_formulas,
    lookup_values,
    lookup_values_for_page,
)
from trellis.runtime.records.insertion import check_unique, insert_new, owner_department
from trellis.runtime.records.output import present
from trellis.runtime.records.references import check_references
from trellis.runtime.system_tables import user_table


@dataclass
class RecordResult:
    """A written record as the caller may see it, plus duplicate warnings."""

    record: dict[str, Any]
    warnings: list[dict[str, Any]] = field(default_factory=list)


class RecordsService:
    """The one write path. ``ctx`` (a ``Context``) says who acts and when."""

    def __init__(self, engine: sa.Engine, cache: MetadataCache, events: EventBus | None = None):
        self.engine = engine
        self.cache = cache
        self.events = events or EventBus()
        self._writer = self.engine.execution_options(**WRITE)

    # -- plumbing ---------------------------------------------------------

    @contextmanager
    def session(self, ctx, write: bool = True) -> Iterator[tuple[sa.Connection, CompiledMetadata]]:
        """The caller's open transaction, or a new one committed on success."""
        if ctx.conn is not None:
            yield ctx.conn, self.cache.get(ctx.conn)
            return
        opener = self._writer.begin() if write else self.engine.begin()
        with opener as conn:
            yield conn, self.cache.get(conn)

    def object(self, compiled: CompiledMetadata, name: str) -> ObjectRuntime:
        rt = compiled.objects.get(name)
        if rt is None or rt.definition.archived:
            raise NotFound(f"there is no object {str(name)[:60]!r}; GET /api/v1/objects lists them")
        return rt

    def access(self, compiled: CompiledMetadata, ctx, name: str) -> Access:
        if ctx.trusted:  # the flow engine acting: its definitions were checked at load
            return full_access(name, ctx.principal)
        return access_for(compiled.definitions, ctx.principal, name)

    def authorize(self, compiled, ctx, rt: ObjectRuntime, action: str) -> Access:
        access = self.access(compiled, ctx, rt.definition.api_name)
        if not getattr(access, action):
            raise Forbidden(
                f"you may not {action} {rt.definition.plural_label.en.lower()}; "
                "ask an administrator for a role that allows it"
            )
        return access

    # -- reading ----------------------------------------------------------

    def get(self, ctx, object_name: str, record_id: int) -> dict[str, Any]:
        with self.session(ctx, write=False) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "read")
            row = self._fetch(conn, rt, access.read_condition(rt.table), record_id)
            return present(
                rt,
                row,
                ctx,
                access.hidden,
                related=self._page_related(conn, compiled, rt, [row])[0],
            )

    def query(self, ctx, object_name: str, request) -> dict[str, Any]:
        """One page of records (``request`` is a ``ListRequest``), scope applied in SQL."""
        from trellis.runtime import queries

        with self.session(ctx, write=False) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "read")
            fields = _requested_fields(rt, access, request.fields)
            query, keys = queries.build_select(rt, access, request, ctx.local_now)
            rows = conn.execute(query).mappings().all()
            more = len(rows) > request.limit
            rows = rows[: request.limit]
            page: dict[str, Any] = {
                "records": [
                    present(rt, r, ctx, access.hidden, fields, related)
                    for r, related in zip(
                        rows, self._page_related(conn, compiled, rt, rows), strict=True
                    )
                ],
                "next_cursor": queries.encode_cursor(rows[-1], keys) if more else None,
            }
            if request.total:
                page["total"] = conn.execute(
                    queries.count_select(rt, access, request, ctx.local_now)
                ).scalar_one()
            return page

    def _page_related(self, conn, compiled, rt: ObjectRuntime, rows) -> list[dict]:
        if rt.read_formulas and rt.lookup_paths and rows:
            return lookup_values_for_page(conn, compiled, rt, rows)
        return [{}] * len(rows)

    def history(self, ctx, object_name: str, record_id: int) -> list[dict[str, Any]]:
        with self.session(ctx, write=False) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "read")
            row = self._fetch(conn, rt, access.read_condition(rt.table), record_id)
            return [
                h
                for h in history.read(conn, object_name, row["id"])
                if h["field"] not in access.hidden
            ]

    def _fetch(self, conn, rt: ObjectRuntime, condition, record_id, lock: bool = False):
        query = sa.select(rt.table).where(rt.table.c.id == parse_id(record_id))
        if condition is not None:
            query = query.where(condition)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            # Records outside the caller's scope answer exactly like missing ones.
            raise NotFound(f"no {rt.definition.api_name} with id {record_id} that you can see")
        return row

    # -- create -----------------------------------------------------------

    def create(self, ctx, object_name: str, data: Any, *, owner: int | None = None) -> RecordResult:
        """Create one record; ``owner`` (trusted callers only) defaults to the actor."""
        with self.session(ctx) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "create")
            record_type = _take_record_type(rt, data)
            if isinstance(data, dict):
                data = {k: v for k, v in data.items() if k != "record_type"}
            values = coerce(rt, access, data, ctx.zone)
            values["record_type"] = record_type
            related = self._prepare(conn, compiled, rt, access, ctx, values, None)
            warnings = duplicates.enforce(duplicates.find(conn, rt, access, values), object_name)
            insert_new(conn, rt, ctx, [values], owner)
            row = values
            self._after_write(conn, compiled, rt, ctx, [row], [], None)
            self.events.emit(conn, ctx, RecordEvent("created", object_name, row["id"], None, row))
            if self.events.listens("created"):
                # An automation or assignment rule may have changed the new record.
                row = self._reread_if_moved(conn, rt, row)
            return RecordResult(present(rt, row, ctx, access.hidden, related=related), warnings)

    def _reread_if_moved(self, conn, rt: ObjectRuntime, row: dict) -> dict:
        t = rt.table
        version = conn.execute(sa.select(t.c.version).where(t.c.id == row["id"])).scalar()
        if version == row["version"]:
            return row
        return dict(conn.execute(sa.select(t).where(t.c.id == row["id"])).mappings().one())

    def bulk_create(
        self, ctx, object_name: str, rows: list[Any], *, owner: int | None = None
    ) -> list[int]:
        """Create many records in one transaction: all or none.

        Every row goes through the same steps as ``create``; errors are
        collected for all rows (``details`` carry the row number) before
        anything is written. Returns the new ids in input order.
        """
        from trellis.runtime.records.bulk import bulk_create

        with self.session(ctx) as (conn, compiled):
            return bulk_create(self, conn, compiled, ctx, object_name, rows, owner)

    def _prepare(
        self, conn, compiled, rt, access, ctx, values, old, *, check_refs=True, related=None
    ) -> dict[str, Any]:
        """Defaults, references, formulas and rules; raises Invalid. Returns related values."""
        if old is None:
            apply_defaults(rt, values, ctx)  # formulas see every field, blank ones as None
        merged = values  # for updates, callers pass the old values merged with the changes
        if check_refs:
            check_references(conn, compiled, rt, ctx, merged, old)
        if related is None:  # bulk writes fetch looked-up values for the whole batch at once
            related = lookup_values(conn, compiled, rt, merged) if rt.lookup_paths else {}
        env = compute_formulas(rt, merged, related, ctx)
        if rt.rules_read_formulas:  # the record keeps none of these values
            env = compute_formulas(rt, dict(merged), related, ctx, rt.read_formulas)
        changed = None if old is None else {k for k in merged if merged[k] != old.get(k)}
        errors = rules.check(rt, merged, env, ctx, changed)
        if errors:
            raise Invalid(f"this {rt.definition.api_name} breaks {len(errors)} rule(s)", errors)
        duplicates.set_keys(rt, merged)
        return related

    # -- update -----------------------------------------------------------

    def update(
        self,
        ctx,
        object_name: str,
        record_id: int,
        changes: Any,
        *,
        expected_version: int | None = None,
    ) -> RecordResult:
        """Change fields of one record. A stale ``expected_version`` is refused (412)."""
        with self.session(ctx) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "edit")
            old = self._fetch_for_edit(conn, rt, access, record_id)
            if isinstance(changes, dict) and expected_version is None and "version" in changes:
                expected_version = changes["version"]
            _check_version(rt, old, expected_version)
            values = coerce(rt, access, changes, ctx.zone, allow_envelope=True)
            merged = {**old, **values}
            related = self._prepare(conn, compiled, rt, access, ctx, merged, dict(old))
            changed = {k for k in rt.table.c.keys() if k in merged and merged[k] != old[k]}
            if not changed:
                return RecordResult(present(rt, old, ctx, access.hidden, related=related))
            self.events.emit(
                conn,
                ctx,
                RecordEvent(
                    "updating", object_name, old["id"], dict(old), merged, frozenset(changed)
                ),
            )
            dup_changed = any(r.column in changed for r in rt.definition.duplicate_rules)
            warnings = (
                duplicates.enforce(
                    duplicates.find(conn, rt, access, merged, exclude_id=old["id"]), object_name
                )
                if dup_changed
                else []
            )
            new = self._write_update(conn, rt, ctx, old, merged, changed)
            history.record(
                conn,
                rt,
                old["id"],
                dict(old),
                new,
                history.tracked_changes(rt, old, {k: new[k] for k in changed}),
                ctx,
            )
            self._after_write(conn, compiled, rt, ctx, [new], [dict(old)], changed)
            self.events.emit(
                conn,
                ctx,
                RecordEvent("updated", object_name, old["id"], dict(old), new, frozenset(changed)),
            )
            if self.events.listens("updated"):
                # An automation may have changed the record again: answer with what is stored,
                # so the caller's next If-Match carries the current version.
                new = self._reread_if_moved(conn, rt, new)
            return RecordResult(present(rt, new, ctx, access.hidden, related=related), warnings)

    def _fetch_for_edit(self, conn, rt, access: Access, record_id):
        row = self._fetch(conn, rt, access.read_condition(rt.table), record_id, lock=True)
        edit = access.edit_condition(rt.table)
        if (
            edit is not None
            and conn.execute(
                sa.select(rt.table.c.id).where(rt.table.c.id == row["id"], edit)
            ).first()
            is None
        ):
            raise Forbidden(
                f"you may read this {rt.definition.api_name} but not change it; "
                "ask its owner or your manager"
            )
        return row

    def _write_update(self, conn, rt, ctx, old, merged, changed) -> dict[str, Any]:
        check_unique(conn, rt, [merged], old["id"])
        values = {k: merged[k] for k in changed}
        values.update(version=old["version"] + 1, updated_by=ctx.user_id, updated_at=ctx.stamp)
        t = rt.table
        result = conn.execute(
            sa.update(t).where(t.c.id == old["id"], t.c.version == old["version"]).values(values)
        )
        if result.rowcount != 1:
            raise StaleVersion(
                f"this {rt.definition.api_name} was changed by someone else while you "
                "edited it; reload it and apply your change again"
            )
        return {**merged, **values}

    # -- delete -----------------------------------------------------------

    def delete(
        self, ctx, object_name: str, record_id: int, *, expected_version: int | None = None
    ) -> None:
        with self.session(ctx) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "delete")
            old = self._fetch_for_edit(conn, rt, access, record_id)
            _check_version(rt, old, expected_version)
            self.events.emit(
                conn, ctx, RecordEvent("deleting", object_name, old["id"], dict(old), None)
            )
            self._delete_row(conn, compiled, rt, ctx, dict(old))

    # -- owner ------------------------------------------------------------

    def transfer(
        self,
        ctx,
        object_name: str,
        record_id: int,
        owner: int | None,
        *,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Give a record to ``owner`` (None: no owner, as in a pool).

        The department follows the new owner. Needs edit rights on the
        record; pools and assignment rules call it with a trusted context.
        """
        with self.session(ctx) as (conn, compiled):
            rt = self.object(compiled, object_name)
            access = self.authorize(compiled, ctx, rt, "edit")
            old = self._fetch_for_edit(conn, rt, access, record_id)
            _check_version(rt, old, expected_version)
            if owner is not None and not _active_user(conn, owner):
                raise Invalid(
                    f"user {owner} does not exist or is deactivated; choose an active user",
                    [{"field": "owner", "message": "no such active user"}],
                )
            department = owner_department(conn, ctx, owner) if owner is not None else None
            merged = {**old, "owner": owner, "department": department}
            changed = {k for k in ("owner", "department") if merged[k] != old[k]}
            if not changed:
                related = self._page_related(conn, compiled, rt, [old])[0]
                return present(rt, old, ctx, access.hidden, related=related)
            self.events.emit(
                conn,
                ctx,
                RecordEvent(
                    "updating", object_name, old["id"], dict(old), merged, frozenset(changed)
                ),
            )
            new = self._write_update(conn, rt, ctx, old, merged, changed)
            history.record(
                conn, rt, old["id"], dict(old), new, history.tracked_changes(rt, old, new), ctx
            )
            self._after_write(conn, compiled, rt, ctx, [new], [dict(old)], changed)
            self.events.emit(
                conn,
                ctx,
                RecordEvent("updated", object_name, old["id"], dict(old), new, frozenset(changed)),
            )
            new = self._reread_if_moved(conn, rt, new)
            related = self._page_related(conn, compiled, rt, [new])[0]
            return present(rt, new, ctx, access.hidden, related=related)

    def _delete_row(self, conn, compiled, rt: ObjectRuntime, ctx, old: dict) -> None:
        for child_name, lookup in rt.referenced_by:
            crt = compiled.object(child_name)
            column = crt.table.c[lookup.api_name]
            rule = lookup.options.get("on_delete", "set_null")
            children = (
                conn.execute(sa.select(crt.table).where(column == old["id"])).mappings().all()
            )
            if not children:
                continue
            if rule == "restrict":
                raise Conflict(
                    f"{len(children)} {child_name} record(s) still refer to this "
                    f"{rt.definition.api_name} through {lookup.api_name}; delete or "
                    "re-link them first"
                )
            if rule == "cascade":
                for child in children:
                    self._delete_row(conn, compiled, crt, ctx, dict(child))
            else:
                conn.execute(
                    sa.update(crt.table)
                    .where(column == old["id"])
                    .values({lookup.api_name: None, "version": crt.table.c.version + 1})
                )
                propagation.refresh_dependents(
                    conn, compiled, crt, {c["id"] for c in children}, {lookup.api_name}, ctx
                )
        conn.execute(sa.delete(rt.table).where(rt.table.c.id == old["id"]))
        self._after_write(conn, compiled, rt, ctx, [], [old], None)
        self.events.emit(
            conn, ctx, RecordEvent("deleted", rt.definition.api_name, old["id"], old, None)
        )

    # -- after every write --------------------------------------------------

    def _after_write(self, conn, compiled, rt, ctx, new_rows, old_rows, changed) -> None:
        """update_rollups and cross-object formulas for what was just written."""
        touched = propagation.parents_of(rt, list(new_rows) + list(old_rows), changed)
        if touched:
            propagation.refresh_rollups(conn, compiled, touched, ctx)
        ids = {r["id"] for r in new_rows}
        for child, lookup, reads in rt.feeds_formulas:
            if ids and (changed is None or reads & changed):
                crt = compiled.object(child)
                child_ids = {
                    r.id
                    for r in conn.execute(
                        sa.select(crt.table.c.id).where(crt.table.c[lookup].in_(sorted(ids)))
                    )
                }
                propagation.refresh_dependents(conn, compiled, crt, child_ids, {lookup}, ctx)


def _active_user(conn, user_id) -> bool:
    t = user_table
    query = sa.select(t.c.id).where(t.c.id == user_id, t.c.is_active)
    return conn.execute(query).first() is not None


def _requested_fields(rt: ObjectRuntime, access: Access, fields) -> tuple[str, ...] | None:
    if not fields:
        return None
    unknown = [
        f
        for f in fields
        if f not in rt.definition.by_name or f in access.hidden or rt.definition.by_name[f].archived
    ]
    if unknown:
        raise BadRequest(
            f"unknown fields requested: {', '.join(str(u)[:40] for u in unknown[:5])}",
            [{"field": u, "message": "no such field"} for u in unknown[:20]],
        )
    return tuple(fields)


def _check_version(rt, row, expected) -> None:
    if expected is None:
        return
    try:
        expected = int(expected)
    except (TypeError, ValueError):
        raise Invalid("version must be a whole number (the version you read)") from None
    if row["version"] != expected:
        raise StaleVersion(
            f"this {rt.definition.api_name} is at version {row['version']}, not {expected}: "
            "someone "
            f"changed it after you opened it; reload it and apply your change again",
            current_version=row["version"],
            updated_by=row["updated_by"],
        )


def _take_record_type(rt: ObjectRuntime, data: Any) -> str | None:
    if not isinstance(data, dict) or "record_type" not in data:
        return rt.definition.record_types[0].api_name if rt.definition.record_types else None
    value = data["record_type"]
    names = [t.api_name for t in rt.definition.record_types if t.active]
    if value not in names:
        raise Invalid(
            f"record_type {str(value)[:40]!r} is not a record type of "
            f"{rt.definition.api_name}; choose one of: {', '.join(names) or '(none defined)'}",
            [{"field": "record_type", "message": "unknown record type"}],
        )
    return value
