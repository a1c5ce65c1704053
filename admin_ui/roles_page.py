"""Roles and permissions at /admin/roles: the roles, a new role, and each role's grid.

Roles are metadata (kind ``role``): every save is ``MetadataAPI.define(actor, "role", …)``,
the call packs and the CLI make, so a pack's role keeps its layer and an upgrade still sees
what the admin changed. A refused grid comes back as the admin left it with each problem in
its cell; ``/check`` runs the same save as a dry run while the admin edits. A role a pack
locked is shown read-only with the reason.
"""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui import roles_grid as grid
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.sections import section
from trellis.metadata import store
from trellis.metadata.names import name_from_label
from trellis.runtime.errors import Forbidden, Invalid, NotFound, TrellisError
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section("roles", _l("Roles and permissions"), "admin.roles", order=72, prefixes=("admin.role",))


@admin.get("/roles")
def roles():
    with runtime().engine.connect() as conn:
        layers = store.load(conn)
    listing = [
        {
            "role": role,
            "origin": layers.provenance(f"role:{name}"),
            "locked": layers.lock_reason(f"role:{name}"),
            "objects": sum(1 for p in role.objects.values() if p.read or p.view_all),
        }
        for name, role in sorted(definitions().roles.items())
    ]
    return render_template("admin/roles.html", roles=listing)


@admin.post("/roles")
def role_create():
    label = {"zh-CN": request.form.get("label_zh", "").strip(), "en": ""}
    label["en"] = request.form.get("label_en", "").strip()
    name = request.form.get("api_name", "").strip() or name_from_label(
        label["en"] or label["zh-CN"], set(definitions().roles)
    )
    if name in definitions().roles:
        flash(_("A role with this API name exists: choose another name."))
        return redirect(url_for("admin.roles"))
    definition: dict[str, Any] = {"api_name": name, "label": label, "objects": {}}
    source = definitions().roles.get(request.form.get("copy_from", ""))
    if source is not None:
        definition["objects"] = (
            runtime().metadata.definition("role", source.api_name).get("objects", {})
        )
    try:
        runtime().metadata.define(actor(), "role", definition)
    except TrellisError as exc:
        return refusal_page(exc, _("The role was not created"), url_for("admin.roles"))
    flash(_("Role %(name)s is created: set its permissions below.", name=name))
    return redirect(url_for("admin.role_edit", name=name))


@admin.route("/roles/<name>", methods=["GET", "POST"])
def role_edit(name: str):
    current = _definition(name)
    locked = _lock_reason(name)
    if request.method == "GET":
        return _grid_page(name, current, locked)
    proposed = grid.definition_from_form(current, request.form, _objects())
    try:
        result = runtime().metadata.define(actor(), "role", proposed)
    except (Invalid, Forbidden) as exc:
        return _grid_page(name, proposed, locked, exc), exc.status
    if result.applied:
        flash(_("The permissions of %(name)s are saved.", name=name))
    else:
        flash(_("Nothing changed."))
    return redirect(url_for("admin.role_edit", name=name))


@admin.post("/roles/<name>/check")
def role_check(name: str):
    """The grid as it stands, checked without saving (JSON problems by cell)."""
    proposed = grid.definition_from_form(_definition(name), request.form, _objects())
    try:
        runtime().metadata.define(actor(), "role", proposed, dry_run=True)
    except (Invalid, Forbidden) as exc:
        at, elsewhere = grid.cell_problems(exc.details, f"role:{name}")
        return jsonify(
            {"ok": False, "message": exc.message, "cells": at, "elsewhere": elsewhere}
        ), exc.status
    return jsonify({"ok": True, "cells": {}, "elsewhere": []})


@admin.get("/roles/<name>/fields/<object_name>")
def role_fields(name: str, object_name: str):
    """One object's field-security sub-grid, loaded when the admin opens it (a role's
    every field at once would make the page heavy)."""
    found = [r for r in grid.rows(_definition(name), _objects()) if r.api_name == object_name]
    if not found:
        raise NotFound(f"there is no object {object_name[:60]!r}")
    return render_template(
        "admin/role_fields.html",
        row=found[0],
        schema=grid.schema(),
        labels=_labels(),
        locked=_lock_reason(name),
        at={},
    )


def _grid_page(name: str, definition: dict, locked: str | None, exc: TrellisError | None = None):
    at, elsewhere = grid.cell_problems(exc.details if exc else [], f"role:{name}")
    open_fields = {p.split("/")[2] for p in at if p.startswith("/objects/") and "/fields/" in p}
    return render_template(
        "admin/role_edit.html",
        name=name,
        definition=definition,
        rows=grid.rows(definition, _objects()),
        schema=grid.schema(),
        labels=_labels(),
        locked=locked,
        refused=exc,
        at=at,
        elsewhere=elsewhere,
        is_admin=bool(definition.get("is_admin")),
        open_fields=open_fields,
        # A refused save shows every sub-grid as the admin left it (nothing to load).
        inline_fields=exc is not None,
    )


def _definition(name: str) -> dict[str, Any]:
    try:
        return runtime().metadata.definition("role", name)
    except NotFound:
        raise NotFound(f"there is no role {name[:40]!r}") from None


def _lock_reason(name: str) -> str | None:
    with runtime().engine.connect() as conn:
        return store.load(conn).lock_reason(f"role:{name}")


def _objects() -> list:
    return [
        obj
        for name, obj in definitions().objects.items()
        if not obj.archived and not name.startswith("trellis_")
    ]


def _labels() -> dict[str, str]:
    """Column, scope and field-access names in the page language (others: their API name)."""
    return {
        "create": _("Create"),
        "read": _("Read"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "view_all": _("View all"),
        "modify_all": _("Modify all"),
        "read_scope": _("Read scope"),
        "edit_scope": _("Edit scope"),
        "own": _("Own records"),
        "subordinates": _("Mine and my reports'"),
        "department": _("My department"),
        "department_tree": _("My department and below"),
        "all": _("All records"),
        "hidden": _("Hidden"),
        "read_only": _("Read-only"),
        "editable": _("Editable"),
    }
