"""Uninstalling a pack: what it would remove (the dry run), then confirm.

A pack another installed pack depends on is refused, and the page says so plainly.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor
from trellis.runtime.errors import TrellisError
from trellis.web.sessions import runtime


@admin.get("/packs/<name>/uninstall")
def uninstall_preview(name: str):
    try:
        result = runtime().metadata.uninstall_pack(name, actor(), dry_run=True)
    except TrellisError as exc:
        return refusal_page(exc, _("%(name)s cannot be uninstalled", name=name))
    return render_template("admin/uninstall.html", name=name, report=result.as_json())


@admin.post("/packs/<name>/uninstall")
def uninstall_confirmed(name: str):
    try:
        runtime().metadata.uninstall_pack(name, actor())
    except TrellisError as exc:
        return refusal_page(exc, _("%(name)s was not uninstalled", name=name))
    flash(_("%(name)s is uninstalled; its tables and columns keep their data.", name=name))
    return redirect(url_for("admin.packs"))
