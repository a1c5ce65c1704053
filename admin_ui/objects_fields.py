"""Adding and editing a field: the form of its type, saved with ``MetadataAPI.add_field`` or
``patch``; a refusal re-shows the form with each problem at its control. Also the
auto-number pattern's live preview of the next value."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.admin_ui import admin
from trellis.admin_ui.objects_common import USAGE_KINDS, layers, owner, problems_at
from trellis.admin_ui.objects_field_form import (
    COMPUTED,
    TYPE_LABELS,
    changes,
    common_controls,
    controlling_values,
    definition_from_form,
    form_values,
    option_controls,
)
from trellis.admin_ui.objects_page import designed_object
from trellis.admin_ui.objects_picklists import rows as picklist_rows
from trellis.admin_ui.packs_page import actor
from trellis.fieldtypes import FIELD_TYPES
from trellis.fieldtypes.computed import format_auto_number
from trellis.metadata.usage import usages
from trellis.runtime.errors import NotFound, TrellisError
from trellis.runtime.system_tables import counter_table
from trellis.web.metadata_view import definitions
from trellis.web.sessions import page_context, runtime


@admin.route("/objects/<name>/fields/new/<type_name>", methods=["GET", "POST"])
def field_new(name: str, type_name: str):
    obj = designed_object(name)
    if type_name not in FIELD_TYPES:
        raise NotFound(f"there is no field type {type_name[:40]!r}")
    controls = option_controls(type_name, obj, definitions().objects)
    values: dict = {"type": type_name}
    problems: dict = {}
    status = 200
    if request.method == "POST":
        values = definition_from_form(request.form, type_name, controls, {})
        try:
            runtime().metadata.add_field(actor(), name, values)
        except TrellisError as exc:
            problems, status = problems_at(exc, f"field:{name}.{values['api_name']}"), exc.status
        else:
            flash(_("The field %(name)s is added.", name=values["api_name"]))
            return redirect(url_for("admin.object_page", name=name))
    page = _form_page(obj, type_name, controls, form_values(values), problems, new=True)
    return page, status


@admin.route("/objects/<name>/fields/<field_name>", methods=["GET", "POST"])
def field_page(name: str, field_name: str):
    obj = designed_object(name)
    f = obj.by_name.get(field_name)
    if f is None or f.system:
        raise NotFound(f"there is no field {field_name[:60]!r} on {name}")
    current = runtime().metadata.definition("field", f.path)
    controls = option_controls(f.type, obj, definitions().objects)
    values, problems, status = current, {}, 200
    if request.method == "POST":
        managed = common_controls(f.type) + [c.name for c in controls]
        kept = {k: v for k, v in current.items() if k not in managed}  # what the form does not edit
        values = {**kept, **definition_from_form(request.form, f.type, controls, current)}
        edit = changes(current, values, managed)
        try:
            if edit:
                runtime().metadata.patch(actor(), f"field:{f.path}", edit)
        except TrellisError as exc:
            problems, status = problems_at(exc, f"field:{f.path}"), exc.status
        else:
            flash(
                _("The field %(name)s is saved.", name=field_name)
                if edit
                else _("Nothing changed.")
            )
            return redirect(url_for("admin.field_page", name=name, field_name=field_name))
    page = _form_page(obj, f.type, controls, form_values(values), problems, new=False, field=f)
    return page, status


def _form_page(obj, type_name, controls, values, problems, *, new, field=None):
    lock = None if new else layers().lock_reason(f"field:{field.path}")
    return render_template(
        "admin/field.html",
        obj=obj,
        field=field,
        new=new,
        type_name=type_name,
        type_label=TYPE_LABELS.get(type_name, type_name),
        common=common_controls(type_name),
        computed=type_name in COMPUTED,
        controls=controls,
        values=values,
        picklist_rows=picklist_rows(values.get("values")),
        controlling=controlling_values(obj, field.api_name if field else None),
        problems=problems,
        lock=lock,
        owner=owner(field.provenance) if field else _("Custom"),
        usages=[] if new else usages(definitions(), obj.api_name, field.api_name),
        usage_kinds=USAGE_KINDS,
    )


@admin.post("/objects/<name>/fields/name-check")
def field_name_check(name: str):
    """The new field's API name, checked as the admin types (htmx): a dry run of adding a
    text field of that name says whether it is free, reserved or badly formed."""
    designed_object(name)
    api_name = (request.form.get("api_name") or "").strip()
    probe = {"api_name": api_name, "type": "text", "label": {"zh-CN": "-", "en": "-"}}
    problems: list[str] = []
    if api_name:
        try:
            runtime().metadata.add_field(actor(), name, probe, dry_run=True)
        except TrellisError as exc:
            problems = problems_at(exc, f"field:{name}.{api_name}").get("api_name", [])
    return render_template("admin/field_name.html", problems=problems, checked=bool(api_name))


@admin.get("/objects/<name>/auto-number-preview")
def auto_number_preview(name: str):
    """The next value an auto-number pattern gives (htmx, as the admin types the pattern)."""
    designed_object(name)
    pattern = request.args.get("pattern", "")
    field_name = request.args.get("field", "")
    if len(re.findall(r"\{0+\}", pattern)) != 1:
        message = _("Put exactly one counter such as {0000} in the pattern.")
        return render_template("admin/field_auto_number.html", preview=None, message=message)
    today = page_context().local_now.date()
    preview = format_auto_number(pattern[:60], _next_counter(f"{name}.{field_name}"), today)
    return render_template("admin/field_auto_number.html", preview=preview, message=None)


def _next_counter(path: str) -> int:
    with runtime().engine.connect() as conn:
        last = conn.execute(
            sa.select(counter_table.c.value).where(counter_table.c.name == path)
        ).scalar_one_or_none()
    return (last or 0) + 1
