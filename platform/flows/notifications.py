"""Notifications: in-app messages, emails and WeCom group messages from flows.

``send`` runs inside the transaction of the effect that notifies (an
automation's action, an approval step): in-app notifications are rows in
``trellis_notification``; emails and WeCom messages are outbox jobs that the
worker delivers (``trellis.flows.delivery``). Nothing leaves the building
unless the effect commits.

A user reads, counts and marks their own notifications through the methods
below (and ``/api/v1/notifications``); somebody else's are not found.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from trellis.flows import delivery, templates
from trellis.flows.jobs import mark_once
from trellis.flows.tables import notification_table
from trellis.runtime.context import Context
from trellis.runtime.database import begin_write
from trellis.runtime.errors import BadRequest, NotFound
from trellis.runtime.system_tables import user_table

CHANNELS = ("in_app", "email", "wecom")
MAX_LIMIT = 200

_n = notification_table.c


class NotificationService:
    def __init__(self, flows):
        self.flows = flows
        delivery.attach(flows)

    # -- sending (inside the caller's transaction) -----------------------------------------

    def send(
        self,
        conn: sa.Connection,
        ctx: Context,
        user_ids: Iterable[int],
        title: str,
        body: str,
        *,
        channels: Sequence[str] = ("in_app",),
        object_name: str | None = None,
        record_id: int | None = None,
        source: str | None = None,
        wecom_robot: str | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        """Notify ``user_ids`` (deactivated users left out) on ``channels``.

        ``title`` and ``body`` are final text (fill templates with
        ``trellis.flows.templates.render`` first); control characters go and
        lengths are capped. Email goes to each recipient with an address; WeCom
        posts once to the group robot ``wecom_robot``. With ``dedupe_key`` a
        second call with the same key (a retried effect) notifies nobody.
        """
        _check_channels(channels, wecom_robot)
        if dedupe_key is not None and not mark_once(conn, f"notify:{dedupe_key}", ctx.stamp):
            return
        heading, text = templates.title(title), templates.clean(body)
        key = f"notify:{dedupe_key or uuid.uuid4().hex}"
        recipients = _active_recipients(conn, user_ids)
        if "in_app" in channels and recipients:
            conn.execute(
                sa.insert(notification_table),
                [
                    {
                        "user_id": user_id,
                        "title": heading,
                        "body": text,
                        "object": object_name,
                        "record_id": record_id,
                        "source": source[:200] if source else None,
                        "created_at": ctx.stamp,
                    }
                    for user_id, _ in recipients
                ],
            )
        if "email" in channels:
            for user_id, address in recipients:
                if address:
                    delivery.enqueue_email(
                        conn, ctx, address, heading, text, key=f"{key}:email:{user_id}"
                    )
        if "wecom" in channels:
            delivery.enqueue_wecom(conn, ctx, wecom_robot, f"{heading}\n{text}", key=f"{key}:wecom")

    # -- reading and marking (a user's own) ------------------------------------------------

    def list(
        self,
        ctx: Context,
        *,
        unread_only: bool = False,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """The caller's notifications, newest first: ``{"notifications", "next_cursor"}``."""
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        query = (
            sa.select(notification_table)
            .where(_n.user_id == ctx.user_id)
            .order_by(_n.id.desc())
            .limit(limit + 1)
        )
        if unread_only:
            query = query.where(_n.read_at.is_(None))
        if cursor is not None:
            query = query.where(_n.id < _cursor_id(cursor))
        with self._reading(ctx) as conn:
            rows = conn.execute(query).mappings().all()
        page = rows[:limit]
        return {
            "notifications": [_as_json(row, ctx) for row in page],
            "next_cursor": str(page[-1]["id"]) if len(rows) > limit else None,
        }

    def get(self, ctx: Context, notification_id: int) -> dict[str, Any]:
        """One of the caller's notifications; NotFound for anyone else's."""
        with self._reading(ctx) as conn:
            row = (
                conn.execute(
                    sa.select(notification_table).where(
                        _n.id == notification_id, _n.user_id == ctx.user_id
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"you have no notification {notification_id}")
        return _as_json(row, ctx)

    def unread_count(self, ctx: Context) -> int:
        with self._reading(ctx) as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(notification_table)
                .where(_n.user_id == ctx.user_id, _n.read_at.is_(None))
            ).scalar_one()

    def mark_read(self, ctx: Context, ids: Iterable[int] | None = None) -> int:
        """Mark the caller's notifications ``ids`` (None: all) read; how many were unread."""
        update = (
            sa.update(notification_table)
            .where(_n.user_id == ctx.user_id, _n.read_at.is_(None))
            .values(read_at=ctx.stamp)
        )
        if ids is not None:
            update = update.where(_n.id.in_(list(ids)))
        with self._writing(ctx) as conn:
            return conn.execute(update).rowcount

    @contextlib.contextmanager
    def _reading(self, ctx: Context) -> Iterator[sa.Connection]:
        if ctx.conn is not None:
            yield ctx.conn
            return
        with self.flows.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def _writing(self, ctx: Context) -> Iterator[sa.Connection]:
        if ctx.conn is not None:
            yield ctx.conn
            return
        with begin_write(self.flows.engine) as conn:
            yield conn


def _check_channels(channels: Sequence[str], wecom_robot: str | None) -> None:
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown notification channel(s) {unknown}; use {', '.join(CHANNELS)}")
    if "wecom" in channels and not wecom_robot:
        raise ValueError("the wecom channel needs wecom_robot: a robot's name in WECOM_ROBOTS")


def _active_recipients(conn: sa.Connection, user_ids: Iterable[int]) -> list[tuple[int, str]]:
    """(id, email) of the active users among ``user_ids``, each once, in the given order."""
    wanted = list(dict.fromkeys(u for u in user_ids if u))
    if not wanted:
        return []
    found = dict(
        conn.execute(
            sa.select(user_table.c.id, user_table.c.email).where(
                user_table.c.id.in_(wanted), user_table.c.is_active
            )
        ).all()
    )
    return [(u, found[u]) for u in wanted if u in found]


def _cursor_id(cursor: str) -> int:
    if not cursor.isdigit():
        raise BadRequest("cursor must be the next_cursor of the previous page")
    return int(cursor)


def _as_json(row, ctx: Context) -> dict[str, Any]:
    def moment(value: dt.datetime | None) -> str | None:
        return value.replace(tzinfo=dt.UTC).astimezone(ctx.zone).isoformat() if value else None

    return {
        "id": row["id"],
        "title": row["title"],
        "body": row["body"],
        "object": row["object"],
        "record_id": row["record_id"],
        "source": row["source"],
        "created_at": moment(row["created_at"]),
        "read": row["read_at"] is not None,
        "read_at": moment(row["read_at"]),
    }
