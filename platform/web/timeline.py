"""The follow-up timeline at the bottom of a record page: the activity records (calls,
visits, messages …) linked to this record, newest first, with a quick "add" link.

Which object holds activities is the app's setting ``TRELLIS_TIMELINE_OBJECT``; by
default the standard pack's activity log, ``follow_up``. Its lookups to the record's
object say which records belong here (a follow-up links an account, a lead or an
opportunity); its first date-time field orders them (when it happened). The records are
read through the records service, so the viewer's scope and field security apply; the
"add" link opens the ordinary create form with the lookup filled in.
"""

from __future__ import annotations

from flask import current_app, render_template, url_for

from trellis.runtime.queries import ListRequest
from trellis.web.display import Names, cell, collect
from trellis.web.metadata_view import access, compiled
from trellis.web.panels import record_panel
from trellis.web.sessions import page_context, runtime

DEFAULT_OBJECT = "follow_up"
ROWS = 10


def activity_object():
    """The activity object's definition, if it exists and the viewer may read it."""
    name = current_app.config.get("TRELLIS_TIMELINE_OBJECT", DEFAULT_OBJECT)
    rt = compiled().objects.get(name)
    if rt is None or rt.definition.archived or not access(name).read:
        return None
    return rt.definition


def link_field(activity, object_name: str, hidden) -> str | None:
    """The activity's lookup to ``object_name`` (the first, if it has several)."""
    for f in activity.live_fields:
        if (
            f.type == "lookup"
            and f.options.get("target") == object_name
            and f.api_name not in hidden
        ):
            return f.api_name
    return None


def moment_field(activity, hidden) -> str:
    """When an activity happened: its first date-time field, else when it was entered."""
    for f in activity.live_fields:
        if f.type == "datetime" and not f.system and f.api_name not in hidden:
            return f.api_name
    return "created_at"


def shown_fields(activity, hidden) -> dict:
    """The parts of one timeline entry: its name, kind (first picklist) and note."""

    def first(kind):
        return next(
            (f for f in activity.live_fields if f.type == kind and f.api_name not in hidden), None
        )

    name = activity.by_name.get(activity.name_field) if activity.name_field else None
    return {
        "name": name if name is not None and name.api_name not in hidden else None,
        "kind": first("picklist"),
        "note": first("long_text"),
        "owner": activity.by_name.get("owner"),
    }


@record_panel("bottom", order=10)
def follow_up_timeline(obj, record):
    activity = activity_object()
    if activity is None or activity.api_name == obj.api_name:
        return None
    rights = access(activity.api_name)
    via = link_field(activity, obj.api_name, rights.hidden)
    if via is None:
        return None
    when = moment_field(activity, rights.hidden)
    parts = shown_fields(activity, rights.hidden)
    wanted = {p.api_name for p in parts.values() if p is not None} | {"id", when}
    ctx = page_context()
    page = runtime().records.query(
        ctx,
        activity.api_name,
        ListRequest(
            filter=f"{via} == {int(record['id'])}",
            sort=f"-{when}",
            fields=tuple(sorted(wanted)),
            limit=ROWS,
            total=True,
        ),
    )
    names = Names(runtime(), ctx)
    fields = [p for p in parts.values() if p is not None] + [activity.by_name[when]]
    collect(names, fields, page["records"])
    entries = [
        {
            "id": r["id"],
            "when": cell(activity.by_name[when], r.get(when), names, ctx.locale),
            **{
                key: cell(f, r.get(f.api_name), names, ctx.locale) if f is not None else None
                for key, f in parts.items()
            },
        }
        for r in page["records"]
    ]
    add = (
        url_for("pages.create_page", object_name=activity.api_name, **{via: record["id"]})
        if rights.create
        else None
    )
    return render_template(
        "_timeline.html",
        activity=activity,
        entries=entries,
        total=page["total"],
        add=add,
        all_href=url_for(
            "pages.list_page",
            object_name=activity.api_name,
            view="",
            filter=f"{via} == {int(record['id'])}",
        ),
    )
