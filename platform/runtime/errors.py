"""Errors the runtime raises; the API turns each into a JSON error with its status.

Every error says what is wrong and, where it can, how to fix it. ``details``
lists per-field or per-place problems: ``{"field": ..., "message": ...}`` or
``{"pointer": ..., "message": ...}``.
"""

from __future__ import annotations

from typing import Any


class TrellisError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.extra = extra

    def as_json(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message, "details": self.details}
        error.update(self.extra)
        return {"error": error}


class BadRequest(TrellisError):
    status, code = 400, "bad_request"


class Unauthorized(TrellisError):
    status, code = 401, "unauthorized"


class Forbidden(TrellisError):
    status, code = 403, "forbidden"


class NotFound(TrellisError):
    status, code = 404, "not_found"


class Conflict(TrellisError):
    status, code = 409, "conflict"


class StaleVersion(TrellisError):
    status, code = 412, "stale_version"


class Invalid(TrellisError):
    """The input was understood but breaks a rule (types, validation rules, definitions)."""

    status, code = 422, "invalid"
