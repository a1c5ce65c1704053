"""The generated pages business users work in: sign-in, navigation, lists, record
pages and forms, rendered from the live definitions (Jinja2 with autoescape, htmx for
partial updates, ECharts for charts).

``pages`` is the blueprint; ``init_app(app)`` adds sign-in sessions, CSRF, the page
chrome's translations and the front-end libraries to an app. Every read and write goes
through the records service with the signed-in user's context, exactly like the API.
"""

from flask import Blueprint

pages = Blueprint("pages", __name__, template_folder="templates", static_folder="static")

from trellis.web import (  # noqa: E402,F401  (each module adds its routes to the blueprint)
    approval_panel,
    approvals_page,
    automation_buttons,
    bulk,
    conversion_page,
    dashboards_page,
    exports_page,
    forms,
    home,
    imports_page,
    kanban,
    lists,
    notifications_page,
    pools_page,
    record_page,
    reports_page,
    saved_views,
    search,
    sessions,
    timeline,
    vendor,
)
from trellis.web.wiring import init_app  # noqa: E402

__all__ = ["init_app", "pages"]
