"""The approval chain designer: /admin/approvals lists the flows, /admin/approvals/<name>
draws one as a vertical chain of nodes (start → nodes → end) to edit.

The designer's script builds the flow's JSON from the cards and posts it as one hidden
field. ``check`` runs ``MetadataAPI.define(..., dry_run=True)`` as the admin edits (htmx)
and answers each problem filed under its node; ``save`` is the same call without the dry
run, so a refused save changes nothing and running approvals keep the version they started
on (the engine pins each approval to its definition).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui import admin
from trellis.admin_ui.access import refusal_page
from trellis.admin_ui.approval_chain import (
    Branch,
    NotAChain,
    Problems,
    Step,
    chain_of,
    problems_at,
)
from trellis.admin_ui.approval_facts import choices, object_choices, stored_layers, versions
from trellis.admin_ui.packs_page import actor
from trellis.admin_ui.sections import section
from trellis.runtime.errors import Forbidden, Invalid, NotFound
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

KIND = "approval_flow"

section(
    "approvals", _l("Approval chains"), "admin.approvals", order=30, prefixes=("admin.approval",)
)


@admin.get("/approvals")
def approvals():
    """Every approval flow, by object, with its version, state and running approvals."""
    flows = sorted(
        definitions().approval_flows.values(),
        key=lambda f: (f.object_name, f.priority, f.api_name),
    )
    layers = stored_layers()
    rows = [
        {"flow": f, "versions": versions(f"{KIND}:{f.key}", layers=layers, history=1)}
        for f in flows
    ]
    objects = object_choices()
    return render_template(
        "admin/approvals.html", rows=rows, objects=objects, objects_by_name=dict(objects)
    )


@admin.get("/approvals/new")
def approval_new():
    object_name = request.args.get("object", "")
    if object_name not in definitions().objects:
        raise NotFound(f"there is no object {object_name[:60]!r}")
    return _designer(starter(object_name), new=True)


@admin.get("/approvals/<name>")
def approval_designer(name: str):
    try:
        raw = runtime().metadata.definition(KIND, name)
    except NotFound:
        raise NotFound(f"there is no approval flow {name[:80]!r}") from None
    return _designer(raw, new=False)


@admin.post("/approvals/check")
def approval_check():
    """The posted definition checked without saving: its problems, each at its node."""
    try:
        raw, problems = _checked(dry_run=True)
    except Forbidden as exc:  # locked by its pack: said in the check, not as a whole page
        raw, problems = {}, Problems(general=[exc.message])
    return render_template(
        "admin/approval_check.html", problems=problems, checked=True, **_names(raw)
    )


@admin.post("/approvals/save")
def approval_save():
    try:
        raw, problems = _checked(dry_run=False)
    except Forbidden as exc:
        return refusal_page(exc, _("The approval flow was not saved"), url_for("admin.approvals"))
    if problems:
        flash(_("The approval flow was not saved: fix the problems shown at their nodes."))
        return _designer(raw, new=request.form.get("new") == "1", problems=problems), 422
    version = versions(_key(raw)).current
    flash(_("Saved as version %(version)s. Running approvals keep their version.", version=version))
    return redirect(url_for("admin.approval_designer", name=f"{raw['object']}.{raw['api_name']}"))


@admin.post("/approvals/<name>/active")
def approval_active(name: str):
    """Activate or deactivate a flow (a new version, like any save)."""
    raw = dict(runtime().metadata.definition(KIND, name))
    raw["active"] = request.form.get("active") == "1"
    try:
        runtime().metadata.define(actor(), KIND, raw)
    except (Invalid, Forbidden) as exc:
        return refusal_page(exc, _("The approval flow was not changed"), url_for("admin.approvals"))
    flash(_("Activated.") if raw["active"] else _("Deactivated."))
    return redirect(url_for("admin.approvals"))


def starter(object_name: str) -> dict[str, Any]:
    """A new flow: one approval by the submitter's manager, then the end."""
    return {
        "api_name": "",
        "object": object_name,
        "label": {"zh-CN": "", "en": ""},
        "active": True,
        "priority": 100,
        "start": "manager",
        "nodes": [
            {
                "id": "manager",
                "type": "approval",
                "label": {"zh-CN": "直属经理审批", "en": "Manager"},
                "approvers": [{"type": "manager"}],
                "mode": "any",
                "if_no_approver": "admin",
                "next": "end",
            },
            {"id": "end", "type": "end"},
        ],
    }


def _key(raw: dict[str, Any]) -> str:
    return f"{KIND}:{raw.get('object')}.{raw.get('api_name')}"


def _checked(*, dry_run: bool) -> tuple[dict[str, Any], Problems]:
    """The posted definition and its problems; defined (saved) unless ``dry_run``."""
    raw = _posted()
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), list):
        problems = Problems(general=[_("The designer sent no approval flow; reload the page.")])
        return ({} if not isinstance(raw, dict) else raw), problems
    if not isinstance(raw.get("object"), str) or not isinstance(raw.get("api_name"), str):
        return raw, Problems(flow={"/api_name": [_("Give the flow an API name.")]})
    if request.form.get("new") == "1" and raw["object"] + "." + raw["api_name"] in (
        definitions().approval_flows
    ):
        taken = _("An approval flow with this API name already exists; choose another.")
        return raw, Problems(flow={"/api_name": [taken]})
    try:
        runtime().metadata.define(actor(), KIND, raw, dry_run=dry_run)
    except Invalid as exc:
        details = [d for d in exc.details if isinstance(d, dict)] or [{"message": exc.message}]
        return raw, problems_at([_plain(d) for d in details], _key(raw), raw)
    return raw, Problems()


