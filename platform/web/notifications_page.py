"""My notifications: newest first, unread ones marked, each linking to its record; mark one
or all read. Everything goes through ``runtime().flows.notifications`` (the API's service),
which only ever shows and marks the viewer's own: another user's notification is a 404.
The header's unread badge counts with the same service (``home.counters``).
"""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.web import pages
from trellis.web.metadata_view import compiled
from trellis.web.sessions import page_context, runtime

PAGE_SIZE = 50


def notifications():
    return runtime().flows.notifications


def _shown(note: dict) -> dict:
    """A notification with its time as the page shows it and a link to a readable object."""
    when = note["created_at"]
    rt = compiled().objects.get(note["object"]) if note["object"] else None
    href = (
        url_for("pages.record_page", object_name=note["object"], record_id=note["record_id"])
        if rt is not None and note["record_id"]
        else None
    )
    return {
        **note,
        "at": dt.datetime.fromisoformat(when).strftime("%Y-%m-%d %H:%M") if when else "",
        "href": href,
        "object_label": rt.definition.label if rt is not None else None,
    }


@pages.get("/notifications")
def notifications_page():
    unread_only = request.args.get("unread") == "1"
    cursor = request.args.get("cursor") or None
    page = notifications().list(
        page_context(), unread_only=unread_only, limit=PAGE_SIZE, cursor=cursor
    )
    return render_template(
        "notifications.html",
        notes=[_shown(n) for n in page["notifications"]],
        next_cursor=page["next_cursor"],
        unread_only=unread_only,
    )


@pages.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int):
    ctx = page_context()
    notifications().get(ctx, notification_id)  # 404 unless it is the viewer's
    notifications().mark_read(ctx, [notification_id])
    return redirect(_back(), code=303)


@pages.post("/notifications/read-all")
def read_all_notifications():
    marked = notifications().mark_read(page_context())
    flash(_("Marked %(num)d notification(s) read.", num=marked))
    return redirect(_back(), code=303)


def _back() -> str:
    """Back to the list as it was shown (only this page's own filter is kept)."""
    if request.form.get("unread") == "1":
        return url_for("pages.notifications_page", unread="1")
    return url_for("pages.notifications_page")
