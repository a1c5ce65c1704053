"""The layout designer's pages: the layouts of every object, a new layout, and the designer.

``/admin/layouts`` lists each object's layouts with the record types and roles they are
assigned to; ``/admin/layouts/new?object=lead&record_type=…&role=…`` opens the designer on
a draft copied from the layout those users see now (nothing is saved until the admin
saves); ``/admin/layouts/<object>.<api_name>`` opens an existing one. Saving sends the whole
layout to ``MetadataAPI.define(actor, "layout", …)``: a refusal shows each problem at the
section, field or control it points to, and the live pages keep the last good layout.
"""

from __future__ import annotations

import hashlib
import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.layout_model import (
    all_buttons,
    button_rows,
    placeable,
    placed_names,
    posted_layout,
    related_choices,
    related_rows,
    starting_layout,
)
from trellis.admin_ui.layout_places import Places, duplicate_problems
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.sections import section
from trellis.metadata import store
from trellis.metadata.names import name_from_label
from trellis.runtime.errors import BadRequest, Forbidden, Invalid, NotFound
from trellis.web.automation_buttons import manual_automations
from trellis.web.metadata_view import compiled, definitions
from trellis.web.sessions import runtime

section("layouts", _l("Layouts"), "admin.layouts", order=20, prefixes=("admin.layout",))


def designable_objects() -> list:
    """Every live object a layout can be made for, in the packs' order."""
    return [
        rt.definition
        for name, rt in compiled().objects.items()
        if not rt.definition.archived and not name.startswith("trellis_")
    ]


def layout_object(name: str):
    obj = next((o for o in designable_objects() if o.api_name == name), None)
    if obj is None:
        raise NotFound(f"there is no object {name[:60]!r}")
    return obj


def fingerprint(definition: dict | None) -> str:
    """What the designer saw when it opened: a save on a changed layout is refused."""
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False) if definition else ""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _current(key: str) -> dict | None:
    try:
        return runtime().metadata.definition("layout", key)
    except NotFound:
        return None


def _lock_reason(key: str) -> str | None:
    with runtime().engine.connect() as conn:
        return store.load(conn).lock_reason(f"layout:{key}")


@admin.get("/layouts")
def layouts():
    by_object = {}
    for layout in sorted(definitions().layouts.values(), key=lambda x: x.api_name):
        by_object.setdefault(layout.object_name, []).append(layout)
    return render_template(
        "admin/layout_list.html",
        objects=designable_objects(),
        by_object=by_object,
        roles=sorted(definitions().roles.values(), key=lambda r: r.api_name),
    )


def _page(obj, definition, *, key, seen, places=None, status=200, message=None):
    placed = set(placed_names(definition))
    return render_template(
        "admin/layout_designer.html",
        object=obj,
        key=key,
        layout=definition,
        fields={f.api_name: f for f in obj.fields},
        palette=[f for f in placeable(obj) if f.api_name not in placed],
        related=related_rows(definition, related_choices(designable_objects(), obj)),
        buttons=button_rows(definition, manual_automations(obj.api_name)),
        roles=sorted(definitions().roles.values(), key=lambda r: r.api_name),
        seen=seen,
        places=places or Places(),
        locked=_lock_reason(key) if key else None,
        message=message,
    ), status


@admin.get("/layouts/new")
def layout_new():
    obj = layout_object(request.args.get("object", ""))
    record_type = request.args.get("record_type") or None
    role = request.args.get("role") or None
    if record_type and record_type not in {t.api_name for t in obj.record_types}:
        raise BadRequest(
            _("%(object)s has no record type %(name)s.", object=obj.api_name, name=record_type[:40])
        )
    if role and role not in definitions().roles:
        raise BadRequest(_("There is no role %(name)s.", name=role[:40]))
    base = _base_layout(obj.api_name, record_type, role)
    taken = {x.api_name for x in definitions().layouts.values() if x.object_name == obj.api_name}
    wanted = "_".join(filter(None, [record_type, role])) or "layout"
    draft = starting_layout(obj, base, name_from_label(wanted, taken))
    if record_type:
        draft["record_types"] = [record_type]
    if role:
        draft["roles"] = [role]
    return _page(obj, draft, key=None, seen=fingerprint(None))[0]


def _base_layout(object_name: str, record_type: str | None, role: str | None) -> dict | None:
    """The layout users of ``role`` see for ``record_type`` now, as a starting point."""
    best = None
    for layout in definitions().layouts.values():
        d = layout.definition
        if layout.object_name != object_name:
            continue
        if d.get("roles") and role not in d["roles"]:
            continue
        if d.get("record_types") and record_type not in d["record_types"]:
            continue
        rank = (bool(d.get("roles")), bool(d.get("record_types")))
        if best is None or rank > best[0]:
            best = (rank, dict(d))
    return best[1] if best else None


@admin.post("/layouts/new")
def layout_create():
    obj = layout_object(request.args.get("object", ""))
    api_name = request.form.get("api_name", "").strip()[:40]
    return _save(obj, api_name, None)


@admin.get("/layouts/<key>")
def layout_designer(key: str):
    obj, current = existing_layout(key)
    return _page(obj, current, key=key, seen=fingerprint(current))[0]


@admin.post("/layouts/<key>")
def layout_save(key: str):
    obj, current = existing_layout(key)
    return _save(obj, key.split(".", 1)[1], current)


def existing_layout(key: str):
    object_name, _sep, api_name = key.partition(".")
    current = _current(key) if api_name else None
    if current is None:
        raise NotFound(f"there is no layout {key[:80]!r}")
    return layout_object(object_name), current


def _save(obj, api_name: str, current: dict | None):
    key = f"{obj.api_name}.{api_name}"
    draft = all_buttons(
        posted_layout(obj.api_name, api_name, current), manual_automations(obj.api_name)
    )
    now = _current(key) if api_name else None
    seen = request.form.get("seen", "")
    if current is None and now is not None:
        message = _("There is already a layout %(name)s: choose another name.", name=api_name)
        return _page(obj, draft, key=None, seen=seen, status=409, message=message)
    if seen != fingerprint(now):
        message = _(
            "Someone changed this layout after you opened it. It is shown as it is now: "
            "make your change again."
        )
        return _page(obj, now, key=key, seen=fingerprint(now), status=409, message=message)
    try:
        problems = duplicate_problems(key, draft, current)
        if problems:
            raise Invalid(_("A field is placed more than once."), problems)
        runtime().metadata.define(actor(), "layout", draft)
    except (Invalid, Forbidden) as exc:
        places = Places.of(f"layout:{key}", exc, draft)
        shown = key if current else None
        return _page(
            obj,
            draft,
            key=shown,
            seen=seen,
            places=places,
            status=exc.status,
            message=exc.message,
        )
    flash(_("Layout saved: the record pages show it now."))
    return redirect(url_for("admin.layout_designer", key=key), code=303)
