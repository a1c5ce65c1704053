"""The REST API (``/api/v1``): JSON in, JSON out, described by OpenAPI.

Errors are always ``{"error": {"code", "message", "details"}}``; no stack
trace reaches a client.
"""

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api/v1")

from trellis.runtime.api import (  # noqa: E402,F401
    auth,
    conversions,
    definitions,
    history,
    objects,
    openapi,
    packs,
    records,
    reports,
    requests,
    tabular,
)
