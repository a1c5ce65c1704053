"""Assignment rules (分配规则) in the admin area: the list, and a form per rule
(docs/flows.md, 'Assignment rules').

A rule is an ordered list of entries; the first whose condition holds decides who gets the
record, in turn (round robin) or by the smallest load. The admin drags entries into order
(``static/rules.js``); ``on_create`` applies the rule to every new record.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.rules_common import (
    Owner,
    PeoplePick,
    Problems,
    first,
    number,
    object_choices,
    owner,
    owners,
    people_choices,
    posted_label,
    proposed_name,
    rows,
    save,
    text,
)
from trellis.admin_ui.sections import section
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section(
    "assignment",
    _l("Assignment rules"),
    "admin.assignment_rules",
    order=41,
    prefixes=("admin.assignment",),
)

CONTROLS = ("api_name", "object", "label", "description", "active", "order", "on_create", "entries")
ENTRY_CONTROLS = ("when", "method", "users", "load_filter")


@admin.get("/assignment-rules")
def assignment_rules():
    found = sorted(definitions().assignment_rules.values(), key=lambda r: (r.object_name, r.order))
    by_key = owners(f"assignment_rule:{r.key}" for r in found)
    items = [
        {
            "key": r.key,
            "name": r.api_name,
            "object": r.object_name,
            "label": label(r.label),
            "active": r.active,
            "owner": by_key[f"assignment_rule:{r.key}"],
            "summary": _summary(len(r.entries), r.on_create),
        }
        for r in found
    ]
    return render_template(
        "admin/rules_list.html",
        heading=_("Assignment rules"),
        kind="assignment_rule",
        items=items,
        new_url=url_for("admin.assignment_new"),
        edit_endpoint="admin.assignment_edit",
        summary_heading=_("Entries"),
    )


def _summary(entries: int, on_create: bool) -> str:
    when = _("on every new record") if on_create else _("when an automation assigns")
    count = _("%(n)s entries", n=entries)
    return f"{count} · {when}"


@admin.get("/assignment-rules/new")
def assignment_new():
    blank = {"active": True, "on_create": True, "entries": [{"method": "round_robin", "users": []}]}
    return _form(blank, None, Problems())


@admin.get("/assignment-rules/<key>")
def assignment_edit(key: str):
    return _form(_stored(key), key, Problems())


def _stored(key: str) -> dict[str, Any]:
    """The assignment rule's effective definition (NotFound, 404, names it when there is none)."""
    return runtime().metadata.definition("assignment_rule", key)


@admin.post("/assignment-rules/save")
def assignment_save():
    key = text("key") or None
    definition = posted_rule(_stored(key) if key else None)
    full_key = f"assignment_rule:{definition.get('object', '')}.{definition.get('api_name', '')}"
    problems = save("assignment_rule", full_key, definition)
    if problems:
        return _form(definition, key, problems, status=problems.status)
    flash(_("The assignment rule %(name)s is saved.", name=definition["api_name"]))
    saved = f"{definition['object']}.{definition['api_name']}"
    return redirect(url_for("admin.assignment_edit", key=saved))


def posted_rule(stored: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    given = posted_label()
    if stored:
        out["api_name"], out["object"] = stored["api_name"], stored["object"]
    else:
        taken = {r.api_name for r in definitions().assignment_rules.values()}
        out["api_name"] = proposed_name(text("api_name"), given.get("en", ""), taken)
        out["object"] = text("object")
    out["label"] = given
    if text("description"):
        out["description"] = text("description")
    out["active"] = request.form.get("active") == "on"
    out["on_create"] = request.form.get("on_create") == "on"
    if text("order"):
        out["order"] = number(text("order"))
    out["entries"] = [_entry(row) for row in rows("entries")]
    return out


def _entry(row: dict[str, list[str]]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if first(row, "when"):
        entry["when"] = first(row, "when")
    entry["method"] = first(row, "method")
    entry["users"] = PeoplePick.posted(row).entries()
    if entry["method"] == "load" and first(row, "load_filter"):
        entry["load_filter"] = first(row, "load_filter")
    return entry


def _form(rule: dict[str, Any], key: str | None, problems: Problems, status: int = 200):
    entries = [
        {
            **e,
            "pick": PeoplePick.of(e.get("users", [])),
            "problems": problems.rest(f"/entries/{i}", ENTRY_CONTROLS),
        }
        for i, e in enumerate(rule.get("entries", []))
    ]
    page = render_template(
        "admin/rule_assignment_form.html",
        rule=rule,
        key=key,
        entries=entries,
        owner=owner(f"assignment_rule:{key}") if key else Owner("custom"),
        problems=problems,
        unplaced=problems.rest("", CONTROLS),
        entries_problems=[m for p, m in problems.by_pointer if p == "/entries"],
        choices=people_choices(),
        empty_pick=PeoplePick(),
        objects=object_choices(),
        methods=[("round_robin", _("In turn (round robin)")), ("load", _("Least loaded"))],
    )
    return page, status
