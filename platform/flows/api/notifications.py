"""A user's notifications over REST (only their own; anyone else's are not found).

``GET /notifications`` (``?unread=true``, ``limit``, ``cursor``) pages newest
first; ``GET /notifications/unread-count``; ``POST /notifications/{id}/read``;
``POST /notifications/read-all``.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.requests import context, runtime
from trellis.runtime.errors import BadRequest

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def _service():
    return runtime().flows.notifications


@api.get("/notifications")
def list_notifications():
    args = request.args
    unknown = set(args) - {"unread", "limit", "cursor"}
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}; use unread, limit, cursor"
        )
    unread = args.get("unread", "").lower()
    if unread not in _TRUE + _FALSE:
        raise BadRequest("unread must be true or false")
    try:
        limit = int(args.get("limit", 50))
    except ValueError:
        raise BadRequest("limit must be a whole number from 1 to 200") from None
    page = _service().list(
        context(), unread_only=unread in _TRUE, limit=limit, cursor=args.get("cursor") or None
    )
    return jsonify(page)


@api.get("/notifications/unread-count")
def unread_notifications():
    return jsonify({"unread": _service().unread_count(context())})


@api.post("/notifications/<int:notification_id>/read")
def read_notification(notification_id: int):
    ctx = context()
    _service().get(ctx, notification_id)  # 404 unless it is the caller's
    _service().mark_read(ctx, [notification_id])
    return jsonify({"notification": _service().get(ctx, notification_id)})


@api.post("/notifications/read-all")
def read_all_notifications():
    return jsonify({"marked": _service().mark_read(context())})
