"""Records: list, create, read, update, delete, history, bulk create.

``PATCH`` honours ``If-Match: <version>`` (or ``"version"`` in the body):
a stale version answers 412 and nothing changes. Responses carry the
record's version in the ``ETag`` header.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.requests import context, json_body, runtime
from trellis.runtime.errors import BadRequest
from trellis.runtime.queries import DEFAULT_LIMIT, MAX_LIMIT, ListRequest

MAX_BULK = 1000


def _record_response(result, status=200):
    body = {"record": result.record}
    if result.warnings:
        body["warnings"] = {"duplicates": result.warnings}
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = f'"{result.record["version"]}"'
    return response


def _if_match() -> int | None:
    value = request.headers.get("If-Match")
    if value is None:
        return None
    value = value.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise BadRequest('If-Match must be the record version you read, e.g. If-Match: "3"')
    return int(value)


def _list_request() -> ListRequest:
    args = request.args
    known = {"filter", "sort", "fields", "limit", "cursor", "total"}
    unknown = set(args) - known
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}; use {', '.join(sorted(known))}"
        )
    try:
        limit = int(args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}") from None
    fields = (
        tuple(f.strip() for f in args["fields"].split(",") if f.strip())
        if "fields" in args
        else None
    )
    return ListRequest(
        filter=args.get("filter") or None,
        sort=args.get("sort") or None,
        fields=fields,
        limit=limit,
        cursor=args.get("cursor") or None,
        total=args.get("total", "").lower() in ("true", "1", "yes"),
    )


@api.get("/objects/<name>/records")
def list_records(name: str):
    return jsonify(runtime().records.query(context(), name, _list_request()))


@api.post("/objects/<name>/records")
def create_record(name: str):
    result = runtime().records.create(context(), name, json_body())
    response = _record_response(result, 201)
    response.headers["Location"] = f"/api/v1/objects/{name}/records/{result.record['id']}"
    return response


@api.post("/objects/<name>/records/bulk")
def bulk_create(name: str):
    rows = json_body(list)
    if len(rows) > MAX_BULK:
        raise BadRequest(f"at most {MAX_BULK} records per request; split the batch")
    ids = runtime().records.bulk_create(context(), name, rows)
    return jsonify({"ids": ids}), 201


@api.get("/objects/<name>/records/<record_id>")
def get_record(name: str, record_id: str):
    record = runtime().records.get(context(), name, record_id)
    response = jsonify({"record": record})
    response.headers["ETag"] = f'"{record["version"]}"'
    return response


@api.patch("/objects/<name>/records/<record_id>")
def update_record(name: str, record_id: str):
    result = runtime().records.update(
        context(), name, record_id, json_body(), expected_version=_if_match()
    )
    return _record_response(result)


@api.delete("/objects/<name>/records/<record_id>")
def delete_record(name: str, record_id: str):
    runtime().records.delete(context(), name, record_id, expected_version=_if_match())
    return "", 204


@api.get("/objects/<name>/records/<record_id>/history")
def record_history(name: str, record_id: str):
    return jsonify({"history": runtime().records.history(context(), name, record_id)})
