"""The automation designer: the automations of each object, and one automation to edit.

``/admin/automations`` lists them per object (trigger, order, active, who owns it);
``/admin/automations/<object>.<name>`` (and ``/new?object=``) is the designer: trigger,
condition (the shared formula editor), time offset, the actions in order (cards dragged with
SortableJS), each with the options its type takes (``automation_form``). Save sends the
whole definition to ``MetadataAPI.define`` and a refusal shows each problem at its action;
Test run builds the same definition with ``dry_run=True`` and asks the flow engine what it
would do to a chosen record (``AutomationService.explain``) without saving or writing.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.automation_choices import choices, field_label
from trellis.admin_ui.automation_choices import objects as object_choices
from trellis.admin_ui.automation_form import (
    ACTION_TYPES,
    CHANNELS,
    PEOPLE,
    TRIGGERS,
    Row,
    cards,
    definition,
)
from trellis.admin_ui.automation_form import card as make_card
from trellis.admin_ui.automation_problems import Problems
from trellis.admin_ui.formula_check import shown_value
from trellis.admin_ui.formula_preview import samples
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.sections import section
from trellis.metadata import store
from trellis.metadata.names import name_from_label
from trellis.runtime.errors import Forbidden, Invalid, NotFound
from trellis.web.metadata_view import definitions
from trellis.web.sessions import page_context, runtime

section(
    "automations", _l("Automations"), "admin.automations", order=35, prefixes=("admin.automation",)
)

TRIGGER_WORDS = {
    "created": _l("A record is created"),
    "updated": _l("A record is updated"),
    "created_or_updated": _l("A record is created or updated"),
    "deleted": _l("A record is deleted"),
    "time": _l("At a time set by the record"),
    "schedule": _l("On a schedule"),
    "manual": _l("By hand (a button)"),
}
ACTION_WORDS = {
    "update_fields": _l("Update fields"),
    "create_record": _l("Create a record"),
    "notify": _l("Notify"),
    "webhook": _l("Call a webhook"),
    "assign": _l("Assign an owner"),
    "move_to_pool": _l("Move to a pool"),
    "submit_for_approval": _l("Submit for approval"),
}
CHANNEL_WORDS = {"in_app": _l("In the app"), "email": _l("Email"), "wecom": _l("WeCom")}
PEOPLE_WORDS = {
    "owner": _l("The record owner"),
    "manager": _l("The owner's manager"),
    "user": _l("Users (usernames)"),
    "role": _l("Everyone with the role"),
    "department_head": _l("Department head"),
    "field": _l("The user in a field"),
    "formula": _l("A formula giving usernames"),
    "json": _l("Other (JSON)"),
}

#: A new automation starts as: when a record is created, set a field.
BLANK = {"trigger": {"type": "created"}, "actions": [{"type": "update_fields", "values": {}}]}


@admin.app_template_filter("automation_value")
def automation_value(value: Any) -> str:
    return shown_value(value)


@admin.app_template_filter("channel_word")
def channel_word(channel: str) -> str:
    return str(CHANNEL_WORDS.get(channel, channel))


def words(object_name: str) -> dict[str, Any]:
    """What every designer template reads besides its data: the words for each type."""
    return {
        "trigger_words": TRIGGER_WORDS,
        "action_words": ACTION_WORDS,
        "channel_words": CHANNEL_WORDS,
        "people_words": PEOPLE_WORDS,
        "field_label": lambda name: field_label(object_name, name),
    }


@admin.get("/automations")
def automations():
    defs = definitions()
    chosen = request.args.get("object", "")
    by_object: dict[str, list] = {}
    for automation in defs.automations.values():
        if not chosen or automation.object_name == chosen:
            by_object.setdefault(automation.object_name, []).append(automation)
    owners = _owners([f"automation:{a.key}" for found in by_object.values() for a in found])
    groups = [
        (defs.objects[name], sorted(found, key=lambda a: (a.order, a.api_name)))
        for name, found in sorted(by_object.items())
        if name in defs.objects
    ]
    return render_template(
        "admin/automations.html",
        groups=groups,
        owners=owners,
        chosen=chosen,
        objects=object_choices(),
        **words(""),
    )


@admin.get("/automations/new")
def automation_new():
    object_name = _live_object(request.args.get("object", ""))
    return _designer(object_name, None, {**BLANK, "object": object_name})


@admin.get("/automations/<key>")
def automation_designer(key: str):
    object_name, api_name = _split(key)
    try:
        current = runtime().metadata.definition("automation", key)
    except NotFound:
        abort(404)
    return _designer(object_name, api_name, current)


@admin.post("/automations/new")
def automation_create():
    object_name = _live_object(request.form.get("object", ""))
    label = request.form.get("label_en", "").strip() or request.form.get("label_zh", "")
    taken = _names_of(object_name)
    api_name = request.form.get("api_name", "").strip() or name_from_label(label, taken)
    if request.form.get("do") != "test" and api_name in taken:
        d = definition(request.form, object_name, api_name)
        problems = Problems.single("/api_name", _("This API name is taken: choose another."))
        return _designer(object_name, None, d, problems=problems), 422
    return _submitted(object_name, api_name, new=True)


@admin.post("/automations/<key>")
def automation_save(key: str):
    object_name, api_name = _split(key)
    return _submitted(object_name, api_name, new=False)


def _submitted(object_name: str, api_name: str, *, new: bool):
    """Save the posted automation, or (``do=test``) show what it would do; both re-check it."""
    d = definition(request.form, object_name, api_name)
    key = f"automation:{object_name}.{api_name}"
    testing = request.form.get("do") == "test"
    try:
        result = runtime().metadata.define(actor(), "automation", d, dry_run=testing)
    except (Invalid, Forbidden) as exc:
        return _designer(object_name, None if new else api_name, d, Problems.of(key, exc)), 422
    if not testing:
        flash(_("The automation %(name)s is saved.", name=api_name))
        return redirect(url_for("admin.automation_designer", key=f"{object_name}.{api_name}"))
    explained, record_id = _test_run(result, object_name, api_name)
    return _designer(
        object_name, None if new else api_name, d, explained=explained, record_id=record_id
    )


def _test_run(result, object_name: str, api_name: str):
    raw = request.form.get("test_record", "")
    if not raw.isdigit():
        return None, None
    automation = result.definitions.automations[f"{object_name}.{api_name}"]
    try:
        explained = runtime().flows.automations.explain(page_context(), automation, int(raw))
    except NotFound:
        return None, None
    return explained, int(raw)


def _designer(
    object_name: str,
    api_name: str | None,
    d: dict[str, Any],
    problems: Problems | None = None,
    *,
    explained=None,
    record_id: int | None = None,
):
    key = f"automation:{object_name}.{api_name}" if api_name else None
    owner = _owners([key])[key] if key else ("custom", None)
    offered = choices(object_name)
    return render_template(
        "admin/automation_designer.html",
        d=d,
        object_name=object_name,
        obj=definitions().objects[object_name],
        api_name=api_name,
        provenance=owner[0],
        locked=owner[1],
        cards=cards(d.get("actions") or []),
        problems=problems or Problems(),
        choices=offered,
        triggers=list(TRIGGERS),
        trigger_keys=TRIGGERS,
        action_types=ACTION_TYPES,
        channels=CHANNELS,
        people_kinds=list(PEOPLE),
        samples=samples(object_name),
        explained=explained,
        record_id=record_id,
        **words(object_name),
    )


# -- fragments: a new action card, a new row -------------------------------------------------


@admin.get("/automations/card")
def automation_card():
    """A fresh card for an added action, or for a card whose type was changed."""
    object_name = _live_object(request.args.get("object", ""))
    slot = request.args.get("slot", "")
    # a type change sends the card's own select (a<slot>-type); an added card sends type
    kind = request.args.get("type") or request.args.get(f"a{slot}-type", "update_fields")
    if kind not in ACTION_TYPES or not slot.isdigit():
        abort(400)
    raw: dict[str, Any] = {"type": kind}
    return render_template(
        "admin/automation_card.html",
        c=make_card(int(slot), raw),
        object_name=object_name,
        choices=choices(object_name),
        action_types=ACTION_TYPES,
        channels=CHANNELS,
        people_kinds=list(PEOPLE),
        problems=Problems(),
        index=None,
        **words(object_name),
    )


@admin.get("/automations/row")
def automation_row():
    """One more value row (``kind=value``) or recipient row (``kind=person``) of a card."""
    object_name = _live_object(request.args.get("object", ""))
    slot, row = request.args.get("slot", ""), request.args.get("row", "")
    kind = request.args.get("kind", "value")
    if not (slot.isdigit() and row.isdigit()) or kind not in ("value", "person"):
        abort(400)
    return render_template(
        "admin/automation_row.html",
        slot=int(slot),
        r=Row(int(row), "owner" if kind == "person" else ""),
        kind=kind,
        action_type=request.args.get("type", "update_fields"),
        target=request.args.get("target", ""),
        object_name=object_name,
        choices=choices(object_name),
        people_kinds=list(PEOPLE),
        **words(object_name),
    )


# -- small helpers ---------------------------------------------------------------------------


def _split(key: str) -> tuple[str, str]:
    object_name, _dot, api_name = key.partition(".")
    if not api_name:
        abort(404)
    return _live_object(object_name), api_name


def _live_object(name: str) -> str:
    obj = definitions().objects.get(name)
    if obj is None or obj.archived:
        abort(404)
    return name


def _names_of(object_name: str) -> set[str]:
    return {a.api_name for a in definitions().automations.values() if a.object_name == object_name}


def _owners(keys: list[str]) -> dict[str, tuple[str, str | None]]:
    """Each key's owner (a pack ``name@version`` or custom) and the pack's lock reason."""
    with runtime().engine.connect() as conn:
        layers = store.load(conn)
    return {k: (layers.provenance(k), layers.lock_reason(k)) for k in keys}
