"""The actions automations and approval flows take (the table in docs/flows.md).

``ACTIONS`` maps an action type to one small function. ``run_actions`` runs
a list of them in order inside the caller's transaction; each action reads
the record afresh, so it sees what the previous one changed. The context is
already trusted (``ctx.acting_for(...)``) by the caller: an automation or an
approval flow acts whatever the acting user's own rights are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from trellis.flows.record_values import compiled_for, evaluate, formula_env, load_row, shown
from trellis.metadata.flow_definitions import ActionDef
from trellis.runtime.errors import NotFound
from trellis.runtime.system_tables import user_table


@dataclass(frozen=True)
class Target:
    """The record an action works on; ``deleted`` holds its last values once it is gone."""

    object_name: str
    record_id: int
    deleted: dict[str, Any] | None = None

    def row(self, flows, conn: sa.Connection) -> dict[str, Any]:
        """The record's values now (re-read: earlier actions may have changed it)."""
        if self.deleted is not None:
            return self.deleted
        row = load_row(conn, compiled_for(flows, conn), self.object_name, self.record_id)
        if row is None:
            raise NotFound(f"no {self.object_name} with id {self.record_id}: it was deleted")
        return row

    def live(self, what: str) -> None:
        """Refuse an action that needs the stored record on a deleted one."""
        if self.deleted is not None:
            raise NotFound(
                f"{what} needs the {self.object_name}, but record {self.record_id} was deleted; "
                "use notify, webhook or create_record on a deleted trigger"
            )


#: An action: does its work on one record inside ``conn``.
Action = Callable[[Any, sa.Connection, Any, ActionDef, Target], None]

ACTIONS: dict[str, Action] = {}


def action(type_name: str) -> Callable[[Action], Action]:
    """Register the function of an action type; a second one for a type is a bug."""

    def register(fn: Action) -> Action:
        if type_name in ACTIONS:
            raise ValueError(f"action type {type_name!r} already runs {ACTIONS[type_name]}")
        ACTIONS[type_name] = fn
        return fn

    return register


def run_actions(
    flows,
    conn: sa.Connection,
    ctx,
    actions: tuple[ActionDef, ...],
    object_name: str,
    record_id: int,
    *,
    deleted: dict[str, Any] | None = None,
) -> None:
    """Run ``actions`` in order on one record, inside ``conn``'s transaction.

    ``deleted``: the record's last stored values when it was just deleted
    (a ``deleted`` trigger); actions then read these instead of the table.
    """
    target = Target(object_name, record_id, deleted)
    for item in actions:
        try:
            fn = ACTIONS[item.type]
        except KeyError:
            known = ", ".join(sorted(ACTIONS))
            raise ValueError(f"unknown action type {item.type!r}; known: {known}") from None
        fn(flows, conn, ctx, item, target)


def cause_of(ctx) -> str:
    """The automation or flow acting (the last cause), for logs and sources."""
    return ctx.cause[-1] if ctx.cause else "system"


def _values(flows, conn, ctx, item: ActionDef, target: Target, where: str) -> dict[str, Any]:
    row = target.row(flows, conn)
    compiled = compiled_for(flows, conn)
    env = formula_env(conn, compiled, ctx, target.object_name, row, item.values.values())
    return {
        name: evaluate(formula, env, ctx, f"{where} value {name!r}")
        for name, formula in item.values.items()
    }


