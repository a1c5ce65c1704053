"""Pools (公海池): records without an owner, claimed (领取) by the pool's members.

A record in a pool has no owner; its row in ``trellis_pool_entry`` says which
pool it is in, since when, who owned it before and why it came (recycled,
released, moved). It gets there by ``move`` (the ``move_to_pool`` action of a
recycle automation) or ``release`` (its owner gives it back), and leaves it
when it gets an owner by any path: a claim, an assignment rule, a transfer.
The service listens to "updated" events for that, so no path is missed.

Which pool: a named pool must accept the record (its ``condition``);
without a name, the first active pool of the object that accepts it, pools
with a condition before pools without one (a catch-all pool does not
swallow records meant for a specific one), each group by api_name.

Reading: members list a pool with ``records``, its own query guarded by the
membership check, so they see every record in it (with the fields their
roles show them) although their data scope ("own", "department") would
not show a record without an owner. Reading one pooled record through the
records service stays limited by the data scope: a member claims it first.

Claims: one winner. The claim deletes the pool entry with a conditional
``DELETE`` and checks the row count; on PostgreSQL the second claimer's
``DELETE`` waits on the first one's row lock and then finds nothing, on
SQLite write transactions queue. The loser gets 409 "already claimed by X".
Limits (``claims_per_day``, counted per pool in the user's time zone, and
``max_held``, records of the object the user owns) are checked with the
user's row locked, so a user's own parallel claims cannot overshoot them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from trellis.flows import people
from trellis.flows.assignment import condition_holds, locked_record, record_id_of
from trellis.flows.tables import pool_claim_table, pool_entry_table
from trellis.metadata.flow_definitions import PoolDef
from trellis.runtime.compiled import CompiledMetadata, ObjectRuntime
from trellis.runtime.context import Context
from trellis.runtime.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from trellis.runtime.events import RecordEvent
from trellis.runtime.permissions import is_admin
from trellis.runtime.records.computing import lookup_values_for_page
from trellis.runtime.records.output import present
from trellis.runtime.system_tables import user_table

MAX_LIMIT = 500
REASONS = ("recycled", "released", "moved")


class PoolService:
    """Moves records into pools, and lets members list, claim and release them."""

    def __init__(self, flows):
        self.flows = flows
        flows.events.subscribe("updated", self._on_updated)
        flows.events.subscribe("deleted", self._on_deleted)
        flows.runtime.metadata.removal_checks.append(_refuse_removing_a_pool_in_use)

    # -- into a pool -----------------------------------------------------------

    def move(
        self,
        ctx: Context,
        object_name: str,
        record_id: int,
        *,
        pool: str | None = None,
        reason: str = "moved",
    ) -> str:
        """Put a record into ``pool`` (None: the first that accepts it); its owner becomes
        None. Returns the pool's api_name. Runs inside ``ctx.conn`` when given.

        A trusted context (automations) may move any record; a user needs edit
        rights on it (and the approval lock applies).
        """
        if reason not in REASONS:
            raise Invalid(f"reason must be one of {', '.join(REASONS)}, not {str(reason)[:20]!r}")
        records = self.flows.records
        with records.session(ctx) as (conn, compiled):
            rt = records.object(compiled, object_name)
            inner = ctx.on(conn)
            if not ctx.trusted:
                records.get(inner, object_name, record_id)  # out of scope: 404 first
            record = locked_record(conn, rt, record_id)
            target = self._target(conn, compiled, rt, record, pool, inner)
            self._enter(conn, inner, target, record, reason)
            return target.api_name

    def release(
        self, ctx: Context, object_name: str, record_id: int, *, pool: str | None = None
    ) -> str:
        """The owner (or an administrator) gives a record back to a pool; returns its api_name."""
        records = self.flows.records
        with records.session(ctx) as (conn, compiled):
            rt = records.object(compiled, object_name)
            inner = ctx.on(conn)
            if not ctx.trusted:
                records.get(inner, object_name, record_id)
            record = locked_record(conn, rt, record_id)
            if record["owner"] is None:
                raise Conflict(f"this {object_name} has no owner: it is in a pool already")
            mine = record["owner"] == ctx.user_id
            if not (ctx.trusted or mine or is_admin(compiled.definitions, ctx.principal)):
                raise Forbidden(
                    f"only the owner of this {object_name} or an administrator may release it"
                )
            target = self._target(conn, compiled, rt, record, pool, inner)
            self._enter(conn, inner, target, record, "released")
            return target.api_name

    def _target(self, conn, compiled, rt: ObjectRuntime, record, name: str | None, ctx) -> PoolDef:
        object_name = rt.definition.api_name
        if name is not None:
            pool = _pool(compiled, object_name, name)
            if not self._accepts(conn, compiled, rt, pool, record, ctx):
                raise Invalid(
                    f"pool {pool.key} does not take this {object_name}: its condition does not "
                    "hold for the record; choose another pool or leave the pool out"
                )
            return pool
        for pool in _pools_in_turn(compiled, object_name):
            if self._accepts(conn, compiled, rt, pool, record, ctx):
                return pool
        raise Invalid(
            f"no active pool of {object_name} takes {object_name} {record['id']}; define a pool "
            "whose condition accepts it, or name one"
        )

    def _accepts(self, conn, compiled, rt, pool: PoolDef, record, ctx) -> bool:
        return condition_holds(conn, compiled, ctx, rt, pool.condition, record, f"pool {pool.key}")

    def _enter(self, conn, ctx: Context, pool: PoolDef, record: dict, reason: str) -> None:
        """Write the pool entry, then empty the owner.

        The entry goes first: anything that gives the record an owner while the
        transfer's events run (an automation assigning it) removes it again.
        """
        t = pool_entry_table
        where = (t.c.object == pool.object_name, t.c.record_id == record["id"])
        previous = record["owner"]
        if previous is None:  # from one pool to another: keep who had it last
            previous = conn.execute(sa.select(t.c.previous_owner).where(*where)).scalar()
        conn.execute(sa.delete(t).where(*where))
        conn.execute(
            sa.insert(t).values(
                object=pool.object_name,
                record_id=record["id"],
                pool=pool.api_name,
                entered_at=ctx.stamp,
                previous_owner=previous,
                reason=reason,
            )
        )
        self.flows.records.transfer(ctx, pool.object_name, record["id"], None)

    # -- claiming --------------------------------------------------------------

    def claim(self, ctx: Context, object_name: str, pool: str, record_id: int) -> dict[str, Any]:
        """A member takes a record from the pool (领取); returns the record as they see it.

        404 for non-members and records not in the pool, 409 when someone
        claimed it first, 422 when a limit of the pool is reached.
        """
        records = self.flows.records
        with records.session(ctx) as (conn, compiled):
            target = _pool(compiled, object_name, pool)
            rt = records.object(compiled, object_name)
            self._require_member(conn, compiled, ctx, target)
            record_id = record_id_of(record_id)
            self._check_limits(conn, rt, target, ctx)
            self._take_entry(conn, rt, target, record_id)
            conn.execute(
                sa.insert(pool_claim_table).values(
                    object=object_name,
                    pool=target.api_name,
                    record_id=record_id,
                    user_id=ctx.user_id,
                    claimed_at=ctx.stamp,
                )
            )
            inner = ctx.on(conn)
            acting = inner if ctx.trusted else inner.acting_for(f"pool:{target.key}")
            records.transfer(acting, object_name, record_id, ctx.user_id)
            return records.get(inner, object_name, record_id)

    def _check_limits(self, conn, rt: ObjectRuntime, pool: PoolDef, ctx: Context) -> None:
        if pool.claims_per_day is None and pool.max_held is None:
            return
        _lock_user(conn, ctx.user_id)
        name = rt.definition.api_name
        if pool.claims_per_day is not None:
            today = _claims_today(conn, pool, ctx)
            if today >= pool.claims_per_day:
                raise Invalid(
                    f"you have claimed {today} {name} record(s) from pool {pool.key} today, its "
                    f"daily limit of {pool.claims_per_day}; claim more tomorrow"
                )
        if pool.max_held is not None:
            held = conn.execute(
                sa.select(sa.func.count())
                .select_from(rt.table)
                .where(rt.table.c.owner == ctx.user_id)
            ).scalar_one()
            if held >= pool.max_held:
                raise Invalid(
                    f"you own {held} {name} record(s), the most pool {pool.key} allows "
                    f"({pool.max_held}); release or close some before claiming more"
                )

    def _take_entry(self, conn, rt: ObjectRuntime, pool: PoolDef, record_id: int) -> None:
        """Remove the record's pool entry; exactly one concurrent claimer succeeds."""
        t = pool_entry_table
        taken = conn.execute(
            sa.delete(t).where(
                t.c.object == pool.object_name,
                t.c.record_id == record_id,
                t.c.pool == pool.api_name,
            )
        )
        if taken.rowcount == 1:
            return
        winner = _claimed_by(conn, rt, pool, record_id)
        if winner is not None:
            raise Conflict(
                f"this {pool.object_name} was already claimed by {winner}; "
                "choose another record from the pool"
            )
        raise NotFound(f"there is no {pool.object_name} {record_id} in pool {pool.key}")

    # -- reading ---------------------------------------------------------------

    def records(
        self,
        ctx: Context,
        object_name: str,
        pool: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """One page of the pool, newest entries first: ``{"entries": [{"record",
        "entered_at", "previous_owner", "reason"}], "next_cursor"}``.

        Members only (404 for others); field security applies, the data scope does not.
        """
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        records = self.flows.records
        with records.session(ctx, write=False) as (conn, compiled):
            target = _pool(compiled, object_name, pool)
            rt = records.object(compiled, object_name)
            self._require_member(conn, compiled, ctx, target)
            hidden = records.access(compiled, ctx, object_name).hidden
            rows = conn.execute(_page_query(rt, target, limit, cursor)).mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            return {
                "entries": self._entries(conn, compiled, rt, rows, ctx, hidden),
                "next_cursor": _encode_cursor(rows[-1]) if more else None,
            }

    def _entries(self, conn, compiled, rt, rows, ctx: Context, hidden) -> list[dict[str, Any]]:
        related = (
            lookup_values_for_page(conn, compiled, rt, rows)
            if rt.read_formulas and rt.lookup_paths and rows
            else [{}] * len(rows)
        )
        names = _display_names(conn, {r["_previous_owner"] for r in rows} - {None})
        return [
            {
                "record": present(rt, row, ctx, hidden, related=extra),
                "entered_at": _local(row["_entered_at"], ctx),
                "previous_owner": (
                    {
                        "id": row["_previous_owner"],
                        "display_name": names.get(row["_previous_owner"]),
                    }
                    if row["_previous_owner"] is not None
                    else None
                ),
                "reason": row["_reason"],
            }
            for row, extra in zip(rows, related, strict=True)
        ]

    def pools(self, ctx: Context) -> list[dict[str, Any]]:
        """The active pools ``ctx``'s user is a member of, with how many records each holds."""
        records = self.flows.records
        with records.session(ctx, write=False) as (conn, compiled):
            mine = [
                p
                for p in sorted(compiled.definitions.pools.values(), key=lambda p: p.key)
                if p.active and self.is_member(conn, compiled, ctx, p)
            ]
            counts = _counts(conn) if mine else {}
            return [
                {
                    "key": p.key,
                    "object": p.object_name,
                    "api_name": p.api_name,
                    "label": p.label.as_json(),
                    "records": counts.get((p.object_name, p.api_name), 0),
                    "claims_per_day": p.claims_per_day,
                    "claimed_today": _claims_today(conn, p, ctx),
                    "max_held": p.max_held,
                }
                for p in mine
            ]

    # -- membership ------------------------------------------------------------

    def is_member(self, conn, compiled: CompiledMetadata, ctx: Context, pool: PoolDef) -> bool:
        """Whether ``ctx``'s user is one of the pool's members (trusted contexts always are)."""
        if ctx.trusted:
            return True
        # Membership is per pool, not per record: no record to resolve "owner" against.
        return ctx.user_id in people.resolve(conn, compiled, pool.members, {})

    def _require_member(self, conn, compiled, ctx: Context, pool: PoolDef) -> None:
        if not self.is_member(conn, compiled, ctx, pool):
            raise NotFound(
                f"there is no pool {pool.key} that you are a member of; "
                "GET /api/v1/pools lists your pools"
            )

    # -- leaving a pool ----------------------------------------------------------

    def _on_updated(self, conn: sa.Connection, ctx: Context, event: RecordEvent) -> None:
        """A record that gets an owner, by any path, leaves its pool."""
        if "owner" in event.changed and (event.new or {}).get("owner") is not None:
            _forget(conn, event.object_name, event.record_id)

    def _on_deleted(self, conn: sa.Connection, ctx: Context, event: RecordEvent) -> None:
        _forget(conn, event.object_name, event.record_id)


# -- helpers -------------------------------------------------------------------------


def _pool(compiled: CompiledMetadata, object_name: str, api_name: str) -> PoolDef:
    pool = compiled.definitions.pools.get(f"{object_name}.{api_name}")
    if pool is None or not pool.active:
        raise NotFound(
            f"there is no active pool {str(object_name)[:40]}.{str(api_name)[:80]}; "
            "GET /api/v1/pools lists your pools"
        )
    return pool


def _pools_in_turn(compiled: CompiledMetadata, object_name: str) -> list[PoolDef]:
    """Active pools of the object: those with a condition first, then by api_name."""
    return sorted(
        (
            p
            for p in compiled.definitions.pools.values()
            if p.object_name == object_name and p.active
        ),
        key=lambda p: (p.condition is None, p.api_name),
    )


def _lock_user(conn: sa.Connection, user_id: int) -> None:
    """Serialise one user's claims (PostgreSQL; SQLite writers queue anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(user_table.c.id).where(user_table.c.id == user_id).with_for_update())


def _claims_today(conn, pool: PoolDef, ctx: Context) -> int:
    local = ctx.local_now
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(dt.UTC).replace(tzinfo=None)
    c = pool_claim_table
    return conn.execute(
        sa.select(sa.func.count()).where(
            c.c.user_id == ctx.user_id,
            c.c.object == pool.object_name,
            c.c.pool == pool.api_name,
            c.c.claimed_at >= since,
        )
    ).scalar_one()


def _claimed_by(conn, rt: ObjectRuntime, pool: PoolDef, record_id: int) -> str | None:
    """Who holds the record after claiming it from this pool (None: nobody did)."""
    c = pool_claim_table
    last = conn.execute(
        sa.select(c.c.user_id)
        .where(
            c.c.object == pool.object_name, c.c.pool == pool.api_name, c.c.record_id == record_id
        )
        .order_by(c.c.id.desc())
        .limit(1)
    ).scalar()
    owner = conn.execute(sa.select(rt.table.c.owner).where(rt.table.c.id == record_id)).scalar()
    if last is None or owner != last:
        return None
    return _display_names(conn, {owner}).get(owner)


def _forget(conn: sa.Connection, object_name: str, record_id: int) -> None:
    t = pool_entry_table
    conn.execute(sa.delete(t).where(t.c.object == object_name, t.c.record_id == record_id))


def _refuse_removing_a_pool_in_use(conn: sa.Connection, key: str) -> None:
    """A pool still holding records is not removed: they have no owner, so nobody would
    see them again. They are claimed or assigned first (or the pool deactivated)."""
    kind, _, name = key.partition(":")
    if kind != "pool":
        return
    object_name, _, pool = name.partition(".")
    t = pool_entry_table
    waiting = conn.scalar(
        sa.select(sa.func.count()).where(t.c.object == object_name, t.c.pool == pool)
    )
    if waiting:
        raise Conflict(
            f"pool {name} still holds {waiting} record(s) without an owner; claim or assign "
            "them first, or deactivate the pool instead of removing it"
        )


def _counts(conn) -> dict[tuple[str, str], int]:
    t = pool_entry_table
    query = sa.select(t.c.object, t.c.pool, sa.func.count()).group_by(t.c.object, t.c.pool)
    return {(o, p): n for o, p, n in conn.execute(query)}


def _display_names(conn, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    u = user_table
    query = sa.select(u.c.id, u.c.display_name).where(u.c.id.in_(sorted(ids)))
    return {i: name for i, name in conn.execute(query)}


def _local(value: dt.datetime, ctx: Context) -> str:
    return value.replace(tzinfo=dt.UTC).astimezone(ctx.zone).isoformat()


# -- paging --------------------------------------------------------------------------


def _page_query(rt: ObjectRuntime, pool: PoolDef, limit: int, cursor: str | None):
    e = pool_entry_table
    t = rt.table
    query = (
        sa.select(
            t,
            e.c.entered_at.label("_entered_at"),
            e.c.previous_owner.label("_previous_owner"),
            e.c.reason.label("_reason"),
        )
        .join(e, sa.and_(e.c.record_id == t.c.id, e.c.object == pool.object_name))
        .where(e.c.pool == pool.api_name)
        .order_by(e.c.entered_at.desc(), e.c.record_id.desc())
        .limit(limit + 1)
    )
    if cursor:
        entered_at, record_id = _decode_cursor(cursor)
        query = query.where(
            sa.or_(
                e.c.entered_at < entered_at,
                sa.and_(e.c.entered_at == entered_at, e.c.record_id < record_id),
            )
        )
    return query


def _encode_cursor(row) -> str:
    values = [row["_entered_at"].isoformat(), row["id"]]
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        entered_at, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.datetime.fromisoformat(entered_at), int(record_id)
    except Exception:  # any malformed cursor gets the same plain answer
        raise BadRequest("the cursor is not valid for this pool; start again without it") from None
