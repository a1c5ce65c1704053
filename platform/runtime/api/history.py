"""The metadata change history and reverting one change (administrators).

``GET /metadata/history?limit=&before=&key=`` lists versions newest first: who, when,
the summary and, per component or property touched, the value before and after.
``POST /metadata/history/{version}/revert`` undoes that one change as a new version
(``?dry_run=true`` only checks it and returns the DDL it needs); 409 names the later
change that touched the same property, 422 explains why a pack operation is not undone
here. Both call ``MetadataAPI.history``/``revert``, as the CLI and /admin/history do.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.requests import context, require_admin, runtime
from trellis.runtime.errors import BadRequest


def _number(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, not {raw[:20]!r}") from None


@api.get("/metadata/history")
def metadata_history():
    require_admin()
    changes = runtime().metadata.history(
        limit=_number("limit", 50),
        before=_number("before", None),
        key=request.args.get("key") or None,
    )
    return jsonify({"changes": changes})


@api.post("/metadata/history/<int:version>/revert")
def metadata_revert(version: int):
    require_admin()
    dry_run = request.args.get("dry_run", "").lower() in ("true", "1", "yes")
    result = runtime().metadata.revert(context().principal.username, version, dry_run=dry_run)
    return jsonify(
        {
            "applied": result.applied,
            "metadata_version": result.version,
            "plan": result.plan.as_json(),
        }
    )
