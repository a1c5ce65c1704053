"""Approvals over REST: submit a record, read an instance, my tasks, act on a task,
recall, delegate. Every state change is a POST with a JSON body; ``comment``
is optional on each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.requests import context, runtime
from trellis.runtime.errors import BadRequest, Invalid
from trellis.runtime.people import user_id as find_user_id


def _body() -> dict[str, Any]:
    """The JSON body; an empty body is an empty object (every field is optional somewhere)."""
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object (Content-Type: application/json)")
    return data


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{key} must be text", [{"field": key, "message": "expected text"}])
    return value


def _user(body: dict[str, Any], key: str) -> int:
    name = _text(body, key)
    if not name:
        raise Invalid(f"give {key!r}: the username", [{"field": key, "message": "required"}])
    with runtime().engine.connect() as conn:
        found = find_user_id(conn, name)
    if found is None:
        raise Invalid(
            f"there is no user {name[:80]!r}", [{"field": key, "message": "unknown user"}]
        )
    return found


def _date(body: dict[str, Any], key: str) -> dt.date:
    value = _text(body, key)
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise Invalid(
            f"{key} must be a date like 2026-03-10", [{"field": key, "message": "expected a date"}]
        ) from None


def _approvals():
    return runtime().flows.approvals


@api.post("/objects/<name>/records/<record_id>/approvals")
def submit_approval(name: str, record_id: str):
    body = _body()
    instance = _approvals().submit(
        context(), name, record_id, flow=_text(body, "flow"), comment=_text(body, "comment")
    )
    response = jsonify({"approval": instance})
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/approvals/{instance['id']}"
    return response


@api.get("/approvals/tasks")
def my_approval_tasks():
    status = request.args.get("status", "pending")
    return jsonify({"tasks": _approvals().tasks(context(), status=status)})


@api.get("/approvals/<instance_id>")
def get_approval(instance_id: str):
    return jsonify({"approval": _approvals().instance(context(), instance_id)})


@api.post("/approvals/tasks/<task_id>/approve")
def approve_task(task_id: str):
    body = _body()
    return jsonify(
        {"approval": _approvals().approve(context(), task_id, comment=_text(body, "comment"))}
    )


@api.post("/approvals/tasks/<task_id>/reject")
def reject_task(task_id: str):
    body = _body()
    instance = _approvals().reject(
        context(), task_id, comment=_text(body, "comment"), to_node=_text(body, "to_node")
    )
    return jsonify({"approval": instance})


@api.post("/approvals/tasks/<task_id>/transfer")
def transfer_task(task_id: str):
    body = _body()
    instance = _approvals().transfer(
        context(), task_id, _user(body, "to"), comment=_text(body, "comment")
    )
    return jsonify({"approval": instance})


@api.post("/approvals/tasks/<task_id>/add-approver")
def add_approver(task_id: str):
    body = _body()
    position = _text(body, "position")
    instance = _approvals().add_approver(
        context(), task_id, _user(body, "user"), position=position, comment=_text(body, "comment")
    )
    return jsonify({"approval": instance})


@api.post("/approvals/<instance_id>/recall")
def recall_approval(instance_id: str):
    body = _body()
    instance = _approvals().recall(context(), instance_id, comment=_text(body, "comment"))
    return jsonify({"approval": instance})


@api.post("/approvals/delegations")
def delegate_approvals():
    body = _body()
    delegation = _approvals().delegate(
        context(), _user(body, "to"), _date(body, "starts_on"), _date(body, "ends_on")
    )
    return jsonify({"delegation": delegation}), 201
