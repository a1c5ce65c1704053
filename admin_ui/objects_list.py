"""The objects list at /admin/objects and creating an object (labels in both languages, the
API name proposed from the English label and checked as the admin types).

The live check is the real thing: ``create_object(..., dry_run=True)`` builds and checks the
whole definition set without saving, so the page says exactly what saving would say (taken,
reserved word, bad characters).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from trellis.admin_ui import admin
from trellis.admin_ui.objects_common import owner, problems_at
from trellis.admin_ui.packs_page import actor
from trellis.metadata.names import name_from_label
from trellis.runtime.errors import TrellisError
from trellis.web.metadata_view import definitions
from trellis.web.sessions import runtime

#: The name field a new object gets when the admin keeps the box ticked.
NAME_FIELD = {
    "api_name": "name",
    "type": "text",
    "length": 100,
    "required": True,
    "label": {"zh-CN": "名称", "en": "Name"},
}


@admin.get("/objects")
def objects():
    rows = [
        {
            "api_name": obj.api_name,
            "label": obj.label,
            "owner": owner(obj.provenance),
            "custom": obj.provenance == "custom",
            "fields": sum(1 for f in obj.live_fields if not f.system),
        }
        for obj in definitions().objects.values()
        if not obj.archived and not obj.api_name.startswith("trellis_")
    ]
    return render_template("admin/objects.html", objects=rows)


@admin.get("/objects/new")
def object_new():
    return render_template("admin/object_new.html", form={"name_field": "1"}, problems={})


@admin.post("/objects/new")
def object_create():
    form = request.form
    definition = object_definition(form)
    try:
        runtime().metadata.create_object(actor(), definition)
    except TrellisError as exc:
        problems = problems_at(exc, f"object:{definition['api_name']}")
        page = render_template("admin/object_new.html", form=form, problems=problems)
        return page, exc.status
    flash(_("The object %(name)s is created.", name=definition["api_name"]))
    return redirect(url_for("admin.object_page", name=definition["api_name"]))


@admin.post("/objects/name-check")
def object_name_check():
    """The API name control (htmx): proposed from the English label while the admin has not
    typed one, and checked with a dry run of the object's creation."""
    form = request.form.to_dict()
    if form.get("api_name_edited") != "1":
        words = (form.get("label_en") or form.get("label_zh") or "").strip()
        form["api_name"] = name_from_label(words, set(definitions().objects)) if words else ""
    definition = object_definition(form)
    problems: list[str] = []
    if not definition["api_name"]:
        return render_template("admin/object_name.html", form=form, name_problems=[], checked=False)
    try:
        runtime().metadata.create_object(actor(), definition, dry_run=True)
    except TrellisError as exc:
        problems = problems_at(exc, f"object:{definition['api_name']}").get("api_name", [])
    return render_template(
        "admin/object_name.html",
        form=form,
        name_problems=problems,
        checked=bool(definition["api_name"]),
    )


def object_definition(form) -> dict:
    """The object definition the create form describes."""
    text = {k: (form.get(k) or "").strip() for k in form}

    def pair(prefix: str) -> dict:
        return {"zh-CN": text.get(f"{prefix}_zh", ""), "en": text.get(f"{prefix}_en", "")}

    definition = {
        "api_name": text.get("api_name", ""),
        "label": pair("label"),
        "plural_label": pair("plural"),
    }
    for side in ("zh", "en"):  # a plural left empty is the singular, as in Chinese
        key = "zh-CN" if side == "zh" else "en"
        definition["plural_label"][key] = (
            definition["plural_label"][key] or definition["label"][key]
        )
    if text.get("description"):
        definition["description"] = text["description"]
    if form.get("name_field"):
        definition["fields"] = [dict(NAME_FIELD)]
        definition["name_field"] = "name"
    return definition
