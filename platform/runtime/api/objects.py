"""Objects and fields: describe them (everyone) and change them (administrators).

Changes go through the metadata API, so a bad definition answers 422 with
every problem and its place, and nothing is half-applied.
"""

from __future__ import annotations

from flask import jsonify, request

from trellis.runtime.api import api
from trellis.runtime.api.describe import describe_object
from trellis.runtime.api.requests import context, json_body, require_admin, runtime
from trellis.runtime.errors import NotFound
from trellis.runtime.permissions import access_for


def _definitions():
    rt = runtime()
    with rt.engine.connect() as conn:
        return rt.cache.get(conn).definitions


@api.get("/objects")
def list_objects():
    ctx, defs = context(), _definitions()
    out = []
    for obj in defs.objects.values():
        access = access_for(defs, ctx.principal, obj.api_name)
        if access.read and not obj.archived:
            out.append(describe_object(obj, ctx.locale, access, full=False))
    return jsonify({"objects": out})


@api.get("/objects/<name>")
def describe(name: str):
    ctx, defs = context(), _definitions()
    obj = defs.objects.get(name)
    access = access_for(defs, ctx.principal, name) if obj else None
    if obj is None or obj.archived or not access.read:
        raise NotFound(f"there is no object {name[:60]!r} that you can read")
    return jsonify(describe_object(obj, ctx.locale, access))


def _dry_run() -> bool:
    """``?dry_run=true``: check the change and show its schema plan, change nothing."""
    return request.args.get("dry_run", "").lower() in ("true", "1", "yes")


def _changed(result, status=200):
    body = {
        "applied": result.applied,
        "metadata_version": result.version,
        "plan": result.plan.as_json(),
    }
    return jsonify(body), (status if result.applied else 200)


@api.post("/objects")
def create_object():
    require_admin()
    body = json_body()
    result = runtime().metadata.create_object(
        context().principal.username, body, dry_run=_dry_run()
    )
    return _changed(result, 201)


@api.post("/objects/<name>/fields")
def add_field(name: str):
    require_admin()
    body = json_body()
    result = runtime().metadata.add_field(
        context().principal.username, name, body, dry_run=_dry_run()
    )
    return _changed(result, 201)


@api.patch("/objects/<name>/fields/<field>")
def patch_field(name: str, field: str):
    require_admin()
    body = json_body()
    key = f"field:{name}.{field}"
    return _changed(
        runtime().metadata.patch(context().principal.username, key, body, dry_run=_dry_run())
    )


@api.delete("/objects/<name>/fields/<field>")
def archive_field(name: str, field: str):
    """Archive: the field disappears from pages and the API; its column and data stay."""
    require_admin()
    return _changed(
        runtime().metadata.archive_field(
            context().principal.username, name, field, dry_run=_dry_run()
        )
    )
