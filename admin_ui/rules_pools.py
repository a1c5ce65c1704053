"""Pools (公海池) in the admin area: the list, and a form per pool (docs/flows.md, 'Pools').

A pool names its object, its members (roles, users, department heads), which records it
takes (a condition), and how many records a member may claim a day and hold at once.
Recycling (回收: back to the pool after days without follow-up) is an automation with a
``move_to_pool`` action; the form lists the automations that feed the pool.
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
    number,
    object_choices,
    owner,
    owners,
    people_choices,
    posted_label,
    proposed_name,
    save,
    text,
)
from trellis.admin_ui.sections import section
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

section("pools", _l("Pools"), "admin.pools", order=40, prefixes=("admin.pool",))

#: The properties the form has a control for (problems elsewhere show at the top).
CONTROLS = (
    "api_name",
    "object",
    "label",
    "description",
    "active",
    "members",
    "condition",
    "claims_per_day",
    "max_held",
)


@admin.get("/pools")
def pools():
    found = sorted(definitions().pools.values(), key=lambda p: p.key)
    by_key = owners(f"pool:{p.key}" for p in found)
    items = [
        {
            "key": p.key,
            "name": p.api_name,
            "object": p.object_name,
            "label": label(p.label),
            "active": p.active,
            "owner": by_key[f"pool:{p.key}"],
            "summary": _limits(p.claims_per_day, p.max_held),
        }
        for p in found
    ]
    return render_template(
        "admin/rules_list.html",
        heading=_("Pools"),
        kind="pool",
        items=items,
        new_url=url_for("admin.pool_new"),
        edit_endpoint="admin.pool_edit",
        summary_heading=_("Limits"),
    )


def _limits(per_day: int | None, held: int | None) -> str:
    day = _("%(n)s a day", n=per_day) if per_day else _("no daily limit")
    most = _("at most %(n)s held", n=held) if held else _("no holding limit")
    return f"{day} · {most}"


@admin.get("/pools/new")
def pool_new():
    return _form({"members": [], "active": True}, None, Problems())


@admin.get("/pools/<key>")
def pool_edit(key: str):
    return _form(_stored(key), key, Problems())


def _stored(key: str) -> dict[str, Any]:
    """The pool's effective definition (NotFound, 404, names it when there is none)."""
    return runtime().metadata.definition("pool", key)


@admin.post("/pools/save")
def pool_save():
    key = text("key") or None
    definition = posted_pool(_stored(key) if key else None)
    full_key = f"pool:{definition.get('object', '')}.{definition.get('api_name', '')}"
    problems = save("pool", full_key, definition)
    if problems:
        return _form(definition, key, problems, status=problems.status)
    flash(_("The pool %(name)s is saved.", name=definition["api_name"]))
    return redirect(
        url_for("admin.pool_edit", key=f"{definition['object']}.{definition['api_name']}")
    )


def posted_pool(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The pool the form describes; an existing pool keeps its name and object."""
    out: dict[str, Any] = {}
    given = posted_label()
    if stored:
        out["api_name"], out["object"] = stored["api_name"], stored["object"]
    else:
        taken = {p.api_name for p in definitions().pools.values()}
        out["api_name"] = proposed_name(text("api_name"), given.get("en", ""), taken)
        out["object"] = text("object")
    out["label"] = given
    if text("description"):
        out["description"] = text("description")
    out["active"] = request.form.get("active") == "on"
    out["members"] = PeoplePick.posted_as("members").entries()
    if text("condition"):
        out["condition"] = text("condition")
    for name in ("claims_per_day", "max_held"):
        if text(name):
            out[name] = number(text(name))
    return out


def _form(pool: dict[str, Any], key: str | None, problems: Problems, status: int = 200):
    the_owner = owner(f"pool:{key}") if key else Owner("custom")
    page = render_template(
        "admin/pool_form.html",
        pool=pool,
        key=key,
        owner=the_owner,
        problems=problems,
        unplaced=problems.rest("", CONTROLS),
        members=PeoplePick.of(pool.get("members", [])),
        choices=people_choices(),
        objects=object_choices(),
        recyclers=_recyclers(pool) if key else [],
    )
    return page, status


def _recyclers(pool: dict[str, Any]) -> list[str]:
    """The automations that move records into this pool (a recycle rule is one)."""
    found = []
    for auto in definitions().automations.values():
        if auto.object_name != pool.get("object"):
            continue
        if any(
            a.type == "move_to_pool" and a.pool in (None, pool["api_name"]) for a in auto.actions
        ):
            found.append(label(auto.label))
    return sorted(found)
