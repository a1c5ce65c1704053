"""Imports and exports over HTTP (``trellis.tabular``).

``POST /objects/{o}/imports`` takes a multipart upload (field ``file``, a
.csv or .xlsx; optional fields ``mapping`` and ``options`` as JSON text) and
answers with the draft import, its proposed mapping and a preview of the
first rows. ``PATCH /imports/{id}`` changes the mapping or options of a
draft and answers with a new preview; ``POST /imports/{id}/start`` queues it
for the worker (202); ``GET /imports/{id}`` is its status, progress and
counts; ``GET /imports/{id}/errors.csv`` the error file. Everyone sees only
their own imports. ``GET /objects/{o}/export`` downloads a list as CSV or
.xlsx.
"""

from __future__ import annotations

import io
import json
import os
import tempfile

from flask import Response, jsonify, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from trellis.runtime.api import api
from trellis.runtime.api.requests import context, runtime
from trellis.runtime.errors import BadRequest, TrellisError
from trellis.tabular import ExportRequest, csv_chunks, imports_for, limits, prepare_export
from trellis.tabular.writers import write_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TooLarge(TrellisError):
    status, code = 413, "too_large"


@api.record_once
def _register_job_kind(state) -> None:
    # The worker of `trellis serve` and `trellis worker` runs import chunks as jobs: the
    # job kind must be known to the app's runtime before its first pass.
    imports_for(state.app.extensions["trellis"])


def _service():
    return imports_for(runtime())


def _json_field(name: str):
    """A JSON value sent as a form field (multipart) or in a JSON body."""
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        return body.get(name)
    text = request.form.get(name)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise BadRequest(f"the form field {name!r} must be JSON text") from None


def _preview_rows() -> int:
    try:
        return int(request.args.get("preview_rows", limits.PREVIEW_ROWS))
    except ValueError:
        raise BadRequest(
            f"preview_rows must be a whole number from 1 to {limits.MAX_PREVIEW_ROWS}"
        ) from None


def _with_preview(state, status: int = 200):
    rows = (
        _service().preview(context(), state.id, _preview_rows()) if state.status == "draft" else []
    )
    body = {"import": state.as_json(), "preview": [r.as_json() for r in rows]}
    return jsonify(body), status


@api.post("/objects/<name>/imports")
def upload_import(name: str):
    try:
        upload = request.files.get("file")
        mapping, options = _json_field("mapping"), _json_field("options")
    except RequestEntityTooLarge:
        raise TooLarge(
            f"the upload is larger than {limits.MAX_FILE_BYTES // (1024 * 1024)} MB; split the file"
        ) from None
    if upload is None:
        raise BadRequest("send the file as multipart/form-data in the field 'file'")
    try:
        data = upload.read(limits.MAX_FILE_BYTES + 1)
    finally:
        upload.close()
    state = _service().upload(
        context(), name, data, upload.filename or "", mapping_choices=mapping, options=options
    )
    response, status = _with_preview(state, 201)
    response.headers["Location"] = f"/api/v1/imports/{state.id}"
    return response, status


@api.get("/imports")
def list_imports():
    states = _service().list(context(), request.args.get("object") or None)
    return jsonify({"imports": [s.as_json() for s in states]})


@api.get("/imports/<import_id>")
def get_import(import_id: str):
    return jsonify({"import": _service().get(context(), import_id).as_json()})


@api.get("/imports/<import_id>/preview")
def preview_import(import_id: str):
    return _with_preview(_service().get(context(), import_id))


@api.patch("/imports/<import_id>")
def configure_import(import_id: str):
    state = _service().configure(
        context(),
        import_id,
        mapping_choices=_json_field("mapping"),
        options=_json_field("options"),
    )
    return _with_preview(state)


@api.post("/imports/<import_id>/start")
def start_import(import_id: str):
    has_body = bool(request.content_length)
    state = _service().start(
        context(),
        import_id,
        mapping_choices=_json_field("mapping") if has_body else None,
        options=_json_field("options") if has_body else None,
    )
    return jsonify({"import": state.as_json()}), 202


@api.delete("/imports/<import_id>")
def cancel_import(import_id: str):
    return jsonify({"import": _service().cancel(context(), import_id).as_json()})


@api.get("/imports/<import_id>/errors.csv")
def import_errors(import_id: str):
    data = _service().error_file(context(), import_id)
    return Response(
        data,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )


@api.get("/objects/<name>/export")
def export_records(name: str):
    args = request.args
    known = {"format", "view", "filter", "sort", "columns"}
    unknown = set(args) - known
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}; use {', '.join(sorted(known))}"
        )
    file_format = args.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise BadRequest("format must be csv or xlsx")
    columns = tuple(c.strip() for c in args.get("columns", "").split(",") if c.strip()) or None
    export = prepare_export(
        runtime(),
        context(),
        ExportRequest(
            name,
            view=args.get("view") or None,
            filter=args.get("filter") or None,
            sort=args.get("sort") or None,
            columns=columns,
        ),
    )
    if file_format == "csv":
        return Response(
            csv_chunks(export.headers, export.rows()),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{export.file_name("csv")}"'},
        )
    return _xlsx_response(export)


