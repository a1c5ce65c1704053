"""Pools (公海池) and assignment over REST.

``GET /pools`` lists the caller's pools; ``GET /pools/{object}.{pool}/records``
pages through one (members only); ``POST …/records/{id}/claim`` takes a
record. ``POST /objects/{object}/records/{id}/release`` gives one back
(``{"pool": name}`` optional) and ``…/assign`` applies an assignment rule
(``{"rule": name}`` optional; needs edit rights on the record).
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.flows.pools import MAX_LIMIT
from trellis.runtime.api import api
from trellis.runtime.api.requests import context, json_body, runtime
from trellis.runtime.errors import BadRequest, NotFound


def _pool_key(key: str) -> tuple[str, str]:
    object_name, dot, pool = key.partition(".")
    if not dot or not object_name or not pool:
        raise NotFound(f"{key[:80]!r} is not a pool; pools are named object.pool, e.g. lead.east")
    return object_name, pool


def _optional_body() -> dict:
    """The JSON object sent, or {} for an empty body."""
    return json_body() if request.get_data() else {}


def _optional_name(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a {key} api_name (text), or left out")
    unknown = set(body) - {key}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}; send only {key}")
    return value


@api.get("/pools")
def my_pools():
    return jsonify({"pools": runtime().flows.pools.pools(context())})


@api.get("/pools/<key>/records")
def pool_records(key: str):
    object_name, pool = _pool_key(key)
    unknown = set(request.args) - {"limit", "cursor"}
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(sorted(unknown))}; use limit, cursor")
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}") from None
    page = runtime().flows.pools.records(
        context(), object_name, pool, limit=limit, cursor=request.args.get("cursor") or None
    )
    return jsonify(page)


@api.post("/pools/<key>/records/<record_id>/claim")
def claim_record(key: str, record_id: str):
    object_name, pool = _pool_key(key)
    record = runtime().flows.pools.claim(context(), object_name, pool, record_id)
    return jsonify({"record": record})


@api.post("/objects/<name>/records/<record_id>/release")
def release_record(name: str, record_id: str):
    pool = _optional_name(_optional_body(), "pool")
    released_to = runtime().flows.pools.release(context(), name, record_id, pool=pool)
    return jsonify({"pool": released_to})


@api.post("/objects/<name>/records/<record_id>/assign")
def assign_record(name: str, record_id: str):
    rule = _optional_name(_optional_body(), "rule")
    owner = runtime().flows.assignment.assign(context(), name, record_id, rule)
    return jsonify({"owner": owner})
