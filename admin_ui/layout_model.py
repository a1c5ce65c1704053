"""What the layout designer shows and what it sends, as plain data.

The designer's page is built from a layout definition (the effective one, a new draft, or
the refused draft the admin just sent); its script writes the sections, related lists and
buttons back as one JSON text in a hidden field, and the label, record types and roles
are ordinary form fields. ``posted_layout`` turns that form back into the definition
``MetadataAPI.define`` takes; it checks only the shape the designer makes (the metadata API
checks everything else and says where), so a hand-made or stale form is refused plainly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_babel import gettext as _

from trellis.metadata import ObjectDef
from trellis.runtime.errors import BadRequest

#: Fields a layout never shows: the platform's bookkeeping.
UNPLACEABLE = frozenset({"id", "version", "department", "record_type"})
MAX_JSON = 200_000


@dataclass(frozen=True)
class RelatedChoice:
    """A child object with a lookup to this one: a related list the layout may show."""

    object: ObjectDef
    via: Any  # the child's lookup FieldDef

    @property
    def token(self) -> str:
        return f"{self.object.api_name}.{self.via.api_name}"


def placeable(obj: ObjectDef) -> list:
    """The object's fields a layout may place: its own in the object's order, then the
    platform's (owner, created by …)."""
    fields = [f for f in obj.live_fields if f.api_name not in UNPLACEABLE]
    return sorted(fields, key=lambda f: f.system)


def entry_spec(entry) -> dict:
    """A section entry as ``{"field", "required", "read_only"}`` (a bare name has neither)."""
    return entry if isinstance(entry, dict) else {"field": entry}


def placed_names(definition: dict) -> list[str]:
    return [
        entry_spec(e).get("field")
        for s in definition.get("sections", [])
        if isinstance(s, dict)
        for e in s.get("fields", [])
    ]


def related_choices(objects, obj: ObjectDef) -> list[RelatedChoice]:
    """Every live lookup from another object to ``obj``, by object then field."""
    out = []
    for other in objects:
        if other.archived or other.api_name.startswith("trellis_"):
            continue
        for f in other.live_fields:
            if f.type == "lookup" and f.options.get("target") == obj.api_name:
                out.append(RelatedChoice(other, f))
    return out


def starting_layout(obj: ObjectDef, base: dict | None, api_name: str) -> dict:
    """A new layout's first draft: a copy of ``base`` (the layout in use) or every field."""
    if base is not None:
        draft = {k: v for k, v in base.items() if k not in ("record_types", "roles")}
        return {**draft, "api_name": api_name}
    names = [f.api_name for f in obj.live_fields if not f.system] + ["owner"]
    return {
        "api_name": api_name,
        "object": obj.api_name,
        "label": {"zh-CN": obj.label.zh, "en": obj.label.en},
        "sections": [
            {"label": {"zh-CN": obj.label.zh, "en": obj.label.en}, "columns": 2, "fields": names}
        ],
    }


def _loads(text: str) -> dict:
    if len(text) > MAX_JSON:
        raise BadRequest(_("The layout sent is too large."))
    try:
        value = json.loads(text or "{}")
    except ValueError:
        raise BadRequest(_("The layout sent is not valid JSON; reload the designer.")) from None
    if not isinstance(value, dict):
        raise BadRequest(_("The layout sent is not valid JSON; reload the designer."))
    return value


def _label_from_form(prefix: str) -> dict:
    zh = request.form.get(f"{prefix}_zh", "").strip()
    en = request.form.get(f"{prefix}_en", "").strip()
    return {"zh-CN": zh or en, "en": en or zh}


def posted_layout(object_name: str, api_name: str, current: dict | None) -> dict:
    """The layout definition the designer's form sends (object and name from the address).

    Properties the designer does not edit (a section's or related list's own api_name, a
    related list's label and columns) are kept from ``current``.
    """
    sent = _loads(request.form.get("layout", ""))
    definition: dict[str, Any] = {
        "api_name": api_name,
        "object": object_name,
        "label": _label_from_form("label"),
        "sections": sent.get("sections", []),
    }
    for prop in ("record_types", "roles"):
        chosen = [v for v in request.form.getlist(prop) if v]
        if chosen:
            definition[prop] = chosen
    related = _related(sent.get("related_lists", []), (current or {}).get("related_lists", []))
    if related:
        definition["related_lists"] = related
    if sent.get("buttons") is not None:
        definition["buttons"] = sent["buttons"]
    return definition


def _related(sent, current: list) -> list:
    """The related lists sent, each with what the layout had for it (label, columns)."""
    if not isinstance(sent, list):
        return sent  # the metadata API says what is wrong with it
    kept = {(r.get("object"), r.get("via")): r for r in current if isinstance(r, dict)}
    out = []
    for item in sent:
        if isinstance(item, dict):
            item = {**kept.get((item.get("object"), item.get("via")), {}), **item}
        out.append(item)
    return out


def all_buttons(definition: dict, automations: list) -> dict:
    """``definition`` without ``buttons`` when they are every manual automation in order:
    a layout that names none shows them all, including automations added later."""
    if definition.get("buttons") == [a.api_name for a in automations]:
        return {k: v for k, v in definition.items() if k != "buttons"}
    return definition


def related_rows(definition: dict, choices: list[RelatedChoice]) -> list[dict]:
    """Every possible related list: the layout's own first, in its order, then the rest.

    ``index`` is the list's place in the definition (problems point there), None if unused.
    """
    by_token = {c.token: c for c in choices}
    rows, used = [], set()
    sent = definition.get("related_lists")
    for r, item in enumerate(sent if isinstance(sent, list) else []):
        if not isinstance(item, dict):
            continue
        token = f"{item.get('object')}.{item.get('via')}"
        used.add(token)
        rows.append({"token": token, "choice": by_token.get(token), "index": r, "chosen": True})
    for c in choices:
        if c.token not in used:
            rows.append({"token": c.token, "choice": c, "index": None, "chosen": False})
    return rows


def button_rows(definition: dict, automations: list) -> list[dict]:
    """The manual automations as buttons: the layout's choice first, in its order."""
    chosen = definition.get("buttons")
    if not isinstance(chosen, list):
        chosen = [a.api_name for a in automations]
    by_name = {a.api_name: a for a in automations}
    rows = [
        {"name": name, "automation": by_name.get(name), "index": i, "chosen": True}
        for i, name in enumerate(chosen)
        if isinstance(name, str)
    ]
    rows += [
        {"name": a.api_name, "automation": a, "index": None, "chosen": False}
        for a in automations
        if a.api_name not in chosen
    ]
    return rows
