"""Archiving and restoring a field.

Archiving keeps the column and its data but takes the field off every business page; the
confirmation lists where the field is used first (``trellis.metadata.usage``). The metadata
API refuses to archive a field a layout, list view or formula still uses, and says where:
the page shows those places. Restoring removes the admin's ``archived`` setting.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from trellis.admin_ui import admin
from trellis.admin_ui.objects_common import USAGE_KINDS, layers, problems_at
from trellis.admin_ui.objects_page import designed_object
from trellis.admin_ui.packs_page import actor
from trellis.metadata.usage import usages
from trellis.runtime.errors import NotFound, TrellisError
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime


def _field(name: str, field_name: str):
    obj = designed_object(name)
    f = obj.by_name.get(field_name)
    if f is None or f.system:
        raise NotFound(f"there is no field {field_name[:60]!r} on {name}")
    return obj, f


@admin.get("/objects/<name>/fields/<field_name>/archive")
def field_archive_confirm(name: str, field_name: str):
    obj, f = _field(name, field_name)
    return _confirm_page(obj, f, {}, 200)


@admin.post("/objects/<name>/fields/<field_name>/archive")
def field_archive(name: str, field_name: str):
    obj, f = _field(name, field_name)
    try:
        runtime().metadata.archive_field(actor(), name, field_name)
    except TrellisError as exc:
        return _confirm_page(obj, f, problems_at(exc, f"field:{f.path}"), exc.status)
    flash(_("The field %(name)s is archived; its data is kept.", name=field_name))
    return redirect(url_for("admin.object_page", name=name))


@admin.post("/objects/<name>/fields/<field_name>/restore")
def field_restore(name: str, field_name: str):
    obj, f = _field(name, field_name)
    try:
        runtime().metadata.patch(actor(), f"field:{f.path}", {"archived": None})
    except TrellisError as exc:
        return _confirm_page(obj, f, problems_at(exc, f"field:{f.path}"), exc.status)
    flash(_("The field %(name)s is restored.", name=field_name))
    return redirect(url_for("admin.field_page", name=name, field_name=field_name))


def _confirm_page(obj, f, problems, status):
    page = render_template(
        "admin/field_archive.html",
        obj=obj,
        field=f,
        usages=usages(definitions(), obj.api_name, f.api_name),
        usage_kinds=USAGE_KINDS,
        problems=problems,
        lock=layers().lock_reason(f"field:{f.path}"),
    )
    return page, status
