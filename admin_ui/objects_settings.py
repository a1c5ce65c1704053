"""An object's own settings: labels in both languages, description, the field records are
called by, and whether field history is kept. Saved as a patch of ``object:<name>`` (a
pack's object stays the pack's; an upgrade still sees what the admin changed)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.admin_ui import admin
from trellis.admin_ui.objects_common import layers, problems_at
from trellis.admin_ui.objects_field_form import changes
from trellis.admin_ui.objects_page import designed_object
from trellis.admin_ui.packs_page import actor
from trellis.runtime.errors import TrellisError
from trellis.web.sessions import runtime

#: Properties this page edits.
SETTINGS = ("label", "plural_label", "description", "name_field", "track_history")
#: Field types a record can be called by.
NAME_TYPES = ("text", "auto_number", "email", "phone", "formula")


@admin.route("/objects/<name>/settings", methods=["GET", "POST"])
def object_settings(name: str):
    obj = designed_object(name)
    key = f"object:{name}"
    current = runtime().metadata.definition("object", name)
    values, problems, status = current, {}, 200
    if request.method == "POST":
        kept = {k: v for k, v in current.items() if k not in SETTINGS}
        values = {**kept, **settings_from_form(request.form)}
        edit = changes(current, values, list(SETTINGS))
        try:
            if edit:
                runtime().metadata.patch(actor(), key, edit)
        except TrellisError as exc:
            problems, status = problems_at(exc, key), exc.status
        else:
            flash(
                _("The settings of %(name)s are saved.", name=name)
                if edit
                else _("Nothing changed.")
            )
            return redirect(url_for("admin.object_page", name=name))
    page = render_template(
        "admin/object_settings.html",
        obj=obj,
        values=values,
        problems=problems,
        lock=layers().lock_reason(key),
        name_fields=[f for f in obj.live_fields if f.type in NAME_TYPES and not f.system],
    )
    return page, status


def settings_from_form(form) -> dict:
    def pair(prefix: str) -> dict:
        return {
            "zh-CN": (form.get(f"{prefix}_zh") or "").strip(),
            "en": (form.get(f"{prefix}_en") or "").strip(),
        }

    out = {"label": pair("label"), "plural_label": pair("plural_label")}
    for prop in ("description", "name_field"):
        text = (form.get(prop) or "").strip()
        if text:
            out[prop] = text
    if form.get("track_history"):
        out["track_history"] = True
    return out
