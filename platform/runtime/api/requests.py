"""Per-request plumbing of the API: who is calling (Bearer token), in which
language, JSON bodies, and errors as JSON."""

from __future__ import annotations

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from trellis.runtime import auth as auth_model
from trellis.runtime.api import api
from trellis.runtime.database import begin_write
from trellis.runtime.errors import BadRequest, Forbidden, TrellisError, Unauthorized
from trellis.runtime.permissions import is_admin

#: Endpoints reachable without a token.
PUBLIC = {"api.issue_token", "api.openapi_document"}


def runtime():
    return current_app.extensions["trellis"]


def locale() -> str:
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return "en" if best == "en" else "zh-CN"


@api.before_request
def authenticate():
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized(
            "send 'Authorization: Bearer <token>'; get a token from POST /api/v1/auth/token"
        )
    rt = runtime()
    with rt.engine.connect() as conn:
        token = auth_model.live_token(conn, header[7:].strip())
    if auth_model.use_note_due(token):
        with begin_write(rt.engine) as conn:
            auth_model.note_token_use(conn, token.id)
    g.ctx = rt.context(token.user_id, locale=request.headers.get("Accept-Language") and locale())


def context():
    return g.ctx


def require_admin():
    rt = runtime()
    with rt.engine.connect() as conn:
        defs = rt.cache.get(conn).definitions
    if not is_admin(defs, g.ctx.principal):
        raise Forbidden("only administrators may change definitions")


def json_body(kind=dict):
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    if not isinstance(data, kind):
        raise BadRequest(f"the request body must be a JSON {'object' if kind is dict else 'array'}")
    return data


@api.errorhandler(TrellisError)
def trellis_error(exc: TrellisError):
    return jsonify(exc.as_json()), exc.status


@api.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    body = {
        "error": {
            "code": exc.name.lower().replace(" ", "_"),
            "message": exc.description,
            "details": [],
        }
    }
    # Keep the exception's own headers, e.g. Allow on 405 Method Not Allowed.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return jsonify(body), exc.code, headers


@api.app_errorhandler(404)
@api.app_errorhandler(405)
def routing_error(exc: HTTPException):
    """No route matched, so no blueprint handler runs: answer JSON under the API's prefix."""
    if request.path == api.url_prefix or request.path.startswith(f"{api.url_prefix}/"):
        return http_error(exc)
    return exc


@api.errorhandler(Exception)
def unexpected(exc: Exception):
    current_app.logger.exception("unexpected error in the API")
    return jsonify(
        {
            "error": {
                "code": "internal_error",
                "details": [],
                "message": "something went wrong on our side; it was logged",
            }
        }
    ), 500