def _xlsx_response(export):
    handle, path = tempfile.mkstemp(prefix="trellis-export-", suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, export.sheet_title, export.headers, export.rows())
        with open(path, "rb") as f:
            data = f.read()
    finally:
        os.unlink(path)
    return send_file(
        io.BytesIO(data),
        mimetype=XLSX,
        as_attachment=True,
        download_name=export.file_name("xlsx"),
    )


# -- the OpenAPI description ---------------------------------------------------------------

_IMPORT_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_CHOICES = {
    "type": "object",
    "properties": {
        "mapping": {
            "type": "object",
            "description": "column header (or 1-based column number) -> field api_name or null",
            "additionalProperties": {"type": "string", "nullable": True},
        },
        "options": {
            "type": "object",
            "properties": {
                "duplicates": {"type": "string", "enum": ["create", "skip", "update"]},
                "match_by": {
                    "type": "string",
                    "description": "rule:<duplicate rule> or a field's api_name",
                },
            },
        },
    },
}


def describe_paths(spec, defs, errors: dict) -> None:
    """Add the import and export operations to ``spec``."""
    tag = ["imports and exports"]
    upload = {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": ".csv or .xlsx"},
                    "mapping": {"type": "string", "description": "JSON text, see PATCH"},
                    "options": {"type": "string", "description": "JSON text, see PATCH"},
                },
            }
        }
    }
    spec.path(
        path="/api/v1/objects/{object}/imports",
        operations={
            "post": {
                "tags": tag,
                "summary": f"Upload a file to import (at most {limits.MAX_ROWS:,} rows, "
                f"{limits.MAX_FILE_BYTES // (1024 * 1024)} MB): a draft, its mapping and preview",
                "parameters": [_OBJECT_PARAM, _PREVIEW_PARAM],
                "requestBody": {"required": True, "content": upload},
                "responses": {"201": {"description": "the draft import and preview"}, **errors},
            }
        },
    )
    spec.path(
        path="/api/v1/imports",
        operations={"get": {"tags": tag, "summary": "My imports", "responses": _OK}},
    )
    choices = {"content": {"application/json": {"schema": _CHOICES}}}
    spec.path(
        path="/api/v1/imports/{id}",
        operations={
            "get": {
                "tags": tag,
                "summary": "Status, progress and counts of an import",
                "parameters": [_IMPORT_PARAM],
                "responses": {**_OK, **errors},
            },
            "patch": {
                "tags": tag,
                "summary": "Change the mapping or options of a draft; answers a new preview",
                "parameters": [_IMPORT_PARAM, _PREVIEW_PARAM],
                "requestBody": choices,
                "responses": {**_OK, **errors},
            },
            "delete": {
                "tags": tag,
                "summary": "Cancel an import (committed chunks stay)",
                "parameters": [_IMPORT_PARAM],
                "responses": {**_OK, **errors},
            },
        },
    )
    for suffix, summary, method, ok in (
        ("/preview", "Preview the first rows (nothing is written)", "get", "200"),
        ("/start", "Start a draft: queued for the worker", "post", "202"),
        ("/errors.csv", "The error file: row, column, value, reason", "get", "200"),
    ):
        operation = {
            "tags": tag,
            "summary": summary,
            "parameters": [_IMPORT_PARAM],
            "responses": {ok: {"description": summary}, **errors},
        }
        if method == "post":
            operation["requestBody"] = choices
        spec.path(path=f"/api/v1/imports/{{id}}{suffix}", operations={method: operation})
    spec.path(
        path="/api/v1/objects/{object}/export",
        operations={
            "get": {
                "tags": tag,
                "summary": "Export a list (a list view, filter, sort, columns) as CSV or .xlsx",
                "parameters": [_OBJECT_PARAM, *_EXPORT_PARAMS],
                "responses": {"200": {"description": "the file"}, **errors},
            }
        },
    )


_OK = {"200": {"description": "the import"}}
_OBJECT_PARAM = {"name": "object", "in": "path", "required": True, "schema": {"type": "string"}}
_PREVIEW_PARAM = {
    "name": "preview_rows",
    "in": "query",
    "schema": {"type": "integer", "default": limits.PREVIEW_ROWS},
}
_EXPORT_PARAMS = [
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["csv", "xlsx"]}},
    {"name": "view", "in": "query", "schema": {"type": "string"}, "description": "a list view"},
    {"name": "filter", "in": "query", "schema": {"type": "string"}},
    {"name": "sort", "in": "query", "schema": {"type": "string"}},
    {"name": "columns", "in": "query", "schema": {"type": "string"}, "description": "a,b,c"},
]
