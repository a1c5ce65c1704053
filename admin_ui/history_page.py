"""Metadata change history: who changed what and when, and reverting a single change.

Every version the one ``MetadataAPI`` stored is listed newest first (packs, the CLI, the
REST API and these designers alike), with each component or property it touched and the
value before and after. Reverting shows what would be undone (a dry run: the DDL it needs),
then stores the undo as a new version through ``MetadataAPI.revert``, so it is checked like
any edit and can itself be reverted.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor, local_time
from trellis.admin_ui.sections import section
from trellis.metadata.revert import revertible
from trellis.runtime.errors import NotFound, TrellisError
from trellis.web.sessions import runtime

PAGE = 50
ITEMS_SHOWN = 20

section("history", _l("Change history"), "admin.history", order=95)


@admin.get("/history")
def history():
    key = request.args.get("key", "").strip()[:200] or None
    before = request.args.get("before", type=int)
    changes = runtime().metadata.history(limit=PAGE + 1, before=before, key=key)
    shown = [_entry(c) for c in changes[:PAGE]]
    older = shown[-1]["version"] if len(changes) > PAGE else None
    return render_template("admin/history.html", changes=shown, key=key, older=older)


@admin.get("/history/<int:version>/revert")
def history_revert_preview(version: int):
    change = _one(version)
    try:
        result = runtime().metadata.revert(actor(), version, dry_run=True)
    except TrellisError as exc:
        return _refused(exc, version)
    return render_template(
        "admin/history_revert.html", change=_entry(change), plan=result.plan.as_json()
    )


@admin.post("/history/<int:version>/revert")
def history_revert(version: int):
    try:
        result = runtime().metadata.revert(actor(), version)
    except TrellisError as exc:
        return _refused(exc, version)
    flash(
        _(
            "Version %(version)s is reverted (new version %(new)s).",
            version=version,
            new=result.version,
        )
    )
    return redirect(url_for("admin.history"))


def _one(version: int) -> dict[str, Any]:
    found = runtime().metadata.history(limit=1, before=version + 1)
    if not found or found[0]["version"] != version:
        raise NotFound(f"there is no metadata version {version}")
    return found[0]


def _refused(exc: TrellisError, version: int):
    heading = _("Version %(version)s was not reverted", version=version)
    return refusal_page(exc, heading, back=url_for("admin.history"))


def _entry(change: dict[str, Any]) -> dict[str, Any]:
    """A change as the page shows it: local time and one line per thing it touched."""
    return {
        **change,
        "changed_at_local": local_time(change["changed_at"]),
        # A pack install touches every component it ships (hundreds, with whole
        # definitions): the page shows the first ones and counts the rest.
        "items": [_item(i) for i in change["detail"][:ITEMS_SHOWN]],
        "more": max(0, len(change["detail"]) - ITEMS_SHOWN),
        "revertible": revertible(change["detail"]),
    }


def _item(item: dict[str, Any]) -> dict[str, Any]:
    if "pack" in item:
        what = _("pack %(name)s", name=item["pack"])
        return {"what": what, "before": item.get("before"), "after": item.get("after")}
    if "conflict" in item:
        key, place = item["conflict"]
        state = _("settled") if item.get("resolved") else _("conflict opened")
        return {"what": f"{key} · {place}", "before": None, "after": state, "key": key}
    where = item["key"] if "property" not in item else f"{item['key']} · {item['property']}"
    return {"what": where, "before": item["before"], "after": item["after"], "key": item["key"]}
