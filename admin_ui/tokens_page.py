"""API tokens at /admin/tokens: issue one for a user, see when each was last used, revoke.

A token is shown once, on the page that answers its creation (never stored, never in a
redirect or the session: only its SHA-256 is kept, ``trellis.runtime.auth``). It works on
``/api/v1`` as ``Authorization: Bearer <token>`` until revoked.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.sections import section
from trellis.runtime import auth, people, people_admin
from trellis.runtime.database import begin_write
from trellis.web.sessions import page_context, runtime

section("tokens", _l("API tokens"), "admin.tokens", order=73, prefixes=("admin.token",))


@admin.get("/tokens")
def tokens():
    return _page()


@admin.post("/tokens")
def token_create():
    username = request.form.get("username", "")
    name = request.form.get("name", "").strip()
    errors = {}
    if not name:
        errors["name"] = _("Give the token a name, e.g. the system that will use it.")
    elif len(name) > 200:
        errors["name"] = _("This is too long.")
    token = None
    with begin_write(runtime().engine) as conn:
        user_id = people.user_id(conn, username) if username else None
        if user_id is None:
            errors["username"] = _("Choose the user the token acts as.")
        if not errors:
            token = auth.issue_token(conn, user_id, name)
    if errors:
        return _page(errors=errors, values={"username": username, "name": name}), 422
    # no-store: the one page that shows the token must not stay in a cache.
    page = _page(issued={"token": token, "username": username, "name": name})
    return page, 201, {"Cache-Control": "no-store"}


@admin.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):
    with begin_write(runtime().engine) as conn:
        revoked = auth.revoke_token_id(conn, token_id)
    flash(_("The token is revoked.") if revoked else _("This token was revoked already."))
    return redirect(url_for("admin.tokens"))


def _page(*, issued=None, errors=None, values=None):
    with runtime().engine.connect() as conn:
        listing = auth.tokens(conn)
        users = people_admin.list_users(conn, active=True)
    return render_template(
        "admin/tokens.html",
        tokens=[_shown(t) for t in listing],
        users=users,
        issued=issued,
        errors=errors or {},
        values=values or {},
    )


def _shown(row) -> dict:
    return {
        **row._mapping,
        "created": _local(row.created_at),
        "last_used": _local(row.last_used_at),
        "revoked": _local(row.revoked_at),
    }


def _local(moment: dt.datetime | None) -> str | None:
    """A stored UTC time in the viewer's time zone."""
    if moment is None:
        return None
    zone = page_context().principal.time_zone or "Asia/Shanghai"
    try:
        moment = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    except (KeyError, ValueError):
        pass
    return moment.strftime("%Y-%m-%d %H:%M")
