"""Importing a CSV or Excel file into an object, through the pages.

The steps are the import engine's (``trellis.tabular.ImportService``, the same calls as
the REST API in ``trellis.runtime.api.tabular``):

1. ``/o/<object>/import``: the upload form (file, duplicate handling, match key). The
   file is parsed and kept as a draft with a proposed column mapping; an unreadable,
   empty or too large file is refused with a plain message and nothing is kept.
2. ``/imports/<id>`` of a draft: each column with the field it fills (change it or
   ignore the column), and a preview of the first 20 rows run through the real records
   service and rolled back, so the errors shown (row, column, reason) are the ones the
   import will report. "Start" queues the import for the worker (``trellis serve`` runs
   one; so does ``trellis worker``).
3. ``/imports/<id>`` once started: a progress bar that htmx refreshes every second until
   the import ends, the counts, "cancel" while it runs, and the error file.

Everyone sees only their own imports; another user's answers 404.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from trellis.runtime.errors import BadRequest, Conflict, Forbidden, Invalid
from trellis.tabular import ImportOptions, ImportState, imports_for, limits
from trellis.tabular.mapping import importable_fields
from trellis.tabular.options import MODES, default_options, key_field
from trellis.web import pages
from trellis.web.exports_page import attachment
from trellis.web.i18n import label
from trellis.web.metadata_view import access, compiled, object_runtime
from trellis.web.sessions import page_context, runtime

PREVIEW_ROWS = limits.PREVIEW_ROWS


def _service():
    return imports_for(runtime())


# -- 1. upload -----------------------------------------------------------------------------


@pages.route("/o/<object_name>/import", methods=["GET", "POST"])
def import_upload(object_name: str):
    rt = _creatable(object_name)
    if request.method == "GET":
        return _upload_form(rt)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_form(rt, _("Choose a CSV or Excel (.xlsx) file to import."), 400)
    try:
        data = upload.read(limits.MAX_FILE_BYTES + 1)
    finally:
        upload.close()
    try:
        state = _service().upload(
            page_context(), object_name, data, upload.filename, options=_sent_options()
        )
    except (BadRequest, Invalid) as exc:
        return _upload_form(rt, _file_refused(exc), exc.status)
    return redirect(url_for("pages.import_page", import_id=state.id))


@pages.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    # The body is refused while the CSRF check reads the form, before the page knows who
    # is signed in: a plain page that says why, with the way back to the upload form.
    message = _(
        "The file is larger than %(mb)d MB: split it into smaller files.",
        mb=limits.MAX_FILE_BYTES // (1024 * 1024),
    )
    name = (request.view_args or {}).get("object_name")
    back = url_for("pages.import_upload", object_name=name) if name else url_for("pages.home")
    return render_template("import_refused.html", message=message, back=back), 413


def _creatable(object_name: str):
    rt = object_runtime(object_name)
    if not access(object_name).create:
        raise Forbidden(_("You may not create records of this kind."))
    return rt


def _upload_form(rt, error: str | None = None, status: int = 200):
    obj = rt.definition
    recent = _service().list(page_context(), obj.api_name, limit=5)
    return render_template(
        "import_upload.html",
        object=obj,
        error=error,
        modes=MODES,
        match_choices=_match_choices(rt),
        chosen=_chosen_options(default_options(rt)),
        recent=recent,
        when=_when,
        max_mb=limits.MAX_FILE_BYTES // (1024 * 1024),
        max_rows=f"{limits.MAX_ROWS:,}",
    ), status


def _file_refused(exc) -> str:
    return _("The file was not imported: %(reason)s", reason=exc.message)


# -- options -------------------------------------------------------------------------------


def _sent_options() -> dict:
    """The form's duplicate handling as the engine's options (no match key: the default)."""
    options = {"duplicates": request.form.get("duplicates", "create")}
    if request.form.get("match_by"):
        options["match_by"] = request.form["match_by"]
    return options


def _chosen_options(current: ImportOptions) -> dict:
    """What the options controls show: what was just sent, else ``current``."""
    if request.method == "POST":
        return {
            "duplicates": request.form.get("duplicates"),
            "match_by": request.form.get("match_by", ""),
        }
    return {"duplicates": current.duplicates, "match_by": current.match_by or ""}


def _match_choices(rt) -> list[tuple[str, str]]:
    """(value, text) of what rows may be matched on: duplicate rules, then key fields."""
    rights = access(rt.definition.api_name)
    out = [
        (f"rule:{r.api_name}", _("Duplicate rule: %(name)s", name=label(r.label) or r.api_name))
        for r in rt.definition.duplicate_rules
        if r.active
    ]
    for f in rt.definition.live_fields:
        if f.stored and not f.system and _is_key(rt, rights, f.api_name):
            out.append((f.api_name, label(f.label)))
    return out


def _is_key(rt, rights, name: str) -> bool:
    try:
        key_field(rt, rights, name)
    except Invalid:
        return False
    return True


# -- 2. mapping and preview ----------------------------------------------------------------


@pages.get("/imports/<import_id>")
def import_page(import_id: str):
    state = _service().get(page_context(), import_id)
    if state.status == "draft":
        return _mapping_page(state)
    return render_template("import_status.html", **_status_data(state))


@pages.post("/imports/<import_id>")
def import_configure(import_id: str):
    """Change the mapping and options of a draft (new preview), or start it."""
    ctx = page_context()
    state = _service().get(ctx, import_id)
    choices = {str(c.column): request.form.get(f"column-{c.column}") or None for c in state.mapping}
    try:
        if request.form.get("action") == "start":
            _service().start(ctx, state.id, mapping_choices=choices, options=_sent_options())
        else:
            _service().configure(ctx, state.id, mapping_choices=choices, options=_sent_options())
    except (Invalid, Conflict) as exc:
        return _mapping_page(_service().get(ctx, state.id), exc, choices)
    return redirect(url_for("pages.import_page", import_id=state.id))


def _mapping_page(state: ImportState, problem=None, choices: dict | None = None):
    if state.status != "draft":  # started meanwhile (another tab): show its progress
        return render_template("import_status.html", **_status_data(state), problem=problem)
    rt = _creatable(state.object)
    fields = importable_fields(rt, access(state.object))
    preview = _service().preview(page_context(), state.id, PREVIEW_ROWS)
    mapped = [c for c in state.mapping if c.field is not None]
    return render_template(
        "import_mapping.html",
        state=state,
        object=rt.definition,
        fields=list(fields.values()),
        columns=[
            {"mapping": c, "choice": (choices or {}).get(str(c.column), c.field) or ""}
            for c in state.mapping
        ],
        mapped=[(c, fields.get(c.field)) for c in mapped],
        preview=[_preview_row(o, mapped, rt.definition) for o in preview],
        problem=problem,
        modes=MODES,
        match_choices=_match_choices(rt),
        chosen=_chosen_options(state.options),
    ), (422 if problem else 200)


def _preview_row(outcome, mapped, obj) -> dict:
    """One preview row: its cells under the mapped columns, each with its own errors."""
    return {
        "row": outcome.row,
        "action": outcome.action,
        "cells": [
            {
                "text": outcome.values.get(c.field, ""),
                "errors": [e.reason for e in outcome.errors if e.field == c.field],
            }
            for c in mapped
        ],
        "problems": [(_column_of(e, obj), e.reason) for e in outcome.errors],
    }


def _column_of(error, obj) -> str:
    if error.header:
        return error.header
    f = obj.by_name.get(error.field) if error.field else None
    return label(f.label) if f is not None else ""


# -- 3. progress, cancel, errors -------------------------------------------------------------


@pages.get("/imports/<import_id>/progress")
def import_progress(import_id: str):
    """The progress block alone: what htmx swaps in every second while the import runs."""
    state = _service().get(page_context(), import_id)
    return render_template("_import_progress.html", **_status_data(state))


@pages.post("/imports/<import_id>/cancel")
def import_cancel(import_id: str):
    ctx = page_context()
    try:
        _service().cancel(ctx, import_id)
    except Conflict:
        pass  # it finished meanwhile: the page shows how it ended
    return redirect(url_for("pages.import_page", import_id=_service().get(ctx, import_id).id))


@pages.get("/imports/<import_id>/errors.csv")
def import_errors(import_id: str):
    ctx = page_context()
    state = _service().get(ctx, import_id)
    name = f"import-{state.id}-errors.csv"
    return Response(
        _service().error_file(ctx, state.id),
        mimetype="text/csv",
        headers={"Content-Disposition": attachment(name, name)},
    )


@pages.get("/imports")
def import_list():
    states = _service().list(page_context())
    objects = compiled().objects
    return render_template(
        "import_list.html",
        imports=[(s, objects.get(s.object)) for s in states],
        when=_when,
        status_names=status_names(),
    )


def _status_data(state: ImportState) -> dict:
    objects = compiled().objects
    rt = objects.get(state.object)
    return {
        "state": state,
        "object": rt.definition if rt is not None else None,
        "status_names": status_names(),
        "when": _when,
    }


def status_names() -> dict[str, str]:
    return {
        "draft": _("Draft"),
        "queued": _("Waiting for the worker"),
        "running": _("Importing"),
        "done": _("Done"),
        "failed": _("Stopped"),
        "cancelled": _("Cancelled"),
    }


def _when(moment: dt.datetime | None) -> str:
    """A stored UTC moment in the viewer's time zone."""
    if moment is None:
        return ""
    zone = page_context().zone
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")
