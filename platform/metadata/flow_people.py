"""People in flows: approvers, recipients, pool members, assignment candidates.

Checks one ``{"type": ...}`` entry (docs/flows.md, "People") against its
scope and freezes it into a ``PeopleDef``; who it resolves to is the flow
engine's business at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from trellis.expressions import ExprType
from trellis.metadata.flow_definitions import PeopleDef
from trellis.metadata.flow_scope import FlowScope

#: The keys each type of people entry takes (besides ``type``).
KEYS = {
    "user": {"users"},
    "role": {"role"},
    "department_head": {"department", "of"},
    "manager": {"of"},
    "manager_chain": {"levels", "until_role", "of"},
    "field": {"field"},
    "formula": {"formula"},
    "owner": set(),
    "submitter": set(),
    "approvers": set(),
}
#: Types that only mean something while an approval runs.
APPROVAL_ONLY = ("submitter", "approvers")
#: People who exist without a record: the only kinds that can be a pool's members.
WITHOUT_RECORD = ("user", "role", "department_head")


def people_list(
    scope: FlowScope,
    place: str,
    raw: Sequence[dict[str, Any]] | None,
    *,
    allowed: Iterable[str] | None = None,
) -> tuple[PeopleDef, ...]:
    """Check and freeze a list of people entries; ``allowed`` limits the types."""
    allowed = tuple(allowed) if allowed is not None else tuple(KEYS)
    return tuple(people(scope, f"{place}/{i}", entry, allowed) for i, entry in enumerate(raw or ()))


def people(
    scope: FlowScope, place: str, raw: dict[str, Any], allowed: tuple[str, ...]
) -> PeopleDef:
    kind = raw["type"]
    scope.unknown_keys(place, raw, KEYS[kind] | {"type"}, f"people of type {kind!r}")
    _check_type_allowed(scope, place, raw, allowed)
    _check_roles(scope, place, raw)
    if kind == "manager_chain" and ("levels" in raw) == ("until_role" in raw):
        scope.problem(
            place,
            "A manager chain needs either 'levels' (how many managers up) or 'until_role' "
            "(up to the first manager holding that role), not both or neither.",
        )
    if kind == "department_head" and "department" in raw and "of" in raw:
        scope.problem(f"{place}/of", "'of' applies only without 'department'; remove one of them.")
    if kind == "field":
        _check_user_field(scope, place, raw["field"])
    return PeopleDef(
        type=kind,
        users=tuple(raw.get("users", ())),
        role=raw.get("role"),
        department=raw.get("department"),
        of=raw.get("of"),
        levels=raw.get("levels"),
        until_role=raw.get("until_role"),
        field=raw.get("field"),
        formula=scope.formula_giving(
            f"{place}/formula",
            raw.get("formula"),
            (ExprType.TEXT, ExprType.NUMBER),
            "usernames (text, comma separated) or a user id (a number)",
        ),
    )


def _check_type_allowed(
    scope: FlowScope, place: str, raw: dict[str, Any], allowed: tuple[str, ...]
) -> None:
    kind = raw["type"]
    if kind not in allowed:
        scope.problem(
            f"{place}/type",
            f"people of type {kind!r} cannot be used here; use one of: {', '.join(allowed)}",
        )
    elif not scope.approval and (kind in APPROVAL_ONLY or raw.get("of") == "submitter"):
        scope.problem(
            f"{place}/type" if kind in APPROVAL_ONLY else f"{place}/of",
            "the submitter and the current approvers exist only in an approval flow; "
            'use \'owner\' (or "of": "owner") here',
        )


def _check_roles(scope: FlowScope, place: str, raw: dict[str, Any]) -> None:
    for prop in ("role", "until_role"):
        name = raw.get(prop)
        if name is not None and name not in scope.roles:
            known = ", ".join(sorted(scope.roles)) or "none yet"
            scope.problem(f"{place}/{prop}", f"there is no role {name!r}; known roles: {known}")


def _check_user_field(scope: FlowScope, place: str, name: str) -> None:
    f = scope.live_field(name)
    if f is None:
        scope.problem(f"{place}/field", f"{name!r} is not a field of {scope.object_name}")
    elif f.type != "user":
        scope.problem(
            f"{place}/field",
            f"{name!r} is a {f.type} field; people come from a user field "
            f"(such as 'owner') of {scope.object_name}",
        )
