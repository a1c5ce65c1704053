"""What the list view designer's form sends, turned into a ``list_view`` definition.

The form is plain HTML: each column is a hidden ``columns`` input inside its row (the
script drags the rows and disables the inputs of the fields not chosen, so the order sent
is the order shown); the filter is the view's expression plus up to three builder rows
(field, operator, value: the list pages' own builder, ``trellis.web.filters``) joined with
``and``; the sort is up to two fields with a direction; the roles ticked are who sees it.
"""

from __future__ import annotations

from flask import request

from trellis.metadata import ObjectDef
from trellis.web.filters import builder_expression, combine

BUILDER_ROWS = 3
SORT_KEYS = 2
#: Fields a list can show but not be sorted or filtered by are still columns.
UNLISTABLE = frozenset({"version", "department"})


def listable(obj: ObjectDef) -> list:
    """The object's fields a list view may show as columns."""
    return [f for f in obj.live_fields if f.api_name not in UNLISTABLE]


def sortable(obj: ObjectDef) -> list:
    """Fields a list can be sorted by: stored ones (date-times included)."""
    return [f for f in obj.live_fields if f.stored and f.api_name not in UNLISTABLE]


def builder_rows() -> list[tuple[str, str, str]]:
    form = request.form
    return [
        (form.get(f"f{i}", ""), form.get(f"op{i}", "eq"), form.get(f"v{i}", ""))
        for i in range(BUILDER_ROWS)
    ]


def sort_rows(sort: str | None) -> list[tuple[str, str]]:
    """``"-amount,name"`` as ``[("amount", "desc"), ("name", "asc")]``, padded with blanks."""
    keys = [k for k in (sort or "").split(",") if k][:SORT_KEYS]
    rows = [(k.lstrip("-"), "desc" if k.startswith("-") else "asc") for k in keys]
    return rows + [("", "asc")] * (SORT_KEYS - len(rows))


def posted_sort() -> str | None:
    keys = []
    for i in range(SORT_KEYS):
        name = request.form.get(f"sort{i}", "").strip()
        if name:
            keys.append(("-" if request.form.get(f"dir{i}") == "desc" else "") + name)
    return ",".join(keys) or None


def posted_view(obj: ObjectDef, api_name: str) -> dict:
    """The definition the form sends; raises FilterInputError for a builder row filled wrongly."""
    zh = request.form.get("label_zh", "").strip()
    en = request.form.get("label_en", "").strip()
    definition = {
        "api_name": api_name,
        "object": obj.api_name,
        "label": {"zh-CN": zh or en, "en": en or zh},
        "columns": [c for c in request.form.getlist("columns") if c],
        "shared": True,
    }
    expression = combine(
        request.form.get("filter", "").strip() or None, builder_expression(obj, builder_rows())
    )
    if expression:
        definition["filter"] = expression
    sort = posted_sort()
    if sort:
        definition["sort"] = sort
    roles = [r for r in request.form.getlist("roles") if r]
    if roles:
        definition["roles"] = roles
    return definition


def view_problems(key: str, details: list) -> tuple[dict[str, list[str]], list[str]]:
    """Problems by control (``/columns/2``, ``/filter``, ``/sort``, ``/label``…) and the rest."""
    prefix = f"list_view:{key}"
    at: dict[str, list[str]] = {}
    rest = []
    for d in details:
        if not isinstance(d, dict):
            continue
        pointer, message = str(d.get("pointer") or ""), str(d.get("message") or "")
        path = pointer[len(prefix) :] if pointer.startswith(prefix) else None
        place = _control(path) if path is not None else None
        if place is None:
            rest.append(f"{pointer}: {message}" if pointer else message)
        else:
            at.setdefault(place, []).append(message)
    return at, rest


def _control(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) < 2 or not parts[1]:
        return None
    if parts[1] == "columns" and len(parts) > 2:
        return f"/columns/{parts[2]}"
    if parts[1] in ("columns", "filter", "sort", "label", "roles", "api_name"):
        return f"/{parts[1]}"
    return None
