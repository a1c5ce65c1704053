"""Definitions by kind and key: approval flows, automations, pools, assignment rules,
layouts, list views and roles (administrators).

``PUT /definitions/{kind}/{object}.{name}`` sends the whole definition; it is
created, or the properties that differ become the admin's customization
(through ``MetadataAPI.define``, the same path packs and the CLI use). A
refused definition answers 422 with every problem and its JSON pointer.
``DELETE`` removes one the admin made (``MetadataAPI.remove``): a pack's is 422,
one still named elsewhere 422 with each place, a pool still holding records 409.
Both take ``?dry_run=true``.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from trellis.metadata.components import UNOWNED_KINDS
from trellis.runtime.api import api
from trellis.runtime.api.requests import context, json_body, require_admin, runtime
from trellis.runtime.errors import Invalid, NotFound
from trellis.runtime.metadata_api import DEFINABLE


def _identity(kind: str, key: str) -> dict[str, str]:
    """``api_name`` (and ``object``) named by the URL: ``lead.by_region``, or a role's name."""
    if kind not in DEFINABLE:
        raise NotFound(
            f"there is no kind of definition {kind[:40]!r}; kinds: {', '.join(DEFINABLE)}"
        )
    if kind in UNOWNED_KINDS:
        return {"api_name": key}
    object_name, dot, name = key.partition(".")
    if not dot or not object_name or not name:
        raise NotFound(f"address a {kind.replace('_', ' ')} as {kind}/<object>.<api_name>")
    return {"object": object_name, "api_name": name}


def _with_identity(body: dict[str, Any], identity: dict[str, str]) -> dict[str, Any]:
    """The body with ``api_name``/``object`` from the URL; a body naming others is refused."""
    for prop, value in identity.items():
        if body.setdefault(prop, value) != value:
            raise Invalid(
                f"the body's {prop} {body[prop]!r} differs from the address ({value!r})",
                [{"pointer": f"/{prop}", "message": f"must be {value!r} or left out"}],
            )
    return body


def _dry_run() -> bool:
    return request.args.get("dry_run", "").lower() in ("true", "1", "yes")


@api.put("/definitions/<kind>/<key>")
def define(kind: str, key: str):
    require_admin()
    definition = _with_identity(dict(json_body()), _identity(kind, key))
    result = runtime().metadata.define(
        context().principal.username, kind, definition, dry_run=_dry_run()
    )
    return _changed(result)


@api.delete("/definitions/<kind>/<key>")
def remove_definition(kind: str, key: str):
    require_admin()
    _identity(kind, key)
    result = runtime().metadata.remove(context().principal.username, kind, key, dry_run=_dry_run())
    return _changed(result)


def _changed(result):
    return jsonify(
        {
            "applied": result.applied,
            "metadata_version": result.version,
            "plan": result.plan.as_json(),
        }
    )


@api.get("/definitions/<kind>/<key>")
def read_definition(kind: str, key: str):
    require_admin()
    _identity(kind, key)
    return jsonify({"kind": kind, "definition": runtime().metadata.definition(kind, key)})
