"""Duplicate rules (查重规则) in the admin area: every object's rules, and a form per rule.

A duplicate rule lives inside its object's definition (``duplicate_rules``): the fields
to match (up to five), and whether a match warns (the form offers "save anyway") or blocks.
Matching is exact on normalised values (case, full-width characters and spaces ignored:
``trellis.runtime.records.duplicates``); the platform has no fuzzy matching. Saving
patches the object's ``duplicate_rules`` through the metadata API, so a pack's rules stay
the pack's and an upgrade still sees what the admin changed.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.rules_common import (
    CUSTOM,
    Owner,
    Problems,
    field_choices,
    object_choices,
    posted_label,
    proposed_name,
    text,
)
from trellis.admin_ui.sections import section
from trellis.metadata import store
from trellis.runtime.errors import Forbidden, Invalid, NotFound, TrellisError
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section(
    "duplicates",
    _l("Duplicate rules"),
    "admin.duplicate_rules",
    order=42,
    prefixes=("admin.duplicate",),
)

CONTROLS = ("api_name", "label", "fields", "action", "active")


def rule_owners() -> dict[str, Owner]:
    """Per ``object.rule``: the pack that ships the rule (or custom) and the object's lock."""
    with runtime().engine.connect() as conn:
        layers = store.load(conn)
    shipped = layers.packs_only().effective()
    out = {}
    for name, obj in definitions().objects.items():
        key = f"object:{name}"
        base = shipped.get(key)
        from_pack = {
            r["api_name"] for r in (base.definition if base else {}).get("duplicate_rules", [])
        }
        for rule in obj.duplicate_rules:
            provenance = layers.provenance(key) if rule.api_name in from_pack else CUSTOM
            out[f"{name}.{rule.api_name}"] = Owner(provenance, layers.lock_reason(key))
    return out


@admin.get("/duplicate-rules")
def duplicate_rules():
    by_key = rule_owners()
    items = []
    for name, obj in sorted(definitions().objects.items()):
        for rule in obj.duplicate_rules:
            fields = [label(obj.by_name[f].label) if f in obj.by_name else f for f in rule.fields]
            action = _("blocks") if rule.action == "block" else _("warns")
            items.append(
                {
                    "key": f"{name}.{rule.api_name}",
                    "name": rule.api_name,
                    "object": name,
                    "label": label(rule.label) if rule.label else rule.api_name,
                    "active": rule.active,
                    "owner": by_key[f"{name}.{rule.api_name}"],
                    "summary": f"{' + '.join(fields)} · {action}",
                }
            )
    return render_template(
        "admin/rules_list.html",
        heading=_("Duplicate rules"),
        kind="duplicate_rule",
        items=items,
        new_url=url_for("admin.duplicate_new"),
        edit_endpoint="admin.duplicate_edit",
        summary_heading=_("Match"),
        intro=_("Records match when the chosen fields are equal (case, width and spaces aside)."),
    )


def _object_rules(object_name: str) -> list[dict[str, Any]]:
    if object_name not in definitions().objects:
        raise NotFound(f"there is no object {object_name[:60]!r}")
    return list(runtime().metadata.definition("object", object_name).get("duplicate_rules", []))


def _stored(key: str) -> dict[str, Any]:
    object_name, _dot, name = key.partition(".")
    found = next((r for r in _object_rules(object_name) if r.get("api_name") == name), None)
    if found is None:
        raise NotFound(f"there is no duplicate rule {key[:80]!r}")
    return {**found, "object": object_name}


@admin.get("/duplicate-rules/new")
def duplicate_new():
    chosen = request.args.get("object", "")
    return _form(
        {"object": chosen, "action": "warn", "active": True, "fields": []}, None, Problems()
    )


@admin.get("/duplicate-rules/<key>")
def duplicate_edit(key: str):
    return _form(_stored(key), key, Problems())


@admin.post("/duplicate-rules/save")
def duplicate_save():
    key = text("key") or None
    stored = _stored(key) if key else None
    object_name = stored["object"] if stored else text("object")
    rule = posted_rule(stored, object_name)
    problems = _refusal(object_name, rule, creating=stored is None) or _save(object_name, rule)
    if problems:
        return _form({**rule, "object": object_name}, key, problems, status=problems.status)
    flash(_("The duplicate rule %(name)s is saved.", name=rule["api_name"]))
    return redirect(url_for("admin.duplicate_edit", key=f"{object_name}.{rule['api_name']}"))


