"""The automation designer's form, to and from the automation definition (docs/flows.md).

The form names its controls after the definition (``trigger_type``, ``condition``; each
action card ``a<slot>-…``, its value rows ``a<slot>-v<row>-…``). A card's slot is only an
id: the order of the actions is the order of the hidden ``action`` inputs in the form, so
dragging a card is reordering them. ``definition(form)`` builds the JSON the metadata API
checks; ``cards(definition)`` gives the template one card per action. Only keys the chosen
trigger or action type takes are sent, so switching a type leaves nothing stale behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

#: Trigger types in the order the designer offers them, and the keys each takes.
TRIGGERS = {
    "created": ("condition",),
    "updated": ("fields", "condition"),
    "created_or_updated": ("fields", "condition"),
    "deleted": ("condition",),
    "time": ("after", "offset"),
    "schedule": ("cron", "time_zone"),
    "manual": (),
}
ACTION_TYPES = (
    "update_fields",
    "create_record",
    "notify",
    "webhook",
    "assign",
    "move_to_pool",
    "submit_for_approval",
)
CHANNELS = ("in_app", "email", "wecom")
#: Recipient kinds with one simple value; anything else is kept as its JSON.
PEOPLE = {
    "owner": None,
    "manager": None,
    "user": "users",
    "role": "role",
    "department_head": "department",
    "field": "field",
    "formula": "formula",
    "json": None,
}
OFFSET_UNITS = ("days", "hours", "minutes")


@dataclass
class Row:
    """One value of update_fields / create_record (field, formula) or one recipient."""

    id: int
    kind: str = ""
    value: str = ""


@dataclass
class Card:
    """One action as the designer shows it; ``raw`` is its definition."""

    slot: int
    type: str
    raw: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    people: list[Row] = field(default_factory=list)


def cards(actions: list[dict[str, Any]]) -> list[Card]:
    return [card(slot, raw) for slot, raw in enumerate(actions)]


def card(slot: int, raw: dict[str, Any]) -> Card:
    """The card of one action, with one empty row to fill in at the end of each list."""
    values = raw.get("values") or {}
    rows = [Row(i, name, formula) for i, (name, formula) in enumerate(values.items())]
    rows.append(Row(len(rows)))
    people = [Row(i, *_person(spec)) for i, spec in enumerate(raw.get("recipients") or [])]
    if raw.get("type") == "notify" and not people:
        people.append(Row(0, "owner"))
    return Card(slot, raw.get("type", "update_fields"), raw, rows, people)


def _person(spec: dict[str, Any]) -> tuple[str, str]:
    kind = spec.get("type", "")
    key = PEOPLE.get(kind, "")
    if key is None and set(spec) == {"type"} and kind != "json":
        return kind, ""
    if key and set(spec) <= {"type", key}:
        value = spec.get(key, "")
        return kind, ", ".join(value) if isinstance(value, list) else str(value)
    return "json", json.dumps(spec, ensure_ascii=False)


# -- the posted form -> the definition -------------------------------------------------------


def definition(form: MultiDict, object_name: str, api_name: str) -> dict[str, Any]:
    """The automation definition the posted form describes (checked by the metadata API)."""
    d: dict[str, Any] = {
        "api_name": api_name,
        "object": object_name,
        "label": {"zh-CN": _text(form, "label_zh"), "en": _text(form, "label_en")},
        "active": form.get("active") == "on",
        "order": _number(form.get("order", ""), 100),
        "trigger": trigger(form),
        "actions": [action(form, slot) for slot in form.getlist("action")],
    }
    for name in ("description", "condition"):
        if _text(form, name):
            d[name] = _text(form, name)
    return d


def trigger(form: MultiDict) -> dict[str, Any]:
    kind = form.get("trigger_type", "created")
    keys = TRIGGERS.get(kind, ())
    out: dict[str, Any] = {"type": kind}
    if "fields" in keys and form.getlist("trigger_fields"):
        out["fields"] = form.getlist("trigger_fields")
    for name in ("condition", "after", "cron", "time_zone"):
        if name in keys and _text(form, f"trigger_{name}"):
            out[name] = _text(form, f"trigger_{name}")
    if "offset" in keys:
        offset = {u: _number(form.get(f"offset_{u}", ""), 0) for u in OFFSET_UNITS}
        offset = {u: n for u, n in offset.items() if n}
        if offset:
            out["offset"] = offset
    return out


def action(form: MultiDict, slot: str) -> dict[str, Any]:
    """One card's action; only the keys its type takes."""
    p = f"a{slot}-"
    kind = form.get(p + "type", "update_fields")
    out: dict[str, Any] = {"type": kind}
    if kind in ("update_fields", "create_record"):
        values = {}
        for row in form.getlist(p + "vrow"):
            name, formula = _text(form, f"{p}v{row}-field"), _text(form, f"{p}v{row}-formula")
            if name or formula:
                values[name] = formula
        out["values"] = values
        if kind == "create_record":
            out = {"type": kind, "object": _text(form, p + "object"), "values": values}
    elif kind == "notify":
        out.update(_notify(form, p))
    else:
        key = {"webhook": "url", "assign": "rule", "move_to_pool": "pool"}.get(kind, "flow")
        if _text(form, p + key):
            out[key] = _text(form, p + key)
        if kind == "webhook" and _text(form, p + "secret"):
            out["secret"] = _text(form, p + "secret")
    return out


def _notify(form: MultiDict, p: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "recipients": [
            spec
            for row in form.getlist(p + "prow")
            if (
                spec := _recipient(form.get(f"{p}p{row}-type", ""), _text(form, f"{p}p{row}-value"))
            )
        ],
        "channels": [c for c in CHANNELS if c in form.getlist(p + "channels")] or ["in_app"],
    }
    title = {"zh-CN": _text(form, p + "title_zh"), "en": _text(form, p + "title_en")}
    if any(title.values()):
        out["title"] = title
    out["message"] = {"zh-CN": _text(form, p + "message_zh"), "en": _text(form, p + "message_en")}
    if _text(form, p + "wecom_robot"):
        out["wecom_robot"] = _text(form, p + "wecom_robot")
    return out


def _posted_person(form: MultiDict, p: str) -> dict[str, Any] | None:
    return _recipient(form.get(p + "type", ""), _text(form, p + "value"))


def _recipient(kind: str, value: str) -> dict[str, Any] | None:
    if kind not in PEOPLE:
        return None
    if kind == "json":
        try:
            spec = json.loads(value)
        except ValueError:
            return {"type": value[:40] or "json"}  # refused by the schema, at its place
        return spec if isinstance(spec, dict) else {"type": "json"}
    key = PEOPLE[kind]
    if key is None:
        return {"type": kind}
    if key == "users":
        return {"type": kind, "users": [u.strip() for u in value.split(",") if u.strip()]}
    if kind == "department_head" and not value:
        return {"type": kind}
    return {"type": kind, key: value}


def _text(form: MultiDict, name: str) -> str:
    return (form.get(name) or "").strip()


def _number(raw: str, default: int) -> Any:
    raw = raw.strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        return raw  # the schema refuses it and says so at the control
