"""Picklist values as the field form edits them: one row per value, in the order shown.

The rows are posted as parallel lists (``value_api_name``, ``value_zh``, ``value_en``,
``value_color``, ``value_active``, ``value_valid_for``), so dragging a row (SortableJS in
``objects.js``) is all it takes to change the order that is saved. A row with no API name
gets one from its English label; properties the form does not edit (an opportunity
stage's ``probability``) are kept from the value as it was.
"""

from __future__ import annotations

from typing import Any

from trellis.metadata.names import name_from_label

COLUMNS = ("api_name", "zh", "en", "color", "active", "valid_for")


def values_from_form(form, existing: list[dict]) -> list[dict]:
    """The picklist's values from the posted rows; rows left blank are dropped."""
    columns = {c: form.getlist(f"value_{c}") for c in COLUMNS}
    before = {v.get("api_name"): v for v in existing}
    values: list[dict[str, Any]] = []
    for i in range(len(columns["api_name"])):
        row = {c: (columns[c][i] if i < len(columns[c]) else "").strip() for c in COLUMNS}
        if not (row["api_name"] or row["zh"] or row["en"]):
            continue
        taken = {v["api_name"] for v in values}
        name = row["api_name"] or name_from_label(row["en"] or row["zh"], taken)
        value = {**before.get(name, {}), "api_name": name, "label": _label(row)}
        _optional(value, "color", row["color"])
        _optional(value, "active", False if row["active"] == "0" else None)
        valid_for = [v.strip() for v in row["valid_for"].split(",") if v.strip()]
        _optional(value, "valid_for", valid_for or None)
        values.append(value)
    return values


def _label(row: dict) -> dict[str, str]:
    return {"zh-CN": row["zh"] or row["en"], "en": row["en"] or row["zh"]}


def _optional(value: dict, key: str, setting: Any) -> None:
    if setting in (None, ""):
        value.pop(key, None)
    else:
        value[key] = setting


def rows(values: list[dict] | None, blank: int = 2) -> list[dict]:
    """The editor's rows: each value, then ``blank`` empty rows to add values without JavaScript."""
    out = [
        {
            "api_name": v.get("api_name", ""),
            "zh": v.get("label", {}).get("zh-CN", ""),
            "en": v.get("label", {}).get("en", ""),
            "color": v.get("color", ""),
            "active": v.get("active", True),
            "valid_for": ", ".join(v.get("valid_for", [])),
        }
        for v in values or []
    ]
    blank_row = {"api_name": "", "zh": "", "en": "", "color": "", "active": True, "valid_for": ""}
    return out + [dict(blank_row) for _ in range(blank)]
