"""Global search across the searchable fields of every object the viewer may read, and
the lookup search behind lookup fields on forms (htmx fetches it as the user types).

Both read through ``RecordsService.query`` with a ``CONTAINS`` filter, so the data scope
applies; what is typed is passed as an expression literal, never spliced into SQL.
"""

from __future__ import annotations

import re

from flask import render_template, request

from trellis.runtime.errors import BadRequest, TrellisError
from trellis.runtime.queries import ListRequest
from trellis.web import pages
from trellis.web.filters import search_expression
from trellis.web.metadata_view import access, object_runtime, readable_objects
from trellis.web.sessions import page_context, runtime

PER_OBJECT = 5
LOOKUP_CHOICES = 8
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _matches(obj, text: str, limit: int) -> list[dict]:
    rights = access(obj.api_name)
    source = search_expression(obj, text, rights.hidden)
    if source is None or not obj.name_field or obj.name_field in rights.hidden:
        return []
    try:
        page = runtime().records.query(
            page_context(),
            obj.api_name,
            ListRequest(
                filter=source, fields=(obj.name_field, "id"), limit=limit, sort="-updated_at"
            ),
        )
    except TrellisError:
        return []
    return [
        {"id": r["id"], "name": r.get(obj.name_field) or f"#{r['id']}"} for r in page["records"]
    ]


@pages.get("/search")
def search_page():
    text = request.args.get("q", "").strip()
    groups = []
    if text:
        for obj in readable_objects():
            found = _matches(obj, text, PER_OBJECT)
            if found:
                groups.append({"object": obj, "records": found})
    return render_template("search.html", q=text, groups=groups)


@pages.get("/lookup/<object_name>")
def lookup_choices(object_name: str):
    """Radio choices for a lookup field: ``?field=account&q=华东``."""
    obj = object_runtime(object_name).definition
    field = request.args.get("field", "")
    if not FIELD_NAME.fullmatch(field):
        raise BadRequest("field must be the API name of a lookup field, e.g. account")
    found = _matches(obj, request.args.get("q", ""), LOOKUP_CHOICES)
    return render_template("_lookup_choices.html", field=field, records=found)
