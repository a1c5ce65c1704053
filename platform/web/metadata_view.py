"""What a page needs from the live definitions: the compiled metadata of this request
(read once per request, so one page never mixes two metadata versions), objects, their
list views and layouts, and what the viewer may do with them."""

from __future__ import annotations

from flask import g

from trellis.metadata import FieldDef, ObjectDef
from trellis.runtime.errors import NotFound
from trellis.runtime.permissions import Access
from trellis.web.sessions import page_context, runtime


def compiled():
    if "compiled" not in g:
        with runtime().engine.connect() as conn:
            g.compiled = runtime().cache.get(conn)
    return g.compiled


def definitions():
    return compiled().definitions


def object_runtime(name: str):
    """The object's runtime; 404 if it does not exist, is archived or the viewer may not read it."""
    rt = compiled().objects.get(name)
    if rt is None or rt.definition.archived or not access(name).read:
        raise NotFound(f"there is no object {name[:60]!r}")
    return rt


def access(name: str) -> Access:
    return runtime().records.access(compiled(), page_context(), name)


def shown_fields(obj: ObjectDef, names, hidden=frozenset()) -> list[FieldDef]:
    """The live fields among ``names``, in that order, leaving out what the viewer may not see."""
    return [
        obj.by_name[n]
        for n in names
        if n in obj.by_name and not obj.by_name[n].archived and n not in hidden
    ]


def list_views(object_name: str) -> list:
    """The object's list views the viewer sees: those for everyone and for one of their roles."""
    roles = set(page_context().principal.roles)
    views = [
        v
        for v in definitions().list_views.values()
        if v.object_name == object_name and (not v.roles or roles.intersection(v.roles))
    ]
    return sorted(views, key=lambda v: v.api_name)


def default_columns(obj: ObjectDef) -> list[str]:
    names = [obj.name_field] if obj.name_field else []
    names += [f for f in obj.searchable_fields if f not in names][:3]
    return [*names, "owner", "updated_at"]


def layout_for(object_name: str, record_type: str | None):
    """The layout for the viewer's roles and the record type: the most specific one wins."""
    roles = set(page_context().principal.roles)
    best, best_score = None, -1
    for layout in definitions().layouts.values():
        if layout.object_name != object_name:
            continue
        d = layout.definition
        if d.get("roles") and not roles.intersection(d["roles"]):
            continue
        if d.get("record_types") and record_type not in d["record_types"]:
            continue
        score = 2 * bool(d.get("roles")) + bool(d.get("record_types"))
        if score > best_score or (score == best_score and layout.api_name < best.api_name):
            best, best_score = layout, score
    return best


def readable_objects() -> list[ObjectDef]:
    """The objects the viewer may read, in the order packs list them."""
    out = []
    for name, rt in compiled().objects.items():
        if rt.definition.archived or name.startswith("trellis_"):
            continue
        if access(name).read:
            out.append(rt.definition)
    return out
