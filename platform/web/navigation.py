"""The header's tabs: the viewer's apps as an admin arranged them, or every readable object.

An app (``app:sales``, trellis.metadata.app_build) lists tabs in order: objects and the
platform pages below. A user sees the apps their roles allow (administrators see all),
each with only the objects they may read, and switches app with ``?app=<name>`` on any
page (remembered in the session). Objects the user may read that no app of theirs shows
are not lost: they appear under an extra "More" app. Without any app installed the
header shows every readable object in pack order, then dashboards, reports and pools.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request, session, url_for
from flask_babel import gettext as _

from trellis.metadata import ObjectDef
from trellis.runtime.permissions import is_admin
from trellis.web.i18n import label
from trellis.web.metadata_view import definitions, readable_objects
from trellis.web.sessions import page_context

#: page tab -> (endpoint it opens, endpoints where it is the current tab)
PAGES = {
    "dashboards": ("pages.dashboards_index", ("pages.dashboards_index", "pages.dashboard_page")),
    "reports": ("pages.reports_index", ("pages.reports_index", "pages.report_page")),
    "pools": ("pages.pools_index", ("pages.pools_index", "pages.pool_page")),
    "approvals": ("pages.approvals_inbox", ("pages.approvals_inbox",)),
    "imports": ("pages.import_list", ("pages.import_list", "pages.import_page")),
}
DEFAULT_PAGES = ("dashboards", "reports", "pools")
MORE = "more"


@dataclass
class Tab:
    href: str
    text: str
    current: bool
    name: str  # the object or page it opens (data-testid nav-<name>, tile-<name>)


@dataclass
class App:
    api_name: str
    text: str
    objects: list[ObjectDef] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    order: list[tuple[str, str]] = field(default_factory=list)  # ("object"|"page", name)


def _page_text(name: str) -> str:
    return {
        "dashboards": _("Dashboards"),
        "reports": _("Reports"),
        "pools": _("Pools"),
        "approvals": _("My approvals"),
        "imports": _("Imports"),
    }[name]


def viewer_apps() -> list[App]:
    """The apps the signed-in user sees, in display order, with their readable objects."""
    readable = {obj.api_name: obj for obj in readable_objects()}
    defined = definitions().apps.values()
    if not defined:
        return [_app_of_everything(readable)]
    principal = page_context().principal
    admin = is_admin(definitions(), principal)
    apps, shown = [], set()
    for app_def in defined:
        if not (admin or app_def.visible_to(principal.roles)):
            continue
        app = App(app_def.api_name, label(app_def.label))
        for tab in app_def.tabs:
            if tab.kind == "object" and tab.name in readable:
                app.objects.append(readable[tab.name])
                app.order.append(("object", tab.name))
                shown.add(tab.name)
            elif tab.kind == "page":
                app.order.append(("page", tab.name))
        apps.append(app)
    rest = [obj for name, obj in readable.items() if name not in shown]
    if rest:
        more = App(MORE, _("More"), objects=rest)
        more.order = [("object", obj.api_name) for obj in rest]
        apps.append(more)
    return apps


def _app_of_everything(readable: dict[str, ObjectDef]) -> App:
    app = App(MORE, _("All"), objects=list(readable.values()))
    app.order = [("object", name) for name in readable] + [("page", p) for p in DEFAULT_PAGES]
    return app


def current_app(apps: list[App]) -> App:
    """The app chosen with ``?app=`` (kept in the session), else the first one.

    A page of an object that the chosen app does not show picks the app that shows it,
    so the current tab is always in sight.
    """
    by_name = {app.api_name: app for app in apps}
    chosen = request.args.get("app")
    if chosen in by_name:
        session["app"] = chosen
    app = by_name.get(session.get("app", ""), apps[0])
    object_name = (request.view_args or {}).get("object_name")
    if object_name and all(o.api_name != object_name for o in app.objects):
        app = next((a for a in apps if any(o.api_name == object_name for o in a.objects)), app)
    return app


def tabs(app: App) -> list[Tab]:
    """The app's tabs as links, the one of this page marked current."""
    object_name = (request.view_args or {}).get("object_name")
    out = []
    for kind, name in app.order:
        if kind == "object":
            obj = next(o for o in app.objects if o.api_name == name)
            href = url_for("pages.list_page", object_name=name)
            out.append(Tab(href, label(obj.plural_label), object_name == name, name))
        else:
            endpoint, current = PAGES[name]
            out.append(
                Tab(url_for(endpoint), _page_text(name), request.endpoint in current, name)
            )
    return out


def chrome() -> dict:
    """What the header shows: the app switcher, the current app's tabs and objects."""
    apps = viewer_apps()
    app = current_app(apps)
    switcher = [
        {"api_name": a.api_name, "text": a.text, "current": a is app} for a in apps if a.order
    ]
    return {"nav": app.objects, "tabs": tabs(app), "apps": switcher, "app": app}
