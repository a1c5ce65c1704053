"""Apps: the navigation an admin arranges (``app:sales`` = 销售, with its tabs in order).

An app names the tabs users see in the page header: objects and a few platform pages
(dashboards, reports, pools, approvals, imports), in the order of its ``tabs`` list, which
an admin reorders like any other property (a customization, kept across pack upgrades).
``roles`` limits who sees the app. Apps are optional: with none installed, the header shows
every object the user may read, in the order the packs list them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from trellis.metadata.components import Component
from trellis.metadata.definitions import Label, ObjectDef, RoleDef
from trellis.metadata.problems import Problem


@dataclass(frozen=True)
class TabDef:
    """One tab: ``kind`` is "object" (``name`` an object) or "page" (``name`` a page)."""

    kind: str
    name: str


@dataclass(frozen=True)
class AppDef:
    api_name: str
    label: Label
    tabs: tuple[TabDef, ...]
    roles: tuple[str, ...] = ()
    order: int = 100
    description: Label | None = None

    def visible_to(self, roles: tuple[str, ...] | frozenset[str]) -> bool:
        """Whether a user with ``roles`` sees this app (no roles listed: everyone)."""
        return not self.roles or bool(set(self.roles) & set(roles))


def build_apps(
    effective: Mapping[str, Component],
    objects: Mapping[str, ObjectDef],
    roles: Mapping[str, RoleDef],
    problems: list[Problem],
) -> Mapping[str, AppDef]:
    """Check and freeze every app, in display order; problems are appended to ``problems``."""
    apps = {}
    for comp in effective.values():
        if comp.kind != "app":
            continue
        app = _app(comp, objects, roles, problems)
        if app is not None:
            apps[app.api_name] = app
    ordered = sorted(apps.values(), key=lambda a: (a.order, a.api_name))
    return MappingProxyType({a.api_name: a for a in ordered})


def _app(comp, objects, roles, problems) -> AppDef | None:
    d = comp.definition
    before = len(problems)
    tabs = []
    for i, raw in enumerate(d["tabs"]):
        tab = TabDef("object", raw["object"]) if "object" in raw else TabDef("page", raw["page"])
        if tab in tabs:
            problems.append(Problem(comp.key, f"/tabs/{i}", f"tab {tab.name!r} is listed twice"))
        obj = objects.get(tab.name) if tab.kind == "object" else None
        if tab.kind == "object" and (obj is None or obj.archived):
            known = ", ".join(sorted(n for n, o in objects.items() if not o.archived))
            problems.append(
                Problem(
                    comp.key,
                    f"/tabs/{i}/object",
                    f"there is no object {tab.name!r} to show as a tab; known objects: {known}",
                )
            )
        tabs.append(tab)
    for i, role in enumerate(d.get("roles", [])):
        if role not in roles:
            problems.append(
                Problem(
                    comp.key,
                    f"/roles/{i}",
                    f"there is no role {role!r}; known roles: {', '.join(sorted(roles))}",
                )
            )
    if len(problems) > before:
        return None
    description = d.get("description")
    return AppDef(
        d["api_name"],
        Label.from_json(d["label"]),
        tuple(tabs),
        tuple(d.get("roles", [])),
        d.get("order", 100),
        Label.from_json(description) if description else None,
    )
