"""``Runtime``: one database's engine, compiled-metadata cache, records
service, metadata API and event bus, wired together. The web app, the CLI,
benchmarks and tests each build one from a database URL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from trellis.runtime.compiled import MetadataCache
from trellis.runtime.context import Context, load_principal
from trellis.runtime.database import make_engine
from trellis.runtime.errors import Unauthorized
from trellis.runtime.events import EventBus
from trellis.runtime.metadata_api import MetadataAPI
from trellis.runtime.people import user_id as find_user_id
from trellis.runtime.records import RecordsService


class Runtime:
    def __init__(self, database_url: str, **engine_options):
        self.database_url = database_url
        self.engine = make_engine(database_url, **engine_options)
        self.cache = MetadataCache()
        self.events = EventBus()
        self.records = RecordsService(self.engine, self.cache, self.events)
        self.metadata = MetadataAPI(self.engine, self.cache)
        # The flow engine subscribes to record events; every write path goes
        # through them, so approvals' record locks and automations always apply.
        from trellis.flows.engine import FlowEngine

        self.flows = FlowEngine(self)

    def context(
        self,
        user_id: int,
        *,
        locale: str | None = None,
        conn: sa.Connection | None = None,
        now: dt.datetime | None = None,
    ) -> Context:
        """A context acting as ``user_id``; Unauthorized when the user is missing or inactive."""
        if conn is None:
            with self.engine.connect() as c:
                principal = load_principal(c, user_id)
        else:
            principal = load_principal(conn, user_id)
        if principal is None:
            raise Unauthorized("this user does not exist or is deactivated")
        return Context(
            principal=principal,
            locale=locale or principal.locale,
            conn=conn,
            **({"now": now} if now else {}),
        )

    def context_for(self, username: str, **kwargs) -> Context:
        with self.engine.connect() as conn:
            uid = find_user_id(conn, username)
        if uid is None:
            raise Unauthorized(f"there is no user {username!r}")
        return self.context(uid, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()
