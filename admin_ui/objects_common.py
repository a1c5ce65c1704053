"""What the objects and fields designer's pages share: the stored layers (for owners and
locks), and a refusal's problems placed at the form controls they are about.

Every change goes through ``runtime().metadata`` (the one ``MetadataAPI``); this module only
reads. A refusal (``Invalid``) names each problem by ``<component key>/<json pointer>``: the
pointer's first step is the property, which is the name of the control that edits it.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from trellis.admin_ui.sections import section
from trellis.metadata import Layers, store
from trellis.runtime.errors import Conflict, TrellisError
from trellis.web.sessions import runtime

section(
    "objects",
    _l("Objects"),
    "admin.objects",
    order=10,
    prefixes=("admin.object", "admin.field"),
)

#: Where problems that are about no one control are shown.
FORM = "_form"


def layers() -> Layers:
    with runtime().engine.connect() as conn:
        return store.load(conn)


def owner(provenance: str) -> str:
    """``crm_standard`` for a pack's component, "Custom" for the admin's own."""
    if provenance == "custom":
        return _("Custom")
    return provenance.split("@", 1)[0]


def problems_at(exc: TrellisError, key: str) -> dict[str, list[str]]:
    """The refusal's messages by control name (``label``, ``values``, ``precision`` …).

    Problems of ``key`` go to the control of the property their pointer starts with;
    problems of other components (a layout that would break) and problems without a
    place go to ``FORM``, with their component named.
    """
    placed: dict[str, list[str]] = {}
    if isinstance(exc, Conflict) and "already exists" in exc.message:
        placed.setdefault("api_name", []).append(_("This API name is taken: choose another."))
        return placed
    for problem in exc.details or []:
        if not isinstance(problem, dict):
            continue
        control, message = _control(problem, key)
        if message not in placed.get(control, []):
            placed.setdefault(control, []).append(message)
    if not placed:
        placed[FORM] = [exc.message]
    return placed


def _control(problem: dict, key: str) -> tuple[str, str]:
    pointer = str(problem.get("pointer") or problem.get("field") or "")
    message = str(problem.get("message", ""))
    if not pointer.startswith(key):
        return FORM, f"{pointer}: {message}" if pointer else message
    steps = [s for s in pointer[len(key) :].split("/") if s]
    if not steps:
        return FORM, message
    if steps[0] == "values" and len(steps) > 1 and steps[1].isdigit():
        return "values", _(
            "Value %(number)s: %(message)s", number=int(steps[1]) + 1, message=message
        )
    return steps[0], message


#: The words for each kind of place a field can be used in (``trellis.metadata.usage``).
USAGE_KINDS = {
    "object": _l("Object settings"),
    "duplicate_rule": _l("Duplicate rule"),
    "field": _l("Field (formula, roll-up, default)"),
    "validation_rule": _l("Validation rule"),
    "layout": _l("Layout"),
    "list_view": _l("List view"),
    "approval_flow": _l("Approval chain"),
    "automation": _l("Automation"),
    "pool": _l("Pool"),
    "assignment_rule": _l("Assignment rule"),
    "report": _l("Report"),
    "conversion": _l("Conversion"),
    "role": _l("Role (field security)"),
}
