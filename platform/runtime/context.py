"""The explicit context every runtime call receives: who acts, in which
language and time zone, at which moment, and (optionally) on which open
connection. No globals: flows and tests build their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from functools import cached_property
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from trellis.runtime.system_tables import department_table, user_role_table, user_table

DEFAULT_ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the permission checks see them."""

    id: int
    username: str
    display_name: str
    department_id: int | None
    roles: tuple[str, ...]
    #: everyone below this user in the manager chain
    reports: frozenset[int] = frozenset()
    #: this user's department and every department below it
    department_tree: frozenset[int] = frozenset()
    locale: str = "zh-CN"
    time_zone: str = DEFAULT_ZONE


@dataclass(frozen=True)
class Context:
    principal: Principal
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    locale: str = "zh-CN"
    conn: sa.Connection | None = None
    #: True when the flow engine acts (approval actions, automations, pools):
    #: object rights, data scope and the approval record lock do not apply.
    #: The principal is still the person on whose behalf it acts, for stamps.
    trusted: bool = False
    #: The automations and flows that led to this write, outermost first
    #: (e.g. ``("automation:lead.recycle",)``): the depth limit counts them.
    cause: tuple[str, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.principal.time_zone)

    @property
    def user_id(self) -> int:
        return self.principal.id

    @cached_property
    def local_now(self) -> dt.datetime:
        """``now`` in the user's time zone: what TODAY() and NOW() mean to them."""
        return self.now.astimezone(self.zone)

    @property
    def stamp(self) -> dt.datetime:
        """``now`` as the naive UTC value stored in datetime columns."""
        return self.now.astimezone(dt.UTC).replace(tzinfo=None)

    def on(self, conn: sa.Connection) -> Context:
        """The same context, running inside an already open transaction."""
        return replace(self, conn=conn)

    def acting_for(self, cause: str) -> Context:
        """The same context trusted by the records service on behalf of ``cause``."""
        return replace(self, trusted=True, cause=(*self.cause, cause))


def load_principal(conn: sa.Connection, user_id: int) -> Principal | None:
    """Read a user with roles, reports and department subtree; None if missing or inactive."""
    user = conn.execute(
        sa.select(user_table).where(user_table.c.id == user_id, user_table.c.is_active)
    ).first()
    if user is None:
        return None
    roles = tuple(
        sorted(
            r
            for (r,) in conn.execute(
                sa.select(user_role_table.c.role).where(user_role_table.c.user_id == user_id)
            )
        )
    )
    managers = conn.execute(sa.select(user_table.c.id, user_table.c.manager_id)).all()
    departments = conn.execute(sa.select(department_table.c.id, department_table.c.parent_id)).all()
    return Principal(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        department_id=user.department_id,
        roles=roles,
        reports=frozenset(_below(user.id, managers)),
        department_tree=frozenset({user.department_id} | _below(user.department_id, departments))
        if user.department_id
        else frozenset(),
        locale=user.locale,
        time_zone=user.time_zone,
    )


def _below(root: int, edges) -> set[int]:
    children: dict[int, list[int]] = {}
    for child, parent in edges:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def system_context(actor: str | None, conn: sa.Connection | None = None) -> Context:
    """A context for work the platform does itself (back-filling computed fields)."""
    principal = Principal(
        id=0, username=actor or "system", display_name="Trellis", department_id=None, roles=()
    )
    return Context(principal=principal, conn=conn, trusted=True, cause=("system",))
