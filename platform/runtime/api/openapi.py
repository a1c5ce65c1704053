"""GET /api/v1/openapi.json: the OpenAPI document, generated from live metadata.

Every object gets real schemas for its records (a field's type, label and
whether it is read-only) and its own records endpoints, so client
generators and ERP integrators see exactly what this Trellis holds now.
"""

from __future__ import annotations

from apispec import APISpec
from flask import jsonify

from trellis.metadata import ObjectDef
from trellis.runtime.api import api
from trellis.runtime.api.conversions import describe_paths as conversion_paths
from trellis.runtime.api.requests import runtime
from trellis.runtime.api.tabular import describe_paths as tabular_paths

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    str(code): {"description": text, "content": {"application/json": {"schema": _ERROR}}}
    for code, text in [
        (400, "bad request"),
        (401, "no or bad token"),
        (403, "not allowed"),
        (404, "not found or outside your scope"),
        (409, "duplicate or conflict"),
        (412, "stale version"),
        (422, "invalid values or definitions"),
    ]
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _field_schema(f) -> dict:
    base = dict(f.field_type.openapi)
    if f.type in ("formula", "rollup"):
        from trellis.fieldtypes import FIELD_TYPES

        base = dict(FIELD_TYPES[f.options.get("return_type", "decimal")].openapi)
    if f.type in ("picklist",):
        base["enum"] = [v["api_name"] for v in f.options["values"]]
    if f.type == "text":
        base["maxLength"] = int(f.options.get("length", 255))
    base["description"] = f"{f.label.zh} / {f.label.en}"
    if not f.writable:
        base["readOnly"] = True
    return {**base, "nullable": True} if not f.required else base


def _object_schemas(spec: APISpec, obj: ObjectDef) -> str:
    name = "".join(part.title() for part in obj.api_name.split("_"))
    properties = {f.api_name: _field_schema(f) for f in obj.live_fields}
    spec.components.schema(
        f"{name}Record",
        {
            "type": "object",
            "description": f"{obj.label.zh} / {obj.label.en}",
            "properties": properties,
        },
    )
    writable = {n: p for n, p in properties.items() if not p.get("readOnly")}
    spec.components.schema(
        f"{name}Input",
        {
            "type": "object",
            "properties": writable,
            "additionalProperties": False,
            "required": [f.api_name for f in obj.live_fields if f.required and f.writable],
        },
    )
    return name


def _object_paths(spec: APISpec, obj: ObjectDef, name: str) -> None:
    record = {"$ref": f"#/components/schemas/{name}Record"}
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}Input"}}},
    }
    one = {
        "content": {
            "application/json": {"schema": {"type": "object", "properties": {"record": record}}}
        }
    }
    page = {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "records": {"type": "array", "items": record},
                        "next_cursor": {"type": "string"},
                        "total": {"type": "integer"},
                    },
                }
            }
        }
    }
    tag = [obj.api_name]
    base = f"/api/v1/objects/{obj.api_name}/records"
    spec.path(
        path=base,
        operations={
            "get": {
                "tags": tag,
                "summary": f"List {obj.plural_label.en}",
                "parameters": _LIST_PARAMS,
                "responses": {"200": {"description": "one page", **page}, **_ERRORS},
            },
            "post": {
                "tags": tag,
                "summary": f"Create a {obj.label.en}",
                "requestBody": body,
                "responses": {"201": {"description": "created", **one}, **_ERRORS},
            },
        },
    )
    spec.path(
        path=base + "/{id}",
        operations={
            "get": {
                "tags": tag,
                "parameters": [_ID],
                "responses": {"200": {"description": "the record", **one}, **_ERRORS},
            },
            "patch": {
                "tags": tag,
                "parameters": [_ID, _IF_MATCH],
                "requestBody": body,
                "responses": {"200": {"description": "updated", **one}, **_ERRORS},
            },
            "delete": {
                "tags": tag,
                "parameters": [_ID, _IF_MATCH],
                "responses": {"204": {"description": "deleted"}, **_ERRORS},
            },
        },
    )


_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "schema": {"type": "string"},
    "description": "the version you read; a stale version answers 412",
}
_LIST_PARAMS = [
    {
        "name": "filter",
        "in": "query",
        "schema": {"type": "string"},
        "description": "an expression, e.g. status == 'new' and amount >= 100000",
    },
    {
        "name": "sort",
        "in": "query",
        "schema": {"type": "string"},
        "description": "e.g. -created_at,name",
    },
    {"name": "fields", "in": "query", "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500, "default": 50}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
    {"name": "total", "in": "query", "schema": {"type": "boolean"}},
]


def build_document(defs) -> dict:
    spec = APISpec(
        title="Trellis API",
        version=f"1.0 (metadata {defs.version})",
        openapi_version="3.0.3",
        info={"description": "Records of every object defined in this Trellis."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema(
        "Error",
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": {"type": "object"}},
                    },
                }
            },
        },
    )
    spec.path(
        path="/api/v1/auth/token",
        operations={
            "post": {
                "summary": "Get an API token",
                "security": [],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "username": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {"201": {"description": '{"token": ...}'}, **_ERRORS},
            }
        },
    )
    spec.path(
        path="/api/v1/objects",
        operations={
            "get": {
                "summary": "Objects you can read",
                "responses": {"200": {"description": "objects"}},
            },
            "post": {
                "summary": "Create an object (administrators)",
                "responses": {"201": {"description": "created"}, **_ERRORS},
            },
        },
    )
    for obj in defs.objects.values():
        if not obj.archived:
            _object_paths(spec, obj, _object_schemas(spec, obj))
    conversion_paths(spec, defs, _ERRORS, _ID, _IF_MATCH)
    tabular_paths(spec, defs, _ERRORS)
    document = spec.to_dict()
    document["security"] = [{"bearer": []}]
    return document


@api.get("/openapi.json")
def openapi_document():
    rt = runtime()
    with rt.engine.connect() as conn:
        defs = rt.cache.get(conn).definitions
    return jsonify(build_document(defs))
