"""What an automation would do to one record, worked out without doing any of it.

The automation designer's test run (issue 6) asks this: does the condition hold for the
record (with the values it read), when would a timed run be due, and what each action would
change, create, notify or call. Every formula is evaluated the way ``trellis.flows.actions``
evaluates it, on the record's values (``record_values.formula_env``), but on a connection
that only reads and is rolled back: no record, job, notification or log row is written.

Actions run in order on a live record and each sees what the previous one changed; here a
field an ``update_fields`` action sets is set in the values the later actions read, so their
previews see it too (formula fields are not recomputed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from trellis.expressions import ExpressionError
from trellis.flows import people, templates, timing
from trellis.flows.record_values import formula_env, load_row
from trellis.metadata.flow_definitions import ActionDef, AutomationDef
from trellis.runtime.errors import NotFound, TrellisError


@dataclass
class FormulaOutcome:
    """A condition's result (``holds``) with the values of the names it read."""

    formula: str
    holds: bool | None = None
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class ActionOutcome:
    """One action's would-be effect.

    ``changes``: (field, value now, value after) for update_fields; ``values``: the new
    record's values (create_record); ``recipients`` (display names), ``title`` and
    ``message`` for notify; ``target`` names the rule, pool, flow or URL the action uses.
    """

    type: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    object: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    recipients: list[str] = field(default_factory=list)
    channels: tuple[str, ...] = ()
    title: str = ""
    message: str = ""
    target: str | None = None
    error: str | None = None


@dataclass
class Explanation:
    """The whole test run: ``runs`` is True when the condition (and trigger condition) hold."""

    automation: str
    record_id: int
    record_version: int | None
    trigger: str
    runs: bool
    trigger_condition: FormulaOutcome | None = None
    condition: FormulaOutcome | None = None
    due_at: dt.datetime | None = None
    actions: list[ActionOutcome] = field(default_factory=list)


def explain(flows, ctx, automation: AutomationDef, record_id: int) -> Explanation:
    """What ``automation`` would do to record ``record_id`` now; nothing is written.

    The trigger condition of an update trigger reads ``old.<field>`` as the values the
    record has now (a test run has no write to compare with). Actions are previewed even
    when the condition does not hold, so the admin sees them either way.

    Raises:
        NotFound: There is no such record, or ``ctx``'s user may not read it.
    """
    flows.records.get(ctx, automation.object_name, record_id)  # 404 for records unseen
    with flows.engine.connect() as conn:
        try:
            return _explain(flows, conn, ctx.on(conn), automation, record_id)
        finally:
            conn.rollback()


def _explain(flows, conn, ctx, automation: AutomationDef, record_id: int) -> Explanation:
    compiled = flows.cache.get(conn)
    row = load_row(conn, compiled, automation.object_name, record_id)
    if row is None:
        raise NotFound(f"no {automation.object_name} with id {record_id}")
    trigger = automation.trigger
    formulas = [trigger.condition, automation.condition, trigger.after]
    formulas += [f for item in automation.actions for f in _formulas(item)]
    env = formula_env(conn, compiled, ctx, automation.object_name, row, formulas)
    result = Explanation(automation.key, record_id, row.get("version"), trigger.type, True)
    if trigger.condition is not None:
        old = {f"old.{name}": value for name, value in env.items()}
        result.trigger_condition = _condition(trigger.condition, {**env, **old}, ctx)
    if automation.condition is not None:
        result.condition = _condition(automation.condition, env, ctx)
    result.runs = all(c is None or c.holds for c in (result.trigger_condition, result.condition))
    if trigger.type == "time":
        try:
            result.due_at = timing.due_at(conn, compiled, ctx, automation, row)
        except TrellisError:  # `after` cannot be computed for this record: no due time
            result.due_at = None
    for item in automation.actions:
        result.actions.append(_action(conn, compiled, ctx, automation, item, env))
    return result


def _formulas(item: ActionDef) -> list[Any]:
    found = list(item.values.values())
    found += [spec.formula for spec in item.recipients if spec.formula is not None]
    return found


def _condition(expression, env: dict[str, Any], ctx) -> FormulaOutcome:
    outcome = FormulaOutcome(
        expression.source, values={name: env.get(name) for name in sorted(expression.dependencies)}
    )
    try:
        outcome.holds = expression.evaluate(env, now=ctx.local_now) is True
    except ExpressionError as exc:
        outcome.holds, outcome.error = False, exc.message
    return outcome


def _evaluated(item: ActionDef, env: dict[str, Any], ctx) -> dict[str, Any]:
    return {name: f.evaluate(env, now=ctx.local_now) for name, f in item.values.items()}


def _action(conn, compiled, ctx, automation, item: ActionDef, env) -> ActionOutcome:
    outcome = ActionOutcome(item.type)
    try:
        _PREVIEWS.get(item.type, _named)(conn, compiled, ctx, automation, item, env, outcome)
    except (ExpressionError, TrellisError) as exc:
        outcome.error = getattr(exc, "message", str(exc))
    return outcome


def _update_fields(conn, compiled, ctx, automation, item, env, outcome) -> None:
    new = _evaluated(item, env, ctx)
    outcome.changes = [(name, env.get(name), value) for name, value in new.items()]
    env.update(new)  # later actions read the record as this one leaves it


def _create_record(conn, compiled, ctx, automation, item, env, outcome) -> None:
    outcome.object = item.object
    outcome.values = _evaluated(item, env, ctx)


def _notify(conn, compiled, ctx, automation, item, env, outcome) -> None:
    ids = people.resolve(
        conn, compiled, item.recipients, env, default_of="owner", now=ctx.local_now
    )
    found = people.usernames(conn, ids)
    outcome.recipients = [found[i]["display_name"] or found[i]["username"] for i in ids]
    outcome.channels = item.channels
    locale = ctx.locale
    if item.title:
        outcome.title = templates.render(
            item.title.get(locale), env, locale=locale, zone=ctx.zone, limit=templates.MAX_TITLE
        )
    if item.message:
        outcome.message = templates.render(
            item.message.get(locale), env, locale=locale, zone=ctx.zone
        )


def _named(conn, compiled, ctx, automation, item, env, outcome) -> None:
    """webhook, assign, move_to_pool, submit_for_approval: what they name, nothing to compute."""
    outcome.target = item.url or item.rule or item.pool or item.flow


_PREVIEWS = {
    "update_fields": _update_fields,
    "create_record": _create_record,
    "notify": _notify,
}
