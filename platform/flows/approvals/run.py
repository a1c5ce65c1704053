"""``Run``: the working state of one action on one approval instance.

Every action (submit, approve, reject, recall, transfer, 加签, an SLA job)
builds one inside its transaction: the open connection, the compiled
metadata, who acts, the instance row and the flow version it is pinned to.
The instance row is written once, at the end, guarded by its version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from trellis.flows import people
from trellis.flows.record_values import formula_env, load_row
from trellis.flows.tables import flow_instance_table
from trellis.metadata.flow_definitions import FlowDef
from trellis.runtime.context import Context
from trellis.runtime.errors import Conflict, NotFound
from trellis.runtime.ids import parse_id

ACTIVE = ("pending", "waiting")


@dataclass
class Run:
    flows: Any  # the FlowEngine
    conn: sa.Connection
    compiled: Any
    ctx: Context  # the actor, on ``conn``
    instance: dict[str, Any]
    flow: FlowDef
    #: True while submitting: a dead end in the routing refuses the submission
    submitting: bool = False
    #: instance columns to write when the action ends
    changes: dict[str, Any] = field(default_factory=dict)
    _env: dict[str, Any] | None = None

    @property
    def id(self) -> int:
        return self.instance["id"]

    @property
    def object_name(self) -> str:
        return self.instance["object"]

    @property
    def record_id(self) -> int:
        return self.instance["record_id"]

    @property
    def status(self) -> str:
        return self.changes.get("status", self.instance["status"])

    @property
    def finished(self) -> bool:
        return self.status != "pending"

    @property
    def actor_id(self) -> int | None:
        """The acting user; None when the platform acts (an SLA job)."""
        return self.ctx.user_id or None

    @property
    def stamp(self) -> dt.datetime:
        return self.ctx.stamp

    def trusted(self) -> Context:
        """The context approval actions run with: trusted, caused by this approval."""
        return self.ctx.acting_for(f"approval:{self.id}").on(self.conn)

    def people_levels(self, specs) -> list[list[int]]:
        """Who ``specs`` name for this instance, level by level (逐级 chains give several)."""
        formulas = [p.formula for p in specs if p.formula is not None]
        return people.resolve_levels(
            self.conn,
            self.compiled,
            specs,
            self.env(formulas),
            submitter_id=self.instance["submitted_by"],
            now=self.ctx.local_now,
            instance_id=self.id,
        )

    def people(self, specs) -> list[int]:
        """Who ``specs`` name for this instance, in order, each once."""
        return list(dict.fromkeys(u for level in self.people_levels(specs) for u in level))

    def env(self, expressions=()) -> dict[str, Any]:
        """The record's values as the flow's formulas see them (read again after actions)."""
        if self._env is None or any(
            name not in self._env for e in expressions for name in getattr(e, "dependencies", ())
        ):
            row = load_row(self.conn, self.compiled, self.object_name, self.record_id)
            if row is None:
                raise NotFound(f"the {self.object_name} of this approval was deleted")
            self._env = formula_env(
                self.conn, self.compiled, self.ctx, self.object_name, row, expressions
            )
        return self._env

    def record_changed(self) -> None:
        self._env = None

    def save(self) -> None:
        """Write the instance's changes and a new version; a concurrent action loses (409)."""
        t = flow_instance_table
        values = {**self.changes, "version": self.instance["version"] + 1}
        result = self.conn.execute(
            sa.update(t)
            .where(t.c.id == self.id, t.c.version == self.instance["version"])
            .values(values)
        )
        if result.rowcount != 1:
            raise Conflict(
                f"approval {self.id} was changed by someone else at the same moment; "
                "reload it and try again"
            )
        self.instance = {**self.instance, **values}
        self.changes = {}


def lock_instance(conn: sa.Connection, instance_id) -> dict[str, Any]:
    """The instance row, locked on PostgreSQL until the transaction ends (SQLite: the
    write transaction already holds the database's write lock)."""
    t = flow_instance_table
    query = sa.select(t).where(t.c.id == as_id(instance_id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"there is no approval {str(instance_id)[:40]} that you can see")
    return dict(row)


def as_id(value) -> int:
    """A path or body id as an integer; NotFound for anything else."""
    return parse_id(value, "id")
