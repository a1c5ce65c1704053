"""Open upgrade conflicts: the installed, the new version's and the admin's value side by
side, and a choice per conflict posted to ``MetadataAPI.resolve_conflict``."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.sections import section
from trellis.runtime.errors import TrellisError
from trellis.web.sessions import runtime

section(
    "conflicts",
    _l("Upgrade conflicts"),
    "admin.conflicts",
    order=91,
    prefixes=("admin.conflicts", "admin.resolve_conflict"),
)


@admin.get("/packs/conflicts")
def conflicts():
    return render_template("admin/conflicts.html", conflicts=runtime().metadata.conflicts())


@admin.post("/packs/conflicts/resolve")
def resolve_conflict():
    form = request.form
    key, place, keep = form.get("key", ""), form.get("place", ""), form.get("keep", "")
    try:
        runtime().metadata.resolve_conflict(actor(), key, place, keep)
    except TrellisError as exc:
        return refusal_page(exc, _("The conflict was not settled"), url_for("admin.conflicts"))
    if keep == "admin":
        flash(_("Kept your value of %(key)s (%(place)s).", key=key, place=place))
    else:
        flash(_("Took the new version's value of %(key)s (%(place)s).", key=key, place=place))
    return redirect(url_for("admin.conflicts"))
