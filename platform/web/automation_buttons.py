"""Buttons for manual automations on a record page, and the post that runs one.

An automation whose trigger is ``manual`` on the record's object shows as a button to users
who may edit records of that object; pressing it runs ``flows.automations.run_manual`` for
this one record, as ``POST /api/v1/automations/{key}/run`` does, and the page says what came
of it (done, skipped because the condition does not hold, or failed with the reason). The
engine checks again that the user may edit this very record: a record outside their scope
answers 404, one they may read but not change 403.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from trellis.runtime.errors import Forbidden, NotFound, TrellisError
from trellis.web import pages
from trellis.web.i18n import label
from trellis.web.metadata_view import access, compiled, layout_for, object_runtime
from trellis.web.panels import record_panel
from trellis.web.sessions import page_context, runtime


def manual_automations(object_name: str) -> list:
    """The object's active manual automations, in the order the engine keeps them."""
    found = runtime().flows.automations.of_object(compiled(), object_name)
    return [a for a in found if a.trigger.type == "manual"]


def layout_buttons(obj, record, found: list) -> list:
    """The automations the record's layout names as buttons, in its order (all if it names none)."""
    layout = layout_for(obj.api_name, record.get("record_type"))
    chosen = layout.definition.get("buttons") if layout else None
    if chosen is None:
        return found
    by_name = {a.api_name: a for a in found}
    return [by_name[name] for name in chosen if name in by_name]


@record_panel("top", order=20)
def automation_buttons(obj, record):
    if not access(obj.api_name).edit:
        return None
    found = layout_buttons(obj, record, manual_automations(obj.api_name))
    if not found:
        return None
    return render_template("_automation_buttons.html", object=obj, record=record, automations=found)


def _outcome_message(name: str, result: dict) -> str:
    if result["outcome"] == "done":
        return _("%(name)s: done.", name=name)
    if result["outcome"] == "skipped":
        return _("%(name)s did not run: its condition does not hold for this record.", name=name)
    return _("%(name)s did not run: %(why)s", name=name, why=result.get("message") or "")


@pages.post("/o/<object_name>/<int:record_id>/automations/<api_name>")
def run_automation_button(object_name: str, record_id: int, api_name: str):
    object_runtime(object_name)  # 404 for an object the viewer may not read
    key = f"{object_name}.{api_name}"
    back = url_for("pages.record_page", object_name=object_name, record_id=record_id)
    automation = compiled().definitions.automations.get(key)
    if automation is None:
        raise NotFound(f"there is no automation {key[:120]!r}")
    try:
        (result,) = runtime().flows.automations.run_manual(page_context(), key, [record_id])
    except (NotFound, Forbidden):
        raise
    except TrellisError as exc:
        flash(_("Not run: %(why)s", why=exc.message))
        return redirect(back, code=303)
    flash(_outcome_message(label(automation.label), result))
    return redirect(back, code=303)