@admin.get("/duplicate-rules/<key>/delete")
def duplicate_delete_confirm(key: str):
    what, refused = _own_rule(key)
    if refused:
        return refused
    action = url_for("admin.duplicate_delete", key=key)
    back = url_for("admin.duplicate_edit", key=key)
    return render_template("admin/definition_remove.html", what=what, action=action, back=back)


@admin.post("/duplicate-rules/<key>/delete")
def duplicate_delete(key: str):
    """Take the admin's own rule out of its object's ``duplicate_rules`` (one patch, so
    Change history shows it and reverts it)."""
    what, refused = _own_rule(key)
    if refused:
        return refused
    object_name, _dot, name = key.partition(".")
    rules = [r for r in _object_rules(object_name) if r.get("api_name") != name]
    try:
        runtime().metadata.patch(actor(), f"object:{object_name}", {"duplicate_rules": rules})
    except TrellisError as exc:
        back = url_for("admin.duplicate_edit", key=key)
        return refusal_page(exc, _("%(what)s cannot be deleted", what=what), back=back)
    flash(_("Deleted %(what)s. Change history can bring it back.", what=what))
    return redirect(url_for("admin.duplicate_rules"))


def _own_rule(key: str) -> tuple[str, Any]:
    """The rule as the confirm page names it, and the refusal page when it is a pack's (a
    pack's rule is deactivated instead: deleting it would only hide it until the upgrade)."""
    rule = _stored(key)
    what = _(
        "duplicate rule %(name)s (%(key)s)", name=label(rule.get("label") or {}) or key, key=key
    )
    owner = rule_owners()[key]
    if owner.custom:
        return what, None
    refused = Invalid(
        f"duplicate rule {key} comes with pack {owner.provenance} and cannot be deleted; "
        "deactivate it instead"
    )
    back = url_for("admin.duplicate_edit", key=key)
    return what, refusal_page(refused, _("%(what)s cannot be deleted", what=what), back=back)


def posted_rule(stored: dict[str, Any] | None, object_name: str) -> dict[str, Any]:
    given = posted_label()
    if stored:
        name = stored["api_name"]
    else:
        taken = (
            {r.api_name for r in definitions().objects[object_name].duplicate_rules}
            if (object_name in definitions().objects)
            else set()
        )
        name = proposed_name(text("api_name"), given.get("en", ""), taken)
    rule: dict[str, Any] = {"api_name": name}
    if given:
        rule["label"] = given
    rule["fields"] = [f for f in request.form.getlist("fields") if f]
    rule["action"] = text("action")
    rule["active"] = request.form.get("active") == "on"
    return rule


def _refusal(object_name: str, rule: dict[str, Any], *, creating: bool) -> Problems | None:
    """What the metadata API cannot tell: no object chosen, or a new rule taking the name of
    an existing one (saving it would replace that rule)."""
    if object_name not in definitions().objects:
        message = _("Choose the object.")
        return Problems("", message, [("/object", message)], 422)
    names = {r.api_name for r in definitions().objects[object_name].duplicate_rules}
    if creating and rule["api_name"] in names:
        message = _("The object already has a duplicate rule with this name.")
        return Problems("", message, [("/api_name", message)], 422)
    return None


def _save(object_name: str, rule: dict[str, Any]) -> Problems:
    """Put the rule in place of the one with its name (or last) and patch the object."""
    rules = _object_rules(object_name)
    index = next((i for i, r in enumerate(rules) if r.get("api_name") == rule["api_name"]), None)
    if index is None:
        index = len(rules)
        rules.append(rule)
    else:
        rules[index] = rule
    key = f"object:{object_name}"
    try:
        runtime().metadata.patch(actor(), key, {"duplicate_rules": rules})
    except (Invalid, Forbidden) as exc:
        return Problems.of(f"{key}/duplicate_rules/{index}", exc)
    return Problems()


def _form(rule: dict[str, Any], key: str | None, problems: Problems, status: int = 200):
    object_name = rule.get("object", "")
    page = render_template(
        "admin/rule_duplicate_form.html",
        rule=rule,
        key=key,
        owner=rule_owners().get(key, Owner(CUSTOM)) if key else Owner(CUSTOM),
        problems=problems,
        unplaced=problems.rest("", CONTROLS + ("object",)),
        objects=object_choices(),
        fields=field_choices(object_name) if object_name else [],
    )
    return page, status
