"""Assignment rules (分配规则): who gets a record.

A rule is a list of entries; the first whose ``when`` holds decides.
``round_robin`` hands records to its users in turn, keeping its position per
entry in ``trellis_assignment_state`` (one row per entry, advanced by an
atomic ``UPDATE … RETURNING``, so two creates at the same moment get
different users); ``load`` picks the user owning the fewest records of the
object that match ``load_filter`` (ties: the lowest user id).

Rules with ``on_create`` run on every new record, bulk creates and imports
included (each row is its own "created" event, and the round-robin position
advances row by row inside the batch). The ``assign`` action and
``POST /objects/{object}/records/{id}/assign`` apply a rule later.
Ownership always changes through ``RecordsService.transfer``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError, to_sql
from trellis.flows import people, record_values
from trellis.flows.tables import assignment_state_table
from trellis.metadata.flow_definitions import AssignmentEntryDef, AssignmentRuleDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.context import Context
from trellis.runtime.errors import Invalid, NotFound
from trellis.runtime.events import RecordEvent
from trellis.runtime.ids import parse_id


def condition_holds(conn, compiled, ctx, rt: ObjectRuntime, expression, record, where) -> bool:
    """Whether a BOOLEAN ``expression`` (None: always) holds for the stored ``record``."""
    if expression is None:
        return True
    name = rt.definition.api_name
    env = record_values.formula_env(conn, compiled, ctx, name, record, [expression])
    return record_values.holds(expression, env, ctx, where)


# -- the service -------------------------------------------------------------------


class AssignmentService:
    """Applies assignment rules: on create (subscribed to "created") and on request."""

    def __init__(self, flows):
        self.flows = flows
        flows.events.subscribe("created", self._on_created)

    # -- choosing ------------------------------------------------------------

    def choose(
        self,
        conn: sa.Connection,
        compiled: CompiledMetadata,
        rule_key: str,
        record: dict,
        *,
        ctx: Context | None = None,
    ) -> int | None:
        """The user the rule ``rule_key`` ("lead.by_region") gives ``record`` to.

        None when no entry's condition holds or the deciding entry finds no
        active user. A round-robin entry advances its position (in ``conn``).
        ``ctx`` gives the moment TODAY() and NOW() mean (default: now).
        """
        rule = _rule(compiled, rule_key)
        rt = compiled.object(rule.object_name)
        ctx = ctx or self.flows.context(conn, None, dt.datetime.now(dt.UTC), "assignment")
        for index, entry in enumerate(rule.entries):
            where = f"assignment rule {rule_key}, entry {index + 1}"
            if not condition_holds(conn, compiled, ctx, rt, entry.when, record, where):
                continue
            candidates = self._candidates(conn, compiled, entry, record)
            if not candidates:
                return None
            if entry.method == "round_robin":
                return _next_in_turn(conn, f"{rule.key}#{index}", candidates)
            return _least_loaded(conn, compiled, rt, entry, candidates, ctx)
        return None

    def _candidates(self, conn, compiled, entry: AssignmentEntryDef, record) -> list[int]:
        found = people.resolve(conn, compiled, entry.users, record, default_of="owner")
        return list(dict.fromkeys(found))  # in the order given, each once

    # -- applying ------------------------------------------------------------

    def assign(
        self, ctx: Context, object_name: str, record_id: int, rule: str | None = None
    ) -> int:
        """Give the record to the user ``rule`` chooses (None: the object's active rules
        by order, the first that chooses someone). Returns the new owner's id.

        A user needs edit rights on the record (the approval lock applies); a
        trusted context (an automation's ``assign`` action) does not.
        """
        records = self.flows.records
        with records.session(ctx) as (conn, compiled):
            rt = records.object(compiled, object_name)
            inner = ctx.on(conn)
            if not ctx.trusted:
                records.get(inner, object_name, record_id)  # out of scope: 404 before anything
            record = locked_record(conn, rt, record_id)
            rules = [_rule(compiled, f"{object_name}.{rule}")] if rule else _rules(compiled, rt)
            for candidate in rules:
                if not candidate.active:
                    raise Invalid(f"assignment rule {candidate.key} is inactive; activate it first")
                owner = self.choose(conn, compiled, candidate.key, record, ctx=inner)
                if owner is not None:
                    acting = inner.acting_for(_cause(candidate)) if ctx.trusted else inner
                    records.transfer(acting, object_name, record["id"], owner)
                    return owner
            raise Invalid(_nobody(object_name, record_id, rules))

    def _on_created(self, conn: sa.Connection, ctx: Context, event: RecordEvent) -> None:
        compiled = self.flows.cache.get(conn)
        rt = compiled.objects.get(event.object_name)
        if rt is None:
            return
        for rule in _rules(compiled, rt):
            # A record created because this rule acted (an automation on the transfer)
            # is left alone: applying the rule again would loop.
            if not rule.on_create or _cause(rule) in ctx.cause:
                continue
            owner = self.choose(conn, compiled, rule.key, event.new or {}, ctx=ctx)
            if owner is not None:
                acting = ctx.on(conn).acting_for(_cause(rule))
                self.flows.records.transfer(acting, event.object_name, event.record_id, owner)
                return


# -- round robin ---------------------------------------------------------------------


def _next_in_turn(conn: sa.Connection, entry_key: str, candidates: list[int]) -> int:
    """The next candidate in turn for ``entry_key``; advances the position.

    ``UPDATE … RETURNING`` takes the row lock and reads the committed value
    (PostgreSQL re-reads a row another transaction just changed), so
    concurrent callers each get their own position.
    """
    taken = _advance(conn, entry_key)
    return candidates[taken % len(candidates)]


def _advance(conn: sa.Connection, entry_key: str) -> int:
    """The position before advancing: 0 for an entry never used."""
    t = assignment_state_table
    for _ in range(2):
        new = conn.execute(
            sa.update(t)
            .where(t.c.entry == entry_key)
            .values(position=t.c.position + 1)
            .returning(t.c.position)
        ).scalar()
        if new is not None:
            return new - 1
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(t).values(entry=entry_key, position=1))
            return 0
        except sa.exc.IntegrityError:
            continue  # another transaction created it first: advance theirs
    raise RuntimeError(f"assignment state {entry_key!r} could not be advanced")


# -- load ------------------------------------------------------------------------


def _least_loaded(conn, compiled, rt: ObjectRuntime, entry, candidates: list[int], ctx) -> int:
    """The candidate owning the fewest records matching ``load_filter``; ties by id."""
    load = _loads(conn, compiled, rt, entry.load_filter, candidates, ctx)
    return min(candidates, key=lambda user: (load.get(user, 0), user))


def _loads(conn, compiled, rt: ObjectRuntime, load_filter, candidates, ctx) -> dict[int, int]:
    table = rt.table
    owned = table.c.owner.in_(candidates)
    columns = {f.api_name: table.c[f.api_name] for f in rt.definition.live_fields if f.stored}
    condition = None
    if load_filter is not None:
        try:
            condition = to_sql(load_filter, columns, now=ctx.local_now)
        except ExpressionError:
            return _loads_in_python(conn, compiled, rt, load_filter, candidates, ctx)
    query = sa.select(table.c.owner, sa.func.count()).where(owned).group_by(table.c.owner)
    if condition is not None:
        query = query.where(condition)
    return {owner: count for owner, count in conn.execute(query)}


def _loads_in_python(conn, compiled, rt, load_filter, candidates, ctx) -> dict[int, int]:
    """A filter SQL cannot express (a looked-up value, a formula computed on read):
    evaluated on each candidate's records."""
    query = sa.select(rt.table).where(rt.table.c.owner.in_(candidates))
    counts: dict[int, int] = {}
    for row in conn.execute(query).mappings().all():
        if condition_holds(conn, compiled, ctx, rt, load_filter, dict(row), "load_filter"):
            counts[row["owner"]] = counts.get(row["owner"], 0) + 1
    return counts


# -- lookups -------------------------------------------------------------------------


def _rule(compiled: CompiledMetadata, key: str) -> AssignmentRuleDef:
    rule = compiled.definitions.assignment_rules.get(key)
    if rule is None:
        object_name = key.split(".", 1)[0]
        known = [
            k for k in compiled.definitions.assignment_rules if k.startswith(f"{object_name}.")
        ]
        raise NotFound(
            f"there is no assignment rule {key[:120]!r}; "
            f"rules of {object_name[:40]}: {', '.join(sorted(known)) or '(none defined)'}"
        )
    return rule


def _rules(compiled: CompiledMetadata, rt: ObjectRuntime) -> list[AssignmentRuleDef]:
    """The object's active rules, by (order, api_name)."""
    name = rt.definition.api_name
    return sorted(
        (
            r
            for r in compiled.definitions.assignment_rules.values()
            if r.object_name == name and r.active
        ),
        key=lambda r: (r.order, r.api_name),
    )


def record_id_of(value: Any) -> int:
    """A record id from a path or payload; NotFound for anything that cannot be one."""
    return parse_id(value)


def locked_record(conn: sa.Connection, rt: ObjectRuntime, record_id: Any) -> dict[str, Any]:
    """The stored record, every column (locked on PostgreSQL until the transaction ends)."""
    query = sa.select(rt.table).where(rt.table.c.id == record_id_of(record_id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no {rt.definition.api_name} with id {record_id}")
    return dict(row)


def _cause(rule: AssignmentRuleDef) -> str:
    return f"assignment_rule:{rule.key}"


def _nobody(object_name: str, record_id, rules: list[AssignmentRuleDef]) -> str:
    if not rules:
        return (
            f"{object_name} has no active assignment rule; define one "
            f"(PUT /api/v1/definitions/assignment_rule/{object_name}.<name>) or name a rule"
        )
    names = ", ".join(r.key for r in rules)
    return (
        f"no assignment rule gave {object_name} {record_id} an owner ({names}): no entry's "
        "condition holds, or the deciding entry has no active user"
    )
