"""The report form's posted fields turned into a report definition (report.json).

Rows: ``groups-<n>-…``, ``measures-<n>-…``, ``sort-<n>-…``; the target is ``target_…``.
Empty rows are left out; a measure keeps only the properties its function takes (the form
hides the others), so the definition says exactly what the admin sees.
"""

from __future__ import annotations

from typing import Any

from flask import request

from trellis.admin_ui.rules_common import first, number, posted_label, proposed_name, rows, text

#: Which properties each measure function takes besides api_name, label, function, format.
TAKES = {
    "count": ("field", "filter", "having"),
    "count_distinct": ("field", "filter", "having"),
    "sum": ("field", "filter", "having"),
    "avg": ("field", "filter", "having"),
    "min": ("field", "filter", "having"),
    "max": ("field", "filter", "having"),
    "ratio": ("numerator", "denominator"),
    "conversion": ("from", "to", "filter"),
}


def posted_report(stored: dict[str, Any] | None, taken: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    given = posted_label()
    if stored:
        out["api_name"], out["object"] = stored["api_name"], stored["object"]
    else:
        out["api_name"] = proposed_name(text("api_name"), given.get("en", ""), taken)
        out["object"] = text("object")
    out["label"] = given
    description = posted_label("description")
    if description:
        out["description"] = description
    if text("filter"):
        out["filter"] = text("filter")
    groups = [g for g in (_group(r) for r in rows("groups")) if g]
    if groups:
        out["group_by"] = groups
    out["measures"] = [m for m in (_measure(r) for r in rows("measures")) if m]
    target = _target()
    if target:
        out["target"] = target
    sort = [s for s in (_sort(r) for r in rows("sort")) if s]
    if sort:
        out["sort"] = sort
    if text("limit"):
        out["limit"] = number(text("limit"))
    if text("chart"):
        out["chart"] = text("chart")
    out["active"] = request.form.get("active") == "on"
    return out


def _filled(row: dict[str, list[str]]) -> bool:
    return any(v.strip() for values in row.values() for v in values)


def _group(row: dict[str, list[str]]) -> dict[str, Any] | None:
    if not _filled(row):
        return None
    group: dict[str, Any] = {"field": first(row, "field")}
    if first(row, "bucket"):
        group["bucket"] = first(row, "bucket")
    if first(row, "api_name"):
        group["api_name"] = first(row, "api_name")
    named = posted_label("label", _RowForm(row))
    if named:
        group["label"] = named
    return group


def _measure(row: dict[str, list[str]]) -> dict[str, Any] | None:
    if not _filled(row):
        return None
    function = first(row, "function")
    measure: dict[str, Any] = {
        "api_name": first(row, "api_name"),
        "label": posted_label("label", _RowForm(row)),
        "function": function,
    }
    for prop in TAKES.get(function, ()):
        if prop == "having":
            having = _having(row)
            if having:
                measure["having"] = having
        elif first(row, prop):
            measure[prop] = first(row, prop)
    if first(row, "format"):
        measure["format"] = first(row, "format")
    return measure


def _having(row: dict[str, list[str]]) -> dict[str, Any] | None:
    """``having`` from the related-object picker (``opportunity.lead``) and its filter."""
    related = first(row, "having")
    if not related:
        return None
    obj, _dot, via = related.partition(".")
    having = {"object": obj, "via": via}
    if first(row, "having_filter"):
        having["filter"] = first(row, "having_filter")
    return having


def _target() -> dict[str, Any] | None:
    kind = text("target_kind")
    if kind not in ("value", "object"):
        return None
    target: dict[str, Any] = {"measure": text("target_measure")}
    named = posted_label("target_label")
    if named:
        target["label"] = named
    if kind == "value":
        target["value"] = text("target_value")
        return target
    target["object"] = text("target_object")
    for prop in ("function", "field", "filter"):
        if text(f"target_{prop}"):
            target[prop] = text(f"target_{prop}")
    match = _match(request.form.get("target_match", ""))
    if match:
        target["match"] = match
    return target


def _match(raw: str) -> dict[str, str]:
    """``group = field`` per line: which target field holds each group's value."""
    out = {}
    for line in raw.splitlines():
        group, sep, field = line.partition("=")
        if sep and group.strip():
            out[group.strip()] = field.strip()
    return out


def match_text(match: dict[str, str] | None) -> str:
    return "\n".join(f"{g} = {f}" for g, f in (match or {}).items())


def _sort(row: dict[str, list[str]]) -> dict[str, Any] | None:
    if not first(row, "by"):
        return None
    sort = {"by": first(row, "by")}
    if first(row, "direction"):
        sort["direction"] = first(row, "direction")
    return sort


class _RowForm:
    """One row's values read like a form, so ``posted_label`` reads ``label_zh``/``label_en``."""

    def __init__(self, row: dict[str, list[str]]):
        self.row = row

    def get(self, name: str, default: str = "") -> str:
        values = self.row.get(name)
        return values[0] if values else default
