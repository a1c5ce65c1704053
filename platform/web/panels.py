"""Panels that areas of the pages add to a record page, without editing its template.

The approval panel, the follow-up timeline, pool actions, conversion and automation
buttons each live in their own module and register here::

    @record_panel("top", order=10)
    def approval_panel(obj, record):
        return render_template("_approval_panel.html", ...)  # or None to show nothing

``top`` panels show under the title, ``bottom`` ones after the related lists; lower
``order`` first. A panel answers rendered HTML (autoescaped by its own template).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

PLACES = ("top", "bottom")


@dataclass(frozen=True)
class Panel:
    place: str
    order: int
    render: Callable[..., str | None]


_PANELS: list[Panel] = []


def record_panel(place: str, order: int = 50):
    """Register ``fn(obj, record) -> html | None`` as a panel of every record page."""
    if place not in PLACES:
        raise ValueError(f"place must be one of {PLACES}, not {place!r}")

    def register(fn):
        _PANELS.append(Panel(place, order, fn))
        _PANELS.sort(key=lambda p: p.order)
        return fn

    return register


def render_panels(obj, record) -> dict[str, list[Markup]]:
    """The rendered panels of ``record`` by place."""
    out: dict[str, list[Markup]] = {place: [] for place in PLACES}
    for panel in _PANELS:
        html = panel.render(obj, record)
        if html:
            out[panel.place].append(Markup(html))  # noqa: S704  (rendered by an autoescaping template)
    return out
