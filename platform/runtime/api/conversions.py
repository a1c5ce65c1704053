"""Conversions (转化): preview and convert one record (docs/conversions.md).

``GET /conversions/{object}.{name}/{id}`` proposes the values of every
target and lists the existing records the targets' duplicate rules find;
``POST`` to the same address converts, in one transaction. The body holds
the choices (``targets``, ``confirm_duplicates``, ``version``); the source's
version may come as ``If-Match`` instead, like a ``PATCH`` of the record.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.records import _if_match
from trellis.runtime.api.requests import context, runtime
from trellis.runtime.errors import BadRequest
from trellis.runtime.records.conversion import Conversions


def _service() -> Conversions:
    return Conversions(runtime().records)


@api.get("/conversions/<key>/<record_id>")
def preview_conversion(key: str, record_id: str):
    return jsonify(_service().preview(context(), key, record_id))


@api.post("/conversions/<key>/<record_id>")
def convert_record(key: str, record_id: str):
    choices = request.get_json(silent=True) if request.content_length else None
    if request.content_length and choices is None:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    result = _service().convert(context(), key, record_id, choices, expected_version=_if_match())
    response = jsonify(result.as_json())
    response.status_code = 201
    response.headers["ETag"] = f'"{result.source["version"]}"'
    return response


# -- OpenAPI ------------------------------------------------------------------------

_CHOICES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "description": "the source's version you read"},
        "confirm_duplicates": {
            "type": "boolean",
            "description": "create even though duplicate rules warned",
        },
        "targets": {
            "type": "object",
            "description": "per target api_name",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "values": {"type": "object", "description": "values over the proposed ones"},
                    "existing_id": {"type": "integer", "description": "link this record instead"},
                    "skip": {"type": "boolean", "description": "optional targets only"},
                },
            },
        },
    },
}


def describe_paths(spec, defs, errors: dict, id_param: dict, if_match: dict) -> None:
    """Add the preview and convert operations of every active conversion to ``spec``."""
    for key, conversion in sorted(defs.conversions.items()):
        if not conversion.active:
            continue
        targets = ", ".join(t.object_name for t in conversion.targets)
        tag = [conversion.object_name]
        spec.path(
            path=f"/api/v1/conversions/{key}/{{id}}",
            operations={
                "get": {
                    "tags": tag,
                    "summary": f"Preview: {conversion.label.en} ({targets})",
                    "parameters": [id_param],
                    "responses": {"200": {"description": "proposed values, duplicates"}, **errors},
                },
                "post": {
                    "tags": tag,
                    "summary": f"{conversion.label.en} ({targets}), in one transaction",
                    "parameters": [id_param, if_match],
                    "requestBody": {
                        "required": False,
                        "content": {"application/json": {"schema": _CHOICES}},
                    },
                    "responses": {
                        "201": {"description": "the marked source and the records made"},
                        **errors,
                    },
                },
            },
        )