@action("update_fields")
def update_fields(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    target.live("update_fields")
    values = _values(flows, conn, ctx, item, target, "update_fields")
    flows.records.update(ctx.on(conn), target.object_name, target.record_id, values)


@action("create_record")
def create_record(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    values = _values(flows, conn, ctx, item, target, f"create_record {item.object}")
    owner = target.row(flows, conn).get("owner")
    flows.records.create(ctx.on(conn), item.object, values, owner=owner)


@action("notify")
def notify(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    from trellis.flows import people, templates

    row = target.row(flows, conn)
    compiled = compiled_for(flows, conn)
    formulas: list = [spec.formula for spec in item.recipients if spec.formula is not None]
    # The message's {lookup.field} placeholders are read like a formula's dependencies.
    texts = [
        label.get(locale)
        for label in (item.title, item.message)
        if label
        for locale in ("zh-CN", "en")
    ]
    formulas.append(SimpleNamespace(dependencies=templates.placeholders(*texts)))
    env = formula_env(conn, compiled, ctx, target.object_name, row, formulas)
    # Inside an approval, "submitter", "approvers" and a plain "manager" refer to its
    # instance (the submitter's manager); in an automation, a manager is the owner's.
    instance_id = people.approval_of(ctx)
    recipients = people.resolve(
        conn,
        compiled,
        item.recipients,
        env,
        default_of="owner" if instance_id is None else "submitter",
        now=ctx.local_now,
        instance_id=instance_id,
    )
    send = partial(
        flows.notifications.send,
        conn,
        ctx,
        object_name=target.object_name,
        record_id=target.record_id,
        source=cause_of(ctx),
        wecom_robot=item.wecom_robot,
    )
    if "wecom" in item.channels:  # one post to the group robot, in the company's language
        title, body = _texts(compiled, item, target, env, "zh-CN", None)
        send([], title, body, channels=("wecom",))
    personal = tuple(c for c in item.channels if c != "wecom")
    if not personal:
        return
    for (locale, zone), user_ids in _by_language(conn, recipients).items():
        title, body = _texts(compiled, item, target, env, locale, ZoneInfo(zone))
        send(user_ids, title, body, channels=personal)


def _texts(compiled, item: ActionDef, target: Target, values, locale: str, zone):
    """Title and message in one language, placeholders filled from the record."""
    from trellis.flows import templates

    def fill(label, limit):
        return templates.render(label.get(locale), values, locale=locale, zone=zone, limit=limit)

    title = fill(item.title, templates.MAX_TITLE) if item.title else ""
    body = fill(item.message, templates.MAX_BODY) if item.message else ""
    return title or _default_title(compiled, target, locale), body


def _by_language(conn, user_ids) -> dict[tuple[str, str], list[int]]:
    """Recipients grouped by language and time zone, each group in the order given."""
    t = user_table
    query = sa.select(t.c.id, t.c.locale, t.c.time_zone).where(t.c.id.in_(sorted(set(user_ids))))
    settings = {r.id: (r.locale, r.time_zone) for r in conn.execute(query)}
    groups: dict[tuple[str, str], list[int]] = {}
    for user_id in user_ids:
        if user_id in settings:
            groups.setdefault(settings[user_id], []).append(user_id)
    return groups


def _default_title(compiled, target: Target, locale: str) -> str:
    """A notification without a title is named after the record's object."""
    label = compiled.object(target.object_name).definition.label.get(locale)
    return f"{label} #{target.record_id}"


@action("webhook")
def webhook(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    from trellis.flows import delivery

    row = target.row(flows, conn)
    record = shown(conn, compiled_for(flows, conn), ctx, target.object_name, row)
    body = {
        "object": target.object_name,
        "record": record,
        "deleted": target.deleted is not None,
        "cause": cause_of(ctx),
        "at": ctx.now.isoformat(),
    }
    # One delivery per cause, record version and URL: a retried job sends once.
    url = hashlib.sha256(item.url.encode()).hexdigest()[:16]
    key = f"webhook:{cause_of(ctx)}:{target.object_name}:{target.record_id}:{row['version']}:{url}"
    delivery.enqueue_webhook(conn, ctx, item.url, item.secret, body, key=key)


@action("assign")
def assign(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    target.live("assign")
    flows.assignment.assign(ctx.on(conn), target.object_name, target.record_id, item.rule)


@action("move_to_pool")
def move_to_pool(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    target.live("move_to_pool")
    flows.pools.move(
        ctx.on(conn), target.object_name, target.record_id, pool=item.pool, reason="recycled"
    )


@action("submit_for_approval")
def submit_for_approval(flows, conn, ctx, item: ActionDef, target: Target) -> None:
    target.live("submit_for_approval")
    flows.approvals.submit(ctx.on(conn), target.object_name, target.record_id, flow=item.flow)
