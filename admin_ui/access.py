"""Who reaches the admin area: signed-in administrators only; everyone else gets 404.

The pages set ``g.ctx`` for every signed-in request (``trellis.web.sessions``); an
administrator is a user with a role marked ``is_admin`` (``trellis.runtime.permissions``).
404 rather than 403 or a sign-in redirect: the admin area is not revealed to anyone else.
"""

from __future__ import annotations

from flask import abort, g, redirect, render_template, url_for

from trellis.admin_ui import admin
from trellis.runtime.errors import NotFound, TrellisError
from trellis.runtime.permissions import is_admin
from trellis.web.metadata_view import definitions


def signed_in_admin() -> bool:
    ctx = g.get("ctx")
    return ctx is not None and is_admin(definitions(), ctx.principal)


@admin.before_request
def _admins_only():
    if not signed_in_admin():
        abort(404)


@admin.app_context_processor
def _admin_link():
    """The header's link to the admin area, for administrators only."""
    return {"admin_link": url_for("admin.packs") if signed_in_admin() else None}


@admin.get("/")
def home():
    return redirect(url_for("admin.packs"))


@admin.errorhandler(TrellisError)
def _refused(exc: TrellisError):
    if isinstance(exc, NotFound):
        return render_template("error.html", status=404, message=None), 404
    return refusal_page(exc, None)


def refusal_page(exc: TrellisError, heading: str | None, back: str | None = None):
    """The refusal with each problem and where it is (file, JSON pointer), in its status."""
    page = render_template(
        "admin/refused.html",
        heading=heading,
        message=exc.message,
        problems=[d for d in exc.details if isinstance(d, dict)],
        back=back or url_for("admin.packs"),
    )
    return page, exc.status
