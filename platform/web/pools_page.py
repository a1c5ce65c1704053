"""Pools pages (公海): the pools the viewer is a member of, one pool's records with a claim
(领取) button each, and a release (退回公海) form on the record page of a record they own.

Everything goes through the flow engine's ``PoolService``: it checks membership (a pool
the viewer is not a member of is a 404, like a record outside their scope), the pool's
daily claim limit and the most records a member may hold, and that only the owner (or an
administrator) releases a record. A refusal shows on the page with its 4xx status, in the
viewer's language where the page knows the reason.
"""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.runtime.errors import Conflict, Invalid, NotFound, TrellisError
from trellis.runtime.permissions import is_admin
from trellis.web import pages
from trellis.web.bulk import object_pools
from trellis.web.display import Names, cell, collect
from trellis.web.i18n import label
from trellis.web.metadata_view import (
    access,
    compiled,
    default_columns,
    definitions,
    list_views,
    object_runtime,
    shown_fields,
)
from trellis.web.panels import record_panel
from trellis.web.refusals import pool_refusal, refusal_message
from trellis.web.sessions import page_context, runtime

#: Entries on one page of a pool ("more" carries the cursor to the next).
PAGE_SIZE = 25


def reason_label(reason: str) -> str:
    """Why a record came into the pool, as the page says it."""
    return {
        "recycled": _("Recycled (not followed up in time)"),
        "released": _("Released by its owner"),
        "moved": _("Moved to the pool"),
    }.get(reason, reason)


def my_pools() -> list[dict]:
    """The active pools the viewer is a member of, with counts, limits and the object."""
    found = runtime().flows.pools.pools(page_context())
    objects = compiled().objects
    for p in found:
        rt = objects.get(p["object"])
        p["object_label"] = rt.definition.plural_label if rt else p["object"]
    return found


def _pool_limits(object_name: str, pool: str) -> dict:
    key = f"{object_name}.{pool}"
    return next((p for p in my_pools() if p["key"] == key), {})


@pages.get("/pools")
def pools_index():
    return render_template("pools.html", pools=my_pools())


def _columns(obj, hidden) -> list:
    """The fields a pool shows: its object's first list view's, without the (empty) owner."""
    views = list_views(obj.api_name)
    names = views[0].columns if views else default_columns(obj)
    return [f for f in shown_fields(obj, names, hidden) if f.api_name != "owner"]


def _moment(value: str) -> str:
    return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")


def pool_view(object_name: str, pool: str) -> dict:
    """Everything the pool page shows for this request's cursor (404 for non-members)."""
    ctx = page_context()
    obj = object_runtime(object_name).definition
    page = runtime().flows.pools.records(
        ctx, object_name, pool, limit=PAGE_SIZE, cursor=request.args.get("cursor") or None
    )
    columns = _columns(obj, access(object_name).hidden)
    names = Names(runtime(), ctx)
    collect(names, columns, [e["record"] for e in page["entries"]])
    rows = [
        {
            "id": e["record"]["id"],
            "name": e["record"].get(obj.name_field) if obj.name_field else None,
            "cells": [cell(f, e["record"].get(f.api_name), names, ctx.locale) for f in columns],
            "entered_at": _moment(e["entered_at"]),
            "previous_owner": (e["previous_owner"] or {}).get("display_name"),
            "reason": reason_label(e["reason"]),
        }
        for e in page["entries"]
    ]
    # Not "object": the frame would mark the object's tab as the current page, not Pools.
    return {
        "pool_object": obj,
        "pool": definitions().pools[f"{object_name}.{pool}"],
        "limits": _pool_limits(object_name, pool),
        "columns": columns,
        "rows": rows,
        "next_cursor": page["next_cursor"],
    }


@pages.get("/pools/<object_name>/<pool>")
def pool_page(object_name: str, pool: str):
    return render_template("pool.html", **pool_view(object_name, pool))


def _claim_refusal(exc: TrellisError, object_name: str, pool: str) -> str:
    """A claim's refusal in the viewer's words: the pool's limits are known to the page."""
    if isinstance(exc, Conflict):
        return _("Someone else claimed this record first: choose another one.")
    if isinstance(exc, Invalid):
        limits = _pool_limits(object_name, pool)
        per_day, held = limits.get("claims_per_day"), limits.get("max_held")
        if per_day is not None and limits.get("claimed_today", 0) >= per_day:
            return _(
                "You have claimed %(num)d records from this pool today, its daily limit: "
                "claim more tomorrow.",
                num=per_day,
            )
        if held is not None:
            return _(
                "You hold as many records as this pool allows (%(num)d): release or close "
                "some before claiming more.",
                num=held,
            )
    return refusal_message(exc)


@pages.post("/pools/<object_name>/<pool>/<int:record_id>/claim")
def claim_from_pool(object_name: str, pool: str, record_id: int):
    """Claim one record (领取): it becomes the viewer's; a refusal shows on the pool page."""
    object_runtime(object_name)  # 404 for an object the viewer may not read
    try:
        record = runtime().flows.pools.claim(page_context(), object_name, pool, record_id)
    except NotFound:
        raise
    except TrellisError as exc:
        view = pool_view(object_name, pool)
        page = render_template("pool.html", **view, refusal=_claim_refusal(exc, object_name, pool))
        return page, exc.status
    name_field = object_runtime(object_name).definition.name_field
    name = (record.get(name_field) if name_field else None) or f"#{record_id}"
    flash(_("Claimed: %(name)s is yours now.", name=name))
    return redirect(url_for("pages.pool_page", object_name=object_name, pool=pool), code=303)


# -- release, from the record page --------------------------------------------------------


def _may_release(record: dict) -> bool:
    ctx = page_context()
    if record.get("owner") is None:
        return False
    return record["owner"] == ctx.user_id or is_admin(definitions(), ctx.principal)


@record_panel("top", order=40)
def release_panel(obj, record):
    """The release form of a record the viewer owns, when its object has pools."""
    pools = object_pools(obj.api_name)
    if not pools or not _may_release(record):
        return None
    return render_template("_pool_release.html", object=obj, record=record, pools=pools)


@pages.post("/o/<object_name>/<int:record_id>/release")
def release_to_pool(object_name: str, record_id: int):
    """Give a record back to a pool (退回公海): to the pool chosen, or the first that takes it."""
    object_runtime(object_name)
    chosen = request.form.get("pool") or None
    offered = {p.api_name: p for p in object_pools(object_name)}
    if chosen is not None and chosen not in offered:
        raise NotFound(f"there is no active pool {chosen[:80]!r} of {object_name}")
    back = url_for("pages.record_page", object_name=object_name, record_id=record_id)
    try:
        pool = runtime().flows.pools.release(page_context(), object_name, record_id, pool=chosen)
    except (Invalid, Conflict) as exc:
        why = pool_refusal(exc, label(offered[chosen].label) if chosen else None)
        flash(_("Not released: %(why)s", why=why))
        return redirect(back, code=303)
    flash(_("Released to %(pool)s.", pool=label(offered[pool].label)))
    if any(p["key"] == f"{object_name}.{pool}" for p in my_pools()):
        return redirect(url_for("pages.pool_page", object_name=object_name, pool=pool), code=303)
    return redirect(url_for("pages.list_page", object_name=object_name), code=303)
