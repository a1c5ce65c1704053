"""Saving the list a user is looking at as a view: personal, or shared with everyone.

The save form posts to ``/o/<object>/views`` with the list's arguments in its address
(``list_tools.js`` keeps them current after htmx updates), so the list selection is read
exactly as the list page reads it.

- A personal view keeps those arguments under a name for the signed-in user only
  (``trellis.web.saved_view_store``).
- A shared view is a ``list_view`` component: its columns, the list's whole filter as one
  expression and its sort, defined through the metadata API like any admin change. Only
  administrators (users who may change metadata) may make one; anyone else gets 403.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from trellis.metadata.names import name_from_label
from trellis.runtime.errors import Forbidden, Invalid, NotFound
from trellis.runtime.permissions import is_admin
from trellis.web import pages
from trellis.web.filters import FilterInputError
from trellis.web.lists import list_selection
from trellis.web.metadata_view import definitions, object_runtime
from trellis.web.saved_view_store import (
    NAME_LENGTH,
    delete_view,
    kept_args,
    save_view,
    view_url,
)
from trellis.web.sessions import page_context, runtime


def may_share_views() -> bool:
    """Whether the signed-in user may make shared views (change metadata)."""
    return is_admin(definitions(), page_context().principal)


@pages.app_context_processor
def _saved_view_helpers():
    return {"may_share_views": may_share_views}


def _view_name() -> str:
    name = " ".join(request.form.get("name", "").split())
    if not name:
        raise Invalid(_("Give the view a name."))
    if len(name) > NAME_LENGTH:
        raise Invalid(_("A view name has at most %(num)d characters.", num=NAME_LENGTH))
    return name


@pages.post("/o/<object_name>/views")
def save_list_view(object_name: str):
    chosen = list_selection(object_name)  # 404 if the object is not readable
    name = _view_name()
    if request.form.get("shared") == "1":
        return _save_shared(object_name, name, chosen)
    args = kept_args(request.args)
    args["view"] = chosen.view.api_name if chosen.view else ""
    view_id = save_view(object_name, name, args)
    flash(_("View “%(name)s” saved: find it under My views.", name=name))
    return redirect(view_url(object_name, {"id": view_id, "args": args}))


def _save_shared(object_name: str, name: str, chosen):
    if not may_share_views():
        raise Forbidden(_("Only administrators may save shared views."))
    try:
        expression = chosen.filter_source()
    except FilterInputError as exc:
        raise Invalid(str(exc)) from None
    api_name = _free_api_name(object_name, name)
    definition = {
        "api_name": api_name,
        "object": object_name,
        "label": {"zh-CN": name, "en": name},
        "columns": [f.api_name for f in chosen.columns],
        "sort": chosen.sort,
        "shared": True,
    }
    if expression:
        definition["filter"] = expression
    runtime().metadata.define(page_context().principal.username, "list_view", definition)
    flash(_("Shared view “%(name)s” saved: everyone who may read this list sees it.", name=name))
    return redirect(url_for("pages.list_page", object_name=object_name, view=api_name))


def _free_api_name(object_name: str, name: str) -> str:
    """``view_<the name in pinyin or ASCII>``, numbered when the object has it already."""
    taken = {v.api_name for v in definitions().list_views.values() if v.object_name == object_name}
    return name_from_label(name, taken, prefix="view_")


@pages.post("/o/<object_name>/views/<int:view_id>/delete")
def delete_list_view(object_name: str, view_id: int):
    object_runtime(object_name)  # 404 if the object is not readable
    if not delete_view(object_name, view_id):
        raise NotFound(f"there is no view {view_id} of yours")
    flash(_("View deleted."))
    return redirect(url_for("pages.list_page", object_name=object_name))
