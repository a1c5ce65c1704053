"""The admin web app: the pack manager now, the designers, users and roles later (issue 6).

``admin`` is the blueprint at ``/admin``; ``init_app(app)`` registers it after the pages
(``trellis.web.init_app``), whose sign-in session, CSRF protection, translations and page
frame it shares. Only administrators reach it (``access``): anyone else gets 404, so the
admin area is not revealed. Every change goes through the one ``MetadataAPI``, exactly like
the CLI (``trellis pack …``) and the REST API (``/api/v1/packs``).
"""

from flask import Blueprint, Flask

admin = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

import importlib  # noqa: E402
import pkgutil  # noqa: E402

# Each module of the admin app adds its routes (and its tab, ``sections``) to the
# blueprint when imported; importing them all here means a new designer is one new
# module, with no list to keep in step.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from trellis.admin_ui import packs_page  # noqa: E402


def init_app(app: Flask) -> None:
    app.register_blueprint(admin)
    app.jinja_env.filters["admin_value"] = packs_page.shown_value


__all__ = ["admin", "init_app"]
