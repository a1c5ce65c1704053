"""The layout designer's live preview: the record page's sections for an unsaved layout.

The designer posts its form here with ``formtarget`` set to the preview's iframe, so the
admin sees the draft at the iframe's width (1024 or 375 pixels: the pages' own CSS decides
how the columns fold on a phone). The draft goes through ``MetadataAPI.define(…,
dry_run=True)``: nothing is saved, and a draft the API would refuse shows its problems
instead. The sections are the record page's own (``layout_sections`` and
``_record_sections.html``), filled from the newest record the admin can see, or empty.
"""

from __future__ import annotations

from flask import make_response, render_template, request

from trellis.admin_ui import admin
from trellis.admin_ui.layout_model import all_buttons, posted_layout
from trellis.admin_ui.layout_pages import existing_layout, layout_object
from trellis.admin_ui.packs_page import actor
from trellis.runtime.errors import Invalid, TrellisError
from trellis.runtime.queries import ListRequest
from trellis.web.automation_buttons import manual_automations
from trellis.web.display import Names, cell, collect
from trellis.web.metadata_view import access, compiled, definitions
from trellis.web.record_page import layout_sections
from trellis.web.sessions import page_context, runtime


def sample_record(object_name: str) -> dict:
    """The record the preview fills in: the most recently changed one the admin sees."""
    page = runtime().records.query(
        page_context(), object_name, ListRequest(sort="-updated_at", limit=1)
    )
    return page["records"][0] if page["records"] else {}


def _framed(page: str):
    """The preview is shown in the designer's iframe: allow this site to frame it."""
    from trellis.runtime.app import CSP  # the app's policy, read at request time

    response = make_response(page)
    response.headers["Content-Security-Policy"] = CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self'"
    )
    return response


def _plural(object_name: str):
    rt = compiled().objects.get(object_name)
    return rt.definition.plural_label if rt else None


def _render(obj, layout, problems=None):
    ctx = page_context()
    record = sample_record(obj.api_name)
    sections = layout_sections(obj, layout, access(obj.api_name).hidden)
    names = Names(runtime(), ctx)
    collect(names, [i["field"] for s in sections for i in s["items"]], [record])
    for s in sections:
        for item in s["items"]:
            item["cell"] = cell(
                item["field"], record.get(item["field"].api_name), names, ctx.locale
            )
    d = layout.definition if layout else {}
    by_name = {a.api_name: a for a in manual_automations(obj.api_name)}
    buttons = [by_name[n] for n in d.get("buttons", list(by_name)) if n in by_name]
    related = [
        {"object": r["object"], "label": r.get("label") or _plural(r["object"])}
        for r in d.get("related_lists", [])
        if isinstance(r, dict)
    ]
    title = record.get(obj.name_field) if obj.name_field and record else None
    return _framed(
        render_template(
            "admin/layout_preview.html",
            object=obj,
            title=title or (f"#{record['id']}" if record else None),
            sections=sections,
            buttons=buttons,
            related=related,
            problems=problems or [],
        )
    )


def _draft_preview(obj, api_name: str, current: dict | None):
    draft = all_buttons(
        posted_layout(obj.api_name, api_name or "preview", current),
        manual_automations(obj.api_name),
    )
    try:
        result = runtime().metadata.define(actor(), "layout", draft, dry_run=True)
    except Invalid as exc:
        problems = [d for d in exc.details if isinstance(d, dict)]
        return _render(obj, None, problems or [{"pointer": "", "message": exc.message}])
    except TrellisError as exc:
        return _render(obj, None, [{"pointer": "", "message": exc.message}])
    built = result.definitions or definitions()  # None: the draft is the saved layout
    return _render(obj, built.layouts.get(f"{obj.api_name}.{draft['api_name']}"))


@admin.post("/layouts/new/preview")
def layout_new_preview():
    obj = layout_object(request.args.get("object", ""))
    return _draft_preview(obj, request.form.get("api_name", "").strip()[:40], None)


@admin.post("/layouts/<key>/preview")
def layout_preview(key: str):
    obj, current = existing_layout(key)
    return _draft_preview(obj, key.split(".", 1)[1], current)


@admin.get("/layouts/<key>/preview")
def layout_saved_preview(key: str):
    obj, _saved = existing_layout(key)
    return _render(obj, definitions().layouts.get(key))
