"""Who may do what with an object, and which records they reach.

A user's roles grant, per object, create / read / edit / delete (plus view
all and modify all), field-level security (hidden, read-only) and a data
scope for reading and one for editing. Several roles combine to the most
permissive. The scope becomes a condition inside every query, never a
filter applied after fetching.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from trellis.metadata import Definitions, ObjectPermissionDef
from trellis.runtime.context import Principal

SCOPES = ("own", "subordinates", "department", "department_tree", "all")
_FIELD_ACCESS = ("hidden", "read_only", "editable")


@dataclass(frozen=True)
class Access:
    """One principal's rights on one object at one metadata version."""

    object_name: str
    create: bool
    read: bool
    edit: bool
    delete: bool
    read_scope: str
    edit_scope: str
    hidden: frozenset[str]
    read_only: frozenset[str]
    principal: Principal

    def condition(self, table: sa.Table, scope: str) -> sa.ColumnElement | None:
        """The WHERE condition for a scope; None means every record."""
        p = self.principal
        if scope == "all":
            return None
        if scope == "own":
            return table.c.owner == p.id
        if scope == "subordinates":
            return table.c.owner.in_(sorted(p.reports | {p.id}))
        if scope == "department":
            return table.c.department == p.department_id if p.department_id else sa.false()
        return (
            table.c.department.in_(sorted(p.department_tree)) if p.department_tree else sa.false()
        )

    def read_condition(self, table: sa.Table) -> sa.ColumnElement | None:
        return self.condition(table, self.read_scope)

    def edit_condition(self, table: sa.Table) -> sa.ColumnElement | None:
        return self.condition(table, self.edit_scope)


def is_admin(defs: Definitions, principal: Principal) -> bool:
    return any(defs.roles[r].is_admin for r in principal.roles if r in defs.roles)


def full_access(object_name: str, principal: Principal) -> Access:
    """Every right on every record: admins, and the flow engine acting (trusted)."""
    return Access(
        object_name, True, True, True, True, "all", "all", frozenset(), frozenset(), principal
    )


def access_for(defs: Definitions, principal: Principal, object_name: str) -> Access:
    """Combine the principal's roles into one Access for ``object_name``."""
    if is_admin(defs, principal):
        return full_access(object_name, principal)
    grants = [
        defs.roles[r].objects[object_name]
        for r in principal.roles
        if r in defs.roles and object_name in defs.roles[r].objects
    ]
    if not grants:
        return Access(
            object_name,
            False,
            False,
            False,
            False,
            "own",
            "own",
            frozenset(),
            frozenset(),
            principal,
        )
    read_scope = max((_read_scope(g) for g in grants), key=SCOPES.index)
    edit_scope = max((_edit_scope(g) for g in grants), key=SCOPES.index)
    fields = _field_access(grants)
    return Access(
        object_name,
        any(g.create for g in grants),
        any(g.read or g.view_all for g in grants),
        any(g.edit or g.modify_all for g in grants),
        any(g.delete for g in grants),
        read_scope,
        edit_scope if SCOPES.index(edit_scope) <= SCOPES.index(read_scope) else read_scope,
        _with_formulas_over(defs, object_name, {f for f, a in fields.items() if a == "hidden"}),
        frozenset(f for f, a in fields.items() if a == "read_only"),
        principal,
    )


def _with_formulas_over(defs: Definitions, object_name: str, hidden: set[str]) -> frozenset[str]:
    """Hidden fields plus every formula that reads one (directly or through another
    formula): a formula's value, or a filter on it, would otherwise reveal the field."""
    obj = defs.objects.get(object_name)
    formulas = [f for f in obj.live_fields if f.formula is not None] if obj and hidden else []
    grew = True
    while grew:
        grew = False
        for f in formulas:
            if f.api_name not in hidden and hidden & set(f.formula.dependencies):
                hidden.add(f.api_name)
                grew = True
    return frozenset(hidden)


def _read_scope(g: ObjectPermissionDef) -> str:
    return "all" if g.view_all or g.modify_all else g.read_scope


def _edit_scope(g: ObjectPermissionDef) -> str:
    return "all" if g.modify_all else g.edit_scope


def _field_access(grants: list[ObjectPermissionDef]) -> dict[str, str]:
    names = {f for g in grants for f in g.fields}
    return {
        f: max((g.fields.get(f, "editable") for g in grants), key=_FIELD_ACCESS.index)
        for f in names
    }
