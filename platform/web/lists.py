"""The list page of an object: a list view's columns, the filter builder, quick search,
sort by a column, keyset paging ("next page" carries the cursor), and the count.

Everything is read through ``RecordsService.query``, so the viewer's data scope and
field security apply in SQL exactly as in the API. A filter that does not compile shows
its message above the list instead of failing the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request

from trellis.metadata import FieldDef, ObjectDef
from trellis.runtime.errors import BadRequest
from trellis.runtime.permissions import Access
from trellis.runtime.queries import ListRequest
from trellis.web import pages
from trellis.web.display import Names, cell, collect
from trellis.web.filters import (
    OPERATORS,
    FilterInputError,
    builder_expression,
    combine,
    filterable,
    search_expression,
)
from trellis.web.metadata_view import (
    access,
    default_columns,
    list_views,
    object_runtime,
    shown_fields,
)
from trellis.web.saved_view_store import open_chosen_view, personal_views
from trellis.web.sessions import page_context, runtime

PAGE_SIZE = 50
BUILDER_ROWS = 3


def _builder_rows() -> list[tuple[str, str, str]]:
    args = request.args
    return [
        (args.get(f"f{i}", ""), args.get(f"op{i}", "eq"), args.get(f"v{i}", ""))
        for i in range(BUILDER_ROWS)
    ]


@dataclass(frozen=True)
class ListSelection:
    """What the request's arguments choose on a list: the view, its columns, the builder
    rows and the sort. The list page and its exports read the same selection."""

    object: ObjectDef
    rights: Access
    views: list
    view: Any
    columns: list[FieldDef]
    builder: list[tuple[str, str, str]]
    sort: str

    def filter_source(self) -> str | None:
        """The view's filter, the builder, quick search and the typed expression as one
        expression; raises FilterInputError for a builder row filled in wrongly."""
        return combine(
            getattr(self.view.filter, "source", None) if self.view else None,
            builder_expression(self.object, self.builder),
            search_expression(self.object, request.args.get("q", ""), self.rights.hidden),
            request.args.get("filter", "").strip() or None,
        )


def list_selection(object_name: str) -> ListSelection:
    """The selection of this request's arguments (404 if the object is not readable)."""
    obj = object_runtime(object_name).definition
    rights = access(object_name)
    views = list_views(object_name)
    view = next((v for v in views if v.api_name == request.args.get("view")), None)
    if view is None and views and "view" not in request.args:
        view = views[0]
    columns = shown_fields(obj, view.columns if view else default_columns(obj), rights.hidden)
    sort = request.args.get("sort") or (view.sort if view else None) or "-updated_at"
    return ListSelection(obj, rights, views, view, columns, _builder_rows(), sort)


def list_data(object_name: str) -> dict:
    """Everything the list template shows, for the request's arguments."""
    ctx = page_context()
    chosen = list_selection(object_name)
    obj, rights, view, columns = chosen.object, chosen.rights, chosen.view, chosen.columns
    error = None
    page = {"records": [], "next_cursor": None, "total": 0}
    try:
        page = runtime().records.query(
            ctx,
            object_name,
            ListRequest(
                filter=chosen.filter_source(),
                sort=chosen.sort,
                fields=tuple({f.api_name for f in columns} | {"id"}),
                limit=PAGE_SIZE,
                cursor=request.args.get("cursor") or None,
                total=True,
            ),
        )
    except FilterInputError as exc:
        error = str(exc)
    except BadRequest as exc:
        error = exc.message
    names = Names(runtime(), ctx)
    collect(names, columns, page["records"])
    table = [
        {"id": r["id"], "cells": [cell(f, r.get(f.api_name), names, ctx.locale) for f in columns]}
        for r in page["records"]
    ]
    return {
        "object": obj,
        "rights": rights,
        "views": chosen.views,
        "view": view,
        "columns": columns,
        "rows": table,
        "total": page.get("total", 0),
        "next_cursor": page.get("next_cursor"),
        "error": error,
        "builder": chosen.builder,
        "operators": list(OPERATORS),
        "filterable": filterable(obj, rights.hidden),
        "sort": chosen.sort,
        "my_views": personal_views(object_name),
    }


@pages.get("/o/<object_name>")
def list_page(object_name: str):
    chosen_view = open_chosen_view(object_name)  # a personal view picked: go to its arguments
    if chosen_view is not None:
        return chosen_view
    data = list_data(object_name)
    template = "_list_table.html" if request.headers.get("HX-Request") else "list.html"
    return render_template(template, **data)
