"""Record events for the flow engine: created, updated (with the changed
fields), deleted. Subscribers run inside the writing transaction, so what
they write commits or rolls back with the record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class RecordEvent:
    kind: str  # "created", "updated" or "deleted"
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
        }

    def subscribe(self, kind: str, subscriber: Subscriber) -> None:
        if kind not in self._subscribers:
            raise ValueError(f"unknown event kind {kind!r}; use created, updated or deleted")
        self._subscribers[kind].append(subscriber)

    def emit(self, conn: sa.Connection, ctx, event: RecordEvent) -> None:
        for subscriber in self._subscribers[event.kind]:
            subscriber(conn, ctx, event)