#: The schema's "'approvers' is a required property": what is missing, in the page language.
_REQUIRED = re.compile(r"^'([a-z_]+)' is a required property")


#: The graph's "branch 0 of 'route' has no 'when' but is not the last branch".
_OTHERWISE_FIRST = re.compile(r"^branch \d+ of '[^']*' has no 'when' but is not the last")
_EMPTY = re.compile(r"^[a-z_]+ is empty;")
#: The properties whose absence ``_plain`` names, by the words of their control.
_MISSING = {
    "approvers": _l("Approvers"),
    "recipients": _l("Send a copy to"),
    "message": _l("Message"),
    "users": _l("Usernames"),
    "role": _l("Role"),
    "field": _l("Field"),
    "formula": _l("Formula"),
    "label": _l("Name"),
}


def _plain(problem: dict[str, Any]) -> dict[str, Any]:
    """What the admin meets most while editing, in their words; other messages stay the
    engine's (they name the property and the fix)."""
    message = str(problem.get("message", ""))
    if _OTHERWISE_FIRST.match(message):
        plain = _("Only the last branch may go without a condition (otherwise): write one here.")
        return {**problem, "message": plain}
    found = _REQUIRED.match(message)
    empty = _EMPTY.match(message)  # "users is empty; it needs at least one entry"
    prop = found.group(1) if found else str(problem.get("pointer", "")).rsplit("/", 1)[-1]
    what = _MISSING.get(prop) if found or empty else None
    if what is None:
        return problem
    return {**problem, "message": _("%(what)s: nothing is chosen yet.", what=what)}


def _posted() -> Any:
    try:
        return json.loads(request.form.get("definition", ""))
    except ValueError:
        return None


def _designer(raw: dict[str, Any], *, new: bool, problems: Problems | None = None):
    try:
        chain = chain_of(raw)
    except NotAChain:
        chain = None  # shown as JSON to edit
    object_name = raw.get("object", "")
    return render_template(
        "admin/approval_designer.html",
        raw=raw,
        chain=chain,
        new=new,
        problems=problems or Problems(),
        versions=None if new else versions(_key(raw)),
        object_label=_object_label(object_name),
        choices=choices(object_name),
        raw_json=json.dumps(raw, ensure_ascii=False, indent=2),
        extra=extra,
        blanks=BLANKS,
        blank_problems=Problems(),
        checked=False,
        **_names(raw),
    )


#: The properties each kind of card edits; the others are kept as they are (``extra``).
EDITED = {
    "approval": {
        "on_approve",
        "on_reject",
        "label",
        "approvers",
        "mode",
        "ratio",
        "min_approvals",
        "if_no_approver",
        "sla",
        "editable_fields",
    },
    "notify": {"label", "recipients", "message"},
    "condition": {"label", "branches"},
    "parallel": {"label", "branches", "join"},
}


def extra(node: dict[str, Any]) -> dict[str, Any]:
    """The node's properties its card does not edit (they ride along unchanged)."""
    edited = EDITED.get(node.get("type"), set()) | {"id", "type", "next"}
    return {k: v for k, v in node.items() if k not in edited}


#: What the add buttons copy (the script gives each new node its id).
BLANKS = {
    "approval": Step({"id": "", "type": "approval", "approvers": [{"type": "manager"}]}),
    "notify": Step({"id": "", "type": "notify", "recipients": [{"type": "owner"}]}),
    "condition": Step({"id": "", "type": "condition"}, [Branch([], None), Branch([], None)]),
    "parallel": Step({"id": "", "type": "parallel"}, [Branch([]), Branch([])], {"type": "join"}),
    "branch": Branch([], None),
}


def _names(raw: dict[str, Any]) -> dict[str, dict[str, str]]:
    """What the check calls each node (its label) and each flow setting."""
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), list) else []
    node_names = {
        str(n.get("id")): label(n["label"])
        if isinstance(n.get("label"), dict)
        else str(n.get("id"))
        for n in nodes
        if isinstance(n, dict)
    }
    place_names = {
        "/label": _("Name"),
        "/api_name": _("API name"),
        "/priority": _("Priority"),
        "/entry_criteria": _("Entry criteria"),
        "/start": _("Start"),
        "/nodes": _("Approval chain"),
        "/on_submit": _("When submitted"),
        "/on_approved": _("When approved"),
        "/on_rejected": _("When rejected"),
        "/on_recalled": _("When recalled"),
    }
    return {"node_names": node_names, "place_names": place_names}


def _object_label(object_name: str):
    obj = definitions().objects.get(object_name)
    return obj.label if obj is not None else object_name
