"""Create and edit forms from the layout, and what happens when they are sent.

Each field gets the control of its type (``templates/_controls.html``). A sent form
becomes the JSON the API would take and goes to the records service, so coercion,
validation rules, duplicates, permissions and automations are exactly the API's:

- a rule that fails shows its message at the field (422) and keeps what was typed;
- an edit of a record someone changed after the form was opened is refused and says who
  changed it (412), never merged;
- possible duplicates (rules that warn) stop a new record once: the form shows links to
  them and a "save anyway" button; nothing is written until the user confirms. The check
  runs the real create inside a transaction that is rolled back, so it sees what the save
  would see.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.runtime.database import begin_write
from trellis.runtime.errors import StaleVersion, TrellisError
from trellis.web import pages
from trellis.web.display import Names, cell, picklist_options, value_type
from trellis.web.i18n import label
from trellis.web.metadata_view import access, layout_for, object_runtime
from trellis.web.record_page import layout_sections
from trellis.web.sessions import page_context, runtime

MULTI = "multi_picklist"


class _Unconfirmed(Exception):
    """Rolls back a create that found duplicates the user has not seen yet."""

    def __init__(self, warnings):
        self.warnings = warnings


def form_values(sections: list[dict]) -> dict:
    """The sent form as record JSON: only editable fields of the layout, blanks as null."""
    data = {}
    for item in (item for s in sections for item in s["items"]):
        f = item["field"]
        if item["read_only"]:
            continue
        name = f.api_name
        if value_type(f) == "boolean":
            data[name] = request.form.get(name) == "on"
        elif f.type == MULTI:
            data[name] = request.form.getlist(name) or None
        elif name in request.form:
            raw = request.form.get(name, "").strip()
            data[name] = raw or None
    return data


def missing_required(sections: list[dict], data: dict, record: dict) -> dict[str, str]:
    """Fields the layout makes required that the form leaves empty, with the message for each.

    The records service checks the fields' own ``required``; a layout may require more
    (``{"field": "industry", "required": true}``), and only the form knows its layout.
    """
    missing = {}
    for item in (item for s in sections for item in s["items"]):
        f = item["field"]
        if not item["required"] or f.required or item["read_only"] or value_type(f) == "boolean":
            continue
        value = data.get(f.api_name, record.get(f.api_name))
        if value is None or value == "" or value == []:
            missing[f.api_name] = _("%(field)s is required.", field=label(f.label))
    return missing


def _render(obj, sections, record, *, status=200, errors=None, message=None, duplicates=None):
    ctx = page_context()
    names = Names(runtime(), ctx)
    for s in sections:
        for item in s["items"]:
            f = item["field"]
            value = record.get(f.api_name)
            item["value"] = value
            if f.type in ("picklist", MULTI):
                item["options"] = picklist_options(f, ctx.locale, value)
            if f.type == "lookup" and isinstance(value, int):
                names.want(f.options["target"], value)
    for s in sections:
        for item in s["items"]:
            f = item["field"]
            if f.type == "lookup" or item["read_only"]:
                item["cell"] = cell(f, record.get(f.api_name), names, ctx.locale)
    return render_template(
        "form.html",
        object=obj,
        record=record,
        sections=sections,
        errors=errors or {},
        message=message,
        duplicates=duplicates or [],
    ), status


def _field_errors(exc: TrellisError) -> dict[str, str]:
    return {d["field"]: d["message"] for d in exc.details if d.get("field")}


@pages.route("/o/<object_name>/new", methods=["GET", "POST"])
def create_page(object_name: str):
    ctx = page_context()
    obj = object_runtime(object_name).definition
    rights = access(object_name)
    if not rights.create:
        flash(_("You may not create records of this kind."))
        return redirect(url_for("pages.list_page", object_name=object_name))
    record_type = request.values.get("record_type") or (
        obj.record_types[0].api_name if obj.record_types else None
    )
    sections = layout_sections(
        obj, layout_for(object_name, record_type), rights.hidden, rights.read_only
    )
    if request.method == "GET":
        prefill = {k: v for k, v in request.args.items() if k in obj.by_name}
        return _render(obj, sections, {"record_type": record_type, **_typed(obj, prefill)})
    data = form_values(sections)
    if record_type:
        data["record_type"] = record_type
    confirmed = request.form.get("confirm_duplicates") == "1"
    missing = missing_required(sections, data, {})
    if missing:
        return _render(obj, sections, data, status=422, errors=missing)
    try:
        with begin_write(runtime().engine) as conn:
            result = runtime().records.create(ctx.on(conn), object_name, data)
            if result.warnings and not confirmed:
                raise _Unconfirmed(result.warnings)
    except _Unconfirmed as stop:
        return _render(obj, sections, data, status=409, duplicates=stop.warnings)
    except TrellisError as exc:
        return _render(
            obj, sections, data, status=exc.status, errors=_field_errors(exc), message=exc.message
        )
    flash(_("Saved."))
    return redirect(
        url_for("pages.record_page", object_name=object_name, record_id=result.record["id"])
    )


@pages.route("/o/<object_name>/<int:record_id>/edit", methods=["GET", "POST"])
def edit_page(object_name: str, record_id: int):
    ctx = page_context()
    obj = object_runtime(object_name).definition
    rights = access(object_name)
    record = runtime().records.get(ctx, object_name, record_id)
    sections = layout_sections(
        obj, layout_for(object_name, record.get("record_type")), rights.hidden, rights.read_only
    )
    if request.method == "GET":
        return _render(obj, sections, record)
    data = form_values(sections)
    version = request.form.get("version", "")
    missing = missing_required(sections, data, record)
    if missing:
        return _render(obj, sections, {**record, **data}, status=422, errors=missing)
    try:
        runtime().records.update(
            ctx,
            object_name,
            record_id,
            data,
            expected_version=int(version) if version.isdigit() else None,
        )
    except StaleVersion as exc:
        who = Names(runtime(), ctx)
        who.want("user", exc.extra.get("updated_by"))
        name = who.get("user", exc.extra.get("updated_by")) or _("someone")
        message = _(
            "%(name)s modified this record after you opened it. Your changes were not saved: "
            "reload the record and apply them again.",
            name=name,
        )
        return _render(obj, sections, {**record, **data}, status=412, message=message)
    except TrellisError as exc:
        return _render(
            obj,
            sections,
            {**record, **data},
            status=exc.status,
            errors=_field_errors(exc),
            message=exc.message,
        )
    flash(_("Saved."))
    return redirect(url_for("pages.record_page", object_name=object_name, record_id=record_id))


def _typed(obj, prefill: dict) -> dict:
    """Prefilled lookups (``?account=12`` from a related list) as ids."""
    out = {}
    for name, value in prefill.items():
        f = obj.by_name[name]
        out[name] = int(value) if f.type == "lookup" and value.isdigit() else value
    return out
