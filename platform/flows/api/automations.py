"""Automations over REST: run a manual automation, read the automation log.

``POST /automations/{object}.{name}/run`` with ``{"ids": [...]}`` runs a manual
automation (a button) on records the caller may edit and answers one outcome
per record. ``GET /automations/log?object=&record_id=&automation=`` reads the
log, newest first: administrators everything, others one record they can read.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.requests import context, json_body, runtime
from trellis.runtime.errors import BadRequest

MAX_LOG = 500


@api.post("/automations/<key>/run")
def run_automation(key: str):
    body = json_body()
    unknown = set(body) - {"ids"}
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}; send only ids")
    if "ids" not in body:
        raise BadRequest('send {"ids": [record ids]}: the records to run the automation on')
    results = runtime().flows.automations.run_manual(context(), key, body["ids"])
    return jsonify({"automation": key, "results": results})


@api.get("/automations/log")
def automation_log():
    args = request.args
    known = {"object", "record_id", "automation", "limit"}
    unknown = set(args) - known
    if unknown:
        raise BadRequest(
            f"unknown parameter(s): {', '.join(sorted(unknown))}; use {', '.join(sorted(known))}"
        )
    rows = runtime().flows.automations.log_for(
        context(),
        object_name=args.get("object") or None,
        record_id=_whole("record_id", args.get("record_id"), 2**63 - 1),
        automation=args.get("automation") or None,
        limit=_whole("limit", args.get("limit"), MAX_LOG) or 100,
    )
    return jsonify({"entries": rows})


def _whole(name: str, value: str | None, most: int) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or not 0 < int(value) <= most:
        raise BadRequest(f"{name} must be a whole number from 1 to {most}")
    return int(value)
