"""Bulk actions on a list page's ticked records: change owner, move to a pool, delete.

The bar shows only the actions the viewer's rights allow (edit: owner and pool; delete:
delete). Each record is its own write through the records service (``transfer``,
``delete``) or the flow engine's pools (``move``), each in its own transaction: one record
refused (out of scope, locked by an approval, a rule) changes nothing of that record and
does not stop the others. The answer is a summary: how many were done, and each refused
record by name with the reason. Deleting asks for a confirmation first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import g, render_template, request
from flask_babel import gettext as _

from trellis.metadata import ObjectDef
from trellis.runtime.errors import BadRequest, Forbidden, TrellisError
from trellis.runtime.system_tables import user_table
from trellis.web import pages
from trellis.web.display import Names
from trellis.web.i18n import label
from trellis.web.metadata_view import access, compiled, object_runtime
from trellis.web.refusals import pool_refusal, refusal_message
from trellis.web.sessions import page_context, runtime

#: Records one bulk action takes at most (a list page shows 50).
MAX_RECORDS = 200
#: Active users offered as new owners.
OWNERS_SHOWN = 300
ACTIONS = ("transfer", "pool", "delete")


@dataclass
class Outcome:
    """What a bulk action did: the records done, and each refused one with the reason."""

    done: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)


def object_pools(object_name: str) -> list:
    """The object's active pools, by api_name."""
    pools = compiled().definitions.pools.values()
    return sorted(
        (p for p in pools if p.object_name == object_name and p.active), key=lambda p: p.api_name
    )


def owners() -> list[tuple[int, str]]:
    """(id, "name (username)") of the active users a record may be given to."""
    t = user_table
    query = (
        sa.select(t.c.id, t.c.display_name, t.c.username)
        .where(t.c.is_active)
        .order_by(t.c.display_name, t.c.username)
        .limit(OWNERS_SHOWN)
    )
    with runtime().engine.connect() as conn:
        return [(r.id, f"{r.display_name} ({r.username})") for r in conn.execute(query)]


def bulk_bar(obj: ObjectDef) -> dict | None:
    """What the bulk bar offers this viewer on ``obj``'s list (None: no bulk action).

    Read once per request: the list page asks for it in two templates.
    """
    bars = g.setdefault("bulk_bars", {})
    if obj.api_name not in bars:
        bars[obj.api_name] = _offered(obj)
    return bars[obj.api_name]


def _offered(obj: ObjectDef) -> dict | None:
    rights = access(obj.api_name)
    if not (rights.edit or rights.delete):
        return None
    movable = rights.edit and "owner" not in rights.read_only
    return {
        "owners": owners() if movable else [],
        "pools": object_pools(obj.api_name) if movable else [],
        "delete": rights.delete,
    }


@pages.app_context_processor
def _bulk_helpers():
    return {"bulk_bar": bulk_bar}


def _chosen_ids() -> list[int]:
    ids = []
    for raw in request.form.getlist("ids"):
        if raw.isdigit() and int(raw) not in ids:
            ids.append(int(raw))
    if len(ids) > MAX_RECORDS:
        raise BadRequest(_("Choose at most %(num)d records at a time.", num=MAX_RECORDS))
    return ids


def _names(object_name: str, ids: list[int]) -> dict[int, str]:
    """The records' names as the viewer may see them (``#id`` for the others)."""
    names = Names(runtime(), page_context())
    for record_id in ids:
        names.want(object_name, record_id)
    return {i: names.get(object_name, i) or f"#{i}" for i in ids}


Explain = Callable[[TrellisError], str]


def each(
    ids: list[int],
    names: dict[int, str],
    act: Callable[[int], object],
    explain: Explain = refusal_message,
) -> Outcome:
    """Run ``act`` on every record; a refusal is noted (``explain`` says why) and the next
    record goes on."""
    outcome = Outcome()
    for record_id in ids:
        entry = {"id": record_id, "name": names[record_id]}
        try:
            act(record_id)
        except TrellisError as exc:
            outcome.failed.append({**entry, "reason": explain(exc)})
        else:
            outcome.done.append(entry)
    return outcome


def _action(object_name: str, kind: str) -> tuple[Callable[[int], object], Explain]:
    """What the action does to one record, and how its refusals are put to the user."""
    ctx = page_context()
    rt = runtime()
    if kind == "transfer":
        owner = request.form.get("owner", "")
        if not owner.isdigit():
            raise BadRequest(_("Choose the new owner."))
        return (lambda i: rt.records.transfer(ctx, object_name, i, int(owner))), refusal_message
    if kind == "pool":
        pool = request.form.get("pool") or None
        offered = {p.api_name: p for p in object_pools(object_name)}
        if pool is not None and pool not in offered:
            raise BadRequest(_("Choose one of the pools offered."))
        shown = label(offered[pool].label) if pool else None
        return (
            lambda i: rt.flows.pools.move(ctx, object_name, i, pool=pool, reason="moved"),
            lambda exc: pool_refusal(exc, shown),
        )
    return (lambda i: rt.records.delete(ctx, object_name, i)), refusal_message


@pages.post("/o/<object_name>/bulk")
def bulk_action(object_name: str):
    """Apply one bulk action to the ticked records (the list's arguments in the address)."""
    obj = object_runtime(object_name).definition
    bar = bulk_bar(obj)
    kind = request.form.get("action", "")
    if kind not in ACTIONS:
        raise BadRequest(_("Choose an action: change owner, move to a pool or delete."))
    offers = {"transfer": "owners", "pool": "pools", "delete": "delete"}
    allowed = bool(bar and bar[offers[kind]])
    if not allowed:
        raise Forbidden(_("You may not do this to these records."))
    ids = _chosen_ids()
    page = {"object": obj, "kind": kind, "ids": ids}
    if not ids:
        return render_template("_bulk_page.html", **page, empty=True), 400
    names = _names(object_name, ids)
    if kind == "delete" and request.form.get("confirmed") != "1":
        return render_template("_bulk_page.html", **page, confirm=True, names=names)
    outcome = each(ids, names, *_action(object_name, kind))
    return render_template("_bulk_page.html", **page, outcome=outcome)
