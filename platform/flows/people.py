"""Who a ``PeopleDef`` means: approvers of a node, recipients of a notification,
members of a pool, users of an assignment rule.

Every spec resolves to active user ids in a stable order. ``resolve_levels``
keeps the levels of a manager chain apart (逐级审批: one level after the
other); ``resolve`` flattens them. Deactivated users are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from trellis.expressions import ExpressionError
from trellis.flows.tables import approval_task_table, flow_instance_table
from trellis.metadata.flow_definitions import PeopleDef
from trellis.runtime.errors import Invalid
from trellis.runtime.system_tables import department_table, user_role_table, user_table

#: A manager chain never climbs further than this (a loop in the data stops here).
MAX_CHAIN = 20


class _People:
    """One resolution: the user rows it needs, read once."""

    def __init__(
        self, conn: sa.Connection, compiled, record, submitter_id, default_of, now, instance_id
    ):
        self.conn = conn
        self.instance_id = instance_id
        if instance_id is not None and submitter_id is None:
            submitter_id = conn.execute(
                sa.select(flow_instance_table.c.submitted_by).where(
                    flow_instance_table.c.id == instance_id
                )
            ).scalar()
        self.compiled = compiled
        self.record = record or {}
        self.submitter_id = submitter_id
        self.default_of = default_of
        self.now = now
        rows = conn.execute(
            sa.select(
                user_table.c.id,
                user_table.c.username,
                user_table.c.manager_id,
                user_table.c.department_id,
                user_table.c.is_active,
            )
        ).all()
        self.users = {r.id: r for r in rows}
        self.by_name = {r.username: r.id for r in rows}

    def active(self, user_id) -> bool:
        row = self.users.get(user_id)
        return row is not None and bool(row.is_active)

    def person(self, spec: PeopleDef) -> int | None:
        """The person a relative spec starts from: the submitter or the record's owner."""
        of = spec.of or self.default_of
        if of == "owner":
            return _as_id(self.record.get("owner"))
        return self.submitter_id

    def levels(self, spec: PeopleDef) -> list[list[int]]:
        kind = spec.type
        if kind == "manager_chain":
            return [[m] for m in self.chain(spec)]
        resolver = getattr(self, f"_{kind}", None)
        if resolver is None:
            raise Invalid(f"unknown people type {kind!r}; see docs/flows.md for the types")
        return [list(resolver(spec))]

    # -- one method per people type ------------------------------------------------

    def _user(self, spec: PeopleDef) -> Iterable[int]:
        return [self.by_name[u] for u in spec.users if u in self.by_name]

    def _role(self, spec: PeopleDef) -> Iterable[int]:
        query = (
            sa.select(user_role_table.c.user_id)
            .where(user_role_table.c.role == spec.role)
            .order_by(user_role_table.c.user_id)
        )
        return list(self.conn.execute(query).scalars())

    def _department_head(self, spec: PeopleDef) -> Iterable[int]:
        t = department_table
        if spec.department:
            head = self.conn.execute(
                sa.select(t.c.head_user_id).where(t.c.api_name == spec.department)
            ).scalar()
        else:
            person = self.users.get(self.person(spec))
            if person is None or person.department_id is None:
                return []
            head = self.conn.execute(
                sa.select(t.c.head_user_id).where(t.c.id == person.department_id)
            ).scalar()
        return [head] if head is not None else []

    def _manager(self, spec: PeopleDef) -> Iterable[int]:
        person = self.users.get(self.person(spec))
        return [person.manager_id] if person is not None and person.manager_id else []

    def chain(self, spec: PeopleDef) -> list[int]:
        """逐级: the manager, their manager … ``levels`` up or to the first with ``until_role``."""
        roles = self._holders(spec.until_role) if spec.until_role else set()
        limit = spec.levels or MAX_CHAIN
        found: list[int] = []
        current = self.users.get(self.person(spec))
        while current is not None and current.manager_id and len(found) < limit:
            manager = current.manager_id
            if manager in found:
                break  # a loop in the manager data
            found.append(manager)
            if manager in roles:
                break
            current = self.users.get(manager)
        return found

    def _holders(self, role: str) -> set[int]:
        query = sa.select(user_role_table.c.user_id).where(user_role_table.c.role == role)
        return set(self.conn.execute(query).scalars())

    def _field(self, spec: PeopleDef) -> Iterable[int]:
        value = _as_id(self.record.get(spec.field))
        return [value] if value is not None else []

    def _formula(self, spec: PeopleDef) -> Iterable[int]:
        values = {name: self.record.get(name) for name in spec.formula.dependencies}
        try:
            result = spec.formula.evaluate(values, now=self.now)
        except ExpressionError as exc:
            raise Invalid(
                f"the people formula {spec.formula.source!r} could not be computed: {exc.message}"
            ) from None
        if result is None:
            return []
        if isinstance(result, int | Decimal | float):
            return [int(result)]
        names = [n.strip() for n in str(result).split(",") if n.strip()]
        return [self.by_name[n] for n in names if n in self.by_name]

    def _owner(self, spec: PeopleDef) -> Iterable[int]:
        owner = _as_id(self.record.get("owner"))
        return [owner] if owner is not None else []

    def _submitter(self, spec: PeopleDef) -> Iterable[int]:
        return [self.submitter_id] if self.submitter_id else []

    def _approvers(self, spec: PeopleDef) -> Iterable[int]:
        """Everyone who holds or held a task of the running approval, in task order."""
        if self.instance_id is None:
            return []
        t = approval_task_table
        query = (
            sa.select(t.c.assignee_id)
            .where(
                t.c.instance_id == self.instance_id,
                t.c.status.in_(("pending", "waiting", "approved", "rejected")),
            )
            .order_by(t.c.id)
        )
        return list(dict.fromkeys(self.conn.execute(query).scalars()))


