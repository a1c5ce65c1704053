"""The record page: the layout for the viewer's roles and the record's type (sections in
one to three columns), related lists, and the field history.

A record outside the viewer's data scope is a 404, as in the API: the page does not say
whether it exists. Fields the viewer may not see are left out of every section.
"""

from __future__ import annotations

import datetime as dt

from flask import render_template

from trellis.runtime.queries import ListRequest
from trellis.web import pages
from trellis.web.display import Names, cell, collect
from trellis.web.metadata_view import (
    access,
    compiled,
    default_columns,
    layout_for,
    object_runtime,
    shown_fields,
)
from trellis.web.panels import render_panels
from trellis.web.sessions import page_context, runtime

RELATED_ROWS = 5
HISTORY_ROWS = 30


def layout_sections(obj, layout, hidden, read_only=frozenset()) -> list[dict]:
    """``[{"label", "columns", "items": [{"field", "required", "read_only"}]}]`` for a page.

    ``hidden`` fields (field security) are left out; ``read_only`` ones show as text.
    """
    if layout is None:
        names = [f.api_name for f in obj.live_fields if not f.system] + ["owner"]
        return [{"label": obj.label, "columns": 2, "items": _items(obj, names, hidden, read_only)}]
    return [
        {
            "label": s["label"],
            "columns": s.get("columns", 2),
            "items": _items(obj, s["fields"], hidden, read_only),
        }
        for s in layout.definition["sections"]
    ]


def _items(obj, entries, hidden, read_only) -> list[dict]:
    items = []
    for entry in entries:
        spec = entry if isinstance(entry, dict) else {"field": entry}
        f = obj.by_name.get(spec["field"])
        if f is None or f.archived or f.api_name in hidden:
            continue
        items.append(
            {
                "field": f,
                "required": spec.get("required", f.required),
                "read_only": spec.get("read_only", False)
                or not f.writable
                or f.api_name in read_only,
            }
        )
    return items


def related_lists(obj, layout, record_id: int) -> list[dict]:
    ctx = page_context()
    out = []
    for spec in layout.definition.get("related_lists", ()) if layout else ():
        child = compiled().objects.get(spec["object"])
        if child is None or child.definition.archived or not access(spec["object"]).read:
            continue
        rights = access(spec["object"])
        columns = shown_fields(
            child.definition,
            spec.get("columns") or default_columns(child.definition),
            rights.hidden,
        )
        page = runtime().records.query(
            ctx,
            spec["object"],
            ListRequest(
                filter=f"{spec['via']} == {int(record_id)}",
                sort="-updated_at",
                fields=tuple({f.api_name for f in columns} | {"id"}),
                limit=RELATED_ROWS,
                total=True,
            ),
        )
        out.append(
            {
                "object": child.definition,
                "via": spec["via"],
                "label": spec.get("label") or child.definition.plural_label,
                "columns": columns,
                "records": page["records"],
                "total": page["total"],
                "can_create": rights.create,
            }
        )
    return out


def _history(obj, record_id: int, names: Names) -> list[dict]:
    if not any(f.track_history for f in obj.live_fields):
        return []
    ctx = page_context()
    entries = runtime().records.history(ctx, obj.api_name, record_id)[-HISTORY_ROWS:]
    for e in entries:
        names.want("user", e["changed_by"])
    shown = []
    for e in reversed(entries):
        f = obj.by_name.get(e["field"])
        if f is None:
            continue
        moment = dt.datetime.fromisoformat(e["changed_at"].rstrip("Z")).replace(tzinfo=dt.UTC)
        shown.append(
            {
                "field": f,
                "old": e["old"],
                "new": e["new"],
                "by": e["changed_by"],
                "at": moment.astimezone(ctx.zone).strftime("%Y-%m-%d %H:%M"),
            }
        )
    return shown


@pages.get("/o/<object_name>/<int:record_id>")
def record_page(object_name: str, record_id: int):
    ctx = page_context()
    rt = object_runtime(object_name)
    obj = rt.definition
    rights = access(object_name)
    record = runtime().records.get(ctx, object_name, record_id)
    layout = layout_for(object_name, record.get("record_type"))
    sections = layout_sections(obj, layout, rights.hidden)
    related = related_lists(obj, layout, record_id)
    names = Names(runtime(), ctx)
    collect(names, [i["field"] for s in sections for i in s["items"]], [record])
    for r in related:
        collect(names, r["columns"], r["records"])
    history = _history(obj, record_id, names)
    for s in sections:
        for item in s["items"]:
            item["cell"] = cell(
                item["field"], record.get(item["field"].api_name), names, ctx.locale
            )
    for r in related:
        r["rows"] = [
            {
                "id": row["id"],
                "cells": [cell(f, row.get(f.api_name), names, ctx.locale) for f in r["columns"]],
            }
            for row in r["records"]
        ]
    for h in history:
        h["by_name"] = names.get("user", h["by"]) or f"#{h['by']}"
    title = record.get(obj.name_field) if obj.name_field else None
    return render_template(
        "record.html",
        object=obj,
        record=record,
        title=title or f"#{record_id}",
        sections=sections,
        related=related,
        history=history,
        rights=rights,
        panels=render_panels(obj, record),
    )
