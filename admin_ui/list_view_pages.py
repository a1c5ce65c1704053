"""The list view designer: columns by drag, the filter, the sort, and who sees the view.

``/admin/list-views`` lists each object's views; ``/admin/list-views/<object>.<api_name>``
edits one and ``/admin/list-views/new?object=lead`` makes one. Saving sends the whole view to
``MetadataAPI.define(actor, "list_view", …)``: a refusal (a column that is not a field, a
filter that does not compile, a sort on an unknown field) is shown at its control and the
list pages keep the last good view.
"""

from __future__ import annotations

import hashlib
import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.layout_pages import designable_objects, layout_object
from trellis.admin_ui.list_view_model import (
    builder_rows,
    listable,
    posted_view,
    sort_rows,
    sortable,
    view_problems,
)
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.sections import section
from trellis.metadata.names import name_from_label
from trellis.runtime.errors import Forbidden, Invalid, NotFound
from trellis.web.filters import OPERATORS, FilterInputError, filterable
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section("list_views", _l("List views"), "admin.list_views", order=25, prefixes=("admin.list_view",))


def _fingerprint(definition: dict | None) -> str:
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False) if definition else ""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _current(key: str) -> dict | None:
    try:
        return runtime().metadata.definition("list_view", key)
    except NotFound:
        return None


@admin.get("/list-views")
def list_views():
    by_object = {}
    for view in sorted(definitions().list_views.values(), key=lambda v: v.api_name):
        by_object.setdefault(view.object_name, []).append(view)
    return render_template(
        "admin/list_view_list.html", objects=designable_objects(), by_object=by_object
    )


def _page(obj, view: dict, *, key, seen, builder=None, problems=None, status=200, message=None):
    at, rest = problems or ({}, [])
    fields = {f.api_name: f for f in obj.fields}
    chosen = [c for c in view.get("columns", []) if isinstance(c, str)]
    return render_template(
        "admin/list_view_designer.html",
        object=obj,
        key=key,
        view=view,
        fields=fields,
        chosen=chosen,
        available=[f for f in listable(obj) if f.api_name not in chosen],
        sortable=sortable(obj),
        sorts=sort_rows(view.get("sort")),
        builder=builder or [("", "eq", "")] * 3,
        # a refused form shows the expression as typed (its builder rows are shown apart)
        expression=request.form.get("filter") if builder else view.get("filter"),
        operators=list(OPERATORS),
        filterable=filterable(obj),
        roles=sorted(definitions().roles.values(), key=lambda r: r.api_name),
        seen=seen,
        at=at,
        rest=rest,
        message=message,
    ), status


@admin.get("/list-views/new")
def list_view_new():
    obj = layout_object(request.args.get("object", ""))
    taken = {v.api_name for v in definitions().list_views.values() if v.object_name == obj.api_name}
    names = [obj.name_field] if obj.name_field else []
    draft = {
        "api_name": name_from_label("new view", taken),
        "object": obj.api_name,
        "label": {"zh-CN": "", "en": ""},
        "columns": [*names, "owner", "updated_at"],
        "sort": "-updated_at",
    }
    return _page(obj, draft, key=None, seen=_fingerprint(None))[0]


@admin.post("/list-views/new")
def list_view_create():
    obj = layout_object(request.args.get("object", ""))
    return _save(obj, request.form.get("api_name", "").strip()[:40], None)


@admin.get("/list-views/<key>")
def list_view_designer(key: str):
    obj, current = _existing(key)
    return _page(obj, current, key=key, seen=_fingerprint(current))[0]


@admin.post("/list-views/<key>")
def list_view_save(key: str):
    obj, current = _existing(key)
    return _save(obj, key.split(".", 1)[1], current)


def _existing(key: str):
    object_name, _sep, api_name = key.partition(".")
    current = _current(key) if api_name else None
    if current is None:
        raise NotFound(f"there is no list view {key[:80]!r}")
    return layout_object(object_name), current


def _save(obj, api_name: str, current: dict | None):
    key = f"{obj.api_name}.{api_name}"
    shown = key if current else None
    seen = request.form.get("seen", "")
    try:
        draft = posted_view(obj, api_name)
    except FilterInputError as exc:
        draft = {**(current or {}), "api_name": api_name, "object": obj.api_name}
        problems = ({"/builder": [str(exc)]}, [])
        return _page(
            obj,
            draft,
            key=shown,
            seen=seen,
            builder=builder_rows(),
            problems=problems,
            status=422,
            message=_("A filter condition is not filled in right."),
        )
    now = _current(key) if api_name else None
    if current is None and now is not None:
        message = _("There is already a list view %(name)s: choose another name.", name=api_name)
        return _page(obj, draft, key=None, seen=seen, status=409, message=message)
    if seen != _fingerprint(now):
        message = _(
            "Someone changed this list view after you opened it. It is shown as it is now: "
            "make your change again."
        )
        return _page(obj, now, key=key, seen=_fingerprint(now), status=409, message=message)
    try:
        runtime().metadata.define(actor(), "list_view", draft)
    except (Invalid, Forbidden) as exc:
        problems = view_problems(key, exc.details)
        if not exc.details:
            problems[1].append(exc.message)
        return _page(
            obj,
            draft,
            key=shown,
            seen=seen,
            builder=builder_rows(),
            problems=problems,
            status=exc.status,
            message=exc.message,
        )
    flash(_("List view saved: the list pages show it now."))
    return redirect(url_for("admin.list_view_designer", key=key), code=303)
