"""POST /api/v1/auth/token: trade a username and password for an API token."""

from __future__ import annotations

from flask import g, jsonify, request

from trellis.runtime import auth as auth_model
from trellis.runtime.api import api
from trellis.runtime.api.requests import json_body, runtime
from trellis.runtime.database import begin_write
from trellis.runtime.errors import BadRequest, Unauthorized


@api.post("/auth/token")
def issue_token():
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise BadRequest('send {"username": ..., "password": ...} as text')
    refused = None
    with begin_write(runtime().engine) as conn:
        # A wrong password must still commit the failed-login count, so catch, commit, re-raise.
        try:
            user_id = auth_model.check_password(conn, username, password)
        except Unauthorized as exc:
            refused = exc
        else:
            token = auth_model.issue_token(conn, user_id, str(body.get("name") or "api"))
    if refused is not None:
        raise refused
    return jsonify({"token": token, "token_type": "Bearer"}), 201


@api.delete("/auth/token")
def revoke_token():
    token = request.headers["Authorization"][7:].strip()
    with begin_write(runtime().engine) as conn:
        auth_model.revoke_token(conn, token)
    g.pop("ctx", None)
    return "", 204