def resolve_levels(
    conn: sa.Connection,
    compiled,
    specs: Sequence[PeopleDef],
    record: Mapping[str, Any] | None,
    *,
    submitter_id: int | None,
    default_of: str = "submitter",
    now=None,
    instance_id: int | None = None,
) -> list[list[int]]:
    """Levels of active user ids, in order, each user once.

    Every spec contributes to level 0, except ``manager_chain``, whose n-th
    manager joins level n (逐级: level 1 waits for level 0). ``record`` is the
    record's values as formulas see them (``field``, ``owner`` and ``formula``
    read it); ``now`` (aware) is what NOW() means in a formula. ``instance_id``
    (an approval running, see ``approval_of``) gives ``submitter`` and
    ``approvers`` their meaning.
    """
    people = _People(
        conn,
        compiled,
        record,
        submitter_id,
        default_of,
        now or dt.datetime.now(dt.UTC),
        instance_id,
    )
    levels: list[list[int]] = []
    for spec in specs:
        for index, level in enumerate(people.levels(spec)):
            while len(levels) <= index:
                levels.append([])
            levels[index].extend(level)
    seen: set[int] = set()
    out: list[list[int]] = []
    for level in levels:
        kept = [u for u in dict.fromkeys(level) if people.active(u) and u not in seen]
        seen.update(kept)
        if kept:
            out.append(kept)
    return out


def resolve(
    conn: sa.Connection,
    compiled,
    specs: Sequence[PeopleDef],
    record: Mapping[str, Any] | None,
    *,
    submitter_id: int | None = None,
    default_of: str = "submitter",
    now=None,
    instance_id: int | None = None,
) -> list[int]:
    """Every user ``specs`` mean, flattened, deduplicated, in order."""
    levels = resolve_levels(
        conn,
        compiled,
        specs,
        record,
        submitter_id=submitter_id,
        default_of=default_of,
        now=now,
        instance_id=instance_id,
    )
    return [u for level in levels for u in level]


def approval_of(ctx) -> int | None:
    """The approval instance a trusted context acts for (its cause ``approval:<id>``), if any.

    Actions of an approval flow pass it to ``resolve`` so that ``submitter``
    and ``approvers`` mean the people of that approval.
    """
    for cause in reversed(getattr(ctx, "cause", ())):
        kind, _, number = cause.partition(":")
        if kind == "approval" and number.isdigit():
            return int(number)
    return None


def admins(conn: sa.Connection, compiled) -> list[int]:
    """Active users holding an administrator role (an approval node with nobody to ask)."""
    roles = [name for name, role in compiled.definitions.roles.items() if role.is_admin]
    if not roles:
        return []
    query = (
        sa.select(user_table.c.id)
        .join(user_role_table, user_role_table.c.user_id == user_table.c.id)
        .where(user_role_table.c.role.in_(roles), user_table.c.is_active)
        .order_by(user_table.c.id)
        .distinct()
    )
    return list(conn.execute(query).scalars())


def by_locale(conn: sa.Connection, user_ids: Iterable[int]) -> dict[str, list[int]]:
    """``user_ids`` grouped by their language, so each gets a message they read."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    query = sa.select(user_table.c.id, user_table.c.locale).where(user_table.c.id.in_(ids))
    locales = {r.id: r.locale for r in conn.execute(query)}
    grouped: dict[str, list[int]] = {}
    for user in ids:
        if user in locales:
            grouped.setdefault(locales[user], []).append(user)
    return grouped


def usernames(conn: sa.Connection, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """``{id: {"id", "username", "display_name"}}`` for showing people in answers."""
    ids = sorted(set(u for u in user_ids if u))
    if not ids:
        return {}
    query = sa.select(user_table.c.id, user_table.c.username, user_table.c.display_name).where(
        user_table.c.id.in_(ids)
    )
    return {r.id: dict(r._mapping) for r in conn.execute(query)}


def _as_id(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
