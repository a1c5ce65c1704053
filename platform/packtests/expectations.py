"""Comparing what a case expects with what the database holds afterwards.

Each ``compare_*`` returns a list of failures, one sentence each with the
expected and the actual value; an empty list means the expectation holds.
Values are compared as a consultant writes them: numbers by value (``60000``
equals ``"60000.00"``), moments as moments whatever their offset, users by
username, lookups by ``#ref``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from trellis.flows.tables import notification_table, pool_entry_table
from trellis.packtests.case_run import CaseRun
from trellis.packtests.cases import ExpectedNotification, ExpectedState, moment

USER_TYPES = ("user",)


def compare_state(
    run: CaseRun, object_name: str, record_id: int, expected: ExpectedState, source: str | None
) -> list[str]:
    """Fields, pool and notifications (those sent by ``source``) against ``expected``."""
    failures = []
    if expected.fields:
        failures += compare_fields(run, object_name, record_id, expected.fields)
    if expected.pool is not None:
        failures += compare_pool(run, object_name, record_id, expected.pool)
    if expected.notified is not None:
        failures += compare_notified(run, object_name, record_id, expected.notified, source)
    return failures


# -- fields ------------------------------------------------------------------------------


def compare_fields(
    run: CaseRun, object_name: str, record_id: int, expected: Mapping[str, Any]
) -> list[str]:
    record = run.read(object_name, record_id)
    types = field_types(run, object_name)
    failures = []
    for name, want in expected.items():
        got = record.get(name)
        kind = types.get(name)
        if not same(run, kind, want, got):
            failures.append(f"{object_name}.{name} is {shown(run, kind, got)}, expected {want!r}")
    return failures


def field_types(run: CaseRun, object_name: str) -> dict[str, str]:
    """Field → the type its values have (a formula's return type)."""
    with run.runtime.engine.connect() as conn:
        definition = run.runtime.cache.get(conn).definitions.objects[object_name]
    return {
        name: f.options.get("return_type", f.type) if f.type == "formula" else f.type
        for name, f in definition.by_name.items()
    }


def same(run: CaseRun, kind: str | None, want: Any, got: Any) -> bool:
    """Whether the stored value ``got`` is what the case wrote as ``want``."""
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, bool) or isinstance(got, bool):
        return want is got
    if kind in USER_TYPES and isinstance(want, str):
        return run.usernames([got]).get(got) == want
    if kind == "lookup" and isinstance(want, str) and want.startswith("#"):
        return run.refs.get(want[1:], (None, None))[1] == got
    if kind == "datetime" and isinstance(want, str):
        return _moment(want) == _moment(got)
    if isinstance(want, list) and isinstance(got, list):
        return sorted(map(str, want)) == sorted(map(str, got))
    if isinstance(want, int | float) or kind in ("currency", "decimal", "percent", "integer"):
        return _number(want) is not None and _number(want) == _number(got)
    return want == got


def shown(run: CaseRun, kind: str | None, value: Any) -> str:
    if kind in USER_TYPES and isinstance(value, int):
        return repr(run.usernames([value]).get(value, value))
    return repr(value)


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _moment(value: Any) -> dt.datetime | None:
    try:
        return moment(value) if isinstance(value, str) else value
    except ValueError:
        return None


# -- pool --------------------------------------------------------------------------------


def compare_pool(run: CaseRun, object_name: str, record_id: int, pool: str) -> list[str]:
    t = pool_entry_table
    query = sa.select(t.c.pool).where(t.c.object == object_name, t.c.record_id == record_id)
    with run.runtime.engine.connect() as conn:
        found = conn.execute(query).scalar()
    if found == pool:
        return []
    where = f"is in pool {found!r}" if found else "is in no pool"
    return [f"the {object_name} {where}, expected pool {pool!r}"]


# -- notifications -----------------------------------------------------------------------


def notifications(
    run: CaseRun, object_name: str, record_id: int, source: str | None
) -> list[dict[str, Any]]:
    """In-app notifications about the record (sent by ``source`` when given), in order."""
    n = notification_table
    query = sa.select(n).where(n.c.object == object_name, n.c.record_id == record_id)
    if source is not None:
        query = query.where(n.c.source == source)
    with run.runtime.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(n.c.id)).mappings()]
    names = run.usernames(r["user_id"] for r in rows)
    for row in rows:
        row["user"] = names.get(row["user_id"])
    return rows


def compare_notified(
    run: CaseRun,
    object_name: str,
    record_id: int,
    expected: tuple[ExpectedNotification, ...],
    source: str | None,
) -> list[str]:
    """Exactly the expected users were notified, each with a matching title and message."""
    sent = notifications(run, object_name, record_id, source)
    got = {r["user"] for r in sent}
    want = {e.user for e in expected}
    failures = []
    if got != want:
        failures.append(
            f"notified {_names(got)}, expected {_names(want)}"
            + (f" (missing {_names(want - got)})" if want - got else "")
            + (f" (not expected {_names(got - want)})" if got - want else "")
        )
    for e in expected:
        mine = [r for r in sent if r["user"] == e.user]
        if mine and not any(_matches(e, r) for r in mine):
            texts = "; ".join(f"{r['title']!r}: {r['body']!r}" for r in mine)
            failures.append(f"{e.user} got no notification like {_wanted(e)}; they got {texts}")
    return failures


def _matches(e: ExpectedNotification, row: dict[str, Any]) -> bool:
    return (e.title is None or e.title in row["title"]) and (
        e.message is None or e.message in row["body"]
    )


def _wanted(e: ExpectedNotification) -> str:
    parts = [f"title containing {e.title!r}"] if e.title else []
    parts += [f"message containing {e.message!r}"] if e.message else []
    return " and ".join(parts)


def _names(users) -> str:
    return "[" + ", ".join(sorted(str(u) for u in users)) + "]" if users else "nobody"
