"""The home page: the viewer's tabs, what waits for them (approvals, unread notifications)."""

from __future__ import annotations

from flask import g, render_template

from trellis.web import pages
from trellis.web.navigation import chrome
from trellis.web.sessions import page_context, runtime


def counters() -> dict[str, int]:
    """Pending approvals and unread notifications of the viewer, once per request."""
    if "counters" not in g:
        ctx = page_context()
        flows = runtime().flows
        g.counters = {
            "approvals": len(flows.approvals.tasks(ctx, status="pending")),
            "unread": flows.notifications.unread_count(ctx),
        }
    return g.counters


@pages.app_context_processor
def _chrome():
    """What every page's frame shows: tabs and counters (nothing before sign-in)."""
    if g.get("ctx") is None:
        return {"nav": [], "tabs": [], "apps": [], "counters": {}, "user": None}
    return {**chrome(), "counters": counters(), "user": page_context().principal}


@pages.get("/")
def home():
    return render_template("home.html")
