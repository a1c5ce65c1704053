"""The admin area's sub-navigation: each admin module names the section it adds.

A module calls ``section("objects", _l("Objects"), "admin.objects", order=20)`` at import;
``admin/layout.html`` shows the sections in ``order`` and marks the current one. The
endpoints a section claims (by default every endpoint whose name starts with the section's
endpoint) decide which tab is current, so a designer's sub-pages keep their tab lit.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for

from trellis.admin_ui import admin


@dataclass(frozen=True)
class Section:
    name: str
    label: str  # a lazy_gettext string: translated when the page renders
    endpoint: str
    order: int
    prefixes: tuple[str, ...]

    def current(self) -> bool:
        endpoint = request.endpoint or ""
        return any(endpoint.startswith(prefix) for prefix in self.prefixes)


_SECTIONS: dict[str, Section] = {}


def section(name: str, label, endpoint: str, *, order: int, prefixes: tuple[str, ...] = ()) -> None:
    """Add (or replace) one tab of the admin sub-navigation."""
    _SECTIONS[name] = Section(name, label, endpoint, order, prefixes or (endpoint,))


@admin.app_context_processor
def _admin_sections():
    if not (request.blueprint or "").startswith("admin"):
        return {}
    shown = sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))
    return {
        "admin_sections": [
            {"name": s.name, "label": s.label, "url": url_for(s.endpoint), "current": s.current()}
            for s in shown
        ]
    }
