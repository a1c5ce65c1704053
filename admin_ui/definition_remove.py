"""Removing a definition the admin made: a report, dashboard, pool, assignment rule, list
view, layout, automation or approval flow.

Each of those forms links here (only for the admin's own definitions: a pack's come back
with every upgrade, so they are changed or deactivated instead). The page first asks
``MetadataAPI.remove`` for a dry run, so an admin sees before confirming whether it can go
and, when not, why: a dashboard still shows the report, the pool still holds records.
Removing is a change like any other: Change history shows it and can bring it back.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor
from trellis.metadata import store
from trellis.runtime.errors import NotFound, TrellisError
from trellis.web.i18n import label
from trellis.web.sessions import runtime

#: What each removable kind is called, its list page and its form (the key goes in ``key``
#: or, for approval flows, ``name``).
PAGES = {
    "report": (_l("report"), "admin.reports", "admin.report_edit", "key"),
    "dashboard": (_l("dashboard"), "admin.dashboards", "admin.dashboard_edit", "key"),
    "pool": (_l("pool"), "admin.pools", "admin.pool_edit", "key"),
    "assignment_rule": (
        _l("assignment rule"),
        "admin.assignment_rules",
        "admin.assignment_edit",
        "key",
    ),
    "list_view": (_l("list view"), "admin.list_views", "admin.list_view_designer", "key"),
    "layout": (_l("layout"), "admin.layouts", "admin.layout_designer", "key"),
    "automation": (_l("automation"), "admin.automations", "admin.automation_designer", "key"),
    "approval_flow": (_l("approval flow"), "admin.approvals", "admin.approval_designer", "name"),
}


@admin.app_template_global()
def removable(kind: str, key: str) -> bool:
    """Whether a form offers "Delete…": the kind is removable here and the definition is
    the admin's own (a pack's is changed or deactivated instead)."""
    if kind not in PAGES:
        return False
    with runtime().engine.connect() as conn:
        return f"{kind}:{key}" in store.load(conn).created


@admin.get("/remove/<kind>/<key>")
def definition_remove_confirm(kind: str, key: str):
    what, back = _described(kind, key)
    try:
        runtime().metadata.remove(actor(), kind, key, dry_run=True)
    except TrellisError as exc:
        return _refused(exc, what, back)
    action = url_for("admin.definition_remove", kind=kind, key=key)
    return render_template("admin/definition_remove.html", what=what, action=action, back=back)


@admin.post("/remove/<kind>/<key>")
def definition_remove(kind: str, key: str):
    what, back = _described(kind, key)
    try:
        runtime().metadata.remove(actor(), kind, key)
    except TrellisError as exc:
        return _refused(exc, what, back)
    flash(_("Deleted %(what)s. Change history can bring it back.", what=what))
    return redirect(url_for(PAGES[kind][1]))


def _described(kind: str, key: str) -> tuple[str, str]:
    """``report 阶段统计 (opportunity.stage_count)`` and the URL of its form (404 when the
    kind cannot be removed here or there is no such definition)."""
    if kind not in PAGES:
        raise NotFound(f"there is no removable kind {kind[:40]!r}; kinds: {', '.join(PAGES)}")
    noun, _list, form, arg = PAGES[kind]
    definition = runtime().metadata.definition(kind, key)
    named = label(definition.get("label") or {}) or key
    return f"{noun} {named} ({key})", url_for(form, **{arg: key})


def _refused(exc: TrellisError, what: str, back: str):
    return refusal_page(exc, _("%(what)s cannot be deleted", what=what), back=back)
