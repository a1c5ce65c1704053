"""FlowEngine: the flow services of one Runtime, wired to its record events.

``Runtime`` builds one. Each service subscribes to the record events it
needs and registers the job kinds it handles; the worker looks handlers up
here by kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from trellis.flows import tables  # noqa: F401  (the tables join the platform's MetaData)
from trellis.runtime.context import Context, Principal, load_principal

#: A job handler: does the job's work inside ``conn`` (the job's transaction).
JobHandler = Callable[[sa.Connection, Context, dict[str, Any]], None]

#: An automation or flow that causes writes beyond this depth is stopped.
MAX_DEPTH = 5


class FlowEngine:
    def __init__(self, runtime):
        self.runtime = runtime
        self.engine: sa.Engine = runtime.engine
        self.records = runtime.records
        self.cache = runtime.cache
        self.events = runtime.events
        self.config: dict[str, Any] = {}  # SMTP, WeCom robots, webhook secrets (app config)
        self._handlers: dict[str, JobHandler] = {}
        from trellis.flows.approvals import ApprovalService
        from trellis.flows.assignment import AssignmentService
        from trellis.flows.automations import AutomationService
        from trellis.flows.notifications import NotificationService
        from trellis.flows.pools import PoolService

        self.notifications = NotificationService(self)
        self.assignment = AssignmentService(self)
        self.pools = PoolService(self)
        self.approvals = ApprovalService(self)
        self.automations = AutomationService(self)

    # -- jobs ---------------------------------------------------------------

    def register_job(self, kind: str, handler: JobHandler) -> None:
        """Register the handler of a job kind; a second handler for a kind is a bug."""
        if kind in self._handlers:
            raise ValueError(f"job kind {kind!r} already has a handler ({self._handlers[kind]})")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> JobHandler:
        try:
            return self._handlers[kind]
        except KeyError:
            known = ", ".join(sorted(self._handlers))
            raise LookupError(f"no handler for job kind {kind!r}; known kinds: {known}") from None

    @property
    def job_kinds(self) -> list[str]:
        return sorted(self._handlers)

    # -- contexts -----------------------------------------------------------

    def context(
        self, conn: sa.Connection, user_id: int | None, now: dt.datetime, cause: str
    ) -> Context:
        """A trusted context for work the engine does on behalf of ``user_id``
        (None: the platform itself), at ``now``, inside ``conn``."""
        principal = load_principal(conn, user_id) if user_id else None
        if principal is None:
            principal = Principal(
                id=0, username="system", display_name="Trellis", department_id=None, roles=()
            )
        return Context(principal=principal, now=now, locale=principal.locale, conn=conn).acting_for(
            cause
        )
