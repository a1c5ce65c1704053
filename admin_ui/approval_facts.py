"""What the approval chain designer shows besides the flow itself.

The choices its controls offer (roles, departments, users, the object's fields) and the
flow's versions: the metadata version of each change to the flow, and which version each
running approval started on. The flow engine pins a submitted approval to the definition
it started with (``trellis.flows.approvals.pins``), so saving a flow never changes the
approvals already running; the designer says how many run on which version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from trellis.flows.tables import flow_instance_table
from trellis.metadata import store
from trellis.runtime.system_tables import department_table, user_table
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

#: How many changes of one flow the designer reads to name versions.
VERSIONS_READ = 50


@dataclass(frozen=True)
class Versions:
    """A flow's versions: the changes that touched it, newest first, and running approvals."""

    changes: list[int]
    running: dict[int, int]  # flow version -> pending approvals started on it
    lock_reason: str | None = None

    @property
    def current(self) -> int | None:
        return self.changes[0] if self.changes else None

    def running_total(self) -> int:
        return sum(self.running.values())


def versions(key: str, *, layers=None, history: int = VERSIONS_READ) -> Versions:
    """``key`` is ``approval_flow:object.name``; ``history``: how many changes to read (the
    list needs only the newest); ``layers``: the stored layers if already loaded."""
    with runtime().engine.connect() as conn:
        changes = [c["version"] for c in store.changes(conn, limit=history, key=key)]
        i = flow_instance_table
        query = (
            sa.select(i.c.metadata_version, sa.func.count())
            .where(i.c.flow == key.split(":", 1)[1], i.c.status == "pending")
            .group_by(i.c.metadata_version)
        )
        running: dict[int, int] = {}
        for started_at, count in conn.execute(query):
            version = next((v for v in changes if v <= started_at), started_at)
            running[version] = running.get(version, 0) + count
        reason = (layers or store.load(conn)).lock_reason(key)
    return Versions(changes, dict(sorted(running.items(), reverse=True)), reason)


def stored_layers():
    """The stored layers (packs, customizations), read once for a page that needs many keys."""
    with runtime().engine.connect() as conn:
        return store.load(conn)


def choices(object_name: str) -> dict[str, Any]:
    """Everything the designer's selects offer for a flow of ``object_name``."""
    defs = definitions()
    obj = defs.objects.get(object_name)
    fields = [f for f in obj.live_fields if f.api_name != "id"] if obj else []
    with runtime().engine.connect() as conn:
        users = conn.execute(
            sa.select(user_table.c.username, user_table.c.display_name)
            .where(user_table.c.is_active)
            .order_by(user_table.c.username)
        ).all()
        departments = conn.execute(
            sa.select(department_table.c.api_name, department_table.c.label_zh).order_by(
                department_table.c.api_name
            )
        ).all()
    return {
        "roles": sorted((r.api_name, label(r.label)) for r in defs.roles.values()),
        "departments": [(d.api_name, d.label_zh) for d in departments],
        "users": [(u.username, u.display_name) for u in users],
        "user_fields": [(f.api_name, label(f.label)) for f in fields if f.type == "user"],
        "editable_fields": [(f.api_name, label(f.label)) for f in fields if f.writable],
    }


def object_choices() -> list[tuple[str, str]]:
    """(api_name, label) of the live objects an approval flow may belong to."""
    objects = definitions().objects.values()
    return sorted((o.api_name, label(o.label)) for o in objects if not o.archived)
