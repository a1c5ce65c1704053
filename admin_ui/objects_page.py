"""One object's page in the designer: its fields with type, owner and state, and the way to
add a field (choose its type first, then the form of that type)."""

from __future__ import annotations

from flask import render_template

from trellis.admin_ui import admin
from trellis.admin_ui.objects_common import layers, owner
from trellis.admin_ui.objects_field_form import TYPE_LABELS, type_choices
from trellis.metadata import ObjectDef
from trellis.runtime.errors import NotFound
from trellis.web.metadata_view import definitions


def designed_object(name: str) -> ObjectDef:
    """The object the admin designs; 404 for an unknown or archived one."""
    obj = definitions().objects.get(name)
    if obj is None or obj.archived:
        raise NotFound(f"there is no object {name[:60]!r}")
    return obj


@admin.get("/objects/<name>")
def object_page(name: str):
    obj = designed_object(name)
    stored = layers()
    rows = [
        {
            "api_name": f.api_name,
            "label": f.label,
            "type": TYPE_LABELS.get(f.type, f.type),
            "required": f.required,
            "owner": owner(f.provenance),
            "custom": f.provenance == "custom",
            "archived": f.archived,
            "locked": stored.lock_reason(f"field:{f.path}"),
        }
        for f in obj.fields
        if not f.system
    ]
    return render_template(
        "admin/object.html",
        obj=obj,
        owner=owner(obj.provenance),
        fields=rows,
        object_lock=stored.lock_reason(f"object:{name}"),
    )


@admin.get("/objects/<name>/fields/new")
def field_types(name: str):
    """Step one of adding a field: its type (a field's type never changes afterwards)."""
    obj = designed_object(name)
    return render_template("admin/field_types.html", obj=obj, types=type_choices())
