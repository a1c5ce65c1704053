"""Record events for the flow engine: created, updated (with the changed
fields), deleted. Subscribers run inside the writing transaction, so what
they write commits or rolls back with the record.

Two more kinds run *before* a write and may refuse it by raising (the
approval record lock uses them): ``updating`` (``new`` holds the merged
values, ``changed`` the fields about to change) and ``deleting``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class RecordEvent:
    kind: str  # "created", "updated", "deleted", or before a write "updating", "deleting"
    object_name: str
    record_id: int
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    changed: frozenset[str] = field(default_factory=frozenset)


Subscriber = Callable[[sa.Connection, Any, RecordEvent], None]


class EventBus:
    """Subscribers by event kind; registration is refused once events flow."""

    def __init__(self):
        self._subscribers: dict[str, list[Subscriber]] = {
            "created": [],
            "updated": [],
            "deleted": [],
            "updating": [],
            "deleting": [],
        }

    def subscribe(self, kind: str, subscriber: Subscriber) -> None:
        if kind not in self._subscribers:
            known = ", ".join(self._subscribers)
            raise ValueError(f"unknown event kind {kind!r}; use one of {known}")
        self._subscribers[kind].append(subscriber)

    def listens(self, kind: str) -> bool:
        return bool(self._subscribers[kind])

    def emit(self, conn: sa.Connection, ctx, event: RecordEvent) -> None:
        for subscriber in self._subscribers[event.kind]:
            subscriber(conn, ctx, event)
